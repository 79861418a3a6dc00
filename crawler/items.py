"""What the spider hands downstream: one extracted article and where it is archived."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class ArticleItem:
    url: str
    fetched_at: str  # ISO 8601, UTC
    content: dict[str, Any]  # normalizer.record.content_fields of the page
    warc_location: dict[str, Any] | None  # {"key", "offset", "length"} of the response record
