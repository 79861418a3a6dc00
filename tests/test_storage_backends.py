"""One contract suite for every storage backend, on real servers, plus S3 failure modes."""

from __future__ import annotations

import hashlib
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from storage import Store, StoredObject, get_store
from storage.local import LocalStore
from storage.s3 import MiB, S3Store, make_client
from tests.fixtures_s3 import S3Server, closed_port_endpoint
from warcwire.exceptions import StorageError, UnknownStorageScheme, VerificationError

KEY = "site/2026-11-25/warcwire-site-20261125120000-00000-host.warc.gz"


@dataclass
class Backend:
    name: str
    make: Callable[..., Store]  # S3 keyword arguments (part sizes) are ignored by local
    server: S3Server | None = None
    bucket: str = ""


@pytest.fixture(params=["local", "moto", "seaweedfs"])
def backend(request: pytest.FixtureRequest, tmp_path: Path, s3_env: Callable[..., None],
            fresh_bucket: Callable[[S3Server], str]) -> Backend:
    if request.param == "local":
        root = tmp_path / "archive"
        return Backend("local", lambda **_: LocalStore(root))
    server: S3Server = request.getfixturevalue(
        "moto_s3" if request.param == "moto" else "seaweedfs")
    s3_env(server)
    bucket = fresh_bucket(server)
    return Backend(request.param, lambda **kw: S3Store(bucket, "archive/", **kw), server, bucket)


@pytest.fixture
def store(backend: Backend) -> Store:
    return backend.make()


def write(path: Path, size: int, seed: int = 0) -> bytes:
    data = random.Random(seed).randbytes(size)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


# --- the contract -------------------------------------------------------------------


def test_put_returns_verified_size_and_md5(store: Store, tmp_path: Path) -> None:
    data = write(tmp_path / "in" / "a.warc.gz", 100_000)
    stored = store.put(tmp_path / "in" / "a.warc.gz", KEY)
    assert isinstance(store, Store)
    assert stored == StoredObject(KEY, len(data), hashlib.md5(data).hexdigest(),
                                  store.location(KEY))


def test_open_reads_back_identical_bytes(store: Store, tmp_path: Path) -> None:
    data = write(tmp_path / "a", 300_000)
    store.put(tmp_path / "a", KEY)
    with store.open(KEY) as fh:
        assert fh.read() == data


def test_open_range_returns_exact_slices(store: Store, tmp_path: Path) -> None:
    data = write(tmp_path / "a", 10_000)
    store.put(tmp_path / "a", KEY)
    for offset, length in [(0, 1), (0, 10_000), (123, 4567), (9_999, 1), (9_000, 1_000)]:
        assert store.open_range(KEY, offset, length) == data[offset:offset + length]
    assert store.open_range(KEY, 500, 0) == b""


def test_open_range_past_the_end_is_an_error(store: Store, tmp_path: Path) -> None:
    write(tmp_path / "a", 100)
    store.put(tmp_path / "a", KEY)
    with pytest.raises(StorageError):
        store.open_range(KEY, 90, 20)
    with pytest.raises(StorageError):
        store.open_range(KEY, 100, 1)


def test_missing_key(store: Store) -> None:
    assert not store.exists("nope/missing.warc.gz")
    with pytest.raises(StorageError):
        store.open("nope/missing.warc.gz")


def test_exists(store: Store, tmp_path: Path) -> None:
    write(tmp_path / "a", 10)
    assert not store.exists(KEY)
    store.put(tmp_path / "a", KEY)
    assert store.exists(KEY)


def test_put_replaces_an_existing_object(store: Store, tmp_path: Path) -> None:
    write(tmp_path / "a", 1000, seed=1)
    store.put(tmp_path / "a", KEY)
    data = write(tmp_path / "a", 500, seed=2)
    assert store.put(tmp_path / "a", KEY).size == 500
    with store.open(KEY) as fh:
        assert fh.read() == data


def test_list_is_sorted_relative_and_filtered_by_prefix(store: Store, tmp_path: Path) -> None:
    write(tmp_path / "a", 10)
    keys = ["b/2.warc.gz", "a/1.jsonl", "a/0.warc.gz", "a2/x.warc.gz", "top.jsonl"]
    for key in keys:
        store.put(tmp_path / "a", key)
    assert list(store.list()) == sorted(keys)
    assert list(store.list("a/")) == ["a/0.warc.gz", "a/1.jsonl"]
    assert list(store.list("a")) == ["a/0.warc.gz", "a/1.jsonl", "a2/x.warc.gz"]
    assert list(store.list("a/1")) == ["a/1.jsonl"]
    assert list(store.list("zzz/")) == []


def test_location_format(backend: Backend, store: Store) -> None:
    if isinstance(store, LocalStore):
        assert store.location(KEY) == str(store.root / KEY)
    else:
        assert store.location(KEY) == f"s3://{backend.bucket}/archive/{KEY}"


def test_large_file_goes_multipart(backend: Backend, tmp_path: Path) -> None:
    store = backend.make(multipart_threshold=5 * MiB, part_size=5 * MiB)
    data = write(tmp_path / "big", 12 * MiB)
    stored = store.put(tmp_path / "big", KEY)
    assert (stored.size, stored.md5) == (len(data), hashlib.md5(data).hexdigest())
    boundary = 5 * MiB
    assert store.open_range(KEY, boundary - 10, 20) == data[boundary - 10:boundary + 10]
    assert store.open_range(KEY, len(data) - 1, 1) == data[-1:]
    with store.open(KEY) as fh:
        assert hashlib.md5(fh.read()).hexdigest() == stored.md5
    if backend.server is not None:
        head = backend.server.client().head_object(Bucket=backend.bucket, Key=f"archive/{KEY}")
        assert head["ETag"].strip('"').endswith("-3")
        assert head["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()


# --- local specifics ----------------------------------------------------------------


@pytest.mark.parametrize("key", ["../escape", "a/../../escape", "/etc/passwd", "", "a\\b"])
def test_local_rejects_keys_outside_the_root(tmp_path: Path, key: str) -> None:
    store = LocalStore(tmp_path / "root")
    write(tmp_path / "a", 10)
    with pytest.raises(StorageError, match="Invalid storage key"):
        store.put(tmp_path / "a", key)
    assert not (tmp_path / "escape").exists()


def test_local_leaves_no_temp_files_and_lists_none(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "root")
    write(tmp_path / "a", 10)
    store.put(tmp_path / "a", "d/x.warc.gz")
    (tmp_path / "root" / "d" / ".y.warc.gz.123.tmp").write_bytes(b"half")
    assert sorted(p.name for p in (tmp_path / "root" / "d").iterdir()) == [
        ".y.warc.gz.123.tmp", "x.warc.gz"]
    assert list(store.list()) == ["d/x.warc.gz"]


def test_local_missing_source_is_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="Cannot store"):
        LocalStore(tmp_path).put(tmp_path / "nope", "k")


# --- S3 specifics -------------------------------------------------------------------


def test_s3_sha256_in_metadata_and_prefix_isolation(moto_s3: S3Server, s3_env: Any,
                                                     fresh_bucket: Any, tmp_path: Path) -> None:
    s3_env(moto_s3)
    bucket = fresh_bucket(moto_s3)
    data = write(tmp_path / "a", 1000)
    S3Store(bucket, "p").put(tmp_path / "a", "k.warc.gz")
    client = moto_s3.client()
    client.put_object(Bucket=bucket, Key="p2/outside", Body=b"x")
    head = client.head_object(Bucket=bucket, Key="p/k.warc.gz")
    assert head["Metadata"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert list(S3Store(bucket, "p").list()) == ["k.warc.gz"]
    assert list(S3Store(bucket).list()) == ["p/k.warc.gz", "p2/outside"]


@pytest.mark.parametrize("server_name", ["moto_s3", "seaweedfs"])
def test_s3_missing_bucket_says_how_to_create_it(request: pytest.FixtureRequest, s3_env: Any,
                                                   tmp_path: Path, server_name: str) -> None:
    server: S3Server = request.getfixturevalue(server_name)
    s3_env(server)
    write(tmp_path / "a", 10)
    with pytest.raises(StorageError) as info:
        S3Store("ww-no-such-bucket").put(tmp_path / "a", "k")
    message = str(info.value)
    assert "bucket 'ww-no-such-bucket' does not exist" in message
    assert f"aws s3 mb s3://ww-no-such-bucket --endpoint-url {server.endpoint}" in message
    assert "\n" not in message


@pytest.mark.parametrize("override", [{"secret_key": "wrong-secret"},
                                      {"access_key": "unknown-key"}])
def test_s3_wrong_credentials_are_a_clear_error(seaweedfs: S3Server, s3_env: Any,
                                                fresh_bucket: Any, tmp_path: Path,
                                                override: dict[str, str]) -> None:
    bucket = fresh_bucket(seaweedfs)
    s3_env(seaweedfs, **override)
    write(tmp_path / "a", 10)
    with pytest.raises(StorageError) as info:
        S3Store(bucket).put(tmp_path / "a", "k")
    message = str(info.value)
    assert message.startswith(f"S3 endpoint {seaweedfs.endpoint} refused uploading s3://{bucket}/k")
    assert "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY" in message
    assert "\n" not in message


def test_s3_unreachable_endpoint_fails_fast(moto_s3: S3Server, s3_env: Any,
                                            tmp_path: Path) -> None:
    endpoint = closed_port_endpoint()
    s3_env(moto_s3, endpoint=endpoint)
    write(tmp_path / "a", 10)
    store = S3Store("bucket", client=make_client(connect_timeout=1, max_attempts=2))
    started = time.monotonic()
    with pytest.raises(StorageError) as info:
        store.put(tmp_path / "a", "k")
    assert time.monotonic() - started < 10
    message = str(info.value)
    assert message.startswith(
        f"Cannot reach S3 endpoint {endpoint} while uploading s3://bucket/k: ")
    assert "\n" not in message
    with pytest.raises(StorageError, match="Cannot reach S3 endpoint"):
        store.exists("k")


def test_s3_verification_error_is_a_storage_error() -> None:
    assert issubclass(VerificationError, StorageError)


# --- scheme registry ----------------------------------------------------------------


def test_get_store_plain_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = get_store("./x")
    assert isinstance(store, LocalStore)
    assert store.root == tmp_path / "x"


def test_get_store_file_uri() -> None:
    store = get_store("file:///x")
    assert isinstance(store, LocalStore)
    assert store.root == Path("/x")
    assert store.uri == "file:///x"


def test_get_store_s3_uri(moto_s3: S3Server, s3_env: Any) -> None:
    s3_env(moto_s3)
    store = get_store("s3://b/p")
    assert isinstance(store, S3Store)
    assert (store.bucket, store.prefix, store.uri) == ("b", "p", "s3://b/p")
    assert store.location("k") == "s3://b/p/k"
    assert store.endpoint == moto_s3.endpoint


def test_get_store_unknown_scheme() -> None:
    with pytest.raises(UnknownStorageScheme) as info:
        get_store("ftp://x")
    assert str(info.value) == "Unknown storage scheme 'ftp' in 'ftp://x'. Supported: file, s3"


class _CopyingStore(LocalStore):
    """A store on another filesystem: hard links fail, so put must copy."""

    @staticmethod
    def _link(source: Path, tmp: Path) -> bool:
        return False


def test_local_put_copies_when_it_cannot_link(tmp_path: Path) -> None:
    source = tmp_path / "spool" / "a.warc.gz"
    source.parent.mkdir()
    source.write_bytes(b"x" * 100_000)
    store = _CopyingStore(tmp_path / "archive")
    stored = store.put(source, "site/a.warc.gz")
    dest = Path(stored.location)
    assert dest.read_bytes() == source.read_bytes()
    assert not os.path.samefile(source, dest)
    assert stored.md5 == hashlib.md5(source.read_bytes()).hexdigest()


def test_local_put_links_on_the_same_filesystem(tmp_path: Path) -> None:
    source = tmp_path / "a.warc.gz"
    source.write_bytes(b"y" * 1000)
    stored = LocalStore(tmp_path / "archive").put(source, "a.warc.gz")
    assert os.path.samefile(source, stored.location)
    assert stored.size == 1000
