"""S3 outage: SeaweedFS is SIGKILLed in the middle of a multipart upload, then restarted.

The server here is function-scoped and owned by the test: it is killed between
two parts of a real upload and restarted on the same ports and data folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from storage.s3 import MiB, S3Store, make_client, multipart_etag
from storage.spool import Spool
from tests._service import (
    ServiceProcess,
    service_config,
    services_fixture,  # noqa: F401  (fixture)
    wait_for,
)
from tests.fixtures_s3 import (
    SEAWEED_START_TIMEOUT,
    S3Server,
    _stop,
    _tail,
    _weed_binary,
    free_port_pairs,
)
from tests.fixtures_site import site_entry
from warcwire.config import load_config
from warcwire.exceptions import StorageError

CREDS = ("outage-test-key", "outage-test-secret")
READY_BUCKET = "outage-ready"


class Weed:
    """One ``weed mini`` with fixed ports and -dir, so it can be killed and restarted."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.data = workdir / "data"
        self.data.mkdir(parents=True)
        self.config = workdir / "s3.json"
        self.config.write_text(json.dumps({"identities": [{
            "name": "outage-test",
            "credentials": [{"accessKey": CREDS[0], "secretKey": CREDS[1]}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }]}))
        self.ports = free_port_pairs(5)
        self.server = S3Server(f"http://127.0.0.1:{self.ports[0]}", *CREDS)
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        s3, master, volume, filer, admin = self.ports
        self.starts += 1
        log = self.workdir / f"weed-{self.starts}.log"
        command = [
            _weed_binary(), "-logtostderr", "mini", f"-dir={self.data}", "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1", f"-s3.port={s3}", f"-master.port={master}",
            f"-volume.port={volume}", f"-filer.port={filer}", f"-admin.port={admin}",
            "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            f"-s3.config={self.config}", "-s3.autoCreateBucket=false",
            f"-s3.localSocket={self.workdir / 's3.sock'}",
            f"-filer.localSocket={self.workdir / 'filer.sock'}",
        ]
        with log.open("wb") as fh:
            self.proc = subprocess.Popen(command, stdout=fh, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True,
                                         cwd=self.workdir)
        self._wait_ready(log)

    def _wait_ready(self, log: Path) -> None:
        """Ready means a small object can be written (the bucket survives restarts)."""
        assert self.proc is not None
        client = self.server.client(connect_timeout=2, read_timeout=10,
                                    retries={"max_attempts": 1})
        deadline = time.monotonic() + SEAWEED_START_TIMEOUT
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed exited with {self.proc.returncode}:\n{_tail(log)}")
            try:
                if self.starts == 1:
                    client.create_bucket(Bucket=READY_BUCKET)
                client.put_object(Bucket=READY_BUCKET, Key="probe", Body=b"ok")
                return
            except Exception as exc:  # not ready yet
                last = exc
                time.sleep(0.3)
        raise RuntimeError(f"weed not ready (last error: {last}):\n{_tail(log)}")

    def kill(self) -> None:
        """SIGKILL the whole process group: no graceful shutdown, like a crash."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


@pytest.fixture
def weed(tmp_path: Path) -> Any:
    server = Weed(tmp_path / "weed")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _local_digests(path: Path, part_size: int) -> tuple[str, str]:
    sha256, part_md5s = hashlib.sha256(), []
    with path.open("rb") as fh:
        while data := fh.read(part_size):
            sha256.update(data)
            part_md5s.append(hashlib.md5(data).digest())
    return multipart_etag(part_md5s), sha256.hexdigest()


def _uploads(client: Any, bucket: str) -> list[tuple[str, str]]:
    return [(u["Key"], u["UploadId"])
            for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


def test_kill_mid_multipart_then_restart_uploads_once(weed: Weed, s3_env, tmp_path: Path
                                                      ) -> None:
    server = weed.server
    s3_env(server)
    admin = server.client()
    bucket = "outage"
    admin.create_bucket(Bucket=bucket)

    spool = Spool(tmp_path / "spool", max_consecutive_failures=1)
    path = spool.root / "news" / "run-1" / "big.warc.gz"
    path.parent.mkdir(parents=True)
    path.write_bytes(os.urandom(30 * MiB))  # 6 parts of 5 MiB
    key = spool.key_for(path)
    part_size = 5 * MiB
    expected_etag, expected_sha256 = _local_digests(path, part_size)

    # The code under test, with its own client from the standard chain.
    store = S3Store(bucket, client=make_client(connect_timeout=1, read_timeout=5,
                                               max_attempts=2),
                    multipart_threshold=part_size, part_size=part_size)
    parts_sent: list[int] = []

    def kill_after_first_part(**kwargs: Any) -> None:
        parts_sent.append(1)
        if len(parts_sent) == 1:
            # Part 1 is stored; the server has an unfinished upload. Crash it now.
            assert [k for k, _ in _uploads(admin, bucket)] == [key]
            weed.kill()

    store._client.meta.events.register("after-call.s3.UploadPart", kill_after_first_part)

    started = time.monotonic()
    with pytest.raises(StorageError) as caught:
        store.put(path, key)
    assert "\n" not in str(caught.value)
    assert time.monotonic() - started < 30
    assert parts_sent == [1]

    # Through the spool, while S3 is still down: the file stays, with a reason.
    report = spool.flush(store)
    assert report.stored == []
    assert [p for p, _ in report.failed] == [path]
    assert path.exists() and spool.pending() == [path]

    weed.start()  # same ports, same -dir

    # Nothing partial is visible under the key; the dead upload's parts linger.
    assert admin.list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0
    assert [k for k, _ in _uploads(admin, bucket)] == [key]
    # Another key's unfinished upload must not be touched by the cleanup.
    other = admin.create_multipart_upload(Bucket=bucket, Key="news/other.warc.gz")["UploadId"]

    retry_store = S3Store(bucket, multipart_threshold=part_size, part_size=part_size)
    report = spool.flush(retry_store)
    assert report.failed == []
    assert [(o.key, o.size) for o in report.stored] == [(key, 30 * MiB)]
    assert spool.pending() == [] and not path.exists()

    head = admin.head_object(Bucket=bucket, Key=key)
    assert head["ETag"].strip('"') == expected_etag
    assert head["Metadata"]["sha256"] == expected_sha256
    body = admin.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == expected_sha256
    listing = admin.list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in listing.get("Contents", [])] == [key]
    # The stale upload of this key was aborted; the other key's one was left alone.
    assert _uploads(admin, bucket) == [("news/other.warc.gz", other)]

    # A further flush has nothing to do: exactly one upload.
    assert spool.flush(retry_store).stored == []
    assert [o["Key"] for o in admin.list_objects_v2(Bucket=bucket).get("Contents", [])] == [key]


def test_service_sweep_stores_the_spool_once_s3_is_back(weed: Weed, s3_env, tmp_path: Path,
                                                        services: list[ServiceProcess]
                                                        ) -> None:
    """A file left in the spool by an outage is stored by the service's periodic sweep."""
    server = weed.server
    s3_env(server)  # the service process inherits this environment
    admin = server.client()
    bucket = "sweep"
    admin.create_bucket(Bucket=bucket)
    config = service_config(tmp_path, [site_entry("http://127.0.0.1:9", name="idle")],
                            sweep_interval=1)
    text = config.read_text().replace(f"storage: {tmp_path / 'archive'}",
                                      f"storage: s3://{bucket}/archive")
    config.write_text(text)
    spool_dir = Path(load_config(config).spool_dir)
    path = spool_dir / "idle" / "run-0" / "left.bin"
    path.parent.mkdir(parents=True)
    path.write_bytes(os.urandom(MiB))
    sha256 = hashlib.sha256(path.read_bytes()).hexdigest()

    weed.kill()
    svc = ServiceProcess(config)
    services.append(svc)
    wait_for(lambda: "Sweep kept 1 file(s)" in svc.log(), 40, f"a failed sweep\n{svc.log()}")
    assert path.exists()

    weed.start()
    key = "archive/idle/run-0/left.bin"
    wait_for(lambda: not path.exists(), 40, f"the sweep to store the file\n{svc.log()}")
    head = admin.head_object(Bucket=bucket, Key=key)
    assert head["Metadata"]["sha256"] == sha256
    assert [o["Key"] for o in admin.list_objects_v2(Bucket=bucket)["Contents"]] == [key]
    assert "Sweep stored 1 spooled file(s)" in svc.log()
    assert svc.stop() == 0
