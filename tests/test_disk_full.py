"""A full spool disk, for real: a 2 MB tmpfs as the spool.

The crawl must stop at once with exit code 6 and one clear line, keep every
file it wrote valid and whole up to the last record written, and still store
what it finished. Needs root (or CAP_SYS_ADMIN) to mount the tmpfs; skipped
otherwise.
"""

from __future__ import annotations

import base64
import gzip
import os
import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest
from sqlalchemy import select

from crawler.warc_capture import WRITER_BACKLOG
from jobs.crawl import EXIT_DISK_FULL, RunSummary, store_spool
from jobs.history import OUTCOMES, History, runs_table
from jobs.record import outcome_of
from normalizer.jsonl import JsonlFile
from storage import get_store
from storage.durable import OPEN_SUFFIX
from storage.recovery import is_whole_record, iter_gzip_members
from storage.spool import Spool
from storage.warc import WarcRotatingWriter, is_disk_full
from tests.fixtures_site import run_cli, site_entry, write_config
from tests.warc_assertions import (
    assert_exchange_integrity,
    read_jsonl_gz,
    read_records,
    warcio_check,
)
from warcwire.commands.common import summary_lines
from warcwire.config import load_config
from warcwire.site_server import serve_handler

TMPFS_SIZE = 2 * 1024 * 1024
STORIES = 80
STORY_NOISE = 120_000  # random bytes per page: ~13 pages fill the spool


def _mount_tmpfs(path: Path, size: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    try:
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                                 str(path)], capture_output=True, text=True, timeout=30)
    except (FileNotFoundError, PermissionError) as exc:
        pytest.skip(f"cannot mount a tmpfs for the spool: {exc}")
    if result.returncode != 0:
        pytest.skip("cannot mount a tmpfs for the spool (needs root or CAP_SYS_ADMIN): "
                    + (result.stderr.strip() or f"exit {result.returncode}"))


def _unmount(path: Path) -> None:
    if subprocess.run(["umount", str(path)], capture_output=True, timeout=30).returncode:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30)


@pytest.fixture()
def small_spool(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path/spool`` as a 2 MB tmpfs, unmounted afterwards."""
    spool = tmp_path / "spool"
    _mount_tmpfs(spool, TMPFS_SIZE)
    try:
        yield spool
    finally:
        _unmount(spool)


def _fill(folder: Path, leave: int) -> Path:
    """A filler file taking all but ``leave`` bytes of the filesystem ``folder`` is on."""
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    filler = folder / "filler"
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(0, free - leave))
    return filler


def _noise(size: int) -> bytes:
    """Incompressible text: gzip cannot make it fit."""
    return base64.b64encode(os.urandom(size * 3 // 4))


# -- the crawl ----------------------------------------------------------------------


class _BigStories(BaseHTTPRequestHandler):
    """A front page linking to many large articles; counts the articles it served."""

    protocol_version = "HTTP/1.1"
    served = 0
    lock = threading.Lock()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/":
            links = "".join(f'<li><a href="/news/world/story-{i}.html">Story {i}</a></li>'
                            for i in range(STORIES))
            body = f"<html><body><h1>Front page</h1><ul>{links}</ul></body></html>".encode()
        elif self.path.startswith("/news/world/story-"):
            with type(self).lock:
                type(self).served += 1
            words = "Ferry services resumed on the northern route this morning. " * 12
            body = (f"<html><head><title>{self.path}</title></head><body><article>"
                    f"<h1>Story at {self.path}</h1>" + f"<p>{words}</p>" * 4 +
                    "</article><!-- ").encode() + _noise(STORY_NOISE) + b" --></body></html>"
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _stats_of(config: Path) -> tuple[dict, object]:
    history = History.from_url(load_config(config).database_url)
    try:
        (run,) = history.runs()
        with history.engine.connect() as conn:
            stats = conn.execute(select(runs_table.c.stats)).scalar_one()
    finally:
        history.close()
    return stats, run


def test_full_spool_stops_the_crawl_and_keeps_what_was_written(
        small_spool: Path, tmp_path: Path) -> None:
    _BigStories.served = 0
    archive = tmp_path / "archive"  # not on the tmpfs
    with serve_handler(_BigStories) as base_url:
        site = site_entry(base_url, name="big", start_urls=[f"{base_url}/"], sitemaps=[],
                          feeds=[], follow_depth=1, page_assets=False, retries=0,
                          politeness={"delay": 0, "concurrency": 4, "autothrottle": False,
                                      "obey_robots": False})
        config = write_config(tmp_path, [site], storage=str(archive))
        result = run_cli("crawl", "big", "--config", str(config))
        served = _BigStories.served
    out = result.stdout + result.stderr

    assert result.returncode == 6, out
    (line,) = [ln for ln in result.stdout.splitlines() if "DISK FULL" in ln]
    assert str(small_spool) in line and "spool_dir" in line and "free space" in line, line
    assert "Traceback" not in out
    assert served < STORIES, "the crawl went on fetching after the disk was full"

    stats, run = _stats_of(config)
    assert stats["finish_reason"] == "disk_full"
    assert "No space left on device" in stats["warcwire/disk_full"]
    assert (run.outcome, run.exit_status) == ("disk_full", 6)
    assert run.message and "spool disk full" in run.message

    # everything finished was stored: nothing is left in the spool, nothing half-written
    assert [p for p in small_spool.rglob("*") if p.is_file()] == []
    warcs = sorted(archive.rglob("*.warc.gz"))
    assert warcs and {str(w) for w in warcs} <= set(run.warcs)
    warcio_check(warcs)  # block and payload digests of every record
    records = [r for w in warcs for r in read_records(w.read_bytes(), w.name)]
    assert_exchange_integrity(records)
    responses = [r for r in records if r.type == "response"]
    requests = [r for r in records if r.type == "request"]
    # every exchange the crawl reported archived is there, and nothing else
    assert len(responses) == len(requests) == stats["warc/exchanges"]
    assert 0 < stats["warcwire/pages"] <= len(responses)
    # it stopped at once: only what was under way was fetched and not archived, that is
    # downloads in flight (concurrency 4) and exchanges in the writer's pipe (at most
    # WRITER_BACKLOG plus the downloads let through before it filled), each of which may
    # have started one more before the failure was known
    archived_stories = sum("/news/world/story-" in r.uri for r in responses)
    unarchived = served - archived_stories
    assert unarchived <= 2 * (4 + WRITER_BACKLOG), (served, archived_stories)
    # and none of them silently: each is a failed write or a failed exchange in the stats
    assert unarchived <= stats.get("warc/write_errors", 0) + \
        stats.get("warc/failed_exchanges", 0), stats

    # the articles written before the disk filled are all readable
    articles = stats.get("normalizer/records", 0)
    jsonl = sorted(archive.rglob("*.jsonl.gz"))
    lines = [rec for path in jsonl for rec in read_jsonl_gz(path.read_bytes())]
    assert len(lines) == articles
    assert all(rec["warc"]["key"] for rec in lines)


# -- the writers, one failed write at a time ----------------------------------------


def _exchange(writer: WarcRotatingWriter, n: int, body: bytes) -> None:
    url = f"https://news.example/story-{n}.html"
    req = writer.make_request_record(url, "GET", f"/story-{n}.html",
                                     [("Host", "news.example")])
    resp = writer.make_response_record(url, "HTTP/1.1 200 OK", [
        ("Content-Type", "text/html"), ("Content-Length", str(len(body)))], body)
    writer.write_exchange(req, resp)


def _whole_up_to_the_end(path: Path) -> int:
    """Records in ``path``; fails unless it is whole records from start to end."""
    size, count = 0, 0
    with open(path, "rb") as fh:
        for offset, length, data in iter_gzip_members(fh):
            assert offset == size and is_whole_record(data), f"torn record at {offset}"
            size, count = offset + length, count + 1
    assert size == path.stat().st_size, f"{path} has a torn tail after {size} bytes"
    return count


@pytest.mark.parametrize("body_size", [3_000, 40_000, 300_000])
def test_warc_write_hitting_enospc_leaves_whole_records(
        small_spool: Path, body_size: int) -> None:
    writer = WarcRotatingWriter(small_spool / "warcs", "site", warcinfo={"run-id": "r"})
    _exchange(writer, 0, _noise(1000))  # the file exists before the filler
    filler = _fill(small_spool, leave=400_000)
    written = 1
    with pytest.raises(OSError) as failed:
        while True:
            _exchange(writer, written, _noise(body_size))
            written += 1
    assert is_disk_full(failed.value)
    open_path = writer.current_path
    assert open_path is not None and open_path.name.endswith(OPEN_SUFFIX)
    assert _whole_up_to_the_end(open_path) == 1 + 2 * written

    filler.unlink()  # room again: the writer carries on after the last whole record
    _exchange(writer, written, _noise(1000))
    (done,) = writer.close()
    assert _whole_up_to_the_end(done) == 1 + 2 * (written + 1)
    warcio_check([done])
    records = read_records(done.read_bytes(), done.name)
    assert [r.uri for r in records if r.type == "response"] == [
        f"https://news.example/story-{n}.html" for n in range(written + 1)]


def test_a_new_warc_on_a_full_disk_leaves_no_file(small_spool: Path) -> None:
    folder = small_spool / "warcs"
    folder.mkdir()
    _fill(small_spool, leave=0)
    writer = WarcRotatingWriter(folder, "site", warcinfo={"run-id": "r"})
    with pytest.raises(OSError) as failed:
        _exchange(writer, 0, b"x")
    assert is_disk_full(failed.value)
    assert writer.files == 0 and writer.current_path is None
    assert [p for p in folder.rglob("*") if p.is_file()] == []


def test_articles_write_hitting_enospc_keeps_every_line_written(small_spool: Path) -> None:
    out = JsonlFile(small_spool / "site" / "run.articles.v2.jsonl.gz")
    out.write({"n": 0, "text": "first"})
    _fill(small_spool, leave=200_000)
    written = 1
    with pytest.raises(OSError) as failed:
        while True:
            out.write({"n": written, "text": _noise(30_000).decode()})
            written += 1
    assert is_disk_full(failed.value)
    with pytest.raises(OSError):  # its compressor is ahead of the file: no more records
        out.write({"n": -1})
    assert out.count == written
    final = out.close()
    assert final is not None and final.is_file() and not out.open_path.exists()
    lines = read_jsonl_gz(final.read_bytes())  # gzip checks the CRC and length
    assert [rec["n"] for rec in lines] == list(range(written))
    with gzip.open(final, "rb") as fh:
        assert fh.read().endswith(b"\n")


# -- after the crawl: storing from a full spool ----------------------------------------


def test_recovery_on_a_full_spool_waits_for_the_upload_to_make_room(
        small_spool: Path, tmp_path: Path) -> None:
    root = small_spool / "root"  # the filler sits beside the spool, not in it
    day = root / "site" / "2026-01-01"
    day.mkdir(parents=True)
    finished = day / "finished.warc.gz"
    finished.write_bytes(_noise(600_000))
    torn = day / "run.articles.v2.jsonl.gz.open"  # left by a killed crawl
    with open(torn, "wb") as raw:
        gz = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
        for n in range(4):
            gz.write(f'{{"n": {n}, "text": "{_noise(40_000).decode()}"}}\n'.encode())
        gz.flush()
        raw.write(b"\x00torn")
    _fill(small_spool, leave=0)  # rewriting the articles file needs room it does not have

    report, recovered = store_spool(Spool(root), get_store(str(tmp_path / "archive")))
    assert report.failed == [] and [r.records for r in recovered] == [4]
    stored = sorted(Path(obj.location).name for obj in report.stored)
    assert stored == ["finished.warc.gz", "run.articles.v2.jsonl.gz"]
    lines = read_jsonl_gz((tmp_path / "archive" / "site" / "2026-01-01" /
                           "run.articles.v2.jsonl.gz").read_bytes())
    assert [rec["n"] for rec in lines] == [0, 1, 2, 3]
    assert [p for p in root.rglob("*") if p.is_file()] == []


# -- what the user is told ----------------------------------------------------------


def test_a_full_spool_has_its_own_exit_code_outcome_and_line() -> None:
    summary = RunSummary(site="s", run_id="r", storage="./archive", spool_dir="/spool",
                         started=datetime.now(UTC), stats={
                             "warcwire/pages": 3, "finish_reason": "disk_full",
                             "warcwire/disk_full": "No space left on device writing WARC "
                                                   "records"})
    assert summary.exit_code == EXIT_DISK_FULL == 6
    assert outcome_of(summary) == "disk_full" and "disk_full" in OUTCOMES
    (line,) = [ln for ln in summary_lines(summary) if "DISK FULL" in ln]
    assert "/spool" in line and "No space left on device" in line and "spool_dir" in line
    assert RunSummary.from_dict(summary.to_dict()).exit_code == 6
