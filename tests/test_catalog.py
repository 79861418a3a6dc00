"""The capture catalog on SQLite and on a real PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storage.catalog import MARK_END, MARK_START, Catalog, pad_timestamp
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


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Catalog]:
    if request.param == "sqlite":
        cat = Catalog(f"sqlite:///{tmp_path / 'cat.db'}")
        yield cat
        cat.close()
        return
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    admin = request.getfixturevalue("postgres_admin")
    name = f"warcwire_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_ADMIN).set(database=name).render_as_string(hide_password=False)
    cat = Catalog(url)
    try:
        yield cat
    finally:
        cat.close()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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
    catalog.add_articles([article("http://example.com/news/ferry.html", 200, "F", "text")])
    ferry = catalog.captures("http://example.com/news/ferry.html")
    assert catalog.article(ferry[2].id)["title"] == "F"  # type: ignore[index]
    assert catalog.article(ferry[0].id) is None
    versions = catalog.versions("http://example.com/news/ferry.html")
    assert [v.offset for v in versions] == [0, 200]  # same digest and the 304 left out
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
