"""``warcwire verify`` resolves every revisit: its original is catalogued and really is it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import update
from warcio.archiveiterator import ArchiveIterator

from storage.catalog import Catalog
from storage.indexer import reindex
from tests.fixtures_review import RevisitArchive
from tests.fixtures_site import run_cli
from tests.test_revisit_restore import CSS, PAGE, Archive, build_archive, config
from warcwire.cli import main


def verify(config_path: Path) -> tuple[int, list[str]]:
    result = run_cli("verify", "--config", str(config_path))
    assert result.stderr == "", result.stderr
    return result.returncode, result.stdout.splitlines()


def test_a_real_recrawl_with_both_kinds_of_revisit_verifies(
        revisit_archive: RevisitArchive, tmp_path: Path) -> None:
    shutil.copytree(revisit_archive.archive, tmp_path / "archive")
    shutil.copytree(Path(revisit_archive.database_url.removeprefix("sqlite:///")).parent,
                    tmp_path / "data")
    settings = yaml.safe_load(revisit_archive.config.read_text())
    settings.update(storage=str(tmp_path / "archive"), data_dir=str(tmp_path / "data"))
    (tmp_path / "sites.yaml").write_text(yaml.safe_dump(settings))
    warcs = sorted((tmp_path / "archive").rglob("*.warc.gz"))
    types = []
    for warc in warcs:
        with warc.open("rb") as fh:
            types += [record.rec_type for record in ArchiveIterator(fh)]
    catalog = Catalog(f"sqlite:///{tmp_path / 'data' / 'warcwire.db'}")
    rows = catalog.count()
    catalog.close()
    assert len(warcs) == 3 and types.count("revisit") > 20
    code, lines = verify(tmp_path / "sites.yaml")
    assert (code, lines) == (0, [
        f"Verified 3 WARC(s), {len(types)} record(s), {rows} catalog row(s), "
        f"{types.count('revisit')} revisit(s) in file://{tmp_path / 'archive'}: OK"])


def test_revisits_whose_originals_were_removed_are_unresolved(tmp_path: Path) -> None:
    """The WARC of the first run is deleted and the catalog rebuilt: the later runs'
    revisits point at nothing."""
    built = build_archive(tmp_path)
    first_run = tmp_path / "archive" / built.keys[0]
    first_run.unlink()
    first_run.with_name(first_run.name + ".cdxj").unlink(missing_ok=True)
    reindex(built.store, built.catalog)
    page, css = built.written["page1"].digest, built.written["css1"].digest
    second, third = (built.store.location(key) for key in built.keys[1:])

    def line(where: str, name: str, url: str, digest: str | None) -> str:
        return (f"UNRESOLVED {where}: revisit at offset {built.written[name].location.offset} "
                f"({url}): its original ({url} captured 20261120090000, {digest}) is not in "
                "the catalog; run 'warcwire reindex'")

    code, lines = verify(config(tmp_path))
    assert code == 1
    assert lines == [
        line(second, "page2", PAGE, page), line(second, "css2", CSS, css),
        line(third, "page3", PAGE, page),
        f"Verified 2 WARC(s), 8 record(s), 3 catalog row(s), 3 revisit(s) in "
        f"file://{tmp_path / 'archive'}: PROBLEMS: 0 missing, 0 corrupt, 0 unindexed, "
        "3 unresolved"]


def swap_rows(built: Archive, one: str, other: str) -> None:
    """Make the catalog rows of the first captures of two URLs lead to each other's record."""
    c, table = built.catalog.t_captures.c, built.catalog.t_captures
    a, b = (built.catalog.closest(url, "2026") for url in (one, other))
    with built.catalog.engine.begin() as conn:
        for capture, target, offset in ((a, b, -1), (b, a, a.offset), (a, b, b.offset)):
            conn.execute(update(table).where(c.id == capture.id).values(
                offset=offset, length=target.length))


def test_originals_whose_records_hold_another_payload_are_unresolved(tmp_path: Path) -> None:
    built = build_archive(tmp_path)
    swap_rows(built, PAGE, CSS)
    page, css = built.written["page1"].digest, built.written["css1"].digest
    page_at, css_at = (built.written[name].location.offset for name in ("page1", "css1"))
    first, second, third = (built.store.location(key) for key in built.keys)
    code, lines = verify(config(tmp_path))
    assert code == 1
    offset = {name: built.written[name].location.offset for name in ("page2", "css2", "page3")}
    assert [line for line in lines if line.startswith("UNRESOLVED ")] == [
        f"UNRESOLVED {second}: revisit at offset {offset['page2']} ({PAGE}): its original at "
        f"{first} offset {css_at} has payload digest {css}, not {page}",
        f"UNRESOLVED {second}: revisit at offset {offset['css2']} ({CSS}): its original at "
        f"{first} offset {page_at} has payload digest {page}, not {css}",
        f"UNRESOLVED {third}: revisit at offset {offset['page3']} ({PAGE}): its original at "
        f"{first} offset {css_at} has payload digest {css}, not {page}"]
    # the swapped rows themselves are named too, as before
    assert len([line for line in lines if line.startswith(f"CORRUPT {first}: catalog row ")
                and "the record there is for" in line]) == 2
    assert lines[-1].endswith("PROBLEMS: 0 missing, 2 corrupt, 0 unindexed, 3 unresolved")


def test_verify_help_names_every_kind_of_problem(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    out = capsys.readouterr().out
    for kind in ("MISSING", "CORRUPT", "UNINDEXED", "UNRESOLVED"):
        assert f"\n  {kind} " in out, kind
    assert ("  UNRESOLVED  a revisit whose original is not in the catalog, or is not a "
            "response\n") in out
