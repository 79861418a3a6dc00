"""What the crawl and the WARC writer process say to each other over their pipes.

Requests go one way and are answered in order, one reply each:

* :class:`Write` -> :class:`Wrote` or :class:`Failed`
* :class:`Sync` (fsync the open file) -> :class:`Synced` or :class:`Failed`
* :class:`Close` (finish the open file, then exit) -> :class:`Closed` or :class:`Failed`

Every reply says how many files were started so far and which ones were
finished since the last reply, so the crawl learns of rotated files as they
happen. An ``errno`` in :class:`Failed` means the error was an OSError (a full
disk, say), which the crawl raises again as one.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.warc.exchange import Exchange, Written


@dataclass(frozen=True)
class Write:
    exchange: Exchange


@dataclass(frozen=True)
class Sync:
    pass


@dataclass(frozen=True)
class Close:
    pass


Request = Write | Sync | Close


@dataclass(frozen=True)
class Reply:
    files: int  # files started so far
    closed: tuple[str, ...]  # paths of files finished since the previous reply


@dataclass(frozen=True)
class Wrote(Reply):
    written: Written


@dataclass(frozen=True)
class Synced(Reply):
    pass


@dataclass(frozen=True)
class Closed(Reply):
    pass


@dataclass(frozen=True)
class Failed(Reply):
    message: str
    errno: int | None = None  # set: the error was an OSError with this errno

    def error(self) -> Exception:
        if self.errno is not None:
            return OSError(self.errno, self.message)
        return RuntimeError(self.message)
