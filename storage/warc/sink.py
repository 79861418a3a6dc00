"""Where the crawl's exchanges go: written in this process, or by the writer process."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Protocol

from storage.warc.exchange import Exchange, Written, write_exchange
from storage.warc.files import WarcRotatingWriter


class WarcSink(Protocol):
    """The capture middleware's view of a WARC writer, in process or not."""

    @property
    def files(self) -> int:
        """Files started so far."""

    @property
    def on_file_closed(self) -> list[Callable[[Path], None]]:
        """Called with the path of each finished file."""

    @property
    def spool_dir(self) -> Path: ...

    def write(self, exchange: Exchange) -> Written | Awaitable[Written]:
        """Archive one exchange; where its capture went."""

    def sync(self) -> Awaitable[None] | None:
        """Make every exchange written so far survive a machine crash (fsync)."""

    def backlog(self) -> int:
        """Exchanges sent and not yet written."""

    def room(self, limit: int) -> Awaitable[None]:
        """Done once the backlog is below ``limit``."""

    def close(self) -> list[Path]:
        """Finish the open file; every file finished, in order."""


class LocalWarcSink:
    """Writes exchanges in this process, synchronously (WarcWriterProcess is the other)."""

    def __init__(self, writer: WarcRotatingWriter) -> None:
        self.writer = writer

    @property
    def files(self) -> int:
        return self.writer.files

    @property
    def on_file_closed(self) -> list[Callable[[Path], None]]:
        return self.writer.on_file_closed

    @property
    def spool_dir(self) -> Path:
        return self.writer.spool_dir

    def write(self, exchange: Exchange) -> Written:
        return write_exchange(self.writer, exchange)

    def sync(self) -> None:
        self.writer.sync()

    def backlog(self) -> int:
        return 0  # written before write() returns

    async def room(self, limit: int) -> None:
        return None

    def close(self) -> list[Path]:
        return self.writer.close()
