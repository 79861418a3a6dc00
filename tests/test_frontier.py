"""What a run fetches: the article policy, and what a fetch records about its URL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from crawler.fetch_state import fetched_row
from crawler.frontier import Frontier, RevisitPolicy
from crawler.warc_capture import Captured
from storage.crawl_state import UrlState
from storage.warc import RecordLocation, Written

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)


def known(url: str, *, first_seen: datetime, fetched_at: datetime | None = None,
          hint: datetime | None = None) -> UrlState:
    return UrlState(url=url, kind="article", first_seen=first_seen, fetched_at=fetched_at,
                    hint=hint, status=200 if fetched_at else None)


def frontier(*states: UrlState, policy: RevisitPolicy | None = None) -> Frontier:
    return Frontier({s.url: s for s in states}, policy or RevisitPolicy(), now=NOW)


def test_new_articles_come_first_newest_first_then_changed_then_young_revisits() -> None:
    f = frontier(
        known("old-unchanged", first_seen=NOW - 30 * DAY, fetched_at=NOW - 29 * DAY),
        known("old-changed", first_seen=NOW - 30 * DAY, fetched_at=NOW - 29 * DAY,
              hint=NOW - 2 * HOUR),
        known("young-due", first_seen=NOW - DAY, fetched_at=NOW - 7 * HOUR),
        known("young-fresh", first_seen=NOW - DAY, fetched_at=NOW - HOUR),
        known("backlog", first_seen=NOW - 3 * DAY),  # discovered before, never fetched
    )
    f.see("new-undated", "article")
    f.see("new-dated", "article", hint=NOW - 3 * HOUR)
    f.see("new-older", "article", hint=NOW - 5 * DAY)
    f.see("old-unchanged", "article")
    picks = f.select(100)
    assert [(p.state.url, p.reason) for p in picks] == [
        ("new-undated", "new"),  # first seen now: the newest
        ("new-dated", "new"), ("backlog", "new"), ("new-older", "new"),
        ("old-changed", "changed"), ("young-due", "revisit")]
    assert f.select(100) == []  # taken once per run
    assert f.skipped_known() == 1  # old-unchanged: listed again, not fetched


def test_the_budget_goes_to_new_articles_first_and_the_rest_wait() -> None:
    f = frontier(known("changed", first_seen=NOW - 9 * DAY, fetched_at=NOW - 8 * DAY,
                       hint=NOW - HOUR))
    for n in range(5):
        f.see(f"new-{n}", "article", hint=NOW - n * HOUR)
    assert [p.state.url for p in f.select(3)] == ["new-0", "new-1", "new-2"]
    assert f.backlog() == 2
    assert [p.state.url for p in f.select(3)] == ["new-3", "new-4", "changed"]


def test_revisit_interval_zero_rechecks_every_young_article_every_run() -> None:
    f = frontier(known("young", first_seen=NOW - HOUR, fetched_at=NOW - timedelta(seconds=1)),
                 known("old", first_seen=NOW - 3 * DAY, fetched_at=NOW - DAY),
                 policy=RevisitPolicy(window=2 * DAY, interval=timedelta(0)))
    assert [p.state.url for p in f.select(10)] == ["young"]


def test_a_date_in_the_second_of_the_fetch_counts_as_a_change() -> None:
    fetched = NOW - HOUR + timedelta(microseconds=400_000)
    f = frontier(known("a", first_seen=NOW - 9 * DAY, fetched_at=fetched,
                       hint=NOW - HOUR))
    assert [p.reason for p in f.select(10)] == ["changed"]


def test_dates_far_in_the_future_are_not_believed() -> None:
    f = frontier(known("a", first_seen=NOW - 9 * DAY, fetched_at=NOW - 8 * DAY))
    f.see("a", "article", hint=NOW + 30 * DAY)
    assert f.select(10) == []


def test_discovery_changes_are_kept_for_the_state_and_a_304_relists_children() -> None:
    f = frontier(UrlState(url="section", kind="page", first_seen=NOW - DAY, via="front"),
                 known("art", first_seen=NOW - 9 * DAY, fetched_at=NOW - 8 * DAY),
                 UrlState(url="img", kind="asset", first_seen=NOW - DAY, via="front"))
    f.states["art"].via = "front"
    f.see("front", "page")
    assert [s.url for s in f.pop_dirty()] == ["front"] and f.pop_dirty() == []
    assert [s.url for s in f.relist("front")] == ["section"]
    assert f.skipped_known() == 1  # the article the unchanged front page still lists


def captured(status_line: str, headers: list[tuple[str, str]], *, revisit: str | None = None,
             digest: str | None = "sha1:NEW", url: str = "u") -> Captured:
    written = Written(RecordLocation("k.warc.gz", 10, 99), 2, 300, record_id="<urn:new>",
                      date="2026-11-30T12:00:00Z", digest=digest, revisit=revisit)
    return Captured(url, written, status_line, tuple(headers))


def test_a_whole_200_becomes_the_original_and_gives_the_validators() -> None:
    state = UrlState(url="u", kind="article", first_seen=NOW)
    row = fetched_row(state, 200, captured("HTTP/1.1 200 OK", [("etag", '"x"'),
                                           ("Last-Modified", "Mon")]), NOW)
    assert (row.etag, row.last_modified, row.digest, row.orig_record_id) == (
        '"x"', "Mon", "sha1:NEW", "<urn:new>")
    assert row.original() is not None and row.original().headers == (  # type: ignore[union-attr]
        ("etag", '"x"'), ("Last-Modified", "Mon"))
    assert state.fetched_at is None  # the caller's row is a copy


def test_a_revisit_keeps_the_original_and_an_error_drops_the_validators() -> None:
    first = fetched_row(UrlState(url="u", kind="article", first_seen=NOW), 200,
                        captured("HTTP/1.1 200 OK", [("ETag", '"x"')]), NOW)
    again = fetched_row(first, 304, captured("HTTP/1.1 304 Not Modified", [("ETag", '"y"')],
                                             revisit="server-not-modified",
                                             digest="sha1:NEW"), NOW + DAY)
    assert (again.digest, again.orig_record_id, again.etag, again.status) == (
        "sha1:NEW", "<urn:new>", '"y"', 304)
    gone = fetched_row(again, 404, captured("HTTP/1.1 404 Not Found", [("ETag", '"z"')],
                                            digest="sha1:GONE"), NOW + 2 * DAY)
    assert (gone.etag, gone.last_modified, gone.digest) == (None, None, "sha1:NEW")


def test_via_is_the_shallowest_hub_so_304s_from_the_entry_points_reach_every_hub() -> None:
    # the front page links to a section, the section back to the front page and to an
    # about page that links to the section again: a cycle
    f = frontier()
    f.see("front", "page", depth=0)
    f.see("section", "page", via="front", depth=1)
    f.see("front", "page", via="about", depth=2)  # deeper: not the front page's via
    f.see("about", "page", via="section", depth=2)
    f.see("section", "page", via="about", depth=3)
    assert (f.states["front"].via, f.states["section"].via) == (None, "front")
    assert [s.url for s in f.relist("front")] == ["section"]
    assert [s.url for s in f.relist("section")] == ["about"]
