"""The crawl's end of the WARC writer process: send exchanges, await where they were written.

Scrapy runs every callback and middleware on one thread; writing WARC records
there (building them, digests, gzip, disk) took ~1 ms of it per page. The
writer process (:mod:`storage.warc.process`) does that on another core while
the reactor goes on. Each request is answered in order (see
:mod:`storage.warc.messages`), so the capture middleware still hands the spider
a location, or an error, for every response it archives, just as the
in-process writer does.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from storage.warc.exchange import Exchange, Written
from storage.warc.messages import (
    Close,
    Closed,
    Failed,
    Reply,
    Request,
    Sync,
    Write,
    Wrote,
)
from storage.warc.process import serve

logger = logging.getLogger(__name__)

_F_SETPIPE_SZ = 1031  # Linux: a larger pipe lets a burst of pages go without waiting
_PIPE_SIZE = 1 << 20
CLOSE_TIMEOUT = 300.0  # seconds to finish the last file (fsync, its CDXJ)


class WarcWriterGone(RuntimeError):
    """The writer process died: nothing more can be archived in this crawl."""


def _grow_pipe(conn: Connection) -> None:
    # not Linux, or above /proc/sys/fs/pipe-max-size: the default size will do
    with contextlib.suppress(OSError):
        fcntl.fcntl(conn.fileno(), _F_SETPIPE_SZ, _PIPE_SIZE)


class WarcWriterProcess:
    """A :class:`storage.warc.files.WarcRotatingWriter` in a child process.

    ``write`` and ``sync`` are called on the reactor's asyncio loop and return
    futures; ``close`` (at the end of the crawl) finishes the last file and waits.
    """

    def __init__(self, writer_kwargs: dict[str, Any]) -> None:
        ctx = multiprocessing.get_context("spawn")  # a fork of a running reactor is unsafe
        requests_in, self._requests = ctx.Pipe(duplex=False)
        self._replies, replies_out = ctx.Pipe(duplex=False)
        _grow_pipe(self._requests)
        self._process = ctx.Process(
            target=serve, args=(requests_in, replies_out, writer_kwargs, os.getpid()),
            name="warcwire-warc-writer", daemon=True)
        self._process.start()
        requests_in.close()
        replies_out.close()
        self.spool_dir = Path(writer_kwargs["spool_dir"])
        self.files = 0
        self.finished: list[Path] = []
        self.on_file_closed: list[Callable[[Path], None]] = []
        self._pending: deque[tuple[Request, asyncio.Future[Any]]] = deque()
        self._waiters: list[asyncio.Future[None]] = []  # downloads waiting for room
        self._loop: asyncio.AbstractEventLoop | None = None
        self._gone: WarcWriterGone | None = None
        self._closed = False

    def write(self, exchange: Exchange) -> asyncio.Future[Written]:
        """Send one exchange; the future gets its :class:`Written`, or the write's error."""
        return self._send(Write(exchange))

    def sync(self) -> asyncio.Future[None]:
        """fsync the open WARC; done once every exchange sent before it is on disk."""
        return self._send(Sync())

    def _send(self, request: Request) -> asyncio.Future[Any]:
        if self._gone is not None:
            raise self._gone
        if self._closed:
            raise RuntimeError("the WARC writer is closed")
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
            loop.add_reader(self._replies.fileno(), self._read_replies)
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((request, future))
        try:
            self._requests.send(request)  # waits only while the pipe is full
        except OSError as exc:
            self._pending.pop()
            self._broke(f"the WARC writer process is gone ({exc})")
            raise self._gone from exc  # type: ignore[misc]
        return future

    @property
    def pid(self) -> int | None:
        return self._process.pid

    def backlog(self) -> int:
        """Exchanges sent and not yet answered."""
        return sum(1 for request, _ in self._pending if isinstance(request, Write))

    async def room(self, limit: int) -> None:
        """Wait until fewer than ``limit`` exchanges are unanswered (or the writer is gone)."""
        while self.backlog() >= limit and self._gone is None:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            await waiter

    def close(self) -> list[Path]:
        """Finish the current file; every file finished, in order. Blocks until done."""
        if self._closed:
            return list(self.finished)
        self._closed = True
        self._stop_reading()
        reply: Reply | None = None
        if self._gone is None:
            try:
                self._requests.send(Close())
                while reply is None:
                    if not self._replies.poll(CLOSE_TIMEOUT):
                        raise TimeoutError(f"no answer in {CLOSE_TIMEOUT:.0f}s")
                    answer: Reply = self._replies.recv()
                    if self._pending:
                        self._settle(answer)
                    else:
                        reply = answer
            except (EOFError, OSError) as exc:
                self._broke(f"the WARC writer process is gone ({exc})")
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(timeout=10)
        if reply is None:
            raise self._gone or WarcWriterGone("the WARC writer process did not answer")
        self.files = reply.files
        self._announce(reply.closed)
        if isinstance(reply, Failed):
            raise reply.error()
        if not isinstance(reply, Closed):
            raise WarcWriterGone(f"unexpected reply to close: {type(reply).__name__}")
        return list(self.finished)

    # -- replies -----------------------------------------------------------

    def _read_replies(self) -> None:
        while self._replies.poll():  # also true at end of input: recv then says so
            try:
                answer = self._replies.recv()
            except (EOFError, OSError) as exc:
                self._broke(f"the WARC writer process is gone ({exc or 'end of input'})")
                return
            self._settle(answer)

    def _settle(self, answer: Reply) -> None:
        self.files = answer.files
        _request, future = self._pending.popleft()
        self._wake_waiters()
        self._announce(answer.closed)
        if future.cancelled():
            return
        if isinstance(answer, Failed):
            future.set_exception(answer.error())
        elif isinstance(answer, Wrote):
            future.set_result(answer.written)
        else:
            future.set_result(None)

    def _announce(self, closed: tuple[str, ...]) -> None:
        for name in closed:
            path = Path(name)
            self.finished.append(path)
            logger.info("Finished WARC %s", path)
            for callback in self.on_file_closed:
                try:
                    callback(path)
                except Exception:
                    logger.exception("on_file_closed callback %r failed for %s", callback, path)

    def _wake_waiters(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _broke(self, why: str) -> None:
        self._gone = WarcWriterGone(why)
        logger.error("%s; what it wrote until then stays in the spool", why)
        self._stop_reading()
        while self._pending:
            _request, future = self._pending.popleft()
            if not future.done():
                future.set_exception(self._gone)
        self._wake_waiters()

    def _stop_reading(self) -> None:
        if self._loop is not None:
            self._loop.remove_reader(self._replies.fileno())
            self._loop = None
