"""The spool uploads finished files, deletes them only after a verified put, keeps the rest."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import pytest

from storage.base import StoredObject
from storage.local import LocalStore
from storage.s3 import S3Store, make_client
from storage.spool import FlushReport, Spool
from tests.fixtures_s3 import S3Server, closed_port_endpoint
from warcwire.exceptions import StorageError

FINISHED = [
    "site/2026-11-25/warcwire-site-20261125120000-00000-host.warc.gz",
    "site/2026-11-25/warcwire-site-20261125120500-00001-host.warc.gz",
    "site/2026-11-25/articles.jsonl",
    "other/2026-11-24/warcwire-other-20261124230000-00000-host.warc.gz",
]
OPEN = "site/2026-11-25/warcwire-site-20261125121000-00002-host.warc.gz.open"


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    spool = Spool(tmp_path / "spool")
    for age, key in enumerate(reversed(FINISHED)):
        path = spool.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(key.encode() * 100)
        os.utime(path, (1_700_000_000 + age, 1_700_000_000 + age))  # FINISHED[0] is oldest
    (spool.root / OPEN).write_bytes(b"still being written")
    (spool.root / "site" / "2026-11-25" / ".copy.123.tmp").write_bytes(b"temp")
    return spool


def test_pending_lists_finished_files_oldest_first(spool: Spool) -> None:
    assert [spool.key_for(p) for p in spool.pending()] == list(reversed(FINISHED))
    assert spool.open_files() == [spool.root / OPEN]


def test_key_for_outside_the_spool_is_an_error(spool: Spool, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="not inside the spool"):
        spool.key_for(tmp_path / "elsewhere.warc.gz")


def assert_only_open_files_left(spool: Spool) -> None:
    assert spool.pending() == []
    left = sorted(p.relative_to(spool.root).as_posix() for p in spool.root.rglob("*")
                  if p.is_file())
    assert left == sorted([OPEN, "site/2026-11-25/.copy.123.tmp"])
    assert not (spool.root / "other").exists()  # emptied directories are pruned


def test_flush_to_local(spool: Spool, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "archive")
    progress: list[tuple[int, int, str]] = []
    report = spool.flush(store, on_progress=lambda i, n, p: progress.append((i, n, p.name)))
    assert report.ok
    assert sorted(s.key for s in report.stored) == sorted(FINISHED)
    assert list(store.list()) == sorted(FINISHED)
    assert [(i, n) for i, n, _ in progress] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert_only_open_files_left(spool)
    for key in FINISHED:
        assert (tmp_path / "archive" / key).read_bytes() == key.encode() * 100


def test_flush_to_s3(spool: Spool, moto_s3: S3Server, s3_env: Any, fresh_bucket: Any) -> None:
    s3_env(moto_s3)
    bucket = fresh_bucket(moto_s3)
    report = spool.flush(S3Store(bucket, "archive"))
    assert report.ok
    listing = moto_s3.client().list_objects_v2(Bucket=bucket)
    assert sorted(o["Key"] for o in listing["Contents"]) == sorted(
        f"archive/{key}" for key in FINISHED)
    assert_only_open_files_left(spool)


def test_unreachable_store_keeps_files_then_a_live_store_empties_the_spool(
        spool: Spool, moto_s3: S3Server, s3_env: Any, fresh_bucket: Any) -> None:
    s3_env(moto_s3)
    bucket = fresh_bucket(moto_s3)
    s3_env(moto_s3, endpoint=closed_port_endpoint())
    dead = S3Store(bucket, client=make_client(connect_timeout=1, max_attempts=1))
    before = spool.pending()

    report = spool.flush(dead)

    assert not report.ok
    assert report.stored == []
    assert [path for path, _ in report.failed] == before
    assert all("Cannot reach S3 endpoint" in reason for _, reason in report.failed)
    assert "not attempted after 3 failures in a row" in report.failed[-1][1]
    assert spool.pending() == before

    s3_env(moto_s3)
    report = spool.flush(S3Store(bucket))
    assert report.ok
    assert sorted(s.key for s in report.stored) == sorted(FINISHED)
    assert_only_open_files_left(spool)


class CountingStore(LocalStore):
    """A real LocalStore that records every put, to catch double uploads."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.puts: list[str] = []
        self._puts_lock = threading.Lock()

    def put(self, local_path: Path, key: str) -> StoredObject:
        with self._puts_lock:
            self.puts.append(key)
        return super().put(local_path, key)


def test_concurrent_flushes_upload_each_file_once(spool: Spool, tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "archive")
    barrier = threading.Barrier(3)
    reports: list[FlushReport] = []

    def flush() -> None:
        barrier.wait(timeout=10)
        reports.append(spool.flush(store))

    threads = [threading.Thread(target=flush) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads)
    assert sorted(store.puts) == sorted(FINISHED)
    assert sorted(s.key for r in reports for s in r.stored) == sorted(FINISHED)
    assert all(r.ok for r in reports)
    assert_only_open_files_left(spool)
