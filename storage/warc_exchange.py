"""One HTTP exchange as plain values, and writing it as a request + response pair.

The capture middleware turns Scrapy's request and response into an
:class:`Exchange` (strings, bytes, a date): everything the two records need and
nothing that ties it to Scrapy, so it can be written here or handed to the
writer process (:mod:`storage.warc_process`) over a pipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from storage.warc import RecordLocation, WarcRotatingWriter

# Names the request headers whose values were replaced, on the request record.
REDACTED_HEADER = "WARC-Warcwire-Redacted"


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


@dataclass(frozen=True)
class Written:
    """Where the response record went and what writing the exchange added to the spool."""

    location: RecordLocation
    records: int  # records written, the warcinfo of a file it started included
    bytes: int


def write_exchange(writer: WarcRotatingWriter, exchange: Exchange) -> Written:
    """Build the request and response records of ``exchange`` and write them together."""
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
    location = writer.write_exchange(request, response)
    return Written(location, writer.records - records_before,
                   writer.bytes_written - bytes_before)


class LocalWarcSink:
    """Writes exchanges in this process, synchronously (see WarcWriterProcess for the other)."""

    def __init__(self, writer: WarcRotatingWriter) -> None:
        self.writer = writer

    @property
    def files(self) -> int:
        return self.writer.files

    @property
    def on_file_closed(self) -> list:
        return self.writer.on_file_closed

    @property
    def spool_dir(self) -> Path:
        return self.writer.spool_dir

    def write(self, exchange: Exchange) -> Written:
        return write_exchange(self.writer, exchange)

    def backlog(self) -> int:
        return 0  # written before write() returns

    async def room(self, limit: int) -> None:
        return None

    def close(self) -> list[Path]:
        return self.writer.close()
