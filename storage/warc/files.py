"""Write WARC/1.1 files into the local spool, one gzip member per record.

Files are written as ``<name>.warc.gz.open`` and renamed when finished, so the
uploader only ever sees complete files. Offsets and lengths handed out here
are those of the gzip members, which is what ``ArchiveIterator`` reports and
what a ranged read needs to restore one record. Records are built by
:mod:`storage.warc.records`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import socket
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from importlib.metadata import version
from pathlib import Path
from typing import BinaryIO

from warcio.recordloader import ArcWarcRecord

from storage.cdxj import CDXJ_SUFFIX, CdxjEntry, entry_for_record, sort_lines
from storage.durable import OPEN_SUFFIX, fsync_dir, write_durably
from storage.warc.records import Clock, MemberWriter, RecordMaker
from warcwire import __version__, defaults

logger = logging.getLogger(__name__)

_SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")

FileClosedCallback = Callable[[Path], None]
# A full filesystem or an exhausted quota: writing again will not help.
DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` means the disk (or the user's quota) has no room left."""
    return isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS


@dataclass(frozen=True)
class RecordLocation:
    """Where a record lives: storage key of the finished file plus gzip member range."""

    key: str
    offset: int
    length: int


class WarcRotatingWriter(RecordMaker):
    """Appends exchanges to the current spool WARC and starts a new file past ``rotate_size``."""

    def __init__(
        self,
        spool_dir: Path,
        site: str,
        *,
        prefix: str = defaults.WARC_PREFIX,
        rotate_size: int = defaults.WARC_ROTATE_SIZE,
        warcinfo: Mapping[str, str],
        host: str | None = None,
        clock: Clock | None = None,
        record_id_maker: Callable[[], str] | None = None,
        on_file_closed: Iterable[FileClosedCallback] = (),
    ) -> None:
        self.check_arguments(spool_dir=spool_dir, site=site, prefix=prefix,
                             rotate_size=rotate_size)
        self.spool_dir = Path(spool_dir)
        self.site = site
        self.prefix = prefix
        self.rotate_size = rotate_size
        self.warcinfo = dict(warcinfo)
        self.host = re.sub(r"[^A-Za-z0-9.\-]", "-", host or socket.gethostname()) or "localhost"
        super().__init__(clock, record_id_maker)
        self.on_file_closed: list[FileClosedCallback] = list(on_file_closed)
        self.records = 0
        self.bytes_written = 0
        self.files = 0
        self.finished: list[Path] = []
        self._serial = 0
        self._lock = threading.Lock()
        self._current: _OpenFile | None = None

    @staticmethod
    def check_arguments(*, site: str, prefix: str = defaults.WARC_PREFIX,
                        rotate_size: int = defaults.WARC_ROTATE_SIZE, **_: object) -> None:
        """Raise ValueError for what ``__init__`` would refuse (before starting a writer)."""
        for label, value in (("site", site), ("prefix", prefix)):
            if not _SAFE_NAME.match(value):
                raise ValueError(f"WARC {label} {value!r} must match {_SAFE_NAME.pattern}")
        if rotate_size <= 0:
            raise ValueError(f"rotate_size must be positive, got {rotate_size}")

    # -- writing ---------------------------------------------------------

    @property
    def current_path(self) -> Path | None:
        """The ``.open`` file being written, if any."""
        return self._current.path if self._current else None

    def write_exchange(
        self, request: ArcWarcRecord, response: ArcWarcRecord, *more: ArcWarcRecord
    ) -> RecordLocation:
        """Write one capture event to a single file; returns where the response record is."""
        locations = self.write_records([request, response, *more])
        return locations[1]

    def write_records(self, records: Sequence[ArcWarcRecord]) -> list[RecordLocation]:
        """Write records contiguously into one file, flushed; rotate afterwards if full."""
        with self._lock:
            current = self._current or self._open_new_file()
            out = current.file
            start = out.tell()
            spans: list[tuple[int, int]] = []
            try:
                for record in records:
                    offset = out.tell()
                    current.writer.write_record(record)
                    spans.append((offset, out.tell() - offset))
                out.flush()
            except BaseException:
                # Leave the file ending on a whole record so it stays valid.
                self._cut_back(current, start)
                raise
            end = out.tell()
            self.records += len(records)
            self.bytes_written += end - start
            key = _final_path(current.path).relative_to(self.spool_dir).as_posix()
            for record, (offset, length) in zip(records, spans, strict=True):
                entry = entry_for_record(record, offset=offset, length=length, filename=key)
                if entry is not None:
                    current.captures.append(entry)
            if end >= self.rotate_size:
                self._close_current()
        return [RecordLocation(key, offset, length) for offset, length in spans]

    def sync(self) -> None:
        """fsync the open file: what was written so far survives a machine crash too.

        The crawl state claims a capture only after this (see storage.crawl_state).
        """
        with self._lock:
            if self._current is not None:
                self._current.file.flush()
                os.fsync(self._current.file.fileno())

    def close(self) -> list[Path]:
        """Finish the current file; returns every file this writer finished, in order."""
        with self._lock:
            self._close_current()
            return list(self.finished)

    def __enter__(self) -> WarcRotatingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _open_new_file(self) -> _OpenFile:
        now = self.clock().astimezone(UTC)
        folder = self.spool_dir / self.site / now.strftime("%Y-%m-%d")
        folder.mkdir(parents=True, exist_ok=True)
        stamp = now.strftime("%Y%m%d%H%M%S") + f"{now.microsecond // 1000:03d}"
        while True:
            name = f"{self.prefix}-{self.site}-{stamp}-{self._serial:05d}-{self.host}.warc.gz"
            self._serial += 1
            final = folder / name
            open_path = folder / (name + OPEN_SUFFIX)
            if not final.exists() and not open_path.exists():
                break
        out = _create(open_path)
        current = _OpenFile(out, MemberWriter(out), open_path)
        info = {
            "software": f"warcwire/{__version__} warcio/{version('warcio')}",
            "format": "WARC File Format 1.1",
            "conformsTo": "https://iipc.github.io/warc-specifications/"
            "specifications/warc-format/warc-1.1/",
        }
        # caller fields add to these but never replace what the file really is
        info.update((k, v) for k, v in self.warcinfo.items() if k not in info)
        try:
            # Held until the file is finished: crash recovery skips files locked here.
            fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            current.writer.write_record(self.make_warcinfo_record(name, info))
            out.flush()
        except BaseException:
            # e.g. a full disk: a file without its whole warcinfo holds nothing worth keeping
            with contextlib.suppress(OSError):
                out.close()
            open_path.unlink(missing_ok=True)
            raise
        self.files += 1
        self.records += 1
        self.bytes_written += out.tell()
        self._current = current
        logger.debug("Started WARC %s", open_path)
        return current

    def _cut_back(self, current: _OpenFile, size: int) -> None:
        """Cut the current file back to ``size`` bytes after a failed write.

        On a full disk the buffered file keeps the bytes it could not write and
        retries them on every seek, truncate and close, so it cannot cut itself:
        its buffer is dropped by closing it, and the file (same descriptor, so the
        lock stays held) is cut and reopened.
        """
        try:
            current.file.seek(size)
            current.file.truncate()
            return
        except OSError:
            pass
        fd = os.dup(current.file.fileno())
        with contextlib.suppress(OSError):
            current.file.close()  # flushing fails again; the buffer goes with it
        try:
            os.ftruncate(fd, size)
            os.lseek(fd, size, os.SEEK_SET)
        except OSError:
            # Give the file up as it is: unlocked and ``.open``, so spool recovery
            # cuts it to its last whole record; the next write starts a new file.
            os.close(fd)
            self._current = None
            logger.exception("Could not cut %s back to %d bytes; left for spool recovery",
                             current.path, size)
            return
        current.file = open(fd, "wb")  # noqa: SIM115 - an fd: nothing truncated, closed later
        current.writer = MemberWriter(current.file)

    def _close_current(self) -> None:
        current, self._current = self._current, None
        if current is None:
            return
        final = _final_path(current.path)
        try:
            current.file.flush()
            os.fsync(current.file.fileno())
            os.replace(current.path, final)  # renamed while still locked, then unlocked
        except BaseException:
            # Unlocked and left ``.open``: spool recovery cuts it to its last whole record.
            with contextlib.suppress(OSError):
                current.file.close()
            raise
        current.file.close()
        fsync_dir(final.parent)
        self.finished.append(final)
        logger.info("Finished WARC %s (%d bytes)", final, final.stat().st_size)
        self._write_index(final, current.captures)
        for callback in self.on_file_closed:
            try:
                callback(final)
            except Exception:
                logger.exception("on_file_closed callback %r failed for %s", callback, final)

    def _write_index(self, warc: Path, captures: list[CdxjEntry]) -> None:
        """The finished WARC's CDXJ beside it, from what was written: no re-reading.

        Written after the WARC is renamed, so a CDXJ never exists without its
        WARC; if it is missing (a crash in between, a full disk) the indexer
        reads the WARC instead.
        """
        try:
            write_durably(warc.with_name(warc.name + CDXJ_SUFFIX),
                          sort_lines(e.line() for e in captures))
        except OSError as exc:
            logger.warning("No CDXJ written beside %s (%s); it is indexed from the WARC",
                           warc, exc)


@dataclass
class _OpenFile:
    file: BinaryIO
    writer: MemberWriter
    path: Path  # with the .open suffix
    captures: list[CdxjEntry] = field(default_factory=list)  # its CDXJ, in file order


def _create(path: Path) -> BinaryIO:
    """Create ``path`` exclusively, re-making its folder if the spool pruned it meanwhile."""
    for _ in range(3):
        try:
            return open(path, "xb")  # noqa: SIM115 - closed in _close_current
        except FileNotFoundError:  # the uploader removes folders it empties
            path.parent.mkdir(parents=True, exist_ok=True)
    return open(path, "xb")  # noqa: SIM115


def _final_path(open_path: Path) -> Path:
    return open_path.with_name(open_path.name.removesuffix(OPEN_SUFFIX))
