"""The capture catalog on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from storage.catalog import MARK_END, MARK_START, Catalog, pad_timestamp
from storage.catalog_schema import VERSION_COLUMNS, ArticleVersion
from warcwire.exceptions import CaptureNotFound, CatalogError

POSTGRES_ADMIN = os.environ.get("WARCWIRE_TEST_POSTGRES",
                                "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Any]:
    from sqlalchemy import create_engine, text

    engine = create_engine(POSTGRES_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # no server: say so, the SQLite half still runs
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN}: {exc}")
    yield engine
    engine.dispose()


@contextmanager
def throwaway_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database for the test's param: a SQLite file, or a database
    created on the real PostgreSQL server and dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    admin = request.getfixturevalue("postgres_admin")
    name = f"warcwire_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_ADMIN).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalog]:
    with throwaway_database(request, tmp_path) as url:
        cat = Catalog(url)
        try:
            yield cat
        finally:
            cat.close()


def row(url: str, ts: str, offset: int, *, digest: str = "sha1:A", status: int | None = 200,
        site: str = "news", mime: str = "text/html", filename: str = "news/a.warc.gz"
        ) -> dict[str, Any]:
    return {"url": url, "timestamp": ts, "status": status, "mime": mime, "digest": digest,
            "length": 100, "offset": offset, "filename": filename, "site": site, "run_id": "r1"}


def article(url: str, offset: int, title: str, text: str, site: str = "news",
            filename: str = "news/a.warc.gz") -> dict[str, Any]:
    return {"url": url, "canonical_url": None, "title": title, "authors": [],
            "published": "2026-11-20", "language": "en", "section": [], "text": text,
            "word_count": len(text.split()), "content_hash": "sha256:x", "fetched_at": "",
            "site": site, "run_id": "r1", "extractor": "t", "description": None,
            "captions": [], "schema": "warcwire.article/2",
            "warc": {"key": filename, "offset": offset, "length": 100}}


ROWS = [
    row("http://example.com/news/ferry.html", "20261120090000", 0, digest="sha1:A"),
    row("https://www.example.com/news/ferry.html", "20261121090000", 100, digest="sha1:A"),
    row("http://example.com/news/ferry.html", "20261122090000", 200, digest="sha1:B"),
    row("http://example.com/news/ferry.html", "20261123090000", 300, status=304),
    row("http://example.com/news/farm.html?b=2&a=1", "20261120100000", 400),
    row("http://example.com/newsletter", "20261120110000", 500),
    row("http://other.org/", "20261120120000", 600, site="other", filename="other/o.warc.gz"),
    row("http://example.com/style.css", "20261120130000", 700, mime="text/css"),
]


def test_inserts_are_idempotent(catalog: Catalog) -> None:
    assert catalog.add_captures(ROWS) == len(ROWS)
    assert catalog.add_captures(ROWS) == 0
    assert catalog.add_captures(ROWS[:1]) == 0
    arts = [article("http://example.com/news/ferry.html", 200, "Ferries", "Night ferries run.")]
    assert catalog.add_articles(arts) == 1
    assert catalog.add_articles(arts) == 0
    assert catalog.add_articles([{**arts[0], "warc": None}]) == 0  # no record to join
    assert catalog.count() == len(ROWS)


def test_url_matching_ignores_scheme_www_case_and_query_order(catalog: Catalog) -> None:
    catalog.add_captures(ROWS)
    ferry = catalog.captures("HTTPS://WWW.Example.com/news/ferry.html")
    assert [c.timestamp for c in ferry] == ["20261120090000", "20261121090000",
                                            "20261122090000", "20261123090000"]
    assert len(catalog.captures("example.com/news/farm.html?a=1&b=2")) == 1
    news = catalog.captures("http://example.com/news/", match="prefix")
    assert {c.url.rsplit("/", 1)[1] for c in news} == {"ferry.html", "farm.html?b=2&a=1"}
    everything = catalog.captures("example.com", match="prefix")
    assert len(everything) == 7 and all(c.site == "news" for c in everything)
    assert len(catalog.captures("example.com/news", match="prefix")) == 6  # + newsletter


def test_closest_and_latest(catalog: Catalog) -> None:
    catalog.add_captures(ROWS)
    url = "http://example.com/news/ferry.html"
    assert catalog.closest(url).timestamp == "20261123090000"
    assert catalog.closest(url, "20261121200000").timestamp == "20261121090000"
    assert catalog.closest(url, "20261121220000").timestamp == "20261122090000"
    assert catalog.closest(url, "2025").timestamp == "20261120090000"
    assert catalog.closest(url, "20261121210000").timestamp == "20261121090000"  # tie: earlier
    with pytest.raises(CaptureNotFound, match=r"No capture of http://example.com/nope at or "
                       r"near 2026 in the catalog"):
        catalog.closest("http://example.com/nope", "2026")
    capture = catalog.closest(url)
    assert catalog.get(capture.id) == capture and catalog.get(10**9) is None
    with pytest.raises(AttributeError):
        capture.url = "x"  # type: ignore[misc]


def test_search_filters_and_full_text(catalog: Catalog) -> None:
    catalog.add_captures(ROWS)
    catalog.add_articles([
        article("http://example.com/news/ferry.html", 200, "Ferries add night crossings",
                "The city ferry operator will run boats at night across the Bosphorus."),
        article("http://example.com/news/farm.html?b=2&a=1", 400, "Farmers brace for harvest",
                "Anatolian farmers expect an early harvest of wheat."),
    ])
    hits = catalog.search(text="crossing ferries")  # stemmed, every word must match
    assert [h.capture.offset for h in hits] == [200]
    assert hits[0].title == "Ferries add night crossings"
    assert f"{MARK_START}ferr" in hits[0].snippet.lower() and MARK_END in hits[0].snippet
    assert "<mark>" in hits[0].snippet_html() and MARK_START not in hits[0].snippet_text
    assert catalog.search(text="wheat", site="other") == []
    assert [h.capture.offset for h in catalog.search(text="wheat")] == [400]
    assert catalog.search(text='" OR 1=1 -- NEAR(') == []  # user text is never syntax
    assert len(catalog.search()) == len(ROWS)
    assert [h.capture.offset for h in catalog.search(site="other")] == [600]
    since = catalog.search(since="20261122", until="20261122")
    assert [h.capture.offset for h in since] == [200]
    assert len(catalog.search(url="example.com/news/")) == 5
    assert [h.capture.offset for h in catalog.search(mime="text/css")] == [700]
    page = catalog.search(limit=3, offset=3)
    assert [h.capture.timestamp for h in page] == sorted(
        [r["timestamp"] for r in ROWS], reverse=True)[3:6]
    assert catalog.search(url="example.com/news/ferry.html")[0].title is None  # 304 capture


def test_article_versions_sites_and_clear(catalog: Catalog) -> None:
    catalog.add_captures(ROWS)
    url = "http://example.com/news/ferry.html"
    # no articles: the distinct payloads, the same digest and the 304 left out
    assert [v.offset for v in catalog.versions(url)] == [0, 200]
    catalog.add_articles([article(url, 200, "F", "text")])
    ferry = catalog.captures(url)
    assert catalog.article(ferry[2].id)["title"] == "F"  # type: ignore[index]
    assert catalog.article(ferry[0].id) is None
    # with articles: the captures that hold a version of the text
    assert [v.offset for v in catalog.versions(url)] == [200]
    catalog.add_articles([article(url, 0, "F", "old text")])
    assert [v.offset for v in catalog.versions(url)] == [0, 200]
    assert catalog.sites() == ["news", "other"]
    catalog.clear("other")
    assert catalog.sites() == ["news"] and catalog.count() == len(ROWS) - 1
    catalog.clear()
    assert catalog.count() == 0 and catalog.search(text="text") == []


def test_large_offsets_fit(catalog: Catalog) -> None:
    catalog.add_captures([row("http://example.com/big", "20261120", 5 * 2**31)])
    assert catalog.closest("http://example.com/big").offset == 5 * 2**31


def test_bad_urls_and_timestamps_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="Unsupported catalog database 'mysql'"):
        Catalog("mysql://x@localhost/db")
    with pytest.raises(CatalogError, match="Invalid database URL"):
        Catalog("not a url")
    assert pad_timestamp("2026") == "20260101000000"
    assert pad_timestamp("2026-11", high=True) == "20261131235959"
    with pytest.raises(ValueError, match="14 digits"):
        pad_timestamp("yesterday")


def test_revisits_resolve_to_their_original_and_are_never_versions(catalog: Catalog) -> None:
    url = "http://example.com/news/ferry.html"
    catalog.add_captures([
        row(url, "20261120090000", 0, digest="sha1:A"),
        row(url, "20261121090000", 100, digest="sha1:A", mime="warc/revisit"),
        row(url, "20261122090000", 200, digest="sha1:B"),
        row(url, "20261123090000", 300, digest="sha1:B", mime="warc/revisit"),
        row(url, "20261124090000", 400, digest="sha1:A"),  # A again, archived whole
        row(url, "20261125090000", 500, digest="sha1:A", mime="warc/revisit"),
        row("http://example.com/site.css", "20261121090000", 600, digest="sha1:C",
            mime="text/css"),
        row("http://example.com/site.css", "20261122090000", 700, digest="sha1:C",
            mime="warc/revisit"),
    ])
    assert [c.revisit for c in catalog.captures(url)] == [False, True] * 3
    assert [v.offset for v in catalog.versions(url)] == [0, 200, 400]

    def original(at: str | None, digest: str, of: str = url) -> int | None:
        found = catalog.original(of, at, digest)
        return None if found is None else found.offset

    assert original("20261120090000", "sha1:A") == 0  # the one the revisit names
    assert original("20261124090000", "sha1:A") == 400
    assert original("20261121090000", "sha1:A") == 0  # never the revisit at that time
    assert original("20261123000000", "sha1:A") == 400  # none at that time: the closest
    assert original(None, "sha1:A") == 400  # no date given: the latest
    assert original("20261122090000", "sha1:B", "https://www.example.com/news/ferry.html") == 200
    assert original("20261120090000", "sha1:C") is None  # another URL's payload
    assert original("20261120090000", "sha1:A", "http://example.com/other") is None
    # a revisit counts as the type of what it revisits when searching by type
    assert sorted(h.capture.offset for h in catalog.search(mime="text/html")) == \
        [0, 100, 200, 300, 400, 500]
    assert sorted(h.capture.offset for h in catalog.search(mime="text/css")) == [600, 700]


def versioned(url: str, offset: int, text: str, version: int | None,
              added: int | None = None, removed: int | None = None) -> dict[str, Any]:
    record = {**article(url, offset, "Ferries", text), "version": version, "changes": None}
    if added is not None:
        record["changes"] = {"previous_hash": "sha256:x", "words_added": added,
                             "words_removed": removed}
    if version is None:  # a record from before article versions
        del record["version"], record["changes"]
    return record


def test_article_versions_in_listings_and_search(catalog: Catalog) -> None:
    url = "http://example.com/news/ferry.html"
    catalog.add_captures(ROWS[:3])
    catalog.add_articles([versioned(url, 0, "Night ferries run.", 1),
                          versioned(url, 200, "Night ferries run until two.", 2, 2, 0)])
    first, _, second = catalog.captures(url)
    assert catalog.article_versions(url) == {first.id: ArticleVersion(1, None, None),
                                             second.id: ArticleVersion(2, 2, 0)}
    assert catalog.article_versions("example.com/news/", match="prefix") == \
        catalog.article_versions(url)
    assert [ArticleVersion(1).label(), ArticleVersion(2, 2, 0).label(),
            ArticleVersion(None).label(), ArticleVersion(3, 0, 4).tag] == \
        ["v1", "v2 +2/-0", "", "v3"]
    hits = catalog.search(text="ferries")
    assert sorted((h.capture.offset, h.article) for h in hits) == [
        (0, ArticleVersion(1, None, None)), (200, ArticleVersion(2, 2, 0))]
    assert catalog.search(url=url)[1].article is None  # the capture without an article


def test_a_catalog_from_before_article_versions_gets_the_columns(catalog: Catalog) -> None:
    url = "http://example.com/news/ferry.html"
    catalog.add_captures(ROWS[:3])
    catalog.add_articles([versioned(url, 0, "Night ferries run.", 1),
                          versioned(url, 100, "Night ferries run.", None),
                          versioned(url, 200, "Night ferries run until two.", 2, 2, 0)])
    with catalog.engine.begin() as conn:  # the tables as an older warcwire made them
        for name in VERSION_COLUMNS:
            conn.exec_driver_sql(f"ALTER TABLE articles DROP COLUMN {name}")
    catalog.close()
    reopened = Catalog(catalog.url)
    try:
        first, old, second = reopened.captures(url)
        assert reopened.article_versions(url) == {
            first.id: ArticleVersion(1, None, None), old.id: ArticleVersion(None, None, None),
            second.id: ArticleVersion(2, 2, 0)}
        again = Catalog(catalog.url)  # already there: nothing added, nothing changed
        assert again.article_versions(url) == reopened.article_versions(url)
        again.close()
        assert reopened.search(text="ferries")[0].title == "Ferries"  # search index intact
    finally:
        reopened.close()
