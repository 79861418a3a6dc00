"""Durable file naming shared by every writer of spool files.

Files being written end in ``.open``; only a file that was fsynced and
renamed is finished, so the uploader never sees half a WARC or JSONL file.
"""

from __future__ import annotations

import os
from pathlib import Path

OPEN_SUFFIX = ".open"


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable; not every platform lets a directory be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes) -> None:
    """Write a small file whole or not at all: a hidden temp file, fsync, rename.

    Hidden names are never uploaded from the spool, so a crash leaves at most
    an ignored temp file, never a partial ``path``.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
