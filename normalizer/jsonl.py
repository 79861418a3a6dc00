"""Gzip JSON Lines output for article records.

A file is written as ``<name>.open`` and renamed after an fsync, so the spool
uploader (which skips ``*.open``) only ever sees complete files.

Each record is pushed to the file at a deflate sync point, so the file is a
whole gzip stream up to its last record whatever happens next. A write that
fails (a full disk) is cut off again and the file is ended there on close:
every record whose ``write`` returned stays readable.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import gzip
import io
import json
import logging
import os
import struct
import zlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from normalizer.record import ArticleRecord
from storage.durable import OPEN_SUFFIX, fsync_dir
from warcwire import defaults

logger = logging.getLogger(__name__)

ARTICLES_SUFFIX = ".articles.v2.jsonl.gz"
# A final empty stored block: ends a deflate stream at a sync point.
_FINAL_BLOCK = b"\x01\x00\x00\xff\xff"


def dumps(record: ArticleRecord | dict[str, Any]) -> str:
    """One JSON line: UTF-8 as is (no \\u escapes), keys sorted for stable diffs."""
    data = record.to_dict() if isinstance(record, ArticleRecord) else record
    return json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a ``.jsonl.gz`` file as dicts."""
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


class _Identity:
    """Stands in for the gzip compressor when the file is plain JSON Lines."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out

    def write(self, data: bytes) -> int:
        return self.out.write(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class JsonlFile:
    """Write records to ``path`` via ``path.open``; rename only on :meth:`close`.

    The file is created on the first record, so a run without articles leaves
    nothing behind unless ``keep_empty`` asks for an empty file. After a failed
    write the file takes no more records (its compressor holds bytes the file
    never got); :meth:`close` still finishes it with every record before.
    """

    def __init__(self, path: Path, *, keep_empty: bool = False, compress: bool = True) -> None:
        self.path = Path(path)
        self.keep_empty = keep_empty
        self.compress = compress  # False: plain JSON Lines (same sync and cut-back rules)
        self._raw: IO[bytes] | None = None
        self._gz: gzip.GzipFile | _Identity | None = None
        self._pending = io.BytesIO()  # what the compressor produced, not yet in the file
        self._good = 0  # file bytes that form a whole stream up to a record's end
        self._crc = 0  # CRC-32 and size of the records in those bytes
        self._size = 0
        self._failed: OSError | None = None
        self._count = 0
        self._closed = False
        self._final: Path | None = None

    @property
    def count(self) -> int:
        return self._count

    @property
    def open_path(self) -> Path:
        return self.path.with_name(self.path.name + OPEN_SUFFIX)

    def _open(self) -> gzip.GzipFile | _Identity:
        if self._closed:
            raise ValueError(f"{self.path} is already closed")
        if self._gz is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            raw = open(self.open_path, "wb", buffering=0)  # noqa: SIM115 - closed in close()
            try:
                # held until closed: spool recovery leaves files with a live writer alone
                fcntl.flock(raw.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._raw = raw
                # no name, no mtime in the header: same records, same bytes
                # level 6 (GNU gzip's default): level 9 took 1.65x the CPU for 3.5% smaller files
                gz: gzip.GzipFile | _Identity = (
                    gzip.GzipFile(filename="", mode="wb", fileobj=self._pending, mtime=0,
                                  compresslevel=6) if self.compress else _Identity(self._pending))
                self._push()  # the header
            except BaseException:
                self._raw = None
                raw.close()
                self.open_path.unlink(missing_ok=True)
                raise
            self._gz = gz
        return self._gz

    def write(self, record: ArticleRecord | dict[str, Any]) -> None:
        """Append one record; when this returns, it is in the file (not yet fsynced)."""
        if self._failed is not None:
            raise OSError(self._failed.errno,
                          f"{self.path}: no more records after a failed write "
                          f"({self._failed.strerror})")
        gz = self._open()
        data = (dumps(record) + "\n").encode("utf-8")
        gz.write(data)
        gz.flush()  # a sync point: the file is a whole stream up to this record
        try:
            self._push()
        except OSError as exc:
            self._failed = exc
            raise
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        self._count += 1

    def sync(self) -> None:
        """fsync: every record whose ``write`` returned survives a machine crash too.

        A finished file was fsynced when it was closed; after a failed write the
        records before it are what the file holds, which is still true here.
        """
        if self._raw is not None and not self._closed:
            os.fsync(self._raw.fileno())

    def _push(self) -> None:
        """Write what the compressor produced at ``_good``; on failure cut the file back."""
        assert self._raw is not None
        data = memoryview(self._pending.getvalue())
        self._pending.seek(0)
        self._pending.truncate()
        fd, done = self._raw.fileno(), 0
        try:
            while done < len(data):
                written = os.pwrite(fd, data[done:], self._good + done)
                if written <= 0:
                    raise OSError(errno.EIO, f"short write to {self.open_path}")
                done += written
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, self._good)  # a full disk took part of it: cut that off
            raise
        self._good += done

    def close(self) -> Path | None:
        """Finish the gzip stream, fsync, rename; the final path, or None if nothing written.

        If even that fails (the disk is still full) the file is unlocked and left
        ``.open`` ending on a whole record; spool recovery finishes it later.
        """
        if self._closed:
            return self._final
        if self._gz is None and self.keep_empty:
            self._open()
        self._closed = True
        if self._gz is None or self._raw is None:
            return None
        raw = self._raw
        try:
            self._finish_stream()
            os.fsync(raw.fileno())
            os.replace(self.open_path, self.path)  # rename while still locked, then unlock
        finally:
            raw.close()
        fsync_dir(self.path.parent)
        self._final = self.path
        if self._failed is not None:
            logger.warning("wrote %d article records to %s; later ones were not written (%s)",
                           self._count, self.path, self._failed.strerror)
        else:
            logger.info("wrote %d article records to %s", self._count, self.path)
        return self.path

    def _finish_stream(self) -> None:
        """End the gzip stream: normally, or after the last record that reached the file."""
        assert self._gz is not None
        if not self.compress:  # the file ends after its last whole line either way
            self._pending.seek(0)
            self._pending.truncate()
            return
        if self._failed is None:
            self._gz.close()
            try:
                self._push()
                return
            except OSError as exc:
                self._failed = exc
        self._pending.seek(0)
        self._pending.truncate()
        self._pending.write(_FINAL_BLOCK + struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))
        self._push()

    def abort(self) -> None:
        """Drop the unfinished file (for a failed batch job that will be re-run whole)."""
        self._closed = True
        if self._gz is not None and self._raw is not None:
            self._gz.close()
            self._raw.close()
            self.open_path.unlink(missing_ok=True)

    def __enter__(self) -> JsonlFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class JsonlWriter(JsonlFile):
    """The articles file of one crawl run, laid out in the spool beside its WARCs.

    ``spool_dir/<site>/<YYYY-MM-DD>/<prefix>-<site>-<run_id>.articles.v2.jsonl.gz``
    (UTC date when the writer is made).
    """

    def __init__(self, spool_dir: Path, site: str, run_id: str,
                 prefix: str = defaults.WARC_PREFIX, *,
                 now: Callable[[], datetime] | None = None) -> None:
        day = (now or (lambda: datetime.now(UTC)))().strftime("%Y-%m-%d")
        name = f"{prefix}-{site}-{run_id}{ARTICLES_SUFFIX}"
        super().__init__(Path(spool_dir) / site / day / name)
        self.site = site
        self.run_id = run_id
