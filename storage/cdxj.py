"""CDXJ index lines for a WARC, in the format pywb and cdxj-indexer write.

One line per capture: ``<surt> <14-digit timestamp> <json>``, the JSON holding
``url``, ``mime``, ``status``, ``digest``, ``length``, ``offset`` and
``filename`` in that order, values as strings, absent values left out. Offsets
and lengths are those :class:`warcio.ArchiveIterator` reports (whole gzip
members), so one ranged read restores a record. ``request`` and ``warcinfo``
records are not captures; ``response``, ``revisit``, ``resource`` and
``metadata`` records are (the last two unless they are ``application/warc-fields``),
exactly the set cdxj-indexer picks.

``filename`` is the storage key, relative to the storage root, so a copy of the
storage root used as a pywb collection's ``archive/`` dir resolves it.

Lines must be sorted bytewise: pywb binary-searches index files and silently
misses lines out of order. We write the lines ourselves (with the ``surt``
package for keys, as cdxj-indexer does) rather than calling cdxj-indexer's
classes, because one pass then yields both the index and the catalog rows,
and cdxj-indexer stays a test-only dependency; tests/test_cdxj.py checks that
both produce the same bytes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.timeutils import iso_date_to_timestamp

# The index of <key>.warc.gz is stored beside it as <key>.warc.gz.cdxj.
CDXJ_SUFFIX = ".cdxj"
CAPTURE_TYPES = frozenset({"response", "revisit", "resource", "metadata"})
_MIME_END = re.compile(r"[;\s]")


def surt_key(url: str) -> str:
    """The SURT sort key CDX servers use: scheme, www., case and query order ignored."""
    # imported here: surt brings tldextract and requests (~140 ms), and reading a
    # stored CDXJ or the catalog needs no new keys
    from surt import surt

    try:
        return str(surt(url))
    except Exception:  # surt raises several types on junk; cdxj-indexer keeps the URL then
        return url


@dataclass(frozen=True)
class CdxjEntry:
    """One capture as a CDXJ line describes it."""

    surt: str
    timestamp: str  # 14 digits, UTC
    url: str
    mime: str | None
    status: int | None
    digest: str | None  # as in WARC-Payload-Digest, e.g. "sha1:ABC..."
    length: int
    offset: int
    filename: str  # storage key of the WARC
    record_type: str = "response"

    def line(self) -> str:
        """The CDXJ line, without the trailing newline."""
        fields: dict[str, Any] = {"url": self.url, "mime": self.mime,
                                  "status": None if self.status is None else str(self.status),
                                  "digest": self.digest, "length": str(self.length),
                                  "offset": str(self.offset), "filename": self.filename}
        body = json.dumps({k: v for k, v in fields.items() if v is not None})
        return f"{self.surt} {self.timestamp} {body}"

    @classmethod
    def from_line(cls, line: str) -> CdxjEntry:
        """Parse a line :meth:`line` wrote; ValueError if it is not one."""
        key, timestamp, body = line.rstrip("\n").split(" ", 2)
        fields = json.loads(body)
        status = fields.get("status")
        return cls(surt=key, timestamp=timestamp, url=fields["url"], mime=fields.get("mime"),
                   status=int(status) if status is not None else None,
                   digest=fields.get("digest"), length=int(fields["length"]),
                   offset=int(fields["offset"]), filename=fields["filename"])

    def as_row(self, *, site: str, run_id: str) -> dict[str, Any]:
        """A row for :meth:`storage.catalog.Catalog.add_captures`."""
        return {"surt": self.surt, "timestamp": self.timestamp, "url": self.url,
                "mime": self.mime, "status": self.status, "digest": self.digest,
                "length": self.length, "offset": self.offset, "filename": self.filename,
                "site": site, "run_id": run_id}


@dataclass
class WarcIndex:
    """What one pass over a WARC found: its captures and its warcinfo fields."""

    entries: list[CdxjEntry]
    warcinfo: dict[str, str]

    def cdxj(self) -> bytes:
        """The whole index file, sorted bytewise, one line per capture."""
        return sort_lines(e.line() for e in self.entries)


def sort_lines(lines: Iterable[str]) -> bytes:
    encoded = sorted(line.encode("utf-8") for line in lines)
    return b"".join(line + b"\n" for line in encoded)


def _mime(record: ArcWarcRecord) -> str | None:
    if record.rec_type == "revisit":
        return "warc/revisit"
    if record.rec_type in ("response", "request"):
        value = record.http_headers.get_header("Content-Type") if record.http_headers else None
    else:
        value = record.rec_headers.get_header("Content-Type")
    if not value:
        return None
    return _MIME_END.split(value, maxsplit=1)[0].strip()


def _is_capture(record: ArcWarcRecord) -> bool:
    if record.rec_type not in CAPTURE_TYPES:
        return False
    return not (record.rec_type in ("resource", "metadata")
                and record.rec_headers.get_header("Content-Type") == "application/warc-fields")


def _warcinfo_fields(record: ArcWarcRecord) -> dict[str, str]:
    fields: dict[str, str] = {}
    for line in record.content_stream().read().decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep:
            fields.setdefault(name.strip(), value.strip())
    return fields


def entry_for_record(record: ArcWarcRecord, *, offset: int, length: int,
                     filename: str) -> CdxjEntry | None:
    """The capture a record stands for at ``offset``/``length``; None if it is no capture.

    Works on records read back from a file and on records just written (the
    WARC writer indexes as it writes, so a crawl never re-reads its WARCs).
    """
    if not _is_capture(record):
        return None
    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    status = None
    if record.rec_type in ("response", "revisit") and record.http_headers:
        code = record.http_headers.get_statuscode()
        status = int(code) if code and code.isdigit() else None
    return CdxjEntry(
        surt=surt_key(url),
        timestamp=iso_date_to_timestamp(record.rec_headers.get_header("WARC-Date")),
        url=url, mime=_mime(record), status=status,
        digest=record.rec_headers.get_header("WARC-Payload-Digest"),
        length=length, offset=offset, filename=filename, record_type=record.rec_type,
    )


def iter_entries(stream: IO[bytes], filename: str,
                 warcinfo: dict[str, str] | None = None,
                 observe: Callable[[ArcWarcRecord, CdxjEntry], None] | None = None
                 ) -> Iterator[CdxjEntry]:
    """Captures of the WARC read from ``stream``, in file order.

    Fields of the first warcinfo record are put into ``warcinfo`` if given;
    ``observe`` sees each capture's record (headers parsed) with its entry.
    """
    it = ArchiveIterator(stream, arc2warc=True)
    for record in it:
        if record.rec_type == "warcinfo" and warcinfo is not None and not warcinfo:
            warcinfo.update(_warcinfo_fields(record))
        if not _is_capture(record):
            continue
        offset = it.get_record_offset()
        # reads the rest of the record; its headers stay parsed
        length = it.get_record_length()
        entry = entry_for_record(record, offset=offset, length=length, filename=filename)
        if entry is not None:
            if observe is not None:
                observe(record, entry)
            yield entry


def read_warcinfo(stream: IO[bytes]) -> dict[str, str]:
    """Fields of the WARC's first record if it is a warcinfo; reads no further."""
    for record in ArchiveIterator(stream, arc2warc=True):
        return _warcinfo_fields(record) if record.rec_type == "warcinfo" else {}
    return {}


def index_warc(stream: IO[bytes], filename: str,
               observe: Callable[[ArcWarcRecord, CdxjEntry], None] | None = None
               ) -> WarcIndex:
    """Index a whole WARC stream (read once, front to back)."""
    info: dict[str, str] = {}
    entries = list(iter_entries(stream, filename, info, observe))
    return WarcIndex(entries, info)
