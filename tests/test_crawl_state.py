"""The crawl state tables on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.crawl_state import ArticleVersion, CrawlState, UrlState
from tests.test_catalog import postgres_admin, throwaway_database  # noqa: F401 (fixture)
from warcwire.exceptions import StateError

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def state(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CrawlState]:
    with throwaway_database(request, tmp_path) as url:
        st = CrawlState(url)
        try:
            yield st
        finally:
            st.close()


def fetched(url: str, **kwargs: object) -> UrlState:
    values: dict = dict(url=url, kind="article", first_seen=NOW - timedelta(days=1),
                        via="https://n.example/sitemap.xml", fetched_at=NOW, status=200,
                        etag='"e1"', last_modified="Mon, 30 Nov 2026 11:00:00 GMT",
                        digest="sha1:AAA", orig_date="2026-11-30T12:00:00Z",
                        orig_record_id="<urn:uuid:1>", orig_status_line="HTTP/1.1 200 OK",
                        orig_headers=[["Content-Type", "text/html"]], warc_key="k.warc.gz",
                        warc_offset=100, warc_length=2000)
    values.update(kwargs)
    return UrlState(**values)


def test_urls_round_trip_by_site(state: CrawlState) -> None:
    long_url = "https://n.example/" + "x" * 5000  # longer than any index key allows
    state.save("news", fetched=[fetched("https://n.example/a"), fetched(long_url)])
    state.save("other", discovered=[UrlState(url="https://o.example/b", kind="sitemap",
                                             first_seen=NOW)])
    loaded = state.load_urls("news")
    assert set(loaded) == {"https://n.example/a", long_url}
    assert loaded["https://n.example/a"] == fetched("https://n.example/a")
    assert loaded["https://n.example/a"].original().digest == "sha1:AAA"  # type: ignore
    assert list(state.load_urls("other")) == ["https://o.example/b"]


def test_a_discovery_never_undoes_a_fetch_nor_a_fetch_a_discovery(state: CrawlState) -> None:
    url = "https://n.example/a"
    stale = UrlState(url=url, kind="article", first_seen=NOW - timedelta(days=1),
                     via="https://n.example/sitemap.xml")
    state.save("news", fetched=[fetched(url)])
    stale.hint = NOW  # a later discovery, from an object that never saw the fetch
    state.save("news", discovered=[stale])
    row = state.load_urls("news")[url]
    assert row.hint == NOW and row.etag == '"e1"' and row.fetched_at == NOW
    state.save("news", fetched=[fetched(url, etag='"e2"', hint=None, via=None)])
    row = state.load_urls("news")[url]
    assert row.etag == '"e2"' and row.hint == NOW and row.via == (
        "https://n.example/sitemap.xml")


def test_article_versions_keep_the_last_text(state: CrawlState) -> None:
    state.save("news", versions=[ArticleVersion("https://n.example/a", 1, "sha256:1", "one")])
    state.save("news", versions=[ArticleVersion("https://n.example/a", 2, "sha256:2", "two"),
                                 ArticleVersion("https://n.example/b", 1, "sha256:3", "b")])
    assert state.load_versions("news") == {
        "https://n.example/a": ArticleVersion("https://n.example/a", 2, "sha256:2"),
        "https://n.example/b": ArticleVersion("https://n.example/b", 1, "sha256:3")}
    assert state.version_text("news", "https://n.example/a") == "two"
    assert state.version_text("news", "https://n.example/zzz") is None
    state.clear("news")
    assert state.load_versions("news") == {} and state.load_urls("news") == {}


def test_an_unreachable_database_is_one_line() -> None:
    with pytest.raises(StateError) as err:
        CrawlState("postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert "\n" not in str(err.value) and "127.0.0.1:1" in str(err.value)
