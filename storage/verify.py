"""Check what storage holds against the catalog: digests, index, and every row's record.

Every stored WARC is streamed once with warcio's digest checks on (each record's
``WARC-Block-Digest`` and ``WARC-Payload-Digest`` recomputed); its CDXJ must sit
beside it and its captures must be in the catalog. Every catalog row is then
resolved with a ranged read, as restore does, and the record found there must
be the row's URL and digest. Every revisit record must resolve as restore
resolves it: its original is in the catalog, and the record stored there is a
response with the revisit's payload digest. Problems are reported, never
raised, so one run lists them all.
"""

from __future__ import annotations

import io
import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from storage.base import Store
from storage.catalog import Capture, Catalog, pad_timestamp
from storage.cdxj import _is_capture
from storage.indexer import cdxj_key, is_warc
from storage.restore import RevisitRef

logger = logging.getLogger(__name__)

MISSING, CORRUPT, UNINDEXED, UNRESOLVED = "missing", "corrupt", "unindexed", "unresolved"
KINDS = (MISSING, CORRUPT, UNINDEXED, UNRESOLVED)
# Damaged input makes warcio raise almost anything (ArchiveLoadFailed, zlib.error,
# EOFError, ValueError, even AttributeError on a garbled header block); every one of
# them means "corrupt", and verify reports it instead of stopping.
_READ_ERRORS = (Exception,)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one stored object."""

    kind: str  # one of KINDS
    location: str  # the object's user-facing address
    detail: str

    def line(self) -> str:
        return f"{self.kind.upper()} {self.location}: {self.detail}"


@dataclass
class VerifyReport:
    """What one verification pass read, and what it found wrong."""

    warcs: int = 0
    records: int = 0
    rows: int = 0
    revisits: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def count(self, kind: str) -> int:
        return sum(1 for p in self.problems if p.kind == kind)


@dataclass(frozen=True)
class _Row:
    id: int
    url: str
    digest: str | None
    offset: int
    length: int
    filename: str


def _key_date(key: str) -> str | None:
    """The ``YYYY-MM-DD`` folder of a spool key (``site/date/name``), if it has one."""
    parts = key.split("/")
    return parts[1] if len(parts) >= 3 else None


def verify_store(store: Store, catalog: Catalog, *, site: str | None = None,
                 since: str | None = None) -> VerifyReport:
    """Verify the WARCs (of ``site``, stored on or after ``since``) and their catalog rows."""
    report = VerifyReport()
    keys = [k for k in store.list(f"{site}/" if site else "") if is_warc(k)]
    if since:
        keys = [k for k in keys if (_key_date(k) or since) >= since]
    rows = _catalog_rows(catalog, site=site, since=since)
    report.rows = sum(len(r) for r in rows.values())
    originals: dict[tuple[str, int, str], str | None] = {}  # checked once for many revisits
    for key in keys:
        report.warcs += 1
        revisits = _verify_warc(store, key, rows.get(key, []), report)
        report.revisits += len(revisits)
        for offset, uri, ref in revisits:
            detail = _check_revisit(store, catalog, ref, originals)
            if detail:
                report.problems.append(Problem(UNRESOLVED, store.location(key), (
                    f"revisit at offset {offset} ({uri}): {detail}")))
    stored = set(keys)
    for filename, file_rows in rows.items():
        if filename not in stored and not store.exists(filename):
            report.problems.append(Problem(MISSING, store.location(filename), (
                f"{len(file_rows)} catalog row(s) point at it but it is not stored")))
            continue
        for row in file_rows:
            detail = _check_row(store, row)
            if detail:
                report.problems.append(Problem(CORRUPT, store.location(filename), detail))
    return report


def _catalog_rows(catalog: Catalog, *, site: str | None, since: str | None
                  ) -> dict[str, list[_Row]]:
    c = catalog.t_captures.c
    stmt = select(c.id, c.url, c.digest, c.offset, c.length, c.filename).order_by(
        c.filename, c.offset)
    if site:
        stmt = stmt.where(c.site == site)
    if since:
        stmt = stmt.where(c.timestamp >= pad_timestamp(since.replace("-", "")))
    rows: dict[str, list[_Row]] = defaultdict(list)
    with catalog.engine.connect() as conn:
        for r in conn.execute(stmt):
            rows[r.filename].append(_Row(r.id, r.url, r.digest, r.offset, r.length, r.filename))
    return rows


def _records(stream: Any) -> Iterator[tuple[int, Any, list[str]]]:
    """``(offset, record, digest problems)`` of each record, read in full."""
    it = ArchiveIterator(stream, check_digests=True)
    for record in it:
        content = record.content_stream()
        while content.read(1 << 16):
            pass
        problems = list(record.digest_checker.problems) \
            if record.digest_checker.passed is False else []
        yield it.get_record_offset(), record, problems


def _verify_warc(store: Store, key: str, rows: list[_Row], report: VerifyReport
                 ) -> list[tuple[int, str, RevisitRef]]:
    """Check one WARC; the revisits it holds, as (offset, URI, reference), to resolve."""
    where = store.location(key)
    captures: set[int] = set()
    revisits: list[tuple[int, str, RevisitRef]] = []
    offset = 0
    try:
        with store.open(key) as stream:
            for offset, record, problems in _records(stream):
                report.records += 1
                for problem in problems:
                    uri = record.rec_headers.get_header("WARC-Target-URI") or "-"
                    report.problems.append(Problem(CORRUPT, where, (
                        f"record at offset {offset} ({record.rec_type} {uri}): {problem}")))
                if _is_capture(record):
                    captures.add(offset)
                if (ref := RevisitRef.of(record)) is not None:
                    uri = record.rec_headers.get_header("WARC-Target-URI") or "-"
                    revisits.append((offset, uri, ref))
    except _READ_ERRORS as exc:
        report.problems.append(Problem(CORRUPT, where, (
            f"unreadable after the record at offset {offset}: {_why(exc)}")))
    if not store.exists(cdxj_key(key)):
        report.problems.append(Problem(UNINDEXED, where, (
            f"no CDXJ index ({cdxj_key(key).rsplit('/', 1)[-1]}); run 'warcwire reindex'")))
    missing = captures - {row.offset for row in rows}
    if captures and not rows:
        report.problems.append(Problem(UNINDEXED, where, (
            "no rows in the catalog; run 'warcwire reindex'")))
    elif missing:
        report.problems.append(Problem(UNINDEXED, where, (
            f"{len(missing)} capture(s) not in the catalog; run 'warcwire reindex'")))
    return revisits


def _check_revisit(store: Store, catalog: Catalog, ref: RevisitRef,
                   checked: dict[tuple[str, int, str], str | None]) -> str | None:
    """Why a revisit does not resolve to its original, or None when it does."""
    if not ref.digest:
        return "no WARC-Payload-Digest to find its original by"
    original = catalog.original(ref.uri, ref.timestamp, ref.digest)
    if original is None:
        when = f" captured {ref.timestamp}" if ref.timestamp else ""
        return (f"its original ({ref.uri}{when}, {ref.digest}) is not in the catalog; "
                "run 'warcwire reindex'")
    key = (original.filename, original.offset, ref.digest)
    if key not in checked:
        checked[key] = _check_original(store, original, ref.digest)
    return checked[key]


def _check_original(store: Store, original: Capture, digest: str) -> str | None:
    """Why the record at ``original`` is not a response with payload ``digest``, or None."""
    what = f"its original at {store.location(original.filename)} offset {original.offset}"
    try:
        data = store.open_range(original.filename, original.offset, original.length)
        found = next(_records(io.BytesIO(data)), None)
    except _READ_ERRORS as exc:
        return f"{what} is unreadable: {_why(exc)}"
    if found is None:
        return f"{what} holds no record"
    _, record, problems = found
    if record.rec_type not in ("response", "resource"):
        return f"{what} is a {record.rec_type} record, not a response"
    if problems:
        return f"{what}: {'; '.join(problems)}"
    stored = record.rec_headers.get_header("WARC-Payload-Digest")
    if stored != digest:
        return f"{what} has payload digest {stored}, not {digest}"
    return None


def _why(exc: BaseException) -> str:
    """One printable line: warcio quotes the damaged bytes it found, which may be binary."""
    text = str(exc).strip() or type(exc).__name__
    text = "".join(ch if ch.isprintable() else "?" for ch in text.splitlines()[0])
    return text if len(text) <= 120 else text[:117] + "..."


def _check_row(store: Store, row: _Row) -> str | None:
    """Why catalog row ``row`` does not resolve to its record, or None when it does."""
    what = f"catalog row {row.id} ({row.url}) at offset {row.offset}"
    try:
        data = store.open_range(row.filename, row.offset, row.length)
        found = next(_records(io.BytesIO(data)), None)
    except _READ_ERRORS as exc:
        return f"{what}: unreadable: {_why(exc)}"
    if found is None:
        return f"{what}: no record there"
    _, record, problems = found
    if problems:
        return f"{what}: {'; '.join(problems)}"
    uri = record.rec_headers.get_header("WARC-Target-URI")
    if uri != row.url:
        return f"{what}: the record there is for {uri}"
    digest = record.rec_headers.get_header("WARC-Payload-Digest")
    if row.digest and digest != row.digest:
        return f"{what}: payload digest {digest} differs from the catalog's {row.digest}"
    return None
