"""WARC records as warcio builds and writes them, byte-faithful to the wire.

HTTP headers are taken as ``str`` holding the wire bytes decoded as latin-1
and are written back byte-for-byte (warcio would percent-encode non-ASCII
values, which changes what the server sent). Each record is one gzip member,
so a record can be read alone with one ranged read.

Revisit records come in the two WARC/1.1 profiles (warcio has a helper for the
first only, and it writes the 1.0 profile URI):

* ``identical-payload-digest``: a 200 whose payload digest equals the earlier
  capture's; the block is the response head as received, no body.
* ``server-not-modified``: the server answered a conditional request with 304.
  Replay tools (pywb, wabac.js) replay a revisit with its own HTTP head and the
  referred-to payload, and a 304 status there replays as an empty 304
  (ukwa-pywb#40). So the block is the response a cache holds after the 304
  (RFC 9111 §4.3.4): the earlier status line and headers, updated with the 304's
  header fields; the status line actually received is kept in
  ``WARC-Warcwire-Received-Status`` and the request record shows the
  conditional request.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from io import BytesIO
from typing import BinaryIO

from warcio.recordbuilder import RecordBuilder
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

WARC_VERSION = "WARC/1.1"
IDENTICAL_PAYLOAD_DIGEST = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
SERVER_NOT_MODIFIED = "http://netpreserve.org/warc/1.1/revisit/server-not-modified"
REVISIT_PROFILES = {"identical-payload-digest": IDENTICAL_PAYLOAD_DIGEST,
                    "server-not-modified": SERVER_NOT_MODIFIED}
# The status line a server-not-modified revisit's server sent (its block holds the merge).
RECEIVED_STATUS_HEADER = "WARC-Warcwire-Received-Status"
TRUNCATED_REASONS = frozenset({"length", "time", "disconnect", "unspecified"})

Clock = Callable[[], datetime]


def warc_date(dt: datetime) -> str:
    """WARC/1.1 date with microseconds, always UTC."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC).replace(tzinfo=None)
    return datetime_to_iso_date(dt, use_micros=True)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _wire(text: str) -> bytes:
    if "\r" in text or "\n" in text:
        raise ValueError(f"line break inside an HTTP header line: {text!r}")
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode("utf-8")


class _WireHeaders(StatusAndHeaders):
    """An HTTP head serialised exactly as given: first line, headers, blank line.

    The first line is split as warcio's parser splits it (``protocol`` is
    ``HTTP/1.1`` in a response, the method in a request), so the record reads
    the same before and after a round trip through a file.
    """

    def __init__(self, first_line: str, headers: list[tuple[str, str]]) -> None:
        protocol, _, rest = first_line.partition(" ")
        super().__init__(rest, headers, protocol=protocol)
        self.first_line = first_line

    def compute_headers_buffer(self, header_filter: object = None) -> None:
        lines = [self.first_line, *(f"{name}: {value}" for name, value in self.headers)]
        self.headers_buff = b"".join(_wire(line) + b"\r\n" for line in lines) + b"\r\n"


# Payloads that arrive compressed: deflating them again costs ~0.3 ms per 13 kB page and
# saves nothing, so their records go into the gzip member stored (level 0), still one
# valid gzip member per record. Everything else gets gzip's default level.
DEFAULT_GZIP_LEVEL = 6
_COMPRESSED_ENCODINGS = frozenset({"gzip", "x-gzip", "deflate", "br", "zstd", "compress"})
_COMPRESSED_TYPES = ("image/", "video/", "audio/", "font/woff", "application/zip",
                     "application/gzip", "application/x-gzip", "application/zstd")


def gzip_level(record: ArcWarcRecord) -> int:
    """Compression level for ``record``'s gzip member: 0 when its payload is compressed."""
    http = record.http_headers
    if record.rec_type != "response" or not http:
        return DEFAULT_GZIP_LEVEL
    encoding = (http.get_header("Content-Encoding") or "").strip().lower()
    ctype = (http.get_header("Content-Type") or "").strip().lower()
    if encoding in _COMPRESSED_ENCODINGS or ctype.startswith(_COMPRESSED_TYPES):
        return 0
    return DEFAULT_GZIP_LEVEL


class _GzipMember:
    """Write-through gzip compressor for one record; ``flush`` ends the member."""

    def __init__(self, out: BinaryIO, level: int) -> None:
        self.out = out
        self._deflate = zlib.compressobj(level, zlib.DEFLATED, zlib.MAX_WBITS + 16)

    def write(self, data: bytes) -> None:
        self.out.write(self._deflate.compress(data))

    def flush(self) -> None:
        self.out.write(self._deflate.flush())
        self.out.flush()


class MemberWriter(WARCWriter):
    """warcio's WARC writer, one gzip member per record at a level chosen per record."""

    def __init__(self, out: BinaryIO) -> None:
        super().__init__(out, gzip=False, warc_version=WARC_VERSION)

    def _write_warc_record(self, out: BinaryIO, record: ArcWarcRecord) -> None:
        super()._write_warc_record(_GzipMember(out, gzip_level(record)), record)


class _Builder(RecordBuilder):
    """warcio's record builder with injectable record ids and dates."""

    def __init__(self, make_id: Callable[[], str], clock: Clock) -> None:
        super().__init__(warc_version=WARC_VERSION)
        self._make_id = make_id
        self._clock = clock

    def _make_warc_id(self) -> str:  # type: ignore[override]
        return self._make_id()

    def curr_warc_date(self) -> str:
        return warc_date(self._clock())


class RecordMaker:
    """Builds ``request``, ``response`` and ``warcinfo`` records with injectable ids and clock."""

    def __init__(self, clock: Clock | None = None,
                 record_id_maker: Callable[[], str] | None = None) -> None:
        self.clock: Clock = clock or _utcnow
        self.new_record_id: Callable[[], str] = (
            record_id_maker or StatusAndHeadersParser.make_warc_id
        )
        self._builder = _Builder(self.new_record_id, self.clock)

    def make_warcinfo_record(self, filename: str, info: dict[str, str]) -> ArcWarcRecord:
        return self._builder.create_warcinfo_record(filename, info)

    def make_request_record(
        self,
        url: str,
        method: str,
        target: str,
        headers: Sequence[tuple[str, str]],
        body: bytes = b"",
        *,
        protocol: str = "HTTP/1.1",
        ip: str | None = None,
        date: datetime | None = None,
        concurrent_to: str | None = None,
        record_id: str | None = None,
        warc_protocol: str | None = None,
    ) -> ArcWarcRecord:
        """A ``request`` record whose block is ``METHOD target protocol``, headers, body."""
        return self._http_record(
            "request", url, f"{method} {target} {protocol}", headers, body,
            ip=ip, date=date, concurrent_to=concurrent_to, record_id=record_id,
            warc_protocol=warc_protocol, truncated=None,
        )

    def make_response_record(
        self,
        url: str,
        status_line: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        *,
        ip: str | None = None,
        date: datetime | None = None,
        truncated: str | None = None,
        concurrent_to: str | None = None,
        record_id: str | None = None,
        warc_protocol: str | None = None,
    ) -> ArcWarcRecord:
        """A ``response`` record; ``body`` is the payload as received (transfer coding removed)."""
        return self._http_record(
            "response", url, status_line, headers, body,
            ip=ip, date=date, concurrent_to=concurrent_to, record_id=record_id,
            warc_protocol=warc_protocol, truncated=truncated,
        )

    def make_revisit_record(
        self,
        url: str,
        profile: str,
        status_line: str,
        headers: Sequence[tuple[str, str]],
        *,
        refers_to_uri: str,
        refers_to_date: str,
        digest: str,
        refers_to: str | None = None,
        received_status: str | None = None,
        ip: str | None = None,
        date: datetime | None = None,
        concurrent_to: str | None = None,
        record_id: str | None = None,
        warc_protocol: str | None = None,
    ) -> ArcWarcRecord:
        """A ``revisit`` record: HTTP head only, pointing at the capture holding the payload.

        ``profile`` is a key of REVISIT_PROFILES; ``digest`` the payload digest of
        the referred-to record, which replay tools use to find it.
        """
        if profile not in REVISIT_PROFILES:
            raise ValueError(
                f"revisit profile {profile!r} is not one of {sorted(REVISIT_PROFILES)}")
        fields = [
            ("WARC-Type", "revisit"),
            ("WARC-Record-ID", record_id or self.new_record_id()),
            ("WARC-Date", warc_date(date or self.clock())),
            ("WARC-Target-URI", url),
            ("WARC-Profile", REVISIT_PROFILES[profile]),
            ("WARC-Refers-To-Target-URI", refers_to_uri),
            ("WARC-Refers-To-Date", refers_to_date),
        ]
        optional = (
            ("WARC-Refers-To", refers_to),
            ("WARC-Payload-Digest", digest),
            ("WARC-IP-Address", ip),
            ("WARC-Concurrent-To", concurrent_to),
            ("WARC-Protocol", warc_protocol),
            (RECEIVED_STATUS_HEADER, received_status),
        )
        fields += [(name, value) for name, value in optional if value]
        return self._builder.create_warc_record(
            url,
            "revisit",
            warc_headers=StatusAndHeaders("", fields, protocol=WARC_VERSION),
            http_headers=_WireHeaders(status_line, list(headers)),
        )

    def _http_record(
        self,
        rec_type: str,
        url: str,
        first_line: str,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        *,
        ip: str | None,
        date: datetime | None,
        concurrent_to: str | None,
        record_id: str | None,
        warc_protocol: str | None,
        truncated: str | None,
    ) -> ArcWarcRecord:
        if truncated is not None and truncated not in TRUNCATED_REASONS:
            raise ValueError(
                f"WARC-Truncated {truncated!r} is not one of {sorted(TRUNCATED_REASONS)}"
            )
        fields = [
            ("WARC-Type", rec_type),
            ("WARC-Record-ID", record_id or self.new_record_id()),
            ("WARC-Date", warc_date(date or self.clock())),
            ("WARC-Target-URI", url),
        ]
        optional = (
            ("WARC-IP-Address", ip),
            ("WARC-Concurrent-To", concurrent_to),
            ("WARC-Protocol", warc_protocol),
            ("WARC-Truncated", truncated),
        )
        fields += [(name, value) for name, value in optional if value]
        return self._builder.create_warc_record(
            url,
            rec_type,
            payload=BytesIO(body),
            length=len(body),
            warc_headers=StatusAndHeaders("", fields, protocol=WARC_VERSION),
            http_headers=_WireHeaders(first_line, list(headers)),
        )


# Fields a 304 does not update in the stored response (RFC 9111 §3.1, §3.2): they
# describe the stored bytes or one connection, not the resource.
_NOT_UPDATED = frozenset({"content-length", "content-encoding", "content-type", "content-range",
                          "transfer-encoding", "connection", "keep-alive", "te", "trailer",
                          "upgrade", "proxy-connection", "proxy-authenticate",
                          "proxy-authentication-info"})


def merge_not_modified(stored: Sequence[tuple[str, str]],
                       not_modified: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The stored response's headers updated with a 304's, as a cache does (RFC 9111 §4.3.4).

    Each field the 304 sends replaces the stored lines of that name, in place
    of its first occurrence; new fields are appended in the 304's order.
    """
    updates: dict[str, list[tuple[str, str]]] = {}
    for name, value in not_modified:
        if name.lower() not in _NOT_UPDATED:
            updates.setdefault(name.lower(), []).append((name, value))
    merged: list[tuple[str, str]] = []
    placed: set[str] = set()
    for name, value in stored:
        key = name.lower()
        if key not in updates:
            merged.append((name, value))
        elif key not in placed:
            merged.extend(updates[key])
            placed.add(key)
    merged.extend(line for key, lines in updates.items() if key not in placed for line in lines)
    return merged
