"""Finish spool files a killed crawl left as ``<name>.open``.

A WARC is written one gzip member per record, so everything up to the last
complete member is valid: the torn tail is cut, the file fsynced and renamed,
and the next flush uploads and indexes it like any other. An articles file
is one gzip stream; its readable whole lines are rewritten to a fresh file.

Files still being written are never touched: :class:`storage.warc.WarcRotatingWriter`
holds an exclusive ``flock`` on its open WARC, so a WARC whose lock is taken
belongs to a live crawl. The articles writer holds no lock; its file is left
alone while any open WARC of the same site is locked (its crawl is running).
"""

from __future__ import annotations

import fcntl
import gzip
import logging
import os
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from storage.durable import OPEN_SUFFIX, fsync_dir
from storage.spool import Spool

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20
_CONTENT_LENGTH = re.compile(rb"^content-length:[ \t]*(\d+)[ \t]*$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Recovered:
    """One interrupted spool file made whole again (or removed when nothing was whole)."""

    path: Path  # the finished file, or the removed ``.open`` file when ``records`` is 0
    records: int  # WARC records or JSONL lines kept
    bytes_cut: int  # bytes of the ``.open`` file that were not kept

    def describe(self) -> str:
        unit = "line(s)" if ".jsonl" in self.path.name else "record(s)"
        if not self.records:
            return f"{self.path}: nothing complete, removed ({self.bytes_cut} bytes)"
        return f"{self.path}: kept {self.records} {unit}, cut {self.bytes_cut} bytes"


def recover_open_files(spool: Spool) -> list[Recovered]:
    """Recover every ``.open`` WARC and JSONL file in the spool no live writer holds."""
    recovered: list[Recovered] = []
    live_sites: set[str] = set()
    jsonl: list[Path] = []
    for path in spool.open_files():
        name = path.name.removesuffix(OPEN_SUFFIX)
        if name.endswith(".warc.gz"):
            result = _with_lock(path, recover_warc)
            if result is _BUSY:
                live_sites.add(_site_of(spool, path))
            elif isinstance(result, Recovered):
                recovered.append(result)
        elif name.endswith(".jsonl.gz"):
            jsonl.append(path)
    for path in jsonl:
        if _site_of(spool, path) in live_sites:
            logger.info("Not recovering %s: a crawl of its site is still writing", path)
            continue
        result = _with_lock(path, recover_jsonl)
        if isinstance(result, Recovered):
            recovered.append(result)
    for item in recovered:
        logger.info("Recovered %s", item.describe())
    return recovered


_BUSY = object()


def _site_of(spool: Spool, path: Path) -> str:
    return spool.key_for(path).partition("/")[0]


def _with_lock(path: Path, recover: Callable[[Path, BinaryIO], Recovered]) -> object:
    """Run ``recover(path, fh)`` holding the file's lock; ``_BUSY`` if a writer holds it."""
    try:
        fh = open(path, "r+b")  # noqa: SIM115 - closed below
    except FileNotFoundError:  # finished meanwhile
        return None
    with fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _BUSY
        try:
            same = os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if not same:  # the writer renamed it between our open and our lock
            return None
        return recover(path, fh)


def _final(path: Path) -> Path:
    return path.with_name(path.name.removesuffix(OPEN_SUFFIX))


def _finish(path: Path, fh: BinaryIO, keep: int, records: int) -> Recovered:
    """Truncate to ``keep`` bytes, fsync and rename (or remove when nothing is whole)."""
    size = os.fstat(fh.fileno()).st_size
    if records == 0:
        path.unlink()
        fsync_dir(path.parent)
        return Recovered(path, 0, size)
    fh.truncate(keep)
    fh.flush()
    os.fsync(fh.fileno())
    final = _final(path)
    os.replace(path, final)
    fsync_dir(final.parent)
    return Recovered(final, records, size - keep)


# -- WARC --------------------------------------------------------------------


def iter_gzip_members(stream: BinaryIO) -> Iterator[tuple[int, int, bytes]]:
    """``(offset, length, data)`` of each complete gzip member, stopping at the first torn one.

    A member is complete when zlib reached its end and its CRC and size matched.
    """
    offset, pending = 0, b""
    while True:
        d = zlib.decompressobj(wbits=31)
        parts: list[bytes] = []
        used = 0
        while not d.eof:
            if not pending:
                pending = stream.read(_CHUNK)
                if not pending:
                    return  # end of file: clean between members, torn inside one
            try:
                parts.append(d.decompress(pending))
            except zlib.error:
                return
            used += len(pending) - len(d.unused_data)
            pending = d.unused_data
        yield offset, used, b"".join(parts)
        offset += used


def is_whole_record(data: bytes) -> bool:
    """Whether ``data`` is exactly one WARC record: headers, Content-Length block, CRLF CRLF."""
    if not data.startswith(b"WARC/"):
        return False
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return False
    match = _CONTENT_LENGTH.search(data[:end])
    if match is None:
        return False
    return len(data) == end + 4 + int(match.group(1)) + 4 and data.endswith(b"\r\n\r\n")


def recover_warc(path: Path, fh: BinaryIO) -> Recovered:
    """Keep the complete records of a ``.warc.gz.open`` file (the caller holds its lock)."""
    fh.seek(0)
    keep = records = 0
    for offset, length, data in iter_gzip_members(fh):
        if not is_whole_record(data):
            break
        keep, records = offset + length, records + 1
    return _finish(path, fh, keep, records)


# -- JSONL -------------------------------------------------------------------


def recover_jsonl(path: Path, fh: BinaryIO) -> Recovered:
    """Rewrite the whole lines readable from a ``.jsonl.gz.open`` file as a fresh gzip file."""
    fh.seek(0)
    text = _readable_gzip(fh)
    whole = text[: text.rfind(b"\n") + 1]
    lines = whole.count(b"\n")
    if lines == 0:
        return _finish(path, fh, 0, 0)
    fresh = path.with_name("." + path.name + ".tmp")  # hidden: the spool never uploads it
    with open(fresh, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
            gz.write(whole)
        raw.flush()
        os.fsync(raw.fileno())
    final = _final(path)
    os.replace(fresh, final)
    path.unlink()
    fsync_dir(final.parent)
    # the file is rewritten, so what was cut is counted in decompressed bytes
    return Recovered(final, lines, len(text) - len(whole))


def _readable_gzip(fh: BinaryIO) -> bytes:
    """What decompresses from the start of a gzip stream, up to where it is damaged or ends."""
    d = zlib.decompressobj(wbits=31)
    parts: list[bytes] = []
    while chunk := fh.read(1 << 16):
        saved = d.copy()
        try:
            parts.append(d.decompress(chunk))
        except zlib.error:
            d = saved  # salvage what precedes the damage in this chunk, byte by byte
            for i in range(len(chunk)):
                try:
                    parts.append(d.decompress(chunk[i:i + 1]))
                except zlib.error:
                    break
            break
        if d.eof:
            break
    return b"".join(parts)
