"""The WARC writer's side of the writer process: requests in, replies out.

Building records, digests, gzip and disk writes cost about a millisecond per
page; in the crawl process that is time taken from Scrapy's one reactor
thread. Run here, in a process of its own, they use another core. The
messages are in :mod:`storage.warc.messages`; the crawl's end is
:class:`storage.warc.client.WarcWriterProcess`.

A parent that dies leaves its child to die too (``PR_SET_PDEATHSIG`` on Linux,
else end of input): the open WARC stays ``.open`` and unlocked, exactly as if
the crawl itself had been killed, and spool recovery finishes it.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
from multiprocessing.connection import Connection
from typing import Any

from storage.warc.exchange import write_exchange
from storage.warc.files import WarcRotatingWriter
from storage.warc.messages import Close, Closed, Failed, Reply, Sync, Synced, Write, Wrote

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: end of input still ends us
        pass


def serve(requests: Connection, replies: Connection, writer_kwargs: dict[str, Any],
          parent_pid: int) -> None:
    """The child's loop (a ``multiprocessing`` target)."""
    _die_with_parent()
    if os.getppid() != parent_pid:  # the parent died before we could ask to follow it
        os._exit(0)
    # Ctrl-C, `timeout` and `kill -- -PGID` reach the whole process group: the crawl
    # stops gracefully and then sends Close. (A crawl that dies takes us with it.)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s [%(name)s] %(levelname)s: "
                        "%(message)s")
    closed: list[str] = []
    writer = WarcRotatingWriter(**writer_kwargs,
                                on_file_closed=[lambda path: closed.append(str(path))])

    def state() -> tuple[int, tuple[str, ...]]:
        finished = tuple(closed)
        closed.clear()
        return writer.files, finished

    while True:
        try:
            request = requests.recv()
        except (EOFError, OSError):
            os._exit(0)  # the parent is gone: leave the open file as a crash would
        reply: Reply
        try:
            if isinstance(request, Write):
                written = write_exchange(writer, request.exchange)
                reply = Wrote(*state(), written=written)
            elif isinstance(request, Sync):
                writer.sync()
                reply = Synced(*state())
            elif isinstance(request, Close):
                writer.close()
                reply = Closed(*state())
            else:
                reply = Failed(*state(), message=f"unknown request {type(request).__name__}")
        except OSError as exc:
            reply = Failed(*state(), message=exc.strerror or str(exc), errno=exc.errno)
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
            reply = Failed(*state(), message=f"{type(exc).__name__}: {exc}")
        replies.send(reply)
        if isinstance(request, Close):
            return
