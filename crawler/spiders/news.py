"""One generic, config-driven spider for every news site.

A site's entry in sites.yaml says where to start (front pages, sitemaps,
feeds), which URLs are articles and how far to follow links; this spider does
the rest. It archives nothing itself: the WARC capture middleware sees every
exchange, and articles go downstream as :class:`crawler.items.ArticleItem`.

A run is incremental when a crawl state is configured
(``WARCWIRE_STATE_DATABASE``): hubs (sitemaps, feeds, start and section pages)
are fetched every run, conditionally; article URLs are collected while they
are discovered and fetched once discovery is done, in the order
:mod:`crawler.frontier` gives. A re-fetch carries the validators and the
capture it may revisit, so an unchanged page is archived as a revisit record.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Request, Response, TextResponse
from scrapy.linkextractors import IGNORED_EXTENSIONS, LinkExtractor
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.assets import CSS_URL, MAX_ASSETS_PER_PAGE, page_assets
from crawler.decoded_limit import decoded_size_limit
from crawler.discovery import feed_links, parse_sitemap, sitemap_body
from crawler.extraction import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    ArticleExtractor,
    ExtractionSkipped,
    default_workers,
)
from crawler.failures import classify_failure, quiet_retry_log
from crawler.fetch_state import fetched_row
from crawler.frontier import Frontier, RevisitPolicy
from crawler.items import ArticleItem
from crawler.state_recorder import open_state, state_changed
from crawler.urls import DEFAULT_STRIP_PARAMS, clean_url
from crawler.warc_capture import CAPTURE_META, PREVIOUS_META, Captured
from storage.crawl_state import CrawlState, UrlState
from warcwire.config import SiteConfig
from warcwire.exceptions import StateError

logger = logging.getLogger(__name__)

_HTML_TYPES = (b"text/html", b"application/xhtml+xml")
_ASSET_EXTENSIONS = ["css", "js", "json", "xml", "rss", "atom", "txt"]
_URL_META = "ww_url"  # the URL the state knows the request by (before any redirect)
# "<error kind> <url>" per line, for `warcwire runs -v`: one string, as run stats keep it
FAILED_STAT = "warcwire/failed"
FAILED_KEPT = 100


class NewsSpider(scrapy.Spider):
    name = "news"

    def __init__(self, site: SiteConfig, extractor: ArticleExtractor | None = None,
                 max_pages: int | None = None, state: CrawlState | None = None,
                 policy: RevisitPolicy | None = None, **kwargs: Any) -> None:
        super().__init__(name=self.name, **kwargs)
        self.site = site
        self.allowed_domains = site.domains
        self.extractor = extractor
        self.max_pages = max_pages or site.max_pages
        self.article_res = [re.compile(p) for p in site.article_patterns]
        self.selectors = site.selectors.model_dump()
        self.strip_params = (DEFAULT_STRIP_PARAMS if site.strip_params is None
                             else tuple(site.strip_params))
        self.state = state
        self.frontier = Frontier({}, policy)
        self.pages_requested = 0  # what max_pages bounds: pages and articles, not hubs' feeds
        # Domains are checked by in_domains: LinkExtractor's allow_domains compares the
        # host with its port, so it rejects every link on a site served on a port.
        self.links = LinkExtractor(deny_extensions=_ASSET_EXTENSIONS + IGNORED_EXTENSIONS)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> NewsSpider:
        settings = crawler.settings
        if "extractor" not in kwargs and settings.getbool("WARCWIRE_EXTRACT", True):
            workers = settings.getint("WARCWIRE_EXTRACT_WORKERS", -1)
            kwargs["extractor"] = ArticleExtractor(
                default_workers() if workers < 0 else workers,
                max_bytes=settings.getint("WARCWIRE_EXTRACT_MAX_BYTES", DEFAULT_MAX_BYTES),
                timeout=settings.getfloat("WARCWIRE_EXTRACT_TIMEOUT", DEFAULT_TIMEOUT))
        if "state" not in kwargs:
            kwargs["state"] = open_state(settings)
        kwargs.setdefault("policy", RevisitPolicy(
            window=timedelta(seconds=settings.getfloat("WARCWIRE_REVISIT_WINDOW", 2 * 86400)),
            interval=timedelta(seconds=settings.getfloat("WARCWIRE_REVISIT_INTERVAL", 6 * 3600))))
        quiet_retry_log(settings)
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider._idle, signal=signals.spider_idle)
        crawler.signals.connect(spider._closed, signal=signals.spider_closed)
        return spider

    def _closed(self, spider: scrapy.Spider) -> None:
        stats = self.crawler.stats
        stats.set_value("warcwire/incremental/skipped_known", self.frontier.skipped_known())
        stats.set_value("warcwire/incremental/backlog", self.frontier.backlog())
        self._report(discovered=self.frontier.pop_dirty())
        if self.extractor is not None:
            self.extractor.close()
        if self.state is not None:
            self.state.close()

    # -- entry points -------------------------------------------------------

    async def start(self) -> AsyncIterator[Request]:
        if self.state is not None:
            try:
                known = self.state.load_urls(self.site.name)
            except StateError as exc:
                logger.error("%s; crawling as if every URL were new", exc)
                known = {}
            self.frontier = Frontier(known, self.frontier.policy)
        for kind, urls in (("sitemap", self.site.sitemaps), ("feed", self.site.feeds),
                           ("page", self.site.start_urls)):
            for url in urls:
                request = self._hub_request(url, kind, depth=0)
                if request is not None:
                    yield request

    def clean(self, url: str) -> str:
        """The URL as the crawl knows it: no fragment, no tracking parameters."""
        return clean_url(url, self.strip_params)

    def in_domains(self, url: str) -> bool:
        host = (urlsplit(url).hostname or "").lower()
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def is_article(self, url: str) -> bool:
        """Article URLs match a pattern; with no patterns every discovered page may be one."""
        if not self.article_res:
            return True
        return any(r.search(url) for r in self.article_res)

    def _budget(self) -> int:
        return self.max_pages - self.pages_requested

    def _hub_request(self, url: str, kind: str, *, depth: int,
                     via: str | None = None) -> Request | None:
        """A hub is fetched every run (conditionally): it is where new articles show up."""
        url = self.clean(url)
        state = self.frontier.see(url, kind, via=via, depth=depth)
        if url in self.frontier.taken:
            return None
        if kind == "page" and self._budget() <= 0:
            self.crawler.stats.inc_value("warcwire/skipped_max_pages")
            return None
        self.frontier.take(url)
        if kind == "page":
            self.pages_requested += 1
        callback = {"sitemap": self.parse_sitemap, "feed": self.parse_feed}.get(
            kind, self.parse_page)
        return self._request(state, callback, kind, depth)

    def _request(self, state: UrlState, callback: Any, kind: str, depth: int,
                 reason: str | None = None) -> Request:
        """A request for a known or new URL; a known one carries validators and its original."""
        meta: dict[str, Any] = {"ww_kind": kind, "ww_depth": depth, _URL_META: state.url}
        if reason is not None:
            meta["ww_reason"] = reason
        headers: dict[str, str] = {}
        original = state.original() if state.fetched else None
        if original is not None:
            meta[PREVIOUS_META] = original
            if state.etag:
                headers["If-None-Match"] = state.etag
            if state.last_modified:
                headers["If-Modified-Since"] = state.last_modified
            if headers:
                meta["handle_httpstatus_list"] = [304]
        errback = self.on_asset_error if kind == "asset" else self.on_error
        return Request(state.url, callback=callback, errback=errback, headers=headers or None,
                       meta=meta)

    def _discover_article(self, url: str, *, via: str | None, depth: int,
                          hint: datetime | None = None) -> None:
        """Articles wait in the frontier until discovery is done (see _idle)."""
        self.frontier.see(self.clean(url), "article", via=via, hint=hint, depth=depth)

    def _idle(self, spider: scrapy.Spider) -> None:
        """Discovery is done: fetch the next articles the policy picks, if any."""
        picks = self.frontier.select(self._budget())
        if not picks:
            if self._budget() <= 0 and self.frontier.backlog():
                self.crawler.stats.inc_value("warcwire/skipped_max_pages",
                                             self.frontier.backlog())
            return
        self._report(discovered=self.frontier.pop_dirty())
        for pick in picks:
            self.pages_requested += 1
            self.crawler.stats.inc_value(f"warcwire/incremental/picked_{pick.reason}")
            self.crawler.engine.crawl(self._request(pick.state, self.parse_page, "article",
                                                    pick.depth, pick.reason))
        raise DontCloseSpider

    # -- crawl state --------------------------------------------------------

    def _report(self, *, discovered: list[UrlState] | None = None,
                fetched: list[UrlState] | None = None) -> None:
        if self.state is not None and (discovered or fetched):
            self.crawler.signals.send_catch_log(state_changed, discovered=discovered or [],
                                                fetched=fetched or [])

    def _fetched(self, response: Response) -> UrlState | None:
        """This response's state row, if it was archived (else it is not recorded)."""
        captured = response.meta.get(CAPTURE_META)
        state = self.frontier.states.get(response.meta.get(_URL_META, ""))
        if state is None or not isinstance(captured, Captured):
            return None
        return fetched_row(state, response.status, captured, datetime.now(UTC))

    def _record(self, response: Response) -> None:
        """Record the fetch, with what it led the spider to discover, in one report."""
        row = self._fetched(response)
        self._report(discovered=self.frontier.pop_dirty(), fetched=[row] if row else [])

    def _not_modified(self, response: Response) -> Iterator[Request]:
        """A 304 hub lists what it listed last time: fetch its hub children again."""
        url = response.meta.get(_URL_META, response.url)
        self.crawler.stats.inc_value("warcwire/incremental/hubs_not_modified")
        for child in self.frontier.relist(url):
            child_depth = child.depth if child.depth is not None else 0
            if child.kind == "page" and child_depth > self.site.follow_depth:
                continue
            request = self._hub_request(child.url, child.kind, depth=child_depth, via=url)
            if request is not None:
                yield request
        self._record(response)

    # -- callbacks ----------------------------------------------------------

    def parse_sitemap(self, response: Response) -> Iterator[Request]:
        if response.status == 304:
            yield from self._not_modified(response)
            return
        stats = self.crawler.stats
        stats.inc_value("warcwire/sitemaps")
        url = response.meta.get(_URL_META, response.url)
        # DOWNLOAD_MAXSIZE is 0 (unlimited): bound gunzipping *.xml.gz as decompression is
        max_size = decoded_size_limit(self.crawler.settings)
        try:
            body = sitemap_body(response, max_size)
            links = parse_sitemap(body.xml)
        except Exception as exc:  # gunzip raises when nothing at all can be decompressed
            logger.warning("Ignoring unreadable sitemap %s: %s", response.url, exc)
            links = None
        if links is None or not (links.sitemaps or links.pages):
            stats.inc_value("warcwire/errors/bad_sitemap")
            self._record(response)
            return
        if body.truncated:
            stats.inc_value("warcwire/sitemaps_truncated")
        if links.dropped:
            stats.inc_value("warcwire/sitemap_urls_dropped", links.dropped)
        for link in links.sitemaps:
            request = self._hub_request(link.url, "sitemap",
                                        depth=response.meta.get("ww_depth", 0) + 1, via=url)
            if request is not None:
                yield request
        for link in links.pages:
            if self.is_article(link.url):
                self._discover_article(link.url, via=url, depth=self.site.follow_depth,
                                       hint=link.date)
        self._record(response)

    def parse_feed(self, response: Response) -> Iterator[Request]:
        if response.status == 304:
            yield from self._not_modified(response)
            return
        self.crawler.stats.inc_value("warcwire/feeds")
        url = response.meta.get(_URL_META, response.url)
        links = list(feed_links(response.body, response.url))
        if not links:
            self.crawler.stats.inc_value("warcwire/errors/bad_feed")
        for link in links:
            if self.is_article(link.url):
                self._discover_article(link.url, via=url, depth=self.site.follow_depth,
                                       hint=link.date)
        self._record(response)

    async def parse_page(self, response: Response) -> AsyncIterator[Any]:
        kind = response.meta.get("ww_kind")
        if response.status == 304:
            if kind == "article":
                self.crawler.stats.inc_value("warcwire/incremental/not_modified")
                self._record(response)
            else:
                for request in self._not_modified(response):
                    yield request
            return
        stats = self.crawler.stats
        stats.inc_value("warcwire/pages")
        captured = response.meta.get(CAPTURE_META)
        revisit = captured.written.revisit if isinstance(captured, Captured) else None
        url = response.meta.get(_URL_META, response.url)
        known = (state := self.frontier.states.get(url)) is not None and state.fetched
        if kind == "article":
            if revisit is not None:  # the same payload as before: the same text
                stats.inc_value("warcwire/incremental/unchanged")
                self._record(response)
                return
            if response.meta.get("ww_reason") == "new":
                stats.inc_value("warcwire/incremental/new")
        ctype = response.headers.get(b"Content-Type", b"") or b""
        if not isinstance(response, TextResponse) or not ctype.lower().startswith(_HTML_TYPES):
            stats.inc_value("warcwire/non_html")
            self._record(response)
            return
        depth = response.meta.get("ww_depth", 0)
        # only hubs are a link's "via": a 304 hub relists what it listed (articles are not
        # fetched every run, so they could not)
        via = None if kind == "article" else url
        if depth < self.site.follow_depth:
            for link in self.links.extract_links(response):
                if not self.in_domains(link.url):
                    continue
                if self.is_article(link.url):
                    self._discover_article(link.url, via=via, depth=depth + 1)
                    continue
                hub = self._hub_request(link.url, "page", depth=depth + 1, via=via)
                if hub is not None:
                    yield hub
        if self.site.page_assets:
            for request in self._asset_requests(response, page_assets(response.body)):
                yield request
        if kind != "article" and self.article_res and not self.is_article(url):
            self._record(response)
            return
        item = await self._extract(response, known)
        if item is not None:
            yield item

    async def _extract(self, response: TextResponse, known: bool) -> ArticleItem | None:
        if self.extractor is None:
            if known and response.meta.get("ww_kind") == "article":
                self.crawler.stats.inc_value("warcwire/incremental/changed")
            self._record(response)
            return None
        try:
            content = await self.extractor.extract(
                response.body, response.url, self.selectors, response.encoding)
        except ExtractionSkipped as skipped:
            # archived, but over its budget: counted, recorded, never retried as new
            logger.warning("Not extracted: %s (%s)", response.url, skipped)
            self.crawler.stats.inc_value(f"warcwire/errors/{skipped.kind}")
            self._record(response)
            return None
        except Exception:
            logger.exception("Extraction failed for %s", response.url)
            self.crawler.stats.inc_value("warcwire/errors/extraction")
            return None  # not recorded: the next run fetches and tries it again
        if content is None:
            self.crawler.stats.inc_value("warcwire/not_article")
            self._record(response)
            return None
        self.crawler.stats.inc_value("warcwire/articles")
        if not known and response.meta.get("ww_kind") != "article":
            # a start or listing page that is an article, seen for the first time
            self.crawler.stats.inc_value("warcwire/incremental/new")
        # The fetch is recorded by the pipeline with the article's version, so the
        # page never looks archived while its record could still be lost.
        self._report(discovered=self.frontier.pop_dirty())
        return ArticleItem(
            url=response.url,
            fetched_at=datetime.now(UTC).isoformat(timespec="seconds"),
            content=content,
            warc_location=response.meta.get("warc_location"),
            key=self._article_key(response.url, content.get("canonical_url")),
            known=known and response.meta.get("ww_kind") == "article",
            fetched=self._fetched(response),
        )

    def _article_key(self, url: str, canonical: str | None) -> str:
        """Versions count per canonical URL when the site names one of its own."""
        if canonical and canonical.startswith(("http://", "https://")) and \
                self.in_domains(canonical):
            return self.clean(canonical)
        return self.clean(url)

    # -- page requisites: what a reviewer needs to see the page as it was ----

    def _asset_requests(self, response: Response, urls: list[str]) -> Iterator[Request]:
        via = response.meta.get(_URL_META, response.url)
        for url in urls[:MAX_ASSETS_PER_PAGE]:
            url = self.clean(response.urljoin(url))
            if not url.startswith(("http://", "https://")):
                continue
            state = self.frontier.see(url, "asset", via=via)
            if state.fetched:  # images and stylesheets rarely change under one URL
                self.crawler.stats.inc_value("warcwire/incremental/assets_known")
                continue
            if not self.frontier.take(url):
                continue
            request = self._request(state, self.parse_asset, "asset", 0)
            request.meta["allow_offsite"] = True  # assets often live on a CDN
            yield request

    def parse_asset(self, response: Response) -> Iterator[Request]:
        self.crawler.stats.inc_value("warcwire/assets")
        ctype = (response.headers.get(b"Content-Type") or b"").lower()
        if ctype.startswith(b"text/css") and response.meta.get("ww_kind") == "asset" \
                and not response.meta.get("ww_css_ref"):
            refs = [m.decode("utf-8", "replace") for m in CSS_URL.findall(response.body)]
            for request in self._asset_requests(response, [u for u in refs
                                                           if not u.startswith("data:")]):
                request.meta["ww_css_ref"] = True  # fonts and images a stylesheet names
                yield request
        self._record(response)

    def on_asset_error(self, failure: Failure) -> None:
        self.crawler.stats.inc_value(f"warcwire/asset_errors/{classify_failure(failure)}")
        self._record_failure(failure)

    def on_error(self, failure: Failure) -> None:
        kind = classify_failure(failure)
        if kind == "ignored":  # robots.txt said no: polite, not an error
            self.crawler.stats.inc_value("warcwire/skipped_robots")
            return
        self.crawler.stats.inc_value(f"warcwire/errors/{kind}")
        request = getattr(failure, "request", None)
        url = request.url if request is not None else "?"
        logger.info("Failed %s: %s", url, kind)
        self._note_failed(kind, url)
        self._record_failure(failure)

    def _note_failed(self, kind: str, url: str) -> None:
        """Which URLs failed, and why: the run history keeps the first FAILED_KEPT."""
        stats = self.crawler.stats
        failed = str(stats.get_value(FAILED_STAT) or "")
        if failed.count("\n") < FAILED_KEPT - 1 or not failed:
            stats.set_value(FAILED_STAT, f"{failed}\n{kind} {url}" if failed else f"{kind} {url}")

    def _record_failure(self, failure: Failure) -> None:
        """An HTTP error was archived (its status is the answer); a network error was not."""
        if failure.check(HttpError):
            self._record(failure.value.response)
