"""Gzip JSON Lines output for article records.

A file is written as ``<name>.open`` and renamed after an fsync, so the spool
uploader (which skips ``*.open``) only ever sees complete files.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import logging
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from normalizer.record import ArticleRecord
from storage.durable import OPEN_SUFFIX, fsync_dir

logger = logging.getLogger(__name__)

ARTICLES_SUFFIX = ".articles.v1.jsonl.gz"


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


class JsonlFile:
    """Write records to ``path`` via ``path.open``; rename only on :meth:`close`.

    The file is created on the first record, so a run without articles leaves
    nothing behind unless ``keep_empty`` asks for an empty file.
    """

    def __init__(self, path: Path, *, keep_empty: bool = False) -> None:
        self.path = Path(path)
        self.keep_empty = keep_empty
        self._raw: IO[bytes] | None = None
        self._gz: gzip.GzipFile | None = None
        self._count = 0
        self._closed = False
        self._final: Path | None = None

    @property
    def count(self) -> int:
        return self._count

    @property
    def open_path(self) -> Path:
        return self.path.with_name(self.path.name + OPEN_SUFFIX)

    def _open(self) -> gzip.GzipFile:
        if self._closed:
            raise ValueError(f"{self.path} is already closed")
        if self._gz is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._raw = open(self.open_path, "wb")  # noqa: SIM115 - closed in close()
            # held until closed: spool recovery leaves files with a live writer alone
            fcntl.flock(self._raw.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            # no name, no mtime in the header: same records, same bytes
            self._gz = gzip.GzipFile(filename="", mode="wb", fileobj=self._raw, mtime=0)
        return self._gz

    def write(self, record: ArticleRecord | dict[str, Any]) -> None:
        self._open().write((dumps(record) + "\n").encode("utf-8"))
        self._count += 1

    def close(self) -> Path | None:
        """Finish the gzip stream, fsync, rename; the final path, or None if nothing written."""
        if self._closed:
            return self._final
        if self._gz is None and self.keep_empty:
            self._open()
        self._closed = True
        if self._gz is None or self._raw is None:
            return None
        self._gz.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        os.replace(self.open_path, self.path)  # rename while still locked, then unlock
        fsync_dir(self.path.parent)
        self._raw.close()
        self._final = self.path
        logger.info("wrote %d article records to %s", self._count, self.path)
        return self.path

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

    ``spool_dir/<site>/<YYYY-MM-DD>/<prefix>-<site>-<run_id>.articles.v1.jsonl.gz``
    (UTC date when the writer is made).
    """

    def __init__(self, spool_dir: Path, site: str, run_id: str, prefix: str = "warcwire", *,
                 now: Callable[[], datetime] | None = None) -> None:
        day = (now or (lambda: datetime.now(UTC)))().strftime("%Y-%m-%d")
        name = f"{prefix}-{site}-{run_id}{ARTICLES_SUFFIX}"
        super().__init__(Path(spool_dir) / site / day / name)
        self.site = site
        self.run_id = run_id
