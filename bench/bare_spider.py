"""The baseline: a Scrapy spider that reads the sitemap, fetches every article
and does nothing with it, under the same politeness settings warcwire gets
from the bench config. Writes its counts as JSON.

    python bench/bare_spider.py http://127.0.0.1:8080/sitemap.xml \\
        --pattern '/\\d{4}/\\d{2}/\\d{2}/[^/]+\\.html$' --json-out counts.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from scrapy.crawler import CrawlerProcess
from scrapy.http import Response
from scrapy.spiders import SitemapSpider

SETTINGS = {
    "ROBOTSTXT_OBEY": True,
    "AUTOTHROTTLE_ENABLED": False,
    "DOWNLOAD_DELAY": 0,
    "CONCURRENT_REQUESTS": 32,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
    # warcwire's own value (crawler/settings.py). Scrapy's default of 100 starts 100 asyncio
    # tasks per callback; left at 100 it made this baseline ~15% slower than warcwire itself.
    "CONCURRENT_ITEMS": 16,
    "LOG_LEVEL": "WARNING",
    "TELNETCONSOLE_ENABLED": False,
    "USER_AGENT": "warcwire-bench-bare/0.1",
}


class BareSpider(SitemapSpider):
    name = "bare"

    def __init__(self, sitemap: str, pattern: str, **kwargs: Any) -> None:
        # SitemapSpider compiles sitemap_rules in its __init__, so set them first.
        self.sitemap_urls = [sitemap]
        self.sitemap_rules = [(pattern, "parse_article")]
        super().__init__(**kwargs)
        self.articles = 0
        self.article_bytes = 0

    def parse_article(self, response: Response) -> None:
        if response.status == 200:
            self.articles += 1
            self.article_bytes += len(response.body)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Bare Scrapy baseline for the crawl bench.")
    parser.add_argument("sitemap", help="sitemap (index) URL")
    parser.add_argument("--pattern", required=True, help="regex for article URLs")
    parser.add_argument("--json-out", type=Path, required=True)
    parser.add_argument("-s", "--set", action="append", default=[], metavar="NAME=VALUE",
                        help="override a Scrapy setting (for experiments)")
    args = parser.parse_args(argv)
    settings = dict(SETTINGS)
    for item in args.set:
        name, _, value = item.partition("=")
        settings[name] = value
    t0 = time.monotonic()
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(BareSpider)
    process.crawl(crawler, sitemap=args.sitemap, pattern=args.pattern)
    process.start()
    spider: Any = crawler.spider
    stats = crawler.stats.get_stats() if crawler.stats else {}
    args.json_out.write_text(json.dumps({
        "articles": spider.articles if spider else 0,
        "article_bytes": spider.article_bytes if spider else 0,
        "responses": stats.get("response_received_count", 0),
        "crawl_seconds": time.monotonic() - t0,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
