"""One generic, config-driven spider for every news site.

A site's entry in sites.yaml says where to start (front pages, sitemaps,
feeds), which URLs are articles and how far to follow links; this spider does
the rest. It archives nothing itself: the WARC capture middleware sees every
exchange, and articles go downstream as :class:`crawler.items.ArticleItem`.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Request, Response, TextResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS, LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure

from crawler.decoded_limit import DECOMPRESSION_MESSAGE, decoded_size_limit
from crawler.discovery import feed_links, parse_sitemap, sitemap_body
from crawler.extraction import ArticleExtractor, default_workers
from crawler.items import ArticleItem
from crawler.ssrf import BlockedAddress
from warcwire.config import SiteConfig

logger = logging.getLogger(__name__)

_HTML_TYPES = (b"text/html", b"application/xhtml+xml")
_CSS_URL = re.compile(rb"""url\(\s*['"]?([^'")\s]+)['"]?\s*\)""")
MAX_ASSETS_PER_PAGE = 100
_ASSET_EXTENSIONS = ["css", "js", "json", "xml", "rss", "atom", "txt"]


def classify_failure(failure: Failure) -> str:
    """A short name for why a request failed, for the run summary."""
    if failure.check(HttpError):
        status = failure.value.response.status
        return f"http_{status // 100}xx"
    if failure.check(DNSLookupError, CannotResolveHostError):
        return "dns"
    if failure.check(ConnectionRefusedError, DownloadConnectionRefusedError):
        return "connection_refused"
    if failure.check(ResponseDataLossError):
        return "data_loss"
    if failure.check(TimeoutError, TCPTimedOutError, DownloadTimeoutError):
        return "timeout"
    if failure.check(BlockedAddress):
        return "blocked_address"
    if failure.check(IgnoreRequest):
        # Scrapy raises IgnoreRequest for these too; they are failures, not robots.txt
        message = str(failure.value)
        if "max redirections" in message:  # RedirectMiddleware: chain over REDIRECT_MAX_TIMES
            return "redirect_limit"
        if DECOMPRESSION_MESSAGE in message:  # decoded body over the limit (gzip bomb)
            return "decoded_too_large"
        return "ignored"
    return failure.type.__name__ if failure.type else "unknown"


_TAG = re.compile(rb"<(img|link|source|video)\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(rb"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")


def page_assets(body: bytes) -> list[str]:
    """Images, stylesheets and icons a page needs to be seen as it was, in page order.

    A regex scan of the raw bytes, as Heritrix's ExtractorHTML does: building
    an lxml tree of every page just for this would cost more than archiving it.
    """
    urls: list[str] = []
    for tag, attrs_raw in _TAG.findall(body):
        attrs = {m[0].lower(): (m[1] or m[2] or m[3]) for m in _ATTR.findall(attrs_raw)}
        tag = tag.lower()
        if tag == b"link":
            rel = attrs.get(b"rel", b"").lower().split()
            if b"stylesheet" in rel or b"icon" in rel:
                urls.append(attrs.get(b"href", b""))
            continue
        urls += [attrs.get(b"src", b""), attrs.get(b"poster", b"")]
        for part in attrs.get(b"srcset", b"").split(b","):
            urls.append(part.strip().split(b" ")[0])
    out: list[str] = []
    seen: set[str] = set()
    for raw in urls:
        url = html.unescape(raw.decode("utf-8", "replace").strip())
        if url and not url.startswith("data:") and url not in seen:
            seen.add(url)
            out.append(url)
    return out


class NewsSpider(scrapy.Spider):
    name = "news"

    def __init__(self, site: SiteConfig, extractor: ArticleExtractor | None = None,
                 max_pages: int | None = None, **kwargs: Any) -> None:
        super().__init__(name=self.name, **kwargs)
        self.site = site
        self.allowed_domains = site.domains
        self.extractor = extractor
        self.max_pages = max_pages or site.max_pages
        self.article_res = [re.compile(p) for p in site.article_patterns]
        self.selectors = site.selectors.model_dump()
        self._scheduled: set[str] = set()
        # Domains are checked by in_domains: LinkExtractor's allow_domains compares the
        # host with its port, so it rejects every link on a site served on a port.
        self.links = LinkExtractor(deny_extensions=_ASSET_EXTENSIONS + IGNORED_EXTENSIONS)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        settings = crawler.settings
        if "extractor" not in kwargs and settings.getbool("WARCWIRE_EXTRACT", True):
            workers = settings.getint("WARCWIRE_EXTRACT_WORKERS", -1)
            kwargs["extractor"] = ArticleExtractor(default_workers() if workers < 0 else workers)
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        return spider

    def _closed(self, spider: scrapy.Spider) -> None:
        if self.extractor is not None:
            self.extractor.close()

    # -- entry points -------------------------------------------------------

    async def start(self) -> AsyncIterator[Request]:
        for url in self.site.sitemaps:
            yield Request(url, callback=self.parse_sitemap, errback=self.on_error,
                          meta={"ww_kind": "sitemap"})
        for url in self.site.feeds:
            yield Request(url, callback=self.parse_feed, errback=self.on_error,
                          meta={"ww_kind": "feed"})
        for url in self.site.start_urls:
            request = self._page_request(url, depth=0, article=self.is_article(url))
            if request is not None:
                yield request

    def in_domains(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def is_article(self, url: str) -> bool:
        """Article URLs match a pattern; with no patterns every discovered page may be one."""
        if not self.article_res:
            return True
        return any(r.search(url) for r in self.article_res)

    def _page_request(self, url: str, depth: int, article: bool) -> Request | None:
        """A request for a page, unless it was already scheduled or the page budget is spent."""
        if url in self._scheduled:
            return None
        if len(self._scheduled) >= self.max_pages:
            self.crawler.stats.inc_value("warcwire/skipped_max_pages")
            return None
        self._scheduled.add(url)
        return Request(url, callback=self.parse_page, errback=self.on_error,
                       meta={"ww_kind": "article" if article else "page", "ww_depth": depth})

    # -- callbacks ----------------------------------------------------------

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        self.crawler.stats.inc_value("warcwire/sitemaps")
        # DOWNLOAD_MAXSIZE is 0 (unlimited): bound gunzipping *.xml.gz as decompression is
        max_size = decoded_size_limit(self.crawler.settings)
        try:
            links = parse_sitemap(sitemap_body(response, max_size))
        except Exception as exc:  # gunzip raises for oversized or corrupt archives
            logger.warning("Ignoring unreadable sitemap %s: %s", response.url, exc)
            links = None
        if links is None or not (links.sitemaps or links.pages):
            self.crawler.stats.inc_value("warcwire/errors/bad_sitemap")
            return
        for url in links.sitemaps:
            yield Request(url, callback=self.parse_sitemap, errback=self.on_error,
                          meta={"ww_kind": "sitemap"})
        for url in links.pages:
            if self.is_article(url):
                request = self._page_request(url, depth=self.site.follow_depth, article=True)
                if request is not None:
                    yield request

    def parse_feed(self, response: Response) -> Iterator[Request]:
        self.crawler.stats.inc_value("warcwire/feeds")
        urls = list(feed_links(response.body, response.url))
        if not urls:
            self.crawler.stats.inc_value("warcwire/errors/bad_feed")
        for url in urls:
            if self.is_article(url):
                request = self._page_request(url, depth=self.site.follow_depth, article=True)
                if request is not None:
                    yield request

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        stats = self.crawler.stats
        stats.inc_value("warcwire/pages")
        ctype = response.headers.get(b"Content-Type", b"") or b""
        if not isinstance(response, TextResponse) or not ctype.lower().startswith(_HTML_TYPES):
            stats.inc_value("warcwire/non_html")
            return
        depth = response.meta.get("ww_depth", 0)
        if depth < self.site.follow_depth:
            for link in self.links.extract_links(response):
                if not self.in_domains(link.url):
                    continue
                request = self._page_request(link.url, depth + 1,
                                             article=self.is_article(link.url))
                if request is not None:
                    yield request
        if self.site.page_assets:
            for request in self._asset_requests(response, page_assets(response.body)):
                yield request
        if response.meta.get("ww_kind") != "article" and self.article_res:
            return
        item = await self._extract(response)
        if item is not None:
            yield item

    async def _extract(self, response: TextResponse) -> ArticleItem | None:
        if self.extractor is None:
            return None
        try:
            content = await self.extractor.extract(
                response.body, response.url, self.selectors, response.encoding)
        except Exception:
            logger.exception("Extraction failed for %s", response.url)
            self.crawler.stats.inc_value("warcwire/errors/extraction")
            return None
        if content is None:
            self.crawler.stats.inc_value("warcwire/not_article")
            return None
        self.crawler.stats.inc_value("warcwire/articles")
        return ArticleItem(
            url=response.url,
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
            content=content,
            warc_location=response.meta.get("warc_location"),
        )

    # -- page requisites: what a reviewer needs to see the page as it was ----

    def _asset_requests(self, response: Response, urls: list[str]) -> Iterator[Request]:
        for url in urls[:MAX_ASSETS_PER_PAGE]:
            url = response.urljoin(url)
            if url.startswith(("http://", "https://")):
                # assets often live on a CDN outside the site's domains
                yield Request(url, callback=self.parse_asset, errback=self.on_asset_error,
                              meta={"ww_kind": "asset", "allow_offsite": True})

    def parse_asset(self, response: Response) -> Iterator[Request]:
        self.crawler.stats.inc_value("warcwire/assets")
        ctype = (response.headers.get(b"Content-Type") or b"").lower()
        if ctype.startswith(b"text/css") and response.meta.get("ww_kind") == "asset":
            refs = [m.decode("utf-8", "replace") for m in _CSS_URL.findall(response.body)]
            for request in self._asset_requests(response, [u for u in refs
                                                           if not u.startswith("data:")]):
                request.meta["ww_kind"] = "asset_ref"  # fonts and images a stylesheet names
                yield request

    def on_asset_error(self, failure: Failure) -> None:
        self.crawler.stats.inc_value(f"warcwire/asset_errors/{classify_failure(failure)}")

    def on_error(self, failure: Failure) -> None:
        kind = classify_failure(failure)
        if kind == "ignored":  # robots.txt said no: polite, not an error
            self.crawler.stats.inc_value("warcwire/skipped_robots")
            return
        self.crawler.stats.inc_value(f"warcwire/errors/{kind}")
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        logger.info("Failed %s: %s", url, kind)
