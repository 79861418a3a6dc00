"""Run article extraction (and the text normalisation after it) off the reactor thread.

trafilatura costs several milliseconds per page; inline in Twisted's thread it
would cap a crawl near 100 pages/s on one core. A process pool keeps the
downloader busy while other cores extract.

Each page has a budget: pages larger than ``max_bytes`` are not extracted at
all, and a page whose extraction overruns ``timeout`` is given up and its worker
replaced (pebble's pool kills it), so one pathological page never holds up the
crawl. Either way the page stays archived; the spider counts it.

Workers run in a session of their own: Ctrl-C or ``kill -- -PGID`` reaches the
crawl's process group only, and the crawl stops gracefully, letting the pages in
flight finish their extraction, before it shuts the pool down.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from pebble import ProcessPool

from normalizer.record import extract_content

logger = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 10_000_000  # an HTML page this large is no article anyone wrote
DEFAULT_TIMEOUT = 30.0  # seconds; trafilatura takes ~10 ms on a 100 kB news page


class ExtractionSkipped(Exception):
    """A page not extracted because it is over its budget; ``kind`` names which one."""

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind = kind


def _init_worker() -> None:
    """Leave the crawl's process group; import trafilatura up front.

    A signal to the group (Ctrl-C, ``kill -- -PGID``) then reaches only the crawl,
    which stops gracefully and lets the pages in flight finish here; the pool can
    still stop one worker with SIGTERM when its page overruns. A worker outlives
    nothing: it exits when the crawl's end of its pipe closes.
    """
    os.setsid()
    import trafilatura  # noqa: F401


def default_workers() -> int:
    return max(1, (os.cpu_count() or 1))


class ArticleExtractor:
    """Extract articles in a pool of worker processes (or inline with workers=0)."""

    def __init__(self, workers: int, *, max_bytes: int = DEFAULT_MAX_BYTES,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.workers = workers
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._pool: ProcessPool | None = None
        if workers > 0:
            # spawn, not forkserver: the parent tracks spawned workers itself, whereas a
            # forkserver killed by a signal to the group makes all its workers look dead
            self._pool = ProcessPool(max_workers=workers, initializer=_init_worker,
                                     context=multiprocessing.get_context("spawn"))

    async def extract(self, body: bytes, url: str, selectors: dict[str, Any] | None,
                      encoding: str | None) -> dict[str, Any] | None:
        """The article's normalised content fields (see normalizer.record), or None.

        Raises ExtractionSkipped for a page over its size or time budget.
        """
        if self.max_bytes and len(body) > self.max_bytes:
            raise ExtractionSkipped("extract_too_large",
                                    f"{len(body)} bytes, over the {self.max_bytes} budget")
        if self._pool is None:
            return extract_content(body, url, selectors, encoding)
        future = self._pool.schedule(extract_content, args=(body, url, selectors, encoding),
                                     timeout=self.timeout or None)
        try:
            return await asyncio.wrap_future(future)
        except FutureTimeout:
            raise ExtractionSkipped("extract_timeout",
                                    f"over {self.timeout:g}s; its worker was replaced") from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None
