"""One HTTP exchange as plain values, and writing it as a request + response (or revisit) pair.

The capture middleware turns Scrapy's request and response into an
:class:`Exchange` (strings, bytes, a date): everything the records need and
nothing that ties it to Scrapy, so it can be written here or handed to the
writer process over a pipe.

An exchange that re-fetches a known capture carries that capture as
``previous``; the writer then decides, from the status and the payload digest
it computes anyway, whether the response is archived whole or as a revisit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from warcio.recordloader import ArcWarcRecord

from storage.warc.files import RecordLocation, WarcRotatingWriter
from storage.warc.records import RECEIVED_STATUS_HEADER, merge_not_modified

# Names the request headers whose values were replaced, on the request record.
REDACTED_HEADER = "WARC-Warcwire-Redacted"
__all__ = ["REDACTED_HEADER", "RECEIVED_STATUS_HEADER", "Exchange", "Original", "Written",
           "write_exchange"]


@dataclass(frozen=True)
class Original:
    """The earlier capture a re-fetch may revisit: what a revisit record refers to."""

    uri: str  # its WARC-Target-URI
    date: str  # its WARC-Date, as written
    digest: str  # its WARC-Payload-Digest
    record_id: str | None = None  # its WARC-Record-ID, for WARC-Refers-To
    status_line: str | None = None  # its HTTP head, which a 304 updates
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Exchange:
    url: str  # without fragment: the WARC-Target-URI of both records
    method: str
    target: str  # the request target as sent: origin form, or absolute through a proxy
    request_headers: list[tuple[str, str]]  # wire bytes as latin-1, in the order sent
    request_body: bytes
    status_line: str  # e.g. "HTTP/1.1 200 OK"
    response_headers: list[tuple[str, str]]
    body: bytes  # as received: content-encoded, de-chunked, cut if truncated
    sent: datetime  # when the request went out
    ip: str | None = None
    warc_protocol: str | None = None  # e.g. "h2", when the status line cannot say it
    truncated: str | None = None  # a WARC-Truncated reason
    redacted: tuple[str, ...] = ()  # request header names whose values were replaced
    previous: Original | None = None  # the capture this may be a revisit of

    @property
    def status(self) -> int:
        parts = self.status_line.split(" ", 2)
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


@dataclass(frozen=True)
class Written:
    """Where the exchange's capture went and what writing it added to the spool."""

    location: RecordLocation  # of the response or revisit record
    records: int  # records written, the warcinfo of a file it started included
    bytes: int
    record_id: str = ""  # WARC-Record-ID of the response or revisit record
    date: str = ""  # its WARC-Date
    digest: str | None = None  # payload digest: this payload's, or the original's for a revisit
    revisit: str | None = None  # the revisit profile's short name; None for a whole response


def _revisit_profile(exchange: Exchange, digest: str | None) -> str | None:
    previous = exchange.previous
    if previous is None or exchange.truncated:
        return None
    if exchange.status == 304 and previous.status_line:
        return "server-not-modified"
    if 200 <= exchange.status < 300 and digest is not None and digest == previous.digest:
        return "identical-payload-digest"
    return None


def write_exchange(writer: WarcRotatingWriter, exchange: Exchange) -> Written:
    """Build the request and response (or revisit) records of ``exchange``; write them."""
    records_before, bytes_before = writer.records, writer.bytes_written
    request_id, response_id = writer.new_record_id(), writer.new_record_id()
    request = writer.make_request_record(
        exchange.url, exchange.method, exchange.target, exchange.request_headers,
        exchange.request_body, ip=exchange.ip, date=exchange.sent, record_id=request_id,
        concurrent_to=response_id, warc_protocol=exchange.warc_protocol,
    )
    if exchange.redacted:
        request.rec_headers.add_header(REDACTED_HEADER, ", ".join(exchange.redacted))
    response = writer.make_response_record(
        exchange.url, exchange.status_line, exchange.response_headers, exchange.body,
        ip=exchange.ip, truncated=exchange.truncated, record_id=response_id,
        concurrent_to=request_id, warc_protocol=exchange.warc_protocol,
    )
    digest = response.rec_headers.get_header("WARC-Payload-Digest")
    profile = _revisit_profile(exchange, digest)
    if profile is not None and exchange.previous is not None:
        response = _revisit(writer, exchange, exchange.previous, profile, response_id,
                            request_id)
        digest = exchange.previous.digest
    location = writer.write_exchange(request, response)
    return Written(location, writer.records - records_before,
                   writer.bytes_written - bytes_before, record_id=response_id,
                   date=response.rec_headers.get_header("WARC-Date") or "", digest=digest,
                   revisit=profile)


def _revisit(writer: WarcRotatingWriter, exchange: Exchange, previous: Original,
             profile: str, record_id: str, request_id: str) -> ArcWarcRecord:
    status_line, headers = exchange.status_line, exchange.response_headers
    received = None
    if profile == "server-not-modified":
        received = exchange.status_line
        status_line = previous.status_line or exchange.status_line
        headers = merge_not_modified(previous.headers, exchange.response_headers)
    return writer.make_revisit_record(
        exchange.url, profile, status_line, headers, refers_to_uri=previous.uri,
        refers_to_date=previous.date, refers_to=previous.record_id, digest=previous.digest,
        received_status=received, ip=exchange.ip, record_id=record_id,
        concurrent_to=request_id, warc_protocol=exchange.warc_protocol,
    )
