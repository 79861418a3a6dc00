"""Archive every HTTP exchange Scrapy makes as a WARC request + response pair.

Place at priority 950 in ``DOWNLOADER_MIDDLEWARES``: closer to the downloader
than HttpCompressionMiddleware (590), RedirectMiddleware (600) and
CookiesMiddleware (700), so ``process_request`` sees every header that will
be sent and ``process_response`` sees the body still content-encoded and
3xx responses before they are followed. robots.txt goes through this chain
too, so it is archived like any page.

Records are written by a writer process (crawler/warc_writer.py) so that
building, hashing, compressing and writing them stays off the reactor thread;
each response still waits for its record location (or error) before it goes
on to the spider. ``WARCWIRE_WARC_WRITER_PROCESS = False`` writes in-process.

Credentials are not archived: the values of ``Authorization``, ``Cookie`` and
``Proxy-Authorization`` request headers are stored as ``[redacted]`` (the name
stays, so the record still says a credential was sent) and the record gets a
``WARC-Warcwire-Redacted`` header naming them. Such a request record no longer
matches the wire byte for byte; that is the point. A site may opt in to
storing Authorization and Cookie as sent; Proxy-Authorization, an operator
credential for the proxy, is always redacted.

Settings (all prefixed WARCWIRE_, alphabetical)::

    # store Authorization and Cookie request headers as sent
    WARCWIRE_ARCHIVE_CREDENTIALS = False
    # identifies the run; recorded in each warcinfo record
    WARCWIRE_RUN_ID = "run"
    # spool sub-folder and file-name part
    WARCWIRE_SITE = "default"
    # required: directory WARCs are written to (unset = NotConfigured)
    WARCWIRE_SPOOL_DIR = None
    # body bytes kept per response; longer ones are cut, WARC-Truncated: length; 0 = no limit
    WARCWIRE_WARC_MAX_BODY_SIZE = 50_000_000
    # first part of WARC file names
    WARCWIRE_WARC_PREFIX = "warcwire"
    # a file is finished once it reaches this many bytes (only between exchanges)
    WARCWIRE_WARC_ROTATE_SIZE = 1_000_000_000
    # write records in a child process (False: in the crawl process)
    WARCWIRE_WARC_WRITER_PROCESS = True
    # extra warcinfo fields, e.g. {"config-digest": "..."}
    WARCWIRE_WARCINFO = {}

Scrapy's own DOWNLOAD_MAXSIZE cancels a download outright (nothing to
archive), so keep it above WARCWIRE_WARC_MAX_BODY_SIZE, or 0: then this
middleware stops the download first and the partial body is archived.

What Scrapy's response cannot tell about the wire is in crawler/wire.py.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from weakref import WeakKeyDictionary

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured, StopDownload
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.httpobj import urlparse_cached

from crawler.wire import PROXY_CREDENTIALS, SITE_CREDENTIALS, build_exchange
from storage.warc import (
    Exchange,
    LocalWarcSink,
    Original,
    WarcRotatingWriter,
    WarcSink,
    WarcWriterGone,
    WarcWriterProcess,
    Written,
    is_disk_full,
)
from warcwire import defaults

logger = logging.getLogger(__name__)

# Sent with path= and key= when a WARC is finished, for the uploader.
warc_file_closed = object()
# Sent (send_catch_log_async) before the crawl state records captures: each handler
# makes what it wrote so far survive a crash (fsync) before returning.
archive_sync_requested = object()
# The request meta key under which a re-fetch carries the capture it may revisit
# (a storage.warc.Original), and the one under which the capture is described after.
PREVIOUS_META = "ww_previous"
CAPTURE_META = "warc_capture"

# The spider's close reason, and the stat saying what could not be written.
DISK_FULL = "disk_full"
DISK_FULL_STAT = "warcwire/disk_full"
# The spider's close reason when the writer process died.
WRITER_FAILED = "warc_writer_failed"
# Exchanges sent to the writer and not yet written before new downloads wait: enough
# to keep it busy, few enough that little is fetched in vain if writing fails.
WRITER_BACKLOG = 4


@dataclass(frozen=True)
class Captured:
    """How a response was archived, for the spider's crawl state (request.meta[CAPTURE_META])."""

    url: str  # the exchange's URL (the last hop of a redirect chain)
    written: Written
    status_line: str
    headers: tuple[tuple[str, str], ...]  # the response head as archived
    truncated: str | None = None


class DiskFull(Exception):
    """A page not archived because the spool disk is full.

    Not an OSError, which RetryMiddleware would retry; the spider counts it as
    its own kind of error.
    """


@dataclass
class _InFlight:
    sent: datetime
    received: int = 0
    stopped_by_us: bool = False


class WarcCaptureMiddleware:
    """Downloader middleware writing each fetched exchange to the spool WARC."""

    def __init__(
        self,
        sink: WarcSink | WarcRotatingWriter,
        *,
        max_body_size: int = defaults.WARC_MAX_BODY_SIZE,
        stats: StatsCollector | None = None,
        archive_credentials: bool = False,
    ) -> None:
        self.sink: WarcSink = (LocalWarcSink(sink) if isinstance(sink, WarcRotatingWriter)
                               else sink)
        self.max_body_size = max_body_size
        self.redact = PROXY_CREDENTIALS | (frozenset() if archive_credentials
                                           else SITE_CREDENTIALS)
        self.stats = stats
        self._in_flight: WeakKeyDictionary[Request, _InFlight] = WeakKeyDictionary()
        self.crawler: Crawler | None = None  # stopped when the spool disk is full
        self.disk_full = False
        self.writer_failed = False
        self._closed: bool | Exception | None = None  # True once the sink closed cleanly

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureMiddleware:
        settings = crawler.settings
        spool_dir = settings.get("WARCWIRE_SPOOL_DIR")
        if not spool_dir:
            raise NotConfigured("WARCWIRE_SPOOL_DIR is not set; WARC capture is off")
        site = settings.get("WARCWIRE_SITE") or "default"
        max_body_size = settings.getint("WARCWIRE_WARC_MAX_BODY_SIZE",
                                        defaults.WARC_MAX_BODY_SIZE)
        download_maxsize = settings.getint("DOWNLOAD_MAXSIZE")
        if max_body_size and download_maxsize and download_maxsize <= max_body_size:
            logger.warning(
                "DOWNLOAD_MAXSIZE (%d) <= WARCWIRE_WARC_MAX_BODY_SIZE (%d): bodies between "
                "them are dropped by Scrapy instead of archived truncated; raise "
                "DOWNLOAD_MAXSIZE or set it to 0", download_maxsize, max_body_size,
            )
        warcinfo = {
            "site": site,
            "run-id": settings.get("WARCWIRE_RUN_ID") or "run",
            "http-header-user-agent": settings.get("USER_AGENT") or "",
            "robots": "obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
            **settings.getdict("WARCWIRE_WARCINFO"),
        }
        writer_kwargs: dict[str, Any] = dict(
            spool_dir=Path(spool_dir),
            site=site,
            prefix=settings.get("WARCWIRE_WARC_PREFIX") or defaults.WARC_PREFIX,
            rotate_size=settings.getint("WARCWIRE_WARC_ROTATE_SIZE", defaults.WARC_ROTATE_SIZE),
            warcinfo={k: str(v) for k, v in warcinfo.items()},
        )
        WarcRotatingWriter.check_arguments(**writer_kwargs)  # here, not in the child
        sink: WarcSink = (WarcWriterProcess(writer_kwargs)
                          if settings.getbool("WARCWIRE_WARC_WRITER_PROCESS", True)
                          else LocalWarcSink(WarcRotatingWriter(**writer_kwargs)))
        mw = cls(sink, max_body_size=max_body_size, stats=crawler.stats,
                 archive_credentials=settings.getbool("WARCWIRE_ARCHIVE_CREDENTIALS"))
        mw.crawler = crawler

        def announce(path: Path) -> None:
            key = path.relative_to(sink.spool_dir).as_posix()
            crawler.signals.send_catch_log(warc_file_closed, path=path, key=key)

        sink.on_file_closed.append(announce)
        crawler.signals.connect(mw.sync_requested, signal=archive_sync_requested)
        crawler.signals.connect(mw.bytes_received, signal=signals.bytes_received)
        crawler.signals.connect(mw.spider_closed, signal=signals.spider_closed)
        return mw

    # -- signals ---------------------------------------------------------

    def bytes_received(self, data: bytes, request: Request, spider: Spider) -> None:
        """Stop a download past the body limit; Scrapy then delivers what arrived."""
        flight = self._in_flight.get(request)
        if flight is None:
            return
        flight.received += len(data)
        if self.max_body_size and flight.received > self.max_body_size:
            flight.stopped_by_us = True
            raise StopDownload(fail=False)

    async def sync_requested(self) -> None:
        """Every capture archived so far is on disk once this returns (else it raises)."""
        if isinstance(self._closed, Exception):  # the last file could not be finished
            raise self._closed
        if self._closed:  # closing fsynced the last file
            return
        done = self.sink.sync()
        if done is not None:
            await done

    def spider_closed(self, spider: Spider) -> None:
        self._closed = RuntimeError("the last WARC could not be finished")
        try:
            self.sink.close()
        except OSError as exc:  # left .open for spool recovery
            if not stop_on_full_disk(self.crawler, exc, "closing a WARC", stop=False):
                raise
        except WarcWriterGone as exc:  # its open file is left for spool recovery
            logger.error("Could not finish the last WARC: %s", exc)
        else:
            self._closed = True
        self._set_stat("warc/files", self.sink.files)

    # -- downloader middleware -------------------------------------------

    def process_request(self, request: Request) -> Awaitable[None] | None:
        self._refuse_if_unarchivable()
        if urlparse_cached(request).scheme not in ("http", "https"):
            return None
        if self.sink.backlog() >= WRITER_BACKLOG:
            return self._fetch_when_writer_has_room(request)
        self._in_flight[request] = _InFlight(sent=datetime.now(UTC))
        return None

    async def _fetch_when_writer_has_room(self, request: Request) -> None:
        """Hold a download until the writer catches up: bounds the responses waiting in
        memory, and what is fetched but cannot be archived if writing starts failing."""
        await self.sink.room(WRITER_BACKLOG)
        self._refuse_if_unarchivable()
        self._in_flight[request] = _InFlight(sent=datetime.now(UTC))

    def _refuse_if_unarchivable(self) -> None:
        """Fetching what cannot be archived is pointless: the crawl is stopping."""
        if self.disk_full:
            raise DiskFull("not fetched: the spool disk is full")
        if self.writer_failed:
            raise WarcWriterGone("not fetched: the WARC writer process is gone")

    def process_exception(self, request: Request, exception: Exception) -> None:
        if self._in_flight.pop(request, None) is not None:
            self._inc_stat("warc/failed_exchanges")
            logger.debug("No response to archive for %s: %r", request, exception)

    def process_response(self, request: Request, response: Response
                         ) -> Response | Awaitable[Response]:
        flight = self._in_flight.pop(request, None)
        if flight is None:  # not fetched by us: cache hit, non-HTTP scheme, ...
            return response
        truncated = _truncation(response, flight)
        previous = request.meta.get(PREVIOUS_META)
        exchange = build_exchange(request, response, sent=flight.sent, truncated=truncated,
                                  max_body_size=self.max_body_size, redact=self.redact,
                                  previous=previous if isinstance(previous, Original) else None)
        try:
            written = self.sink.write(exchange)
        except Exception as exc:
            self._on_write_error(request, exc)
            raise
        if isinstance(written, Written):
            return self._archived(request, response, written, exchange)
        return self._archived_later(request, response, written, exchange)

    async def _archived_later(self, request: Request, response: Response,
                              pending: Awaitable[Written], exchange: Exchange) -> Response:
        """Wait for the writer process: the spider gets the response once it is archived."""
        try:
            written = await pending
        except Exception as exc:
            self._on_write_error(request, exc)
            raise
        return self._archived(request, response, written, exchange)

    def _archived(self, request: Request, response: Response, written: Written,
                  exchange: Exchange) -> Response:
        truncated = exchange.truncated
        request.meta["warc_location"] = asdict(written.location)
        request.meta[CAPTURE_META] = Captured(exchange.url, written, exchange.status_line,
                                              tuple(exchange.response_headers), truncated)
        self._inc_stat("warc/exchanges")
        if written.revisit:
            self._inc_stat(f"warc/revisits/{written.revisit}")
        self._inc_stat("warc/records", written.records)
        self._inc_stat("warc/bytes", written.bytes)
        self._set_stat("warc/files", self.sink.files)
        if truncated:
            self._inc_stat("warc/truncated")
        return response

    def _on_write_error(self, request: Request, exc: Exception) -> None:
        """A full spool disk stops the crawl (raises DiskFull), so does a dead writer
        process; anything else is logged."""
        self._inc_stat("warc/write_errors")
        if stop_on_full_disk(self.crawler, exc, "WARC records"):
            self.disk_full = True
            logger.warning("Not archived, the spool disk is full: %s", request)
            raise DiskFull(f"not archived: {getattr(exc, 'strerror', exc)}") from exc
        if isinstance(exc, WarcWriterGone):
            if not self.writer_failed:
                self.writer_failed = True
                _close_spider(self.crawler, WRITER_FAILED, exc)
            return
        logger.error("Could not write WARC records for %s: %s", request, exc, exc_info=exc)

    def _inc_stat(self, key: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(key, count)

    def _set_stat(self, key: str, value: Any) -> None:
        if self.stats is not None:
            self.stats.set_value(key, value)


def stop_on_full_disk(crawler: Crawler | None, exc: BaseException, what: str, *,
                      stop: bool = True) -> bool:
    """If ``exc`` says the spool disk is full: note it once and close the spider.

    Every page fetched from then on could not be archived. What was written
    stays valid (writers cut a failed write off) and is stored after the crawl.
    Returns whether it was a full disk; ``stop=False`` when already closing.
    """
    if not is_disk_full(exc):
        return False
    if crawler is None or crawler.stats is None or crawler.stats.get_value(DISK_FULL_STAT):
        return True
    reason = getattr(exc, "strerror", None) or str(exc)
    crawler.stats.set_value(DISK_FULL_STAT, f"{reason} writing {what}")
    logger.error("Spool disk full (%s writing %s): stopping the crawl", reason, what)
    if stop:
        _close_spider(crawler, DISK_FULL, DiskFull("not fetched: the spool disk is full"))
    return True


def _close_spider(crawler: Crawler | None, reason: str, why: Exception) -> None:
    """Stop the crawl: nothing fetched from now on could be archived."""
    engine = crawler.engine if crawler is not None else None
    if engine is None or engine.spider is None:
        return
    closing = deferred_from_coro(engine.close_spider_async(reason=reason))
    closing.addErrback(lambda f: logger.error("Could not stop the crawl: %s", f.value))
    _drop_queued_downloads(engine, why)


def _drop_queued_downloads(engine: Any, why: Exception) -> None:
    """Fail the requests waiting in the downloader's queues: they could not be archived.

    Closing the spider still fetches every request the downloader holds (up to
    CONCURRENT_REQUESTS, each after its download delay). Scrapy has no public
    call for this, so it is done defensively: a Scrapy without these internals
    just fetches them, and each fails to archive as DiskFull.
    """
    slots = getattr(getattr(engine, "downloader", None), "slots", None)
    for slot in list(slots.values()) if isinstance(slots, dict) else []:
        queue = getattr(slot, "queue", None)
        while queue:
            _request, waiting = queue.popleft()
            waiting.errback(why)


def _truncation(response: Response, flight: _InFlight) -> str | None:
    if "download_stopped" in response.flags:
        return "length" if flight.stopped_by_us else "unspecified"
    if "dataloss" in response.flags:
        return "disconnect"
    return None
