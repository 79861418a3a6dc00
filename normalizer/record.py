"""The article record: the one interface between crawler and normalised output.

Every line of an ``*.articles.v2.jsonl.gz`` file is ``ArticleRecord.to_dict()``.
Text is normalised here, once, so that ``content_hash`` means the same thing
for a live crawl and for a re-run from WARCs: equal hashes, equal text.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, TypedDict

from normalizer.extract import Extracted, extract_article

SCHEMA = "warcwire.article/2"

# Invisible characters that only break matching and hashing. ZWJ/ZWNJ (U+200C,
# U+200D) are kept: they are spelling in Persian, Indic scripts and emoji.
_INVISIBLE = re.compile("[\u00ad\u180e\u200b\u2060\ufeff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")
# \s in a str pattern covers NBSP, U+2000-U+200A, U+202F, U+205F, U+3000 and friends
_SPACES = re.compile(r"\s+")


class Changes(TypedDict):
    """What changed since the previous version of the same article."""

    previous_hash: str  # content_hash of the previous version
    words_added: int  # words (as split by whitespace) in this text and not in the previous
    words_removed: int  # and the other way round (counted with multiplicity)


def word_changes(previous_text: str | None, text: str, previous_hash: str) -> Changes:
    """Words added and removed as multisets: cheap, order-blind, enough to rank edits."""
    old = Counter((previous_text or "").split())
    new = Counter(text.split())
    return Changes(previous_hash=previous_hash, words_added=sum((new - old).values()),
                   words_removed=sum((old - new).values()))


class WarcLocation(TypedDict):
    """Where the WARC response record behind an article lives."""

    key: str  # WARC file name or storage key
    offset: int  # byte offset of the (gzip member of the) record
    length: int  # bytes to read from offset to get the whole record


def normalize_text(text: str) -> str:
    """NFC, odd spaces to ' ', invisibles dropped, one paragraph per blank-line block."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n")
    text = text.replace("\u2029", "\n\n")
    text = _INVISIBLE.sub("", text)
    paragraphs = (_SPACES.sub(" ", p).strip() for p in _BLANK_LINE.split(text))
    return "\n\n".join(p for p in paragraphs if p)


def _short(value: str | None) -> str | None:
    """A one-line field (title, author, section part) normalised like the text."""
    if value is None:
        return None
    cleaned = _SPACES.sub(" ", _INVISIBLE.sub("", unicodedata.normalize("NFC", value))).strip()
    return cleaned or None


def content_hash(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ArticleRecord:
    """One extracted article (schema ``warcwire.article/2``).

    Fields:
        url: the URL fetched (after redirects).
        canonical_url: rel=canonical or og:url, absolute; null if the page has none.
        title: headline.
        authors: bylines, in page order; may be empty.
        published: publication time, ISO 8601 (date only when the page gives no time); or null.
        language: ISO 639-1 code, e.g. "en"; or null.
        section: breadcrumb parts, e.g. ["News", "Turkey"]; may be empty.
        text: paragraphs joined by "\\n\\n"; NFC, every Unicode space as " ", runs
            collapsed, zero-width characters removed, no empty paragraphs.
        word_count: whitespace-separated tokens in ``text``.
        content_hash: "sha256:<hex>" of ``text`` as UTF-8.
        fetched_at: when the response was received, ISO 8601 UTC.
        site: site name from the sites config.
        run_id: the crawl (or re-run) that produced the record.
        warc: {"key", "offset", "length"} of the WARC response record; null if not archived.
        extractor: "trafilatura/<version>" or "selectors" (per-site selectors gave the body).
        description: meta/og description; or null.
        captions: figure captions of the article; may be empty.
        version: 1 for the first text archived under this article's canonical URL (or URL),
            then 2, 3, ... each time the text changes; an unchanged text emits no record.
        changes: for version 2 on, ``Changes`` since the previous version; else null.
        schema: always ``SCHEMA``; bumped on incompatible change (2: records are emitted
            once per version, with ``version`` and ``changes``).
    """

    url: str
    canonical_url: str | None
    title: str | None
    authors: list[str]
    published: str | None
    language: str | None
    section: list[str]
    text: str
    word_count: int
    content_hash: str
    fetched_at: str
    site: str
    run_id: str
    warc: WarcLocation | None
    extractor: str
    description: str | None = None
    captions: list[str] = field(default_factory=list)
    version: int = 1
    changes: Changes | None = None
    schema: str = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        """A shallow dict: the fields are plain JSON values (asdict's deep copy cost more
        than the rest of writing a record)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArticleRecord:
        return cls(**data)


def _iso(value: str | datetime) -> str:
    if isinstance(value, str):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def content_fields(extracted: Extracted) -> dict[str, Any]:
    """The record's fields that come from the page alone, normalised.

    The costly part of building a record (Unicode normalisation, whitespace, the
    hash), so the crawler runs it in the extraction worker next to the extraction.
    """
    text = normalize_text(extracted.text)
    return dict(
        canonical_url=extracted.canonical_url,
        title=_short(extracted.title),
        authors=[a for a in map(_short, extracted.authors) if a],
        published=extracted.published,
        language=extracted.language,
        section=[s for s in map(_short, extracted.section) if s],
        text=text,
        word_count=len(text.split()),
        content_hash=content_hash(text),
        extractor=extracted.extractor,
        description=_short(extracted.description),
        captions=[c for c in map(_short, extracted.captions) if c],
    )


def extract_content(html: bytes | str, url: str, selectors: dict[str, str | None] | None = None,
                    encoding: str | None = None) -> dict[str, Any] | None:
    """:func:`~normalizer.extract.extract_article` then :func:`content_fields`; None if no article.

    Top-level and on plain values, so a process pool can run it.
    """
    extracted = extract_article(html, url, selectors, encoding)
    return None if extracted is None else content_fields(extracted)


def record_from_content(content: dict[str, Any], *, url: str, site: str, run_id: str,
                        fetched_at: str | datetime, warc_location: WarcLocation | None,
                        version: int = 1, changes: Changes | None = None) -> ArticleRecord:
    """The record for one page from its :func:`content_fields` and where it was archived."""
    return ArticleRecord(
        url=url,
        **content,
        fetched_at=_iso(fetched_at),
        site=site,
        run_id=run_id,
        warc=None if warc_location is None else WarcLocation(
            key=str(warc_location["key"]), offset=int(warc_location["offset"]),
            length=int(warc_location["length"])),
        version=version,
        changes=changes,
    )


def normalize(extracted: Extracted, *, url: str, site: str, run_id: str,
              fetched_at: str | datetime, warc_location: WarcLocation | None) -> ArticleRecord:
    """Build the record for one page: normalise text and one-line fields, hash, count."""
    return record_from_content(content_fields(extracted), url=url, site=site, run_id=run_id,
                               fetched_at=fetched_at, warc_location=warc_location)
