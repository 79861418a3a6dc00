"""Count redirect loops, which Scrapy's duplicate filter otherwise drops silently.

A redirect is scheduled like any request, so in a loop (A -> B -> A) the second
A is filtered as a duplicate and the page just vanishes from the run. Requests
whose own URL is already in their ``redirect_urls`` are such loops: they are
counted as ``warcwire/errors/redirect_loop``. Every hop up to the loop is
archived by the capture middleware.
"""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.dupefilters import RFPDupeFilter


class CountingDupeFilter(RFPDupeFilter):
    def log(self, request: Request, spider: Spider) -> None:
        super().log(request, spider)
        if request.url in request.meta.get("redirect_urls", ()):
            spider.crawler.stats.inc_value("warcwire/errors/redirect_loop")
            spider.logger.info("Redirect loop at %s: %s", request.url,
                               " -> ".join(request.meta["redirect_urls"]))
