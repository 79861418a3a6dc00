"""The bridge from the spider to the normalizer stage.

Each :class:`ArticleItem` becomes a versioned normalizer record, written to a
JSON Lines file in the spool; the uploader stores it beside the WARCs.
A full spool disk stops the crawl; the records written until then are kept.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.statscollectors import StatsCollector

from crawler.items import ArticleItem
from crawler.warc_capture import stop_on_full_disk
from normalizer.jsonl import JsonlWriter
from normalizer.record import WarcLocation, record_from_content


class NormalizerPipeline:
    def __init__(self, spool_dir: Path, site: str, run_id: str, prefix: str,
                 stats: StatsCollector) -> None:
        self.site = site
        self.run_id = run_id
        self.stats = stats
        self.writer = JsonlWriter(spool_dir, site, run_id, prefix=prefix)
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
                       s.get("WARCWIRE_RUN_ID", "run"), s.get("WARCWIRE_WARC_PREFIX", "warcwire"),
                       crawler.stats)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        pipeline.crawler = crawler
        return pipeline

    def process_item(self, item: Any, spider: Spider | None = None) -> Any:
        if not isinstance(item, ArticleItem):
            return item
        record = record_from_content(
            item.content, url=item.url, site=self.site, run_id=self.run_id,
            fetched_at=item.fetched_at, warc_location=cast(WarcLocation | None, item.warc_location),
        )
        try:
            self.writer.write(record)
        except OSError as exc:
            if not stop_on_full_disk(self.crawler, exc, "the articles file"):
                raise
            # its capture is archived: `warcwire normalize` can extract it again
            self.stats.inc_value("normalizer/not_written")
            return item
        self.stats.inc_value("normalizer/records")
        return item

    def spider_closed(self, spider: Spider) -> None:
        try:
            self.writer.close()
        except OSError as exc:  # left .open, ending on a whole line, for spool recovery
            if not stop_on_full_disk(self.crawler, exc, "the articles file", stop=False):
                raise
