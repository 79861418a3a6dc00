"""The bridge from the spider to the normalizer stage.

Each :class:`ArticleItem` becomes a versioned normalizer record, written to a
JSON Lines file in the spool; the uploader stores it beside the WARCs. An
article is emitted once per version: with a crawl state, a text whose hash
equals the last emitted version's emits nothing, a changed one emits the next
``version`` with what changed. A full spool disk stops the crawl; the records
written until then are kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector

from crawler.items import ArticleItem
from crawler.state_recorder import open_state, state_changed
from crawler.warc_capture import archive_sync_requested, stop_on_full_disk
from normalizer.jsonl import JsonlWriter
from normalizer.record import WarcLocation, record_from_content, word_changes
from storage.crawl_state import ArticleVersion, CrawlState
from warcwire import defaults


class NormalizerPipeline:
    def __init__(self, spool_dir: Path, site: str, run_id: str, prefix: str,
                 stats: StatsCollector, state: CrawlState | None = None) -> None:
        self.site = site
        self.run_id = run_id
        self.stats = stats
        self.writer = JsonlWriter(spool_dir, site, run_id, prefix=prefix)
        self.state = state
        self.versions: dict[str, ArticleVersion] = {}
        self.crawler: Crawler | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> NormalizerPipeline:
        s = crawler.settings
        spool = s.get("WARCWIRE_SPOOL_DIR")
        if not spool:
            raise NotConfigured("WARCWIRE_SPOOL_DIR is not set")
        if crawler.stats is None:  # Crawler sets it before building components
            raise NotConfigured("the crawler has no stats collector")
        pipeline = cls(Path(spool), s.get("WARCWIRE_SITE", "default"),
                       s.get("WARCWIRE_RUN_ID", "run"),
                       s.get("WARCWIRE_WARC_PREFIX", defaults.WARC_PREFIX), crawler.stats,
                       open_state(s))
        crawler.signals.connect(pipeline.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(pipeline.sync_requested, signal=archive_sync_requested)
        pipeline.crawler = crawler
        return pipeline

    def spider_opened(self, spider: Spider) -> None:
        if self.state is not None:
            self.versions = self.state.load_versions(self.site)

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        key = item.key or item.url
        text, digest = item.content["text"], item.content["content_hash"]
        previous = self.versions.get(key)
        if previous is not None and previous.content_hash == digest:
            self.stats.inc_value("normalizer/unchanged")
            if item.known:
                self.stats.inc_value("warcwire/incremental/unchanged")
            self._report(item, None)
            return item
        version, changes = 1, None
        if previous is not None:
            version = previous.version + 1
            old_text = self.state.version_text(self.site, key) if self.state else None
            changes = word_changes(old_text, text, previous.content_hash)
        record = record_from_content(
            item.content, url=item.url, site=self.site, run_id=self.run_id,
            fetched_at=item.fetched_at, version=version, changes=changes,
            warc_location=cast(WarcLocation | None, item.warc_location),
        )
        try:
            self.writer.write(record)
        except OSError as exc:
            if not stop_on_full_disk(self.crawler, exc, "the articles file"):
                raise
            # its capture is archived: `warcwire normalize` can extract it again
            self.stats.inc_value("normalizer/not_written")
            return item
        self.versions[key] = ArticleVersion(key, version, digest)
        self.stats.inc_value("normalizer/records")
        if item.known:
            self.stats.inc_value("warcwire/incremental/changed")
        self._report(item, ArticleVersion(key, version, digest, text))
        return item

    def _report(self, item: ArticleItem, version: ArticleVersion | None) -> None:
        """The page's fetch and the article's version go to the crawl state together."""
        if self.crawler is None or self.state is None:
            return
        self.crawler.signals.send_catch_log(
            state_changed, fetched=[item.fetched] if item.fetched else [],
            versions=[version] if version else [])

    async def sync_requested(self) -> None:
        """Every record written so far is on disk once this returns."""
        self.writer.sync()

    def spider_closed(self, spider: Spider) -> None:
        try:
            self.writer.close()
        except OSError as exc:  # left .open, ending on a whole line, for spool recovery
            if not stop_on_full_disk(self.crawler, exc, "the articles file", stop=False):
                raise
        finally:
            if self.state is not None:
                self.state.close()
