"""Write the crawl state as the crawl goes, never ahead of the archive.

The spider and the normalizer pipeline report what they learn with the
``state_changed`` signal: URLs discovered, fetches archived, article versions
emitted. Every ``WARCWIRE_STATE_COMMIT_INTERVAL`` seconds, and when the engine
stops, the recorder takes what was reported, asks every writer to make what
it wrote durable (``archive_sync_requested``: the WARC writer and the JSONL
writer fsync), and only then commits it, in a thread. If a writer cannot
confirm, fetches and versions are dropped (discoveries are kept): the next run
fetches those URLs again rather than believing something that may be lost.

Settings::

    # state database URL (SQLAlchemy); empty = no crawl state, every run starts afresh
    WARCWIRE_STATE_DATABASE = ""
    # seconds between state commits
    WARCWIRE_STATE_COMMIT_INTERVAL = 10.0
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import deferred_from_coro, deferred_to_future
from twisted.internet import task, threads
from twisted.python.failure import Failure

from crawler.warc_capture import archive_sync_requested
from storage.crawl_state import ArticleVersion, CrawlState, UrlState
from warcwire.exceptions import StateError

logger = logging.getLogger(__name__)

# Sent with discovered=, fetched= (lists of UrlState) and versions= (ArticleVersion).
state_changed = object()


def open_state(settings: Any) -> CrawlState | None:
    """The crawl state the settings name, or None: none configured, or unreachable.

    An unreachable state database must not cost a crawl: the run goes on as a
    first run would (everything fetched, nothing claimed), and says so.
    """
    url = settings.get("WARCWIRE_STATE_DATABASE")
    if not url:
        return None
    try:
        return CrawlState(url)
    except StateError as exc:
        logger.error("%s; this run fetches every URL as new and records no crawl state", exc)
        return None


class CrawlStateRecorder:
    def __init__(self, state: CrawlState, site: str, interval: float,
                 stats: StatsCollector | None = None) -> None:
        self.state = state
        self.site = site
        self.interval = interval
        self.stats = stats
        self.crawler: Crawler | None = None
        self._discovered: dict[str, UrlState] = {}
        self._fetched: dict[str, UrlState] = {}
        self._versions: dict[str, ArticleVersion] = {}
        self._loop: task.LoopingCall | None = None
        self._flushing = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> CrawlStateRecorder:
        s = crawler.settings
        state = open_state(s)
        if state is None:
            raise NotConfigured("no crawl state database")
        recorder = cls(state, s.get("WARCWIRE_SITE") or "default",
                       s.getfloat("WARCWIRE_STATE_COMMIT_INTERVAL", 10.0), crawler.stats)
        recorder.crawler = crawler
        crawler.signals.connect(recorder.changed, signal=state_changed)
        crawler.signals.connect(recorder.spider_opened, signal=signals.spider_opened)
        # the last commit waits for every spider_closed handler: the spider reports its
        # last discoveries there, the writers finish (and fsync) their files there
        crawler.signals.connect(recorder.engine_stopped, signal=signals.engine_stopped)
        return recorder

    def changed(self, discovered: Iterable[UrlState] = (), fetched: Iterable[UrlState] = (),
                versions: Iterable[ArticleVersion] = ()) -> None:
        for state in discovered:
            self._discovered[state.url] = state
        for state in fetched:
            self._fetched[state.url] = state
        for version in versions:
            self._versions[version.key] = version

    def spider_opened(self, spider: Spider) -> None:
        if self.interval > 0:
            self._loop = task.LoopingCall(self._tick)
            self._loop.start(self.interval, now=False)

    def _tick(self) -> None:
        if not self._flushing:
            deferred_from_coro(self.flush())

    async def engine_stopped(self) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        while self._flushing:  # a tick's flush is on its way: let it finish first
            await deferred_to_future(task.deferLater(_reactor(), 0.05, lambda: None))
        await self.flush()
        self.state.close()

    async def flush(self) -> None:
        """Commit what was reported so far, once the writers say it is on disk."""
        self._flushing = True
        try:
            discovered = [s.copy() for s in self._discovered.values()]
            fetched, versions = list(self._fetched.values()), list(self._versions.values())
            self._discovered.clear()
            self._fetched.clear()
            self._versions.clear()
            if (fetched or versions) and not await self._sync():
                self._inc("warcwire/state/dropped", len(fetched) + len(versions))
                fetched, versions = [], []
            if not (discovered or fetched or versions):
                return
            try:
                await deferred_to_future(threads.deferToThread(
                    self.state.save, self.site, discovered=discovered, fetched=fetched,
                    versions=versions))
            except StateError as exc:
                logger.error("Crawl state not saved (%s); the next run fetches these "
                             "URLs again", exc)
                self._inc("warcwire/state/errors")
                return
            self._inc("warcwire/state/commits")
        finally:
            self._flushing = False

    async def _sync(self) -> bool:
        if self.crawler is None:
            return True
        results = await self.crawler.signals.send_catch_log_async(archive_sync_requested)
        failed = [r for _, r in results if isinstance(r, Exception | Failure)]
        for failure in failed:
            logger.warning("Crawl state waits: a writer could not make its records durable "
                           "(%s)", getattr(failure, "value", failure))
        return not failed

    def _inc(self, key: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(key, count)


def _reactor() -> Any:
    from twisted.internet import reactor

    return reactor
