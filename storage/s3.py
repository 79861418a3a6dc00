"""A store on any S3-compatible service (AWS, SeaweedFS, MinIO, moto...).

Every upload is checked twice: the server verifies Content-MD5 on receipt, and
we compare ``head_object`` (size and ETag) with what we computed locally.
Endpoint, region and credentials come from boto3's standard chain
(``AWS_ENDPOINT_URL``, ``AWS_*`` variables, ``~/.aws``), as users expect.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit, urlunsplit

from storage.base import StoredObject
from warcwire.exceptions import StorageError, VerificationError

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB  # S3 rejects smaller parts, except the last one
HASH_CHUNK = MiB


def make_client(*, connect_timeout: float = 5, read_timeout: float = 60,
                max_attempts: int = 5) -> Any:
    """An S3 client from the default chain, with bounded retries and timeouts.

    Checksums are only sent/validated "when required": we send Content-MD5
    ourselves, and several S3-compatible servers reject the newer CRC headers.
    """
    import boto3
    from botocore.config import Config

    config = Config(
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    return boto3.session.Session().client("s3", config=config)


@dataclass(frozen=True)
class _Digests:
    size: int
    md5: str
    sha256: str


def _digests(path: Path) -> _Digests:
    md5, sha256, size = hashlib.md5(), hashlib.sha256(), 0
    with path.open("rb") as fh:
        while chunk := fh.read(HASH_CHUNK):
            md5.update(chunk)
            sha256.update(chunk)
            size += len(chunk)
    return _Digests(size, md5.hexdigest(), sha256.hexdigest())


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode("ascii")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def strip_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def multipart_etag(part_md5s: list[bytes]) -> str:
    """The ETag S3 gives a multipart object: md5 of the part md5s, then ``-N``."""
    return f"{hashlib.md5(b''.join(part_md5s)).hexdigest()}-{len(part_md5s)}"


class S3Store:
    """Objects live in ``bucket`` under ``prefix``; keys are relative to the prefix."""

    def __init__(self, bucket: str, prefix: str = "", *, client: Any = None,
                 multipart_threshold: int = 64 * MiB, part_size: int = 16 * MiB) -> None:
        if not bucket or "/" in bucket:
            raise StorageError(f"Invalid S3 bucket name '{bucket}'; write s3://bucket/prefix")
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {MIN_PART_SIZE} bytes (S3 minimum)")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        self.multipart_threshold = multipart_threshold
        self.part_size = part_size
        self._client = client if client is not None else make_client()

    @classmethod
    def from_uri(cls, uri: str) -> S3Store:
        """Build from ``s3://bucket/optional/prefix``."""
        parts = urlsplit(uri)
        if parts.scheme.lower() != "s3" or not parts.netloc:
            raise StorageError(f"Invalid S3 URI '{uri}'; write s3://bucket/prefix")
        return cls(parts.netloc, parts.path)

    @property
    def endpoint(self) -> str:
        """The endpoint for messages, without any user:password@ it may carry."""
        return strip_userinfo(str(self._client.meta.endpoint_url))

    def _key(self, key: str) -> str:
        if not key or key.startswith("/"):
            raise StorageError(f"Invalid storage key '{key}': keys are non-empty relative paths")
        return f"{self.prefix}/{key}" if self.prefix else key

    def location(self, key: str) -> str:
        """``s3://bucket/prefix/key``."""
        return f"s3://{self.bucket}/{self._key(key)}"

    @contextmanager
    def _errors(self, action: str, key: str | None = None) -> Iterator[None]:
        """Turn botocore failures into one-line StorageErrors naming endpoint and target."""
        from botocore.exceptions import (
            BotoCoreError,
            ClientError,
            HTTPClientError,
            NoCredentialsError,
        )
        from botocore.exceptions import (
            ConnectionError as BotoConnectionError,
        )

        target = self.location(key) if key is not None else self.uri
        try:
            yield
        except ClientError as exc:
            raise StorageError(self._client_error_message(exc, action, target)) from exc
        except NoCredentialsError as exc:
            raise StorageError(
                f"No S3 credentials for {action} {target}: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or a profile in ~/.aws/credentials)"
            ) from exc
        except (BotoConnectionError, HTTPClientError) as exc:
            raise StorageError(
                f"Cannot reach S3 endpoint {self.endpoint} while {action} {target}: "
                f"{_one_line(exc)}"
            ) from exc
        except BotoCoreError as exc:
            raise StorageError(
                f"S3 request to {self.endpoint} failed while {action} {target}: "
                f"{_one_line(exc)}"
            ) from exc

    def _client_error_message(self, exc: Any, action: str, target: str) -> str:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        detail = error.get("Message") or exc.response.get("ResponseMetadata", {}).get(
            "HTTPStatusCode", "")
        if code == "NoSuchBucket":
            return (
                f"S3 bucket '{self.bucket}' does not exist at {self.endpoint}; create it "
                f"first, e.g. aws s3 mb s3://{self.bucket} --endpoint-url {self.endpoint}"
            )
        if code in {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403"}:
            return (
                f"S3 endpoint {self.endpoint} refused {action} {target}: {code} ({detail}); "
                "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket policy"
            )
        return f"S3 endpoint {self.endpoint} failed {action} {target}: {code} ({detail})"

    def put(self, local_path: Path, key: str) -> StoredObject:
        """Upload (single or multipart, each with Content-MD5), then verify with HEAD."""
        source = Path(local_path)
        full_key = self._key(key)
        try:
            digests = _digests(source)
        except OSError as exc:
            raise StorageError(f"Cannot read {source} to upload it: {exc}") from exc
        metadata = {"sha256": digests.sha256}
        with self._errors("uploading", key):
            if digests.size < self.multipart_threshold:
                with source.open("rb") as fh:
                    self._client.put_object(
                        Bucket=self.bucket, Key=full_key, Body=fh, ContentLength=digests.size,
                        ContentMD5=_b64(bytes.fromhex(digests.md5)), Metadata=metadata,
                    )
                expected_etag = digests.md5
            else:
                expected_etag = self._put_multipart(source, full_key, metadata)
        self._verify(key, digests.size, expected_etag)
        logger.debug("Stored %s as %s (%d bytes)", source, self.location(key), digests.size)
        return StoredObject(key=key, size=digests.size, md5=digests.md5,
                            location=self.location(key))

    def _put_multipart(self, source: Path, full_key: str, metadata: dict[str, str]) -> str:
        """Our own part loop, so every part carries Content-MD5; abort on any failure."""
        self._abort_stale(full_key)
        upload_id = self._client.create_multipart_upload(
            Bucket=self.bucket, Key=full_key, Metadata=metadata)["UploadId"]
        part_md5s: list[bytes] = []
        parts: list[dict[str, Any]] = []
        try:
            with source.open("rb") as fh:
                while data := fh.read(self.part_size):
                    md5 = hashlib.md5(data).digest()
                    number = len(parts) + 1
                    response = self._client.upload_part(
                        Bucket=self.bucket, Key=full_key, UploadId=upload_id,
                        PartNumber=number, Body=data, ContentMD5=_b64(md5),
                    )
                    part_md5s.append(md5)
                    parts.append({"PartNumber": number, "ETag": response["ETag"]})
            self._client.complete_multipart_upload(
                Bucket=self.bucket, Key=full_key, UploadId=upload_id,
                MultipartUpload={"Parts": parts},
            )
        except BaseException:
            self._abort(full_key, upload_id)
            raise
        return multipart_etag(part_md5s)

    def _abort_stale(self, full_key: str) -> None:
        """Abort unfinished multipart uploads of exactly this key.

        A failed upload is aborted at once, but when the endpoint died mid-upload
        the abort cannot reach it, and the parts already sent would stay (and be
        billed) forever. The spool uploads one key at a time, so any unfinished
        upload of the key we are about to write is a leftover of a failed attempt.
        """
        from botocore.exceptions import ClientError

        stale: list[str] = []
        try:
            paginator = self._client.get_paginator("list_multipart_uploads")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=full_key):
                stale.extend(u["UploadId"] for u in page.get("Uploads", [])
                             if u.get("Key") == full_key)
        except ClientError as exc:  # e.g. a server without this call: upload anyway
            logger.warning("Could not list unfinished uploads of s3://%s/%s: %s",
                           self.bucket, full_key, _one_line(exc))
            return
        for upload_id in stale:
            logger.info("Aborting a leftover multipart upload %s of s3://%s/%s",
                        upload_id, self.bucket, full_key)
            self._abort(full_key, upload_id)

    def _abort(self, full_key: str, upload_id: str) -> None:
        try:
            self._client.abort_multipart_upload(
                Bucket=self.bucket, Key=full_key, UploadId=upload_id)
        except Exception:  # the original failure matters more; this one is only logged
            logger.warning("Could not abort multipart upload %s of s3://%s/%s",
                           upload_id, self.bucket, full_key, exc_info=True)

    def _verify(self, key: str, size: int, expected_etag: str) -> None:
        with self._errors("verifying", key):
            head = self._client.head_object(Bucket=self.bucket, Key=self._key(key))
        got_size = head.get("ContentLength")
        got_etag = str(head.get("ETag", "")).strip('"')
        if got_size != size:
            raise VerificationError(self.location(key), f"size {got_size}, expected {size}")
        if got_etag != expected_etag:
            raise VerificationError(
                self.location(key), f"ETag {got_etag}, expected {expected_etag}")

    def open(self, key: str) -> BinaryIO:
        """Stream the object; read errors surface as StorageError too."""
        with self._errors("opening", key):
            response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
        return io.BufferedReader(_Body(response["Body"], self, key), buffer_size=HASH_CHUNK)

    def open_range(self, key: str, offset: int, length: int) -> bytes:
        """One ranged GET for exactly ``[offset, offset + length)``."""
        if offset < 0 or length < 0:
            raise ValueError(f"offset and length must be >= 0, got {offset}, {length}")
        if length == 0:
            return b""
        with self._errors("reading a range of", key):
            response = self._client.get_object(
                Bucket=self.bucket, Key=self._key(key),
                Range=f"bytes={offset}-{offset + length - 1}")
            data = response["Body"].read()
        if len(data) != length:
            raise StorageError(
                f"Range {offset}+{length} is beyond the end of {self.location(key)} "
                f"(got {len(data)} bytes)"
            )
        return data

    def exists(self, key: str) -> bool:
        """HEAD the object; a 404 means no."""
        from botocore.exceptions import ClientError

        with self._errors("checking", key):
            try:
                self._client.head_object(Bucket=self.bucket, Key=self._key(key))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                    return False
                raise
        return True

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under ``prefix`` relative to the store prefix, sorted, all pages."""
        base = f"{self.prefix}/" if self.prefix else ""
        keys: list[str] = []
        with self._errors("listing", None):
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=base + prefix):
                keys.extend(obj["Key"][len(base):] for obj in page.get("Contents", []))
        return iter(sorted(keys))


class _Body(io.RawIOBase):
    """A raw stream over botocore's body whose errors are StorageErrors."""

    def __init__(self, body: Any, store: S3Store, key: str) -> None:
        self._body = body
        self._store = store
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with self._store._errors("reading", self._key):
            data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()
