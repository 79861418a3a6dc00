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
