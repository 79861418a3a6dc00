"""A live progress line while a crawl runs.

On a terminal it redraws one status line; elsewhere (cron, systemd) it logs a
line every ``WARCWIRE_PROGRESS_INTERVAL`` seconds instead.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import TextIO

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector
from twisted.internet import task

from warcwire.humanize import human_bytes

logger = logging.getLogger(__name__)


def error_count(stats: dict) -> int:
    return sum(v for k, v in stats.items() if k.startswith("warcwire/errors/"))


def progress_line(stats: dict, elapsed: float) -> str:
    """Fetched, queued and an estimate of the time left, as Browsertrix shows them."""
    fetched = stats.get("response_received_count", 0)
    rate = fetched / elapsed if elapsed > 0 else 0.0
    queued = max(0, stats.get("scheduler/enqueued", 0) - stats.get("scheduler/dequeued", 0))
    eta = f"  ~{queued / rate:.0f}s left" if queued and rate > 0 else ""
    return (f"fetched {fetched} ({rate:.1f}/s)  queued {queued}  pages "
            f"{stats.get('warcwire/pages', 0)}  articles {stats.get('warcwire/articles', 0)}"
            f"  archived {human_bytes(stats.get('warc/bytes', 0))}"
            f"  errors {error_count(stats)}  {elapsed:.0f}s{eta}")


class Progress:
    def __init__(self, stats: StatsCollector, interval: float, stream: TextIO) -> None:
        self.stats = stats
        self.interval = interval
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        if not crawler.settings.getbool("WARCWIRE_PROGRESS", False):
            raise NotConfigured
        ext = cls(crawler.stats, crawler.settings.getfloat("WARCWIRE_PROGRESS_INTERVAL", 10.0),
                  sys.stderr)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider: Spider) -> None:
        self.started = time.monotonic()
        self.loop = task.LoopingCall(self.show)
        self.loop.start(1.0 if self.tty else self.interval, now=False)

    def show(self) -> None:
        line = progress_line(self.stats.get_stats(), time.monotonic() - self.started)
        if self.tty:
            self.stream.write("\r\033[K" + line)
            self.stream.flush()
        else:
            logger.info("progress: %s", line)

    def spider_closed(self, spider: Spider) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        if self.tty:
            self.stream.write("\r\033[K")
            self.stream.flush()
