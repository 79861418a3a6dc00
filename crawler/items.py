"""What the spider hands downstream: one extracted article and where it is archived."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from storage.crawl_state import UrlState


@dataclass
class ArticleItem:
    url: str
    fetched_at: str  # ISO 8601, UTC
    content: dict[str, Any]  # normalizer.record.content_fields of the page
    warc_location: dict[str, Any] | None  # {"key", "offset", "length"} of the response record
    key: str = ""  # what versions count for: the canonical URL, else the URL
    known: bool = False  # the URL was fetched in an earlier run
    # The page's crawl state after this fetch: recorded once the article's fate is
    # (durably) decided, so a crash never leaves a fetched page without its record.
    fetched: UrlState | None = None
