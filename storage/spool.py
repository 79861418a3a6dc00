"""The local folder every WARC and JSONL file is written into first.

Writers create ``<name>.open`` and rename it to ``<name>`` when the file is
finished; only finished files are uploaded, and a local file is deleted only
after the store has verified its copy. An outage therefore never loses data:
files simply wait in the spool for the next flush.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from storage.base import Store, StoredObject
from storage.durable import OPEN_SUFFIX
from storage.local import is_temp_name
from warcwire.exceptions import StorageError

logger = logging.getLogger(__name__)


@contextmanager
def _locked_dir(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on a directory, held until the block ends."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


# Called after each file with (files handled so far, files in this flush, path).
ProgressCallback = Callable[[int, int, Path], None]


@dataclass
class FlushReport:
    """What one flush moved to the store and what stayed behind, with reasons."""

    stored: list[StoredObject] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed


class Spool:
    """Finished files under ``root`` waiting to be uploaded; keys mirror their paths."""

    def __init__(self, root: Path, *, max_consecutive_failures: int = 3) -> None:
        if max_consecutive_failures < 1:
            raise ValueError("max_consecutive_failures must be at least 1")
        self.root = Path(root).expanduser().absolute()
        self.root.mkdir(parents=True, exist_ok=True)
        # A dead endpoint fails every file alike; after this many failures in a
        # row the rest of the flush is skipped instead of waiting on each one.
        self.max_consecutive_failures = max_consecutive_failures
        self._lock = threading.Lock()

    def _files(self) -> list[Path]:
        found: list[Path] = []
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            found.extend(Path(dirpath, name) for name in filenames)
        return found

    def pending(self) -> list[Path]:
        """Finished files, oldest first (by modification time, then path)."""
        entries: list[tuple[float, str, Path]] = []
        for path in self._files():
            if path.name.endswith(OPEN_SUFFIX) or is_temp_name(path.name):
                continue
            try:
                mtime = path.stat().st_mtime
            except FileNotFoundError:  # flushed or moved meanwhile
                continue
            entries.append((mtime, self.key_for(path), path))
        return [path for _, _, path in sorted(entries)]

    def open_files(self) -> list[Path]:
        """Files still being written, or left half-written by a crash."""
        return sorted(p for p in self._files() if p.name.endswith(OPEN_SUFFIX))

    def key_for(self, path: Path) -> str:
        """The storage key of a spooled file: its posix path relative to the root."""
        try:
            return Path(path).absolute().relative_to(self.root).as_posix()
        except ValueError as exc:
            raise StorageError(f"{path} is not inside the spool {self.root}") from exc

    def flush(self, store: Store, on_progress: ProgressCallback | None = None) -> FlushReport:
        """Upload every pending file; delete each one only after a verified put.

        Serialized by a lock, and across processes by an ``flock`` on the spool
        folder itself (no lock file is left behind), so a periodic flusher, the
        service's sweep and a crawl's final flush never upload one file at once.
        """
        with self._lock, _locked_dir(self.root):
            report = FlushReport()
            files = self.pending()
            consecutive_failures, last_error = 0, ""
            for index, path in enumerate(files, start=1):
                if consecutive_failures >= self.max_consecutive_failures:
                    report.failed.append((path, (
                        f"not attempted after {consecutive_failures} failures in a row "
                        f"(last: {last_error})"
                    )))
                else:
                    try:
                        stored = store.put(path, self.key_for(path))
                    except StorageError as exc:
                        consecutive_failures, last_error = consecutive_failures + 1, str(exc)
                        logger.warning("Keeping %s in the spool: %s", path, exc)
                        report.failed.append((path, last_error))
                    else:
                        consecutive_failures = 0
                        report.stored.append(stored)
                        self._remove(path)
                if on_progress is not None:
                    on_progress(index, len(files), path)
            if files:
                logger.info("Flushed %d of %d spooled files to %s",
                            len(report.stored), len(files), store.uri)
            return report

    def _remove(self, path: Path) -> None:
        """Delete a stored file and prune the directories it leaves empty."""
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:  # stored already; the next flush re-uploads harmlessly
            logger.warning("Stored %s but could not delete it: %s", path, exc)
            return
        parent = path.parent
        while parent != self.root and self.root in parent.parents:
            try:
                parent.rmdir()
            except OSError:  # not empty (or a writer just created it): stop here
                break
            parent = parent.parent
