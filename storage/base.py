"""The contract every storage backend keeps.

Backends only move finished files: WARCs and JSONL are written to the local
spool first (see :mod:`storage.spool`), so a backend never sees a half-written
file and an outage never loses data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable


@dataclass(frozen=True)
class StoredObject:
    """What a backend holds after a verified ``put``."""

    key: str
    size: int
    md5: str  # hex digest of the whole object, checked after upload
    location: str  # user-facing address: a path or s3://bucket/key


@runtime_checkable
class Store(Protocol):
    uri: str

    def put(self, local_path: Path, key: str) -> StoredObject:
        """Store a finished local file under ``key`` and verify size and checksum."""

    def open(self, key: str) -> BinaryIO:
        """Open a stored object for streaming reads."""

    def open_range(self, key: str, offset: int, length: int) -> bytes:
        """Read ``length`` bytes at ``offset`` without fetching the whole object."""

    def exists(self, key: str) -> bool:
        """Whether ``key`` is stored."""

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys under ``prefix``, in lexical order."""

    def location(self, key: str) -> str:
        """The user-facing address of ``key`` (path or URL)."""
