"""Spool files a killed crawl left half-written are cut back to whole records and stored."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage.recovery import is_whole_record, iter_gzip_members, recover_open_files
from storage.spool import Spool
from storage.warc import WarcRotatingWriter
from tests.fixtures_site import site_entry, write_config
from tests.warc_assertions import read_records, warcio_check


def _writer(spool: Path) -> WarcRotatingWriter:
    return WarcRotatingWriter(spool, "site", warcinfo={"site": "site"}, host="test")


def _exchange(writer: WarcRotatingWriter, n: int) -> None:
    url = f"http://example.test/page-{n}.html"
    writer.write_exchange(
        writer.make_request_record(url, "GET", f"/page-{n}.html", [("Host", "example.test")]),
        writer.make_response_record(url, "HTTP/1.1 200 OK", [("Content-Type", "text/html")],
                                    f"<html><body>page {n}</body></html>".encode() * 50))


def _torn_member(writer: WarcRotatingWriter, tmp: Path) -> bytes:
    """The first half of one more record's gzip member, as a kill mid-write leaves it."""
    other = _writer(tmp / "other")
    _exchange(other, 99)
    (done,) = other.close()
    _, offset, length = list(_members(done))[-1]
    return done.read_bytes()[offset:offset + length // 2]


def _members(path: Path) -> list[tuple[bytes, int, int]]:
    with open(path, "rb") as fh:
        return [(data, off, n) for off, n, data in iter_gzip_members(fh)]


def _finished_warc(tmp_path: Path, exchanges: int = 3) -> tuple[Spool, Path]:
    spool = Spool(tmp_path / "spool")
    writer = _writer(spool.root)
    for n in range(exchanges):
        _exchange(writer, n)
    (warc,) = writer.close()
    # written at close: a killed crawl never got that far
    warc.with_name(warc.name + ".cdxj").unlink()
    return spool, warc


def test_torn_tail_is_cut_and_the_file_finished(tmp_path: Path) -> None:
    spool, warc = _finished_warc(tmp_path)
    whole = warc.read_bytes()
    tail = _torn_member(_writer(tmp_path), tmp_path)
    open_path = warc.with_name(warc.name + ".open")
    open_path.write_bytes(whole + tail)
    warc.unlink()
    # the file as a killed crawl leaves it is not valid gzip (warcio 1.8.1's `check`
    # passes it all the same: it stops quietly at the torn member, so it cannot be the judge)
    with pytest.raises(EOFError):
        gzip.decompress(open_path.read_bytes())

    (rec,) = recover_open_files(spool)
    assert rec.path == warc and rec.records == 7 and rec.bytes_cut == len(tail)
    assert not open_path.exists()
    assert warc.read_bytes() == whole  # every complete record kept, byte for byte
    warcio_check([warc])
    assert spool.pending() == [warc] and spool.open_files() == []
    assert "kept 7 record(s), cut" in rec.describe()


def test_half_written_record_inside_a_member_is_not_kept(tmp_path: Path) -> None:
    spool, warc = _finished_warc(tmp_path, exchanges=1)
    whole = warc.read_bytes()
    # a complete gzip member whose record is cut short (headers promise more)
    bad = gzip.compress(b"WARC/1.1\r\nContent-Length: 100\r\n\r\nshort\r\n\r\n")
    assert not is_whole_record(gzip.decompress(bad))
    open_path = warc.with_name(warc.name + ".open")
    open_path.write_bytes(whole + bad)
    warc.unlink()
    (rec,) = recover_open_files(spool)
    assert rec.records == 3 and rec.bytes_cut == len(bad) and warc.read_bytes() == whole


def test_file_with_nothing_whole_is_removed(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    torn = spool.root / "site" / "2026-01-01" / "x.warc.gz.open"
    torn.parent.mkdir(parents=True)
    torn.write_bytes(gzip.compress(b"WARC/1.1\r\n" * 20)[:30])
    (rec,) = recover_open_files(spool)
    assert rec.records == 0 and rec.bytes_cut == 30 and not torn.exists()
    assert "nothing complete, removed" in rec.describe()


def test_a_file_being_written_is_never_touched(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    writer = _writer(spool.root)
    _exchange(writer, 1)
    live = writer.current_path
    assert live is not None
    jsonl = live.with_name("run.articles.v2.jsonl.gz.open")  # the same site's articles
    jsonl.write_bytes(gzip.compress(b'{"a": 1}\n'))
    before = live.read_bytes()
    assert recover_open_files(spool) == []
    assert live.read_bytes() == before and jsonl.exists()
    _exchange(writer, 2)  # the writer carries on undisturbed
    (done,) = writer.close()
    warcio_check([done])
    (rec,) = recover_open_files(spool)  # now its site is idle: the articles file is finished
    assert rec.path.name == "run.articles.v2.jsonl.gz" and rec.records == 1


def test_an_articles_file_being_written_is_never_touched(tmp_path: Path) -> None:
    from normalizer.jsonl import JsonlWriter

    writer = JsonlWriter(tmp_path, "site", "run1")
    writer.write({"url": "https://n.example/a", "text": "one"})
    open_path = writer.open_path
    assert open_path.is_file()
    assert recover_open_files(Spool(tmp_path)) == []  # its writer still holds the lock
    assert open_path.is_file()
    final = writer.close()
    assert final is not None and final.is_file() and not open_path.exists()


def test_jsonl_keeps_whole_lines_of_the_readable_stream(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool")
    path = spool.root / "site" / "2026-01-01" / "run.articles.v2.jsonl.gz.open"
    path.parent.mkdir(parents=True)
    with open(path, "wb") as raw:
        gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
        for n in range(5):
            gz.write(f'{{"n": {n}}}\n'.encode())
        gz.flush()  # what a writer had pushed out when it was killed
        gz.write(b'{"n": 5, "text": "half a li')
        gz.flush()
        raw.write(b"\x00garbage")  # and a torn end of the stream
    (rec,) = recover_open_files(spool)
    final = path.with_name("run.articles.v2.jsonl.gz")
    assert rec.path == final and rec.records == 5
    assert rec.bytes_cut == len(b'{"n": 5, "text": "half a li')
    lines = gzip.decompress(final.read_bytes()).decode().splitlines()
    assert lines == [f'{{"n": {n}}}' for n in range(5)]
    assert not path.exists() and spool.pending() == [final]


# -- a real crawl, SIGKILLed mid-run --------------------------------------------------


def _whole_records(path: Path) -> int:
    return sum(1 for data, _, _ in _members(path) if is_whole_record(data))


def _wait_for_open_warc(spool: Path, proc: subprocess.Popen, records: int,
                        timeout: float = 60) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the crawl ended before it could be killed"
        for path in spool.rglob("*.warc.gz.open"):
            try:
                if _whole_records(path) >= records:
                    return path
            except FileNotFoundError:
                pass
        time.sleep(0.1)
    raise AssertionError(f"no open WARC with {records} records in {spool} after {timeout}s")


def test_killed_crawl_is_recovered_stored_and_indexed(news_site: str, tmp_path: Path) -> None:
    counted = [f"{news_site}/faults/counted.html?n={n}" for n in range(40)]
    site = site_entry(news_site, start_urls=[f"{news_site}/", *counted], sitemaps=[],
                      feeds=[], follow_depth=0,
                      politeness={"delay": 0, "concurrency": 1, "autothrottle": False})
    archive = tmp_path / "archive"
    config = write_config(tmp_path, [site], storage=str(archive))
    proc = subprocess.Popen([sys.executable, "-m", "warcwire.cli", "crawl", "sample-news",
                             "--config", str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        open_warc = _wait_for_open_warc(tmp_path / "spool", proc, records=9)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the crawl and its extraction workers
        proc.wait(timeout=30)
    assert not archive.exists() or not list(archive.rglob("*.warc.gz"))
    kept = _whole_records(open_warc)
    size = open_warc.stat().st_size
    with open(open_warc, "rb") as fh:
        members = list(iter_gzip_members(fh))
    end = members[kept - 1][0] + members[kept - 1][1]
    whole = open_warc.read_bytes()[:end]
    # and as if it died in the middle of writing one more record
    tail = _torn_member(_writer(tmp_path), tmp_path)
    with open(open_warc, "ab") as fh:
        fh.write(tail)
    assert size <= end + len(tail)

    # the next run (a quick one) recovers it, stores it and indexes it
    config = write_config(tmp_path, [site_entry(news_site, start_urls=[f"{news_site}/"],
                                                sitemaps=[], feeds=[], follow_depth=0)],
                          storage=str(archive))
    result = subprocess.run([sys.executable, "-m", "warcwire.cli", "crawl", "sample-news",
                             "--config", str(config)], capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "recovered 1 file(s) from an interrupted run" in result.stdout, result.stdout
    final_name = open_warc.name.removesuffix(".open")
    assert f"kept {kept} record(s), cut {size - end + len(tail)} bytes" in result.stdout
    (stored,) = [p for p in archive.rglob(final_name)]
    assert stored.read_bytes() == whole
    warcio_check([stored])
    assert (stored.parent / (final_name + ".cdxj")).exists()
    assert not list((tmp_path / "spool").rglob("*.open"))

    from storage.catalog import Catalog
    from warcwire.config import load_config

    responses = [r for r in read_records(whole, final_name) if r.type == "response"]
    catalog = Catalog(load_config(config).database_url)
    try:
        rows = catalog.captures(f"{news_site}/faults/counted.html", match="prefix")
    finally:
        catalog.close()
    key = stored.relative_to(archive).as_posix()
    assert {r.url for r in rows if r.filename == key} == \
        {r.uri for r in responses if "/faults/counted" in r.uri}
