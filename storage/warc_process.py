"""The WARC writer's side of the writer process: exchanges in, replies out.

Building records, digests, gzip and disk writes cost about a millisecond per
page; in the crawl process that is time taken from Scrapy's one reactor
thread. Run here, in a process of its own, they use another core. The
protocol is one message per exchange over a pipe, answered in order:

    parent -> child: Exchange | None (finish the current file and stop)
    child -> parent: (kind, value, files started, paths of files finished meanwhile)
                     with kind "ok" (value: Written), "oserror" (value: (errno, strerror)),
                     "error" (value: message); after None: "closed" (value: None, the
                     last file among the finished paths) or "close_failed" ((errno, message))

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

from storage.warc import WarcRotatingWriter
from storage.warc_exchange import write_exchange

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
    # Ctrl-C reaches the whole process group; the crawl stops gracefully and then
    # sends None. (SIGTERM still ends us: the service signals the crawl alone.)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s [%(name)s] %(levelname)s: "
                        "%(message)s")
    closed: list[str] = []
    writer = WarcRotatingWriter(**writer_kwargs,
                                on_file_closed=[lambda path: closed.append(str(path))])
    while True:
        try:
            exchange = requests.recv()
        except (EOFError, OSError):
            os._exit(0)  # the parent is gone: leave the open file as a crash would
        if exchange is None:
            try:
                writer.close()
            except OSError as exc:
                replies.send(("close_failed", (exc.errno, str(exc)), writer.files, closed))
            else:
                replies.send(("closed", None, writer.files, closed))
            return
        try:
            reply: tuple[str, Any] = ("ok", write_exchange(writer, exchange))
        except OSError as exc:
            reply = ("oserror", (exc.errno, exc.strerror or str(exc)))
        except Exception as exc:  # noqa: BLE001 - reported to the parent, which decides
            reply = ("error", f"{type(exc).__name__}: {exc}")
        replies.send((*reply, writer.files, list(closed)))
        closed.clear()
