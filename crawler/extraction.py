"""Run article extraction (and the text normalisation after it) off the reactor thread.

trafilatura costs several milliseconds per page; inline in Twisted's thread it
would cap a crawl near 100 pages/s on one core. A process pool keeps the
downloader busy while other cores extract.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from typing import Any

from normalizer.record import extract_content

logger = logging.getLogger(__name__)


def _warm_up() -> None:
    """Import trafilatura in each worker up front, not on the first page."""
    import trafilatura  # noqa: F401


def default_workers() -> int:
    return max(1, (os.cpu_count() or 1))


class ArticleExtractor:
    """Extract articles in a pool of worker processes (or inline with workers=0)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._pool: Executor | None = None
        if workers > 0:
            ctx = multiprocessing.get_context("forkserver")
            self._pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_warm_up)

    async def extract(self, body: bytes, url: str, selectors: dict[str, Any] | None,
                      encoding: str | None) -> dict[str, Any] | None:
        """The article's normalised content fields (see normalizer.record), or None."""
        if self._pool is None:
            return extract_content(body, url, selectors, encoding)
        future = self._pool.submit(extract_content, body, url, selectors, encoding)
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
