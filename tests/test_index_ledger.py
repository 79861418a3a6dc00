"""Indexing picks up what is stored but not indexed, and never files an article without its
capture (issue 11: a storage outage left WARCs unindexed and articles without captures)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from normalizer.jsonl import JsonlFile
from storage.catalog import Catalog
from storage.indexer import index_articles_key, index_unindexed
from storage.local import LocalStore
from storage.warc import Exchange, WarcRotatingWriter, write_exchange

URL = "http://news.example/a.html"


def stored_site(root: Path) -> tuple[str, str]:
    """A stored WARC with one page and, beside it, the articles file pointing into it."""
    writer = WarcRotatingWriter(root, "news", warcinfo={"site": "news", "run-id": "r1"},
                                host="box")
    written = write_exchange(writer, Exchange(
        url=URL, method="GET", target="/a.html", request_headers=[("Host", "news.example")],
        request_body=b"", status_line="HTTP/1.1 200 OK",
        response_headers=[("Content-Type", "text/html")], body=b"<p>Story</p>",
        sent=datetime.now(UTC)))
    (warc,) = writer.close()
    jsonl = warc.with_name("warcwire-news-r1.articles.v2.jsonl.gz")
    with JsonlFile(jsonl) as out:
        out.write({"url": URL, "site": "news", "run_id": "r1", "text": "Story",
                   "title": "Story", "content_hash": "sha256:1", "version": 1,
                   "warc": {"key": written.location.key, "offset": written.location.offset,
                            "length": written.location.length}})
    return warc.relative_to(root).as_posix(), jsonl.relative_to(root).as_posix()


def test_an_article_waits_for_its_capture_and_sync_indexing_finishes_the_job(
        tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "archive")
    warc_key, jsonl_key = stored_site(tmp_path / "archive")
    catalog = Catalog(f"sqlite:///{tmp_path / 'cat.db'}")
    # the articles file first, as after an outage that stopped indexing half way
    early = index_articles_key(store, catalog, jsonl_key)
    assert early.articles == 0
    assert early.failed == [(jsonl_key, "1 article record(s) wait for their WARC to be indexed")]
    assert catalog.search(text="Story") == []  # no article row without its capture
    assert catalog.indexed_keys() == set()

    report = index_unindexed(store, catalog)
    assert (report.warcs, report.captures, report.articles, report.failed) == (1, 1, 1, [])
    (hit,) = catalog.search(text="Story")
    assert hit.capture.url == URL and hit.title == "Story"
    assert catalog.indexed_keys() == {warc_key, jsonl_key}
    again = index_unindexed(store, catalog)  # nothing left to do
    assert (again.warcs, again.captures, again.articles) == (0, 0, 0)
    catalog.close()
