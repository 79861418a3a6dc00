"""Upload finished spool files while a crawl runs.

WARCs rotate during long crawls; uploading each as it closes keeps the spool
small. The upload runs in a thread (storage/ is synchronous); the final flush
after the crawl is the caller's (see jobs.crawl), so nothing waits on the reactor.
"""

from __future__ import annotations

import logging
from pathlib import Path

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task, threads

from crawler.warc_capture import warc_file_closed
from storage import Store, StoredObject, get_store
from storage.spool import FlushReport, Spool

logger = logging.getLogger(__name__)


class SpoolUploader:
    def __init__(self, spool: Spool, store: Store, interval: float) -> None:
        self.spool = spool
        self.store = store
        self.interval = interval
        self.loop: task.LoopingCall | None = None
        self.busy = False
        self.stored: list[StoredObject] = []  # what this crawl's background flushes stored

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SpoolUploader:
        s = crawler.settings
        uri, spool_dir = s.get("WARCWIRE_STORAGE_URI"), s.get("WARCWIRE_SPOOL_DIR")
        interval = s.getfloat("WARCWIRE_UPLOAD_INTERVAL", 60.0)
        if not uri or not spool_dir or interval <= 0:
            raise NotConfigured
        ext = cls(Spool(Path(spool_dir)), get_store(uri), interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(ext.file_closed, signal=warc_file_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        self.loop = task.LoopingCall(self.tick)
        self.loop.start(self.interval, now=False)

    def file_closed(self, path: Path, key: str) -> None:
        """A WARC rotated mid-crawl: store it now rather than at the next tick."""
        self.tick()

    def tick(self) -> None:
        if self.busy or not self.spool.pending() or (self.loop and not self.loop.running):
            return
        self.busy = True
        d = threads.deferToThread(self.spool.flush, self.store)
        d.addCallback(self._done)
        d.addErrback(lambda f: logger.error("Background upload failed: %s", f.value))
        d.addBoth(self._idle)

    def _done(self, report: FlushReport) -> None:
        self.stored.extend(report.stored)
        for path, error in report.failed:
            logger.warning("Kept %s in the spool: %s", path, error)

    def _idle(self, _: object) -> None:
        self.busy = False

    def spider_closed(self, spider: Spider) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
