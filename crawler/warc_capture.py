"""Archive every HTTP exchange Scrapy makes as a WARC request + response pair.

Place at priority 950 in ``DOWNLOADER_MIDDLEWARES``: closer to the downloader
than HttpCompressionMiddleware (590), RedirectMiddleware (600) and
CookiesMiddleware (700), so ``process_request`` sees every header that will
be sent and ``process_response`` sees the body still content-encoded and
3xx responses before they are followed. robots.txt goes through this chain
too, so it is archived like any page.

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
    # extra warcinfo fields, e.g. {"config-digest": "..."}
    WARCWIRE_WARCINFO = {}

Scrapy's own DOWNLOAD_MAXSIZE cancels a download outright (nothing to
archive), so keep it above WARCWIRE_WARC_MAX_BODY_SIZE, or 0: then this
middleware stops the download first and the partial body is archived.

What cannot be recovered from Scrapy's response: Twisted de-chunks the body and
keeps Content-Length, Transfer-Encoding, Connection and Keep-Alive out of the
response headers, header-name case is normalised, and lines of different names
are regrouped by name (repeats of one name keep their order). The archived
Content-Length is therefore the stored body length.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag
from weakref import WeakKeyDictionary

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured, StopDownload
from scrapy.http import Response
from scrapy.statscollectors import StatsCollector
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.abstract import isIPv6Address
from twisted.web.client import URI
from twisted.web.http_headers import Headers as TxHeaders

from storage.warc import WarcRotatingWriter, is_disk_full

logger = logging.getLogger(__name__)

# Sent with path= and key= when a WARC is finished, for the uploader.
warc_file_closed = object()

_HTTP_VERSION = re.compile(r"^HTTP/\d\.\d$")
# Sent to a proxy only; an operator credential, never archived.
_PROXY_CREDENTIALS = {b"proxy-authorization"}
# The site's credentials; archived only when the site opts in.
_SITE_CREDENTIALS = {b"authorization", b"cookie"}
REDACTED = "[redacted]"
# The spider's close reason, and the stat saying what could not be written.
DISK_FULL = "disk_full"
DISK_FULL_STAT = "warcwire/disk_full"


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
        writer: WarcRotatingWriter,
        *,
        max_body_size: int = 50_000_000,
        stats: StatsCollector | None = None,
        archive_credentials: bool = False,
    ) -> None:
        self.writer = writer
        self.max_body_size = max_body_size
        self.redact = _PROXY_CREDENTIALS | (set() if archive_credentials else _SITE_CREDENTIALS)
        self.stats = stats
        self._in_flight: WeakKeyDictionary[Request, _InFlight] = WeakKeyDictionary()
        self.crawler: Crawler | None = None  # stopped when the spool disk is full
        self.disk_full = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> WarcCaptureMiddleware:
        settings = crawler.settings
        spool_dir = settings.get("WARCWIRE_SPOOL_DIR")
        if not spool_dir:
            raise NotConfigured("WARCWIRE_SPOOL_DIR is not set; WARC capture is off")
        site = settings.get("WARCWIRE_SITE") or "default"
        max_body_size = settings.getint("WARCWIRE_WARC_MAX_BODY_SIZE", 50_000_000)
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
        writer = WarcRotatingWriter(
            Path(spool_dir),
            site,
            prefix=settings.get("WARCWIRE_WARC_PREFIX") or "warcwire",
            rotate_size=settings.getint("WARCWIRE_WARC_ROTATE_SIZE", 1_000_000_000),
            warcinfo={k: str(v) for k, v in warcinfo.items()},
        )
        mw = cls(writer, max_body_size=max_body_size, stats=crawler.stats,
                 archive_credentials=settings.getbool("WARCWIRE_ARCHIVE_CREDENTIALS"))
        mw.crawler = crawler

        def announce(path: Path) -> None:
            key = path.relative_to(writer.spool_dir).as_posix()
            crawler.signals.send_catch_log(warc_file_closed, path=path, key=key)

        writer.on_file_closed.append(announce)
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

    def spider_closed(self, spider: Spider) -> None:
        try:
            self.writer.close()
        except OSError as exc:  # left .open for spool recovery
            if not stop_on_full_disk(self.crawler, exc, "closing a WARC", stop=False):
                raise
        self._set_stat("warc/files", self.writer.files)

    # -- downloader middleware -------------------------------------------

    def process_request(self, request: Request) -> None:
        if self.disk_full:  # fetching what cannot be archived is pointless
            raise DiskFull("not fetched: the spool disk is full")
        if urlparse_cached(request).scheme in ("http", "https"):
            self._in_flight[request] = _InFlight(sent=datetime.now(UTC))

    def process_exception(self, request: Request, exception: Exception) -> None:
        if self._in_flight.pop(request, None) is not None:
            self._inc_stat("warc/failed_exchanges")
            logger.debug("No response to archive for %s: %r", request, exception)

    def process_response(self, request: Request, response: Response) -> Response:
        flight = self._in_flight.pop(request, None)
        if flight is None:  # not fetched by us: cache hit, non-HTTP scheme, ...
            return response
        truncated = _truncation(response, flight)
        body = response.body
        if truncated == "length" and self.max_body_size:
            body = body[: self.max_body_size]
        url = urldefrag(request.url)[0]
        ip = str(response.ip_address) if response.ip_address is not None else None
        protocol = response.protocol or "HTTP/1.1"
        http_version = protocol if _HTTP_VERSION.match(protocol) else "HTTP/1.1"
        warc_protocol = None if _HTTP_VERSION.match(protocol) else protocol

        writer = self.writer
        request_id, response_id = writer.new_record_id(), writer.new_record_id()
        headers, redacted = _redact(_request_headers(request, url), self.redact)
        req_record = writer.make_request_record(
            url,
            request.method,
            _request_target(request, url),
            headers,
            request.body,
            ip=ip,
            date=flight.sent,
            record_id=request_id,
            concurrent_to=response_id,
            warc_protocol=warc_protocol,
        )
        if redacted:
            req_record.rec_headers.add_header("WARC-Warcwire-Redacted", ", ".join(redacted))
        resp_record = writer.make_response_record(
            url,
            _status_line(http_version, response.status),
            _response_headers(response, len(body)),
            body,
            ip=ip,
            truncated=truncated,
            record_id=response_id,
            concurrent_to=request_id,
            warc_protocol=warc_protocol,
        )
        files_before, bytes_before = writer.files, writer.bytes_written
        try:
            location = writer.write_exchange(req_record, resp_record)
        except Exception as exc:
            self._inc_stat("warc/write_errors")
            self._on_write_error(request, exc)
            raise
        request.meta["warc_location"] = asdict(location)
        self._inc_stat("warc/exchanges")
        self._inc_stat("warc/records", 2 + (writer.files - files_before))
        self._inc_stat("warc/bytes", writer.bytes_written - bytes_before)
        self._set_stat("warc/files", writer.files)
        if truncated:
            self._inc_stat("warc/truncated")
        return response

    def _on_write_error(self, request: Request, exc: Exception) -> None:
        """A full spool disk stops the crawl (raises DiskFull); anything else is logged."""
        if stop_on_full_disk(self.crawler, exc, "WARC records"):
            self.disk_full = True
            logger.warning("Not archived, the spool disk is full: %s", request)
            raise DiskFull(f"not archived: {getattr(exc, 'strerror', exc)}") from exc
        logger.exception("Could not write WARC records for %s", request)

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
    engine = crawler.engine
    if stop and engine is not None and engine.spider is not None:
        closing = deferred_from_coro(engine.close_spider_async(reason=DISK_FULL))
        closing.addErrback(lambda f: logger.error("Could not stop the crawl: %s", f.value))
        _drop_queued_downloads(engine)
    return True


def _drop_queued_downloads(engine: Any) -> None:
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
            waiting.errback(DiskFull("not fetched: the spool disk is full"))


def _truncation(response: Response, flight: _InFlight) -> str | None:
    if "download_stopped" in response.flags:
        return "length" if flight.stopped_by_us else "unspecified"
    if "dataloss" in response.flags:
        return "disconnect"
    return None


def _status_line(http_version: str, status: int) -> str:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:  # Scrapy does not keep the server's reason phrase
        reason = ""
    return f"{http_version} {status} {reason}".rstrip()


def _request_target(request: Request, url: str) -> str:
    """Origin form as Twisted sends it; absolute form through a plain HTTP proxy."""
    if request.meta.get("proxy") and urlparse_cached(request).scheme == "http":
        return url
    return URI.fromBytes(url.encode("ascii")).originForm.decode("ascii")


def _request_headers(request: Request, url: str) -> list[tuple[str, str]]:
    """Header lines in the order Twisted's HTTP/1.1 client writes them."""
    lines: list[tuple[bytes, bytes]] = []
    if request.body or request.method in ("POST", "PUT"):
        lines.append((b"Content-Length", str(len(request.body)).encode()))
    headers = TxHeaders(request.headers)
    for name, values in headers.getAllRawHeaders():
        lines.extend((name, value) for value in values)
    if not headers.hasHeader(b"Host"):
        uri = URI.fromBytes(url.encode("ascii"))
        host = b"[" + uri.host + b"]" if isIPv6Address(uri.host.decode()) else uri.host
        if (uri.scheme, uri.port) not in ((b"http", 80), (b"https", 443)):
            host += b":%d" % uri.port
        lines.append((b"Host", host))
    return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in lines]


def _redact(lines: list[tuple[str, str]], names: set[bytes]
            ) -> tuple[list[tuple[str, str]], list[str]]:
    """Header lines with credential values replaced, and the names replaced."""
    out: list[tuple[str, str]] = []
    redacted: list[str] = []
    for name, value in lines:
        if name.lower().encode("latin-1") in names:
            value = REDACTED
            if name not in redacted:
                redacted.append(name)
        out.append((name, value))
    return out, redacted


def _response_headers(response: Response, body_length: int) -> list[tuple[str, str]]:
    """Received headers with one Content-Length that matches the stored body."""
    lines: list[tuple[str, str]] = []
    length_written = False
    for name, values in TxHeaders(response.headers).getAllRawHeaders():
        lname = name.lower()
        if lname == b"transfer-encoding":
            continue  # the body is stored de-chunked
        if lname == b"content-length":
            if not length_written:
                lines.append(("Content-Length", str(body_length)))
                length_written = True
            continue
        lines.extend((name.decode("latin-1"), v.decode("latin-1")) for v in values)
    if not length_written:
        lines.append(("Content-Length", str(body_length)))
    return lines
