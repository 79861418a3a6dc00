"""The WARC writer process: same records as writing in-process, errors and deaths reported."""

from __future__ import annotations

import asyncio
import errno
import os
import signal
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from storage.warc import (
    Exchange,
    LocalWarcSink,
    WarcRotatingWriter,
    WarcWriterGone,
    WarcWriterProcess,
)
from tests._warc_reader import read_member, read_warc

T = TypeVar("T")


def _exchange(n: int, body: bytes = b"<p>hello</p>") -> Exchange:
    url = f"http://example.test/a/{n}?q=1"
    return Exchange(
        url=url, method="GET", target=f"/a/{n}?q=1",
        request_headers=[("User-Agent", "ua"), ("Cookie", "[redacted]"),
                         ("Host", "example.test")],
        request_body=b"", status_line="HTTP/1.1 200 OK",
        response_headers=[("Content-Type", "text/html"), ("Set-Cookie", "a=1"),
                          ("Set-Cookie", "b=2"), ("Content-Length", str(len(body)))],
        body=body, sent=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), ip="127.0.0.1",
        redacted=("Cookie",))


def _run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """asyncio.run in a thread of its own: the suite may hold a loop in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main()).result()


def _kwargs(spool: Path) -> dict:
    return dict(spool_dir=spool, site="proc", warcinfo={"site": "proc"}, rotate_size=10_000)


def _comparable(path: Path) -> list[tuple]:
    """What must not differ between two writers: everything but record ids and times."""
    keep = ("WARC-Type", "WARC-Target-URI", "WARC-IP-Address", "WARC-Payload-Digest",
            "WARC-Block-Digest", "WARC-Warcwire-Redacted", "Content-Length")
    return [(r.type, tuple(r.headers.get(k) for k in keep), tuple(r.http_lines()), r.payload)
            for r in read_warc(path) if r.type != "warcinfo"]


def test_writer_process_writes_what_the_in_process_writer_writes(tmp_path: Path) -> None:
    exchanges = [_exchange(n, os.urandom(3000) if n % 2 else b"<p>x</p>" * 400)
                 for n in range(8)]  # rotates at 10 kB: several files

    local = LocalWarcSink(WarcRotatingWriter(**_kwargs(tmp_path / "local")))
    local_written = [local.write(e) for e in exchanges]
    local_files = local.close()

    async def remote_run() -> tuple[list, list[Path]]:
        writer = WarcWriterProcess(_kwargs(tmp_path / "remote"))
        closed: list[Path] = []
        writer.on_file_closed.append(closed.append)
        written = await asyncio.gather(*(writer.write(e) for e in exchanges))
        files = writer.close()
        assert closed == files  # announced as they were finished
        return written, files

    remote_written, remote_files = _run(remote_run)
    assert len(remote_files) == len(local_files) >= 2
    assert [_comparable(p) for p in remote_files] == [_comparable(p) for p in local_files]
    # each location is that exchange's response record; the accounting adds up
    assert [w.records for w in remote_written] == [w.records for w in local_written]
    assert sum(w.bytes for w in remote_written) == sum(p.stat().st_size for p in remote_files)
    spool = tmp_path / "remote"
    for exchange, written in zip(exchanges, remote_written, strict=True):
        loc = written.location
        record = read_member(spool / loc.key, loc.offset, loc.length)
        assert (record.headers["WARC-Type"], record.headers["WARC-Target-URI"],
                record.payload) == ("response", exchange.url, exchange.body)
    for path in remote_files:  # each with its CDXJ, written by the child
        assert path.with_name(path.name + ".cdxj").is_file()


def test_an_os_error_in_the_writer_comes_back_as_that_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "spool"
    not_a_dir.write_text("a file where the spool should be")

    async def run() -> None:
        writer = WarcWriterProcess(_kwargs(not_a_dir))
        with pytest.raises(OSError) as caught:
            await writer.write(_exchange(1))
        assert caught.value.errno in (errno.ENOTDIR, errno.EEXIST)
        # the writer is still there and answers the next one the same way
        with pytest.raises(OSError):
            await writer.write(_exchange(2))
        assert writer.close() == []

    _run(run)


def test_a_killed_writer_fails_what_waits_and_what_comes(tmp_path: Path) -> None:
    async def run() -> None:
        writer = WarcWriterProcess(_kwargs(tmp_path))
        await writer.write(_exchange(1))
        assert writer.pid is not None
        os.kill(writer.pid, signal.SIGKILL)
        with pytest.raises(WarcWriterGone):
            for n in range(50):  # the first sends may still fit in the pipe
                await writer.write(_exchange(n))
        with pytest.raises(WarcWriterGone):
            writer.write(_exchange(99))
        with pytest.raises(WarcWriterGone):
            writer.close()

    _run(run)
    # the file it was writing is left as a crash leaves it, for spool recovery
    assert list(tmp_path.rglob("*.warc.gz.open"))
