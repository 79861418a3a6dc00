"""``warcwire captures`` shows revisits as such and the article version of each capture."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures_review import CHANGED_ARTICLE, RevisitArchive
from tests.fixtures_site import run_cli
from tests.test_revisit_restore import BASE, CSS, PAGE, build_archive, config


def captures(config_path: Path, *args: str) -> list[str]:
    result = run_cli("captures", *args, "--config", str(config_path))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    return result.stdout.splitlines()


def test_revisits_and_the_version_they_repeat(tmp_path: Path) -> None:
    built = build_archive(tmp_path)
    first, *_ = built.catalog.captures(PAGE)
    built.catalog.add_articles([{
        "url": PAGE, "title": "Night ferries", "text": "Ferries run at night.", "site": "news",
        "run_id": "r", "version": 1, "changes": None,
        "warc": {"key": first.filename, "offset": first.offset, "length": first.length}}])
    page, css = built.written["page1"].digest, built.written["css1"].digest
    size = [str(c.length) for c in built.catalog.captures(PAGE)]
    assert all(len(s) <= 4 for s in size)
    assert captures(config(tmp_path), PAGE) == [
        f"TIMESTAMP       STATUS  SIZE  DIGEST{' ' * 31}  MIME          SITE  VERSION",
        f"20261120090000  200     {size[0]:4}  {page}  text/html     news  v1",
        f"20261120100000  200     {size[1]:4}  {page}  warc/revisit  news  "
        "revisit: not modified (v1)",
        f"20261120110000  200     {size[2]:4}  {page}  warc/revisit  news  "
        "revisit: identical payload (v1)"]
    size = [str(c.length) for c in built.catalog.captures(CSS)]
    assert captures(config(tmp_path), BASE + "/css/", "--prefix") == [
        f"TIMESTAMP       STATUS  SIZE  DIGEST{' ' * 31}  MIME          SITE  VERSION"
        f"{' ' * 14}  URL",
        f"20261120090000  200     {size[0]:4}  {css}  text/css      news  -{' ' * 20}  {CSS}",
        f"20261120100000  200     {size[1]:4}  {css}  warc/revisit  news  revisit: not modified"
        f"  {CSS}"]


def test_a_revisit_without_its_original_says_so(tmp_path: Path) -> None:
    built = build_archive(tmp_path, index=(1,))
    (revisit,) = built.catalog.captures(CSS)
    assert captures(config(tmp_path), CSS) == [
        f"TIMESTAMP       STATUS  SIZE  DIGEST{' ' * 31}  MIME          SITE  VERSION",
        f"20261120100000  200     {revisit.length:<4}  {revisit.digest}  warc/revisit  news  "
        "revisit: not modified (original not in the catalog)"]


def test_versions_and_revisits_of_a_real_recrawl(revisit_archive: RevisitArchive) -> None:
    catalog = revisit_archive.catalog()
    edited = catalog.captures(revisit_archive.url(CHANGED_ARTICLE))
    records = [catalog.article(c.id) or {} for c in edited]
    changes = [r["changes"] for r in records[1:]]
    plain = revisit_archive.url("/news/world/alpine-glaciers-lose-a-tenth-of-ice.html")
    unchanged = catalog.captures(plain)
    catalog.close()
    assert [r["version"] for r in records] == [1, 2, 3]

    def rows(found: list[str]) -> list[list[str]]:
        """The lines split at the two spaces between columns."""
        return [[cell.strip() for cell in line.split("  ") if cell.strip()] for line in found]

    table = rows(captures(revisit_archive.config, revisit_archive.url(CHANGED_ARTICLE)))
    assert table[0] == ["TIMESTAMP", "STATUS", "SIZE", "DIGEST", "MIME", "SITE", "VERSION"]
    assert [(row[0], row[4], row[6]) for row in table[1:]] == [
        (revisit_archive.runs[0], "text/html", "v1"),
        (revisit_archive.runs[1], "text/html",
         f"v2 +{changes[0]['words_added']}/-{changes[0]['words_removed']}"),
        (revisit_archive.runs[2], "text/html",
         f"v3 +{changes[1]['words_added']}/-{changes[1]['words_removed']}")]
    table = rows(captures(revisit_archive.config, plain))
    assert [(row[0], row[4], row[6]) for row in table[1:]] == [
        (unchanged[0].timestamp, "text/html", "v1"),
        (unchanged[1].timestamp, "warc/revisit", "revisit: not modified (v1)"),
        (unchanged[2].timestamp, "warc/revisit", "revisit: identical payload (v1)")]


def test_a_revisit_whose_record_cannot_be_read_is_still_listed(tmp_path: Path) -> None:
    built = build_archive(tmp_path)
    (tmp_path / "archive" / built.keys[2]).unlink()  # the third run's WARC
    lines = captures(config(tmp_path), PAGE)
    assert [line.split("  ")[-1] for line in lines] == [
        "VERSION", "-", "revisit: not modified", "revisit (record unreadable)"]
