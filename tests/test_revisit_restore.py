"""Restoring revisits: the revisit's own head and date, the original's payload.

A small archive is written with the crawler's own WARC code (``write_exchange``
with ``Exchange.previous``, fixed clock and record ids): a gzip-encoded page and
its stylesheet, a re-crawl that got 304s (server-not-modified revisits) and one
that got the same page again (an identical-payload-digest revisit), one WARC per
run. A real crawl of the sample site checks the same through the CLI.
"""

from __future__ import annotations

import gzip
import io
import re
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from storage.catalog import Capture, Catalog
from storage.indexer import index_stored
from storage.local import LocalStore
from storage.restore import (
    as_html,
    load,
    page_with_resources,
    read_capture,
    restore_capture,
)
from storage.warc import Exchange, Original, WarcRotatingWriter, Written, write_exchange
from tests.fixtures_review import CHANGED_ARTICLE, NEW_PARAGRAPH, RevisitArchive
from tests.fixtures_site import run_cli, site_entry, write_config
from tests.test_restore import CountingLocalStore
from tests.test_warc_writer import counter_ids
from warcwire.exceptions import RestoreError

BASE = "http://news.example.org"
PAGE = BASE + "/2026/11/20/ferries.html"
CSS = BASE + "/css/site.css"
HTML = (b'<!doctype html><html><head><meta charset="utf-8"><title>Night ferries</title>'
        b'<link rel="stylesheet" href="/css/site.css"></head><body><h1>Night ferries</h1>'
        b"<p>Ferries will run until 2 a.m. from next month.</p></body></html>")
GZ = gzip.compress(HTML, mtime=0)
STYLE = b"body { color: #123456; }\n"
RUN1, RUN2, RUN3 = (datetime(2026, 11, 20, h, 0, tzinfo=UTC) for h in (9, 10, 11))
PAGE_HEAD = [("Date", "Fri, 20 Nov 2026 09:00:00 GMT"),
             ("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"),
             ("ETag", '"p1-gzip"'), ("Last-Modified", "Thu, 19 Nov 2026 18:00:00 GMT"),
             ("Content-Length", str(len(GZ)))]
CSS_HEAD = [("Date", "Fri, 20 Nov 2026 09:00:00 GMT"), ("Content-Type", "text/css"),
            ("ETag", '"c1"'), ("Content-Length", str(len(STYLE)))]
NOT_MODIFIED = [("Date", "Fri, 20 Nov 2026 10:00:00 GMT"), ("ETag", '"p1-gzip"'),
                ("Cache-Control", "max-age=60")]
SAME_AGAIN = [("Date", "Fri, 20 Nov 2026 11:00:00 GMT"),
              ("Content-Type", "text/html; charset=utf-8"), ("Content-Encoding", "gzip"),
              ("ETag", '"p1-gzip"'), ("Content-Length", str(len(GZ)))]


class Clock:
    """The writer's clock, set before each exchange."""

    def __init__(self) -> None:
        self.now = RUN1

    def __call__(self) -> datetime:
        return self.now


def exchange(url: str, status_line: str, headers: list[tuple[str, str]], body: bytes,
             sent: datetime, previous: Original | None = None) -> Exchange:
    return Exchange(url=url, method="GET", target=url.removeprefix(BASE),
                    request_headers=[("Host", "news.example.org")], request_body=b"",
                    status_line=status_line, response_headers=headers, body=body, sent=sent,
                    ip="203.0.113.7", previous=previous)


def original_of(written: Written, url: str, status_line: str,
                headers: list[tuple[str, str]]) -> Original:
    """What the crawl state keeps of a whole response, for the next run's revisit."""
    return Original(uri=url, date=written.date, digest=written.digest or "",
                    record_id=written.record_id, status_line=status_line,
                    headers=tuple(headers))


@dataclass
class Archive:
    store: LocalStore
    catalog: Catalog
    keys: list[str]  # one WARC per run
    written: dict[str, Written] = field(default_factory=dict)  # by name: page1, page2, ...

    def capture(self, url: str, at: datetime) -> Capture:
        return self.catalog.closest(url, at.strftime("%Y%m%d%H%M%S"))


def config(tmp: Path) -> Path:
    """A sites config whose storage and catalog are those of ``build_archive(tmp)``."""
    return write_config(tmp, [site_entry(BASE, name="news")], storage=str(tmp / "archive"),
                        data_dir=str(tmp / "data"))


def build_archive(tmp: Path, *, index: tuple[int, ...] = (0, 1, 2)) -> Archive:
    """Three runs of the page and its stylesheet; only the runs in ``index`` catalogued."""
    clock, ids, spool = Clock(), counter_ids(), tmp / "spool"
    written: dict[str, Written] = {}
    paths: list[Path] = []

    def run(when: datetime, exchanges: dict[str, Exchange]) -> None:
        clock.now = when
        writer = WarcRotatingWriter(spool, "news", warcinfo={"site": "news", "run-id": str(when)},
                                    host="box", clock=clock, record_id_maker=ids)
        with writer:
            for name, ex in exchanges.items():
                written[name] = write_exchange(writer, ex)
        paths.extend(writer.finished)

    run(RUN1, {"page1": exchange(PAGE, "HTTP/1.1 200 OK", PAGE_HEAD, GZ, RUN1),
               "css1": exchange(CSS, "HTTP/1.1 200 OK", CSS_HEAD, STYLE, RUN1)})
    page = original_of(written["page1"], PAGE, "HTTP/1.1 200 OK", PAGE_HEAD)
    css = original_of(written["css1"], CSS, "HTTP/1.1 200 OK", CSS_HEAD)
    run(RUN2, {"page2": exchange(PAGE, "HTTP/1.1 304 Not Modified", NOT_MODIFIED, b"", RUN2,
                                 page),
               "css2": exchange(CSS, "HTTP/1.1 304 Not Modified", [("ETag", '"c1"')], b"",
                                RUN2, css)})
    run(RUN3, {"page3": exchange(PAGE, "HTTP/1.1 200 OK", SAME_AGAIN, GZ, RUN3, page)})
    assert [w.revisit for w in written.values()] == [
        None, None, "server-not-modified", "server-not-modified", "identical-payload-digest"]
    store = LocalStore(tmp / "archive")
    keys = [path.relative_to(spool).as_posix() for path in paths]
    for path, key in zip(paths, keys, strict=True):
        store.put(path, key)
    catalog = Catalog(f"sqlite:///{tmp / 'data' / 'warcwire.db'}")  # as config() says
    report = index_stored(store, catalog, [keys[i] for i in index], site="news", run_id="r")
    assert report.ok, report.failed
    return Archive(store, catalog, keys, written)


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    return build_archive(tmp_path)


def member(store: LocalStore, capture: Capture) -> bytes:
    return read_capture(store, capture)


def test_a_304_revisit_restores_with_its_merged_head_and_the_original_body(
        archive: Archive) -> None:
    revisit = archive.capture(PAGE, RUN2)
    assert revisit.mime == "warc/revisit" and revisit.revisit
    http = restore_capture(archive.store, archive.catalog, revisit, "http")
    assert http == (b"HTTP/1.1 200 OK\r\n"
                    b"Date: Fri, 20 Nov 2026 10:00:00 GMT\r\n"  # the 304's
                    b"Content-Type: text/html; charset=utf-8\r\n"
                    b"Content-Encoding: gzip\r\n"
                    b'ETag: "p1-gzip"\r\n'
                    b"Last-Modified: Thu, 19 Nov 2026 18:00:00 GMT\r\n"
                    b"Content-Length: " + str(len(GZ)).encode() + b"\r\n"
                    b"Cache-Control: max-age=60\r\n"  # new in the 304
                    b"\r\n" + GZ)
    assert restore_capture(archive.store, archive.catalog, revisit, "html") == HTML


def test_an_identical_payload_revisit_restores_with_the_head_it_received(
        archive: Archive) -> None:
    revisit = archive.capture(PAGE, RUN3)
    http = restore_capture(archive.store, archive.catalog, revisit, "http")
    head = "".join(f"{name}: {value}\r\n" for name, value in SAME_AGAIN)
    assert http == b"HTTP/1.1 200 OK\r\n" + head.encode() + b"\r\n" + GZ
    assert restore_capture(archive.store, archive.catalog, revisit, "html") == HTML


def test_a_revisit_is_two_ranged_reads_of_exactly_its_record_and_the_original(
        tmp_path: Path) -> None:
    built = build_archive(tmp_path)
    store = CountingLocalStore(tmp_path / "archive")
    revisit, original = built.capture(PAGE, RUN2), built.capture(PAGE, RUN1)
    loaded = load(store, built.catalog, revisit)
    assert store.ranges == [(revisit.filename, revisit.offset, revisit.length),
                            (original.filename, original.offset, original.length)]
    assert loaded.original == original and loaded.mime == "text/html"
    assert loaded.revisit is not None and loaded.revisit.profile == "server-not-modified"
    assert loaded.revisit.timestamp == original.timestamp == "20261120090000"


def test_as_warc_is_the_revisit_then_its_original(archive: Archive) -> None:
    revisit, original = archive.capture(PAGE, RUN3), archive.capture(PAGE, RUN1)
    warc = restore_capture(archive.store, archive.catalog, revisit, "warc")
    # two gzip members, each exactly as stored
    assert warc == member(archive.store, revisit) + member(archive.store, original)
    records = list(ArchiveIterator(io.BytesIO(warc)))
    assert [r.rec_type for r in records] == ["revisit", "response"]
    first, second = (r.rec_headers for r in records)
    assert first.get_header("WARC-Profile") == \
        "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
    assert first.get_header("WARC-Refers-To") == second.get_header("WARC-Record-ID")
    assert first.get_header("WARC-Refers-To-Date") == second.get_header("WARC-Date")
    assert first.get_header("WARC-Payload-Digest") == second.get_header("WARC-Payload-Digest")
    assert gzip.decompress(warc)[:8] == b"WARC/1.1"


def test_text_comes_from_the_original_when_the_revisit_has_none(archive: Archive) -> None:
    revisit, original = archive.capture(PAGE, RUN2), archive.capture(PAGE, RUN1)
    with pytest.raises(RestoreError, match=r"^No extracted article text for "):
        restore_capture(archive.store, archive.catalog, revisit, "text")
    archive.catalog.add_articles([{
        "url": PAGE, "title": "Night ferries", "text": "Ferries will run until 2 a.m.",
        "site": "news", "run_id": "r", "version": 1, "changes": None,
        "warc": {"key": original.filename, "offset": original.offset,
                 "length": original.length}}])
    assert restore_capture(archive.store, archive.catalog, revisit, "text") == \
        b"Ferries will run until 2 a.m.\n"


def test_with_resources_resolves_revisits_of_the_page_and_its_stylesheet(
        archive: Archive, tmp_path: Path) -> None:
    page = archive.capture(PAGE, RUN2)
    assert archive.capture(CSS, RUN2).revisit
    bundle = page_with_resources(archive.store, archive.catalog, page, "ferries.html")
    (css_name,) = bundle.restored.values()
    assert bundle.restored == {CSS: css_name} and css_name.endswith("-site.css")
    assert bundle.files[css_name] == STYLE and bundle.missing == []
    page_html = bundle.files["ferries.html"].decode()
    assert f'href="{css_name}"' in page_html and "Night ferries" in page_html


def test_an_uncatalogued_original_is_a_one_line_error(tmp_path: Path) -> None:
    built = build_archive(tmp_path, index=(1, 2))  # run 1, the originals, not catalogued
    revisit = built.capture(PAGE, RUN2)
    message = (f"The original of the revisit of {PAGE} at 20261120100000 ({PAGE} captured "
               f"20261120090000, {built.written['page1'].digest}) is not in the catalog; "
               "run 'warcwire reindex'")
    for fmt in ("html", "http", "warc", "text"):
        with pytest.raises(RestoreError) as info:
            restore_capture(built.store, built.catalog, revisit, fmt)
        assert str(info.value) == message
    with pytest.raises(RestoreError, match="is not in the catalog"):
        page_with_resources(built.store, built.catalog, revisit, "p.html")
    result = run_cli("restore", PAGE, "--at", "20261120100000", "--config",
                     str(config(tmp_path)), "--out", f"{tmp_path}/out/")
    assert not (tmp_path / "out").exists()
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == f"Error: {message}\n"


def test_the_closest_capture_with_the_same_payload_stands_in_for_a_missing_original(
        tmp_path: Path) -> None:
    """The referred-to capture is gone from the catalog, an identical earlier one is not."""
    clock, ids, spool = Clock(), counter_ids(), tmp_path / "spool"
    store, keys = LocalStore(tmp_path / "archive"), []
    earlier = datetime(2026, 11, 19, 9, 0, tzinfo=UTC)
    written: list[Written] = []
    for when, previous in ((earlier, None), (RUN1, None), (RUN2, "refer")):
        clock.now = when
        with WarcRotatingWriter(spool, "news", warcinfo={"site": "news"}, host="box",
                                clock=clock, record_id_maker=ids) as writer:
            prev = original_of(written[-1], PAGE, "HTTP/1.1 200 OK", PAGE_HEAD) \
                if previous else None
            status, head, body = ("HTTP/1.1 304 Not Modified", NOT_MODIFIED, b"") \
                if previous else ("HTTP/1.1 200 OK", PAGE_HEAD, GZ)
            written.append(write_exchange(writer, exchange(PAGE, status, head, body, when,
                                                           prev)))
        (path,) = writer.finished
        keys.append(path.relative_to(spool).as_posix())
        store.put(path, keys[-1])
    catalog = Catalog(f"sqlite:///{tmp_path / 'c.db'}")
    index_stored(store, catalog, [keys[0], keys[2]], site="news", run_id="r")
    revisit = catalog.closest(PAGE)
    loaded = load(store, catalog, revisit)
    assert loaded.revisit is not None and loaded.revisit.timestamp == "20261120090000"
    assert loaded.original is not None and loaded.original.timestamp == "20261119090000"
    assert as_html(loaded.data, loaded.original_data) == HTML


def test_a_revisit_record_alone_names_what_it_needs(archive: Archive) -> None:
    """The one-record converters (used by benchmarks) refuse a revisit clearly."""
    data = member(archive.store, archive.capture(PAGE, RUN2))
    with pytest.raises(RestoreError, match="^" + re.escape(
            f"This capture is a revisit record without a body; its payload is in an earlier "
            f"capture of {PAGE} (storage.restore.load reads both)")):
        as_html(data)


# -- a real crawl, re-crawled, through the CLI -----------------------------------

def test_cli_restores_both_kinds_of_revisit_from_a_real_recrawl(
        revisit_archive: RevisitArchive, tmp_path: Path) -> None:
    catalog = revisit_archive.catalog()
    path = "/news/turkey/istanbul-ferries-add-night-crossings.html"
    first, not_modified, same_again = catalog.captures(revisit_archive.url(path))
    assert (first.mime, not_modified.mime, same_again.mime) == ("text/html",) + \
        ("warc/revisit",) * 2
    served = revisit_archive.served(path)
    for capture, label in ((not_modified, "revisit: not modified"),
                           (same_again, "revisit: identical payload")):
        out = tmp_path / f"{capture.timestamp}/"
        result = run_cli("restore", revisit_archive.url(path), "--at", capture.timestamp,
                         "--config", str(revisit_archive.config), "--out", str(out) + "/")
        assert result.returncode == 0, result.stderr
        page = out / "istanbul-ferries-add-night-crossings.html"
        assert result.stderr == (f"Restored {capture.url} captured {capture.timestamp} "
                                 f"(status 200; {label}, payload of {first.timestamp}) to "
                                 f"{page}\n")
        assert page.read_bytes() == served
        # the revisit's own head: the Date the server sent on that run, not the first one's
        head, body = http_head(revisit_archive, path, capture)
        assert head[0] == "HTTP/1.1 200 OK"
        assert (gzip.decompress(body) if "Content-Encoding: gzip" in head else body) == served
        assert date(head) != date(http_head(revisit_archive, path, first)[0])
    text = run_cli("restore", revisit_archive.url(path), "--latest", "--as", "text",
                   "--config", str(revisit_archive.config))
    assert text.returncode == 0 and text.stdout.startswith("Istanbul")
    catalog.close()


def http_head(archive: RevisitArchive, path: str, capture: Capture
              ) -> tuple[list[str], bytes]:
    """``restore --as http`` of ``capture``: its head lines and its body."""
    result = subprocess.run([sys.executable, "-m", "warcwire.cli", "restore", archive.url(path),
                             "--at", capture.timestamp, "--as", "http", "--config",
                             str(archive.config)], capture_output=True, timeout=60, check=True)
    head, _, body = result.stdout.partition(b"\r\n\r\n")
    return head.decode("latin-1").split("\r\n"), body


def date(head: list[str]) -> str:
    (line,) = [line for line in head if line.startswith("Date: ")]
    return line


def test_cli_restores_each_article_version(revisit_archive: RevisitArchive) -> None:
    texts = [run_cli("restore", revisit_archive.url(CHANGED_ARTICLE), "--at", ts, "--as",
                     "text", "--config", str(revisit_archive.config)).stdout
             for ts in revisit_archive.runs]
    assert [NEW_PARAGRAPH in t for t in texts] == [False, True, False]
    assert len(set(texts)) == 3
