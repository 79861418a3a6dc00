"""A store on the local filesystem (or any mounted volume).

Writes go to a temporary name in the destination directory and are renamed
into place only after an fsync, so a crash never leaves a half-written file
under its final name; the copy is then read back and checked.
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import unquote, urlsplit

from storage.base import StoredObject
from storage.durable import fsync_dir
from warcwire.exceptions import StorageError, VerificationError

logger = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
TEMP_SUFFIX = ".tmp"


def is_temp_name(name: str) -> bool:
    """Hidden files and ``*.tmp`` are in-flight copies, never stored objects."""
    return name.startswith(".") or name.endswith(TEMP_SUFFIX)


def file_digest(path: Path) -> tuple[int, str]:
    """Size and md5 hex of ``path``, read in chunks so large WARCs stay cheap."""
    md5 = hashlib.md5()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_SIZE):
            md5.update(chunk)
            size += len(chunk)
    return size, md5.hexdigest()


class LocalStore:
    """Objects are files under ``root``; keys are posix paths relative to it."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().absolute()
        self.uri = self.root.as_uri()

    @classmethod
    def from_uri(cls, uri: str) -> LocalStore:
        """Accept a plain path (``./archive``, ``/abs``) or ``file:///abs/path``."""
        if "://" not in uri:
            return cls(Path(uri))
        parts = urlsplit(uri)
        if parts.scheme.lower() != "file":
            raise StorageError(f"Not a local storage URI: '{uri}'")
        if parts.netloc not in ("", "localhost"):
            raise StorageError(
                f"Cannot use remote host '{parts.netloc}' in '{uri}'; "
                "write file:///absolute/path or a plain path"
            )
        if not parts.path:
            raise StorageError(f"No path in '{uri}'; write file:///absolute/path")
        return cls(Path(unquote(parts.path)))

    def _path(self, key: str) -> Path:
        """Map ``key`` under root, refusing keys that would land outside it."""
        pure = PurePosixPath(key)
        if not key or pure.is_absolute() or "\\" in key or ".." in pure.parts:
            raise StorageError(
                f"Invalid storage key '{key}': keys are relative paths without '..' "
                f"and must stay inside {self.root}"
            )
        return self.root.joinpath(*pure.parts)

    def put(self, local_path: Path, key: str) -> StoredObject:
        """Place the file via temp name + rename, then verify size and md5.

        On the same filesystem the spool file is hard-linked (its bytes were
        fsynced when it was closed), so a 1 GB WARC is not copied again;
        across filesystems it is copied, fsynced and read back.
        """
        dest = self._path(key)
        source = Path(local_path)
        tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}"
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            linked = self._link(source, tmp)
            size, md5 = file_digest(tmp) if linked else self._copy(source, tmp)
            os.replace(tmp, dest)
            fsync_dir(dest.parent)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"Cannot store {source} as {dest}: {exc}") from exc
        try:
            if linked and os.path.samefile(source, dest):
                got_size, got_md5 = dest.stat().st_size, md5
            else:
                got_size, got_md5 = file_digest(dest)
        except OSError as exc:
            raise VerificationError(str(dest), f"cannot read it back ({exc})") from exc
        if (got_size, got_md5) != (size, md5):
            dest.unlink(missing_ok=True)
            raise VerificationError(
                str(dest), f"expected {size} bytes md5 {md5}, found {got_size} bytes md5 {got_md5}"
            )
        logger.debug("Stored %s as %s (%d bytes, %s)", source, dest, size,
                     "linked" if linked else "copied")
        return StoredObject(key=key, size=size, md5=md5, location=str(dest))

    @staticmethod
    def _link(source: Path, tmp: Path) -> bool:
        """Hard-link when both sides share a filesystem; False means copy instead."""
        try:
            os.link(source, tmp)
        except OSError:
            return False
        return True

    @staticmethod
    def _copy(source: Path, tmp: Path) -> tuple[int, str]:
        md5 = hashlib.md5()
        size = 0
        with source.open("rb") as src, tmp.open("xb") as dst:
            while chunk := src.read(CHUNK_SIZE):
                md5.update(chunk)
                size += len(chunk)
                dst.write(chunk)
            dst.flush()
            os.fsync(dst.fileno())
        return size, md5.hexdigest()

    def open(self, key: str) -> BinaryIO:
        """Open the stored file for reading."""
        path = self._path(key)
        try:
            return path.open("rb")
        except FileNotFoundError as exc:
            raise StorageError(f"No stored object '{key}' in {self.root}") from exc
        except OSError as exc:
            raise StorageError(f"Cannot open {path}: {exc}") from exc

    def open_range(self, key: str, offset: int, length: int) -> bytes:
        """Seek and read exactly ``length`` bytes; a short object is an error."""
        if offset < 0 or length < 0:
            raise ValueError(f"offset and length must be >= 0, got {offset}, {length}")
        with self.open(key) as fh:
            fh.seek(offset)
            data = fh.read(length)
        if len(data) != length:
            raise StorageError(
                f"Range {offset}+{length} is beyond the end of {self.location(key)} "
                f"(got {len(data)} bytes)"
            )
        return data

    def exists(self, key: str) -> bool:
        """Whether a stored file exists under ``key``."""
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with ``prefix`` (a string prefix, as in S3), sorted."""
        # Walk only the deepest directory the prefix names, not the whole root.
        start_dir = prefix.rpartition("/")[0]
        start = self._path(start_dir) if start_dir else self.root
        keys: list[str] = []
        for dirpath, dirnames, filenames in os.walk(start):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            rel_dir = Path(dirpath).relative_to(self.root).as_posix()
            for name in filenames:
                if is_temp_name(name):
                    continue
                key = name if rel_dir == "." else f"{rel_dir}/{name}"
                if key.startswith(prefix):
                    keys.append(key)
        return iter(sorted(keys))

    def location(self, key: str) -> str:
        """The absolute path of ``key``."""
        return str(self._path(key))
