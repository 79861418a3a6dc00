"""What the review page reads: the catalog for finding captures, the store for their bytes.

Every capture is read with one ranged read of its WARC record, so a page
replays as fast from S3 as from a local folder.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from storage.base import Store
from storage.catalog import Capture, Catalog, SearchHit
from warcwire.exceptions import CaptureNotFound, RestoreError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Payload:
    """An archived HTTP response with its body decoded (no chunking, no Content-Encoding)."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k.lower() == name), None)

    @property
    def content_type(self) -> str:
        return (self.header("Content-Type") or "application/octet-stream").strip()

    @property
    def mime(self) -> str:
        return self.content_type.split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        for part in self.content_type.split(";")[1:]:
            key, _, value = part.partition("=")
            if key.strip().lower() == "charset" and value.strip():
                return value.strip().strip("\"'")
        return None


class ReviewArchive:
    """The catalog and the store behind one review server."""

    def __init__(self, catalog: Catalog, store: Store) -> None:
        self.catalog = catalog
        self.store = store

    def search(self, **filters: Any) -> list[SearchHit]:
        return self.catalog.search(**filters)

    def sites(self) -> list[str]:
        return self.catalog.sites()

    def capture(self, capture_id: int) -> Capture | None:
        return self.catalog.get(capture_id)

    def article(self, capture_id: int) -> dict[str, Any] | None:
        return self.catalog.article(capture_id)

    def captures(self, url: str) -> list[Capture]:
        return self.catalog.captures(url)

    def closest(self, url: str, at: str | None) -> Capture | None:
        try:
            return self.catalog.closest(url, at)
        except (CaptureNotFound, ValueError):
            return None

    def record_bytes(self, capture: Capture) -> bytes:
        """The WARC record exactly as stored: one gzip member, a WARC file of its own."""
        return self.store.open_range(capture.filename, capture.offset, capture.length)

    def payload(self, capture: Capture) -> Payload:
        data = self.record_bytes(capture)
        for record in ArchiveIterator(io.BytesIO(data)):
            if record.rec_type not in ("response", "resource"):
                continue
            if record.http_headers is None:
                return Payload(200, [("Content-Type", capture.mime or "")],
                               record.content_stream().read())
            status = int(record.http_headers.get_statuscode() or 200)
            headers = list(record.http_headers.headers)
            return Payload(status, headers, record.content_stream().read())
        raise RestoreError(f"The record at {capture.filename} offset {capture.offset} "
                           "is not an HTTP response")
