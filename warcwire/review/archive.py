"""What the review page reads: the catalog for finding captures, the store for their bytes.

Every capture is read with one ranged read of its WARC record, so a page
replays as fast from S3 as from a local folder. A revisit takes one more: its
own record holds only an HTTP head, the payload is read from the original it
refers to (found through the catalog, as ``warcwire restore`` finds it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from storage.base import Store
from storage.catalog import ArticleVersion, Capture, Catalog, SearchHit
from storage.restore import (
    Loaded,
    RevisitRef,
    as_warc,
    load,
    read_capture,
    response_parts,
    revisit_ref,
)
from warcwire.exceptions import CaptureNotFound, WarcwireError

logger = logging.getLogger(__name__)

_MAX_REFS = 20_000  # revisit references kept in memory; records never change


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


@dataclass(frozen=True)
class Revisit:
    """A revisit capture: which kind it is, and the capture holding its payload."""

    ref: RevisitRef
    original: Capture | None  # None when the original is not in the catalog

    @property
    def label(self) -> str:
        return self.ref.label


class ReviewArchive:
    """The catalog and the store behind one review server."""

    def __init__(self, catalog: Catalog, store: Store) -> None:
        self.catalog = catalog
        self.store = store
        self._refs: dict[tuple[str, int], RevisitRef | None] = {}

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

    def versions(self, url: str) -> list[Capture]:
        return self.catalog.versions(url)

    def article_versions(self, url: str) -> dict[int, ArticleVersion]:
        return self.catalog.article_versions(url)

    def closest(self, url: str, at: str | None) -> Capture | None:
        try:
            return self.catalog.closest(url, at)
        except (CaptureNotFound, ValueError):
            return None

    # -- revisits ---------------------------------------------------------

    def revisit(self, capture: Capture) -> Revisit | None:
        """What a revisit capture repeats (its small record is read once, then kept)."""
        if not capture.revisit:
            return None
        key = (capture.filename, capture.offset)
        if key not in self._refs:
            try:
                ref = revisit_ref(read_capture(self.store, capture))
            except (WarcwireError, OSError) as exc:
                logger.warning("review: cannot read revisit %s: %s", capture.url, exc)
                return None
            if len(self._refs) >= _MAX_REFS:
                self._refs.clear()
            self._refs[key] = ref
        ref = self._refs[key]
        if ref is None:
            return None
        digest = ref.digest or capture.digest
        original = self.catalog.original(ref.uri, ref.timestamp, digest) if digest else None
        return Revisit(ref, original)

    def revisits(self, captures: list[Capture]) -> dict[int, Revisit]:
        """The revisits among ``captures``, by capture id."""
        found = {c.id: self.revisit(c) for c in captures if c.revisit}
        return {cid: r for cid, r in found.items() if r is not None}

    def text_source(self, capture: Capture) -> Capture:
        """The capture whose article is this one's: a revisit's original, else itself."""
        revisit = self.revisit(capture)
        if revisit is not None and revisit.original is not None \
                and self.catalog.article(capture.id) is None:
            return revisit.original
        return capture

    # -- bytes ------------------------------------------------------------

    def load(self, capture: Capture) -> Loaded:
        """The capture's record and, for a revisit, its original's (RestoreError if missing)."""
        return load(self.store, self.catalog, capture)

    def warc_bytes(self, capture: Capture) -> bytes:
        """The record exactly as stored, a WARC file of its own; a revisit's original follows
        it, so the download replays on its own."""
        loaded = self.load(capture)
        return as_warc(loaded.data, loaded.original_data)

    def payload(self, capture: Capture) -> Payload:
        """The response: a revisit's own status and headers with its original's body."""
        loaded = self.load(capture)
        status, headers, body = response_parts(loaded.data, loaded.original_data)
        if status is None:
            return Payload(200, [("Content-Type", loaded.mime or "")], body)
        return Payload(status, headers, body)
