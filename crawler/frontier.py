"""Which article URLs a run fetches, and in what order.

Hubs (robots.txt, sitemaps, feeds, start and section pages) are fetched every
run, conditionally; the spider handles those. Articles go through here: the
spider reports every article URL it discovers (with the date the site gave,
if any), and when discovery is done it asks for the next ones to fetch:

1. never fetched, newest first (news:publication_date, lastmod or feed date;
   undated ones by when they were first seen);
2. fetched before, but the site now gives a date newer than that fetch;
3. young articles (first seen within ``window``) not fetched for ``interval``.

Known articles the site does not signal as changed are not fetched again.
The budget (``max_pages``) is spent on these fetches only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.crawl_state import UrlState

REASONS = ("new", "changed", "revisit")


@dataclass(frozen=True)
class RevisitPolicy:
    """Re-check articles first seen within ``window``, at most once per ``interval``."""

    window: timedelta = timedelta(days=2)
    interval: timedelta = timedelta(hours=6)


@dataclass(frozen=True)
class Pick:
    state: UrlState
    reason: str  # one of REASONS
    depth: int


_OLDEST = datetime.min.replace(tzinfo=UTC)


class Frontier:
    """The site's known URLs (from the crawl state) plus what this run discovers."""

    def __init__(self, known: dict[str, UrlState], policy: RevisitPolicy | None = None, *,
                 now: datetime | None = None) -> None:
        self.states = known
        self.policy = policy or RevisitPolicy()
        self.now = now or datetime.now(UTC)
        self.taken: set[str] = set()  # requested this run
        self.seen: set[str] = set()  # discovered this run
        self.depth: dict[str, int] = {}
        self.dirty: dict[str, UrlState] = {}  # discovery changes for the crawl state

    def see(self, url: str, kind: str, *, via: str | None = None,
            hint: datetime | None = None, depth: int = 0) -> UrlState:
        """Note ``url`` as discovered; its state row, new or known.

        ``via`` is kept from the shallowest hub that lists the URL, so following
        ``via`` back always ends at an entry point: a chain of 304s from the entry
        points then reaches every hub (see :meth:`relist`), whatever cycles the
        site's links make.
        """
        state = self.states.get(url)
        if hint is not None and hint > self.now + timedelta(days=1):
            hint = None  # a date in the future says nothing
        if state is None:
            state = UrlState(url=url, kind=kind, first_seen=self.now, via=via, depth=depth,
                             hint=hint)
            self.states[url] = state
            self.dirty[url] = state
        else:
            if hint is not None and (state.hint is None or hint > state.hint):
                state.hint = hint
                self.dirty[url] = state
            if state.depth is None or depth < state.depth:
                state.via, state.depth = via, depth
                self.dirty[url] = state
            if kind != state.kind:
                state.kind = kind
                self.dirty[url] = state
        self.seen.add(url)
        self.depth[url] = min(depth, self.depth.get(url, depth))
        return state

    def take(self, url: str) -> bool:
        """Claim ``url`` for fetching this run; False if it was already."""
        if url in self.taken:
            return False
        self.taken.add(url)
        return True

    def relist(self, hub: str) -> list[UrlState]:
        """A 304 means ``hub`` lists what it listed last time: its articles count as
        seen again; the hubs among them are returned, to be fetched again."""
        hubs = []
        for state in self.states.values():
            if state.via != hub:
                continue
            if state.kind == "article":
                self.seen.add(state.url)
            elif state.kind != "asset":
                hubs.append(state)
        return hubs

    def pop_dirty(self) -> list[UrlState]:
        dirty = list(self.dirty.values())
        self.dirty.clear()
        return dirty

    def select(self, limit: int) -> list[Pick]:
        """Up to ``limit`` articles to fetch next, in policy order; they count as taken."""
        if limit <= 0:
            return []
        new: list[UrlState] = []
        changed: list[UrlState] = []
        revisit: list[UrlState] = []
        window_start = self.now - self.policy.window
        due_before = self.now - self.policy.interval
        for url, state in self.states.items():
            if state.kind != "article" or url in self.taken:
                continue
            if state.fetched_at is None:
                new.append(state)
            elif state.hint is not None and state.hint >= state.fetched_at.replace(microsecond=0):
                # >=: site dates have whole seconds; a change in the second of our fetch
                # may have come after it (one conditional request too many at worst)
                changed.append(state)
            elif state.first_seen >= window_start and state.fetched_at <= due_before:
                revisit.append(state)
        new.sort(key=lambda s: s.hint or s.first_seen, reverse=True)
        changed.sort(key=lambda s: s.hint or _OLDEST, reverse=True)
        revisit.sort(key=lambda s: s.first_seen, reverse=True)
        picks: list[Pick] = []
        for reason, group in (("new", new), ("changed", changed), ("revisit", revisit)):
            for state in group:
                if len(picks) >= limit:
                    return picks
                self.taken.add(state.url)
                picks.append(Pick(state, reason, self.depth.get(state.url, 0)))
        return picks

    def skipped_known(self) -> int:
        """Known articles discovered this run and not fetched: what incremental saved."""
        return sum(1 for url in self.seen - self.taken
                   if (s := self.states.get(url)) is not None and s.kind == "article"
                   and s.fetched_at is not None)

    def backlog(self) -> int:
        """Articles never fetched and not taken this run (left for later runs)."""
        return sum(1 for url, s in self.states.items()
                   if s.kind == "article" and s.fetched_at is None and url not in self.taken)
