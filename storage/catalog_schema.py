"""The catalog's tables and the values it returns.

Split from :mod:`storage.catalog` so the schema (one place for both SQLite and
PostgreSQL) reads on its own; import these names from ``storage.catalog``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql

MARK_START = "\x02"
MARK_END = "\x03"

# bytewise ordering for SURT range scans on PostgreSQL, as SQLite's BINARY does
_Key = String().with_variant(String(collation="C"), "postgresql")


@dataclass(frozen=True)
class Capture:
    """One archived capture: where its WARC record is and what it was."""

    id: int
    surt: str
    url: str
    timestamp: str  # 14 digits, UTC
    status: int | None
    mime: str | None
    digest: str | None
    length: int
    offset: int
    filename: str  # storage key of the WARC, relative to the storage root
    site: str
    run_id: str

    @property
    def datetime(self) -> datetime:
        return datetime.strptime(self.timestamp, "%Y%m%d%H%M%S").replace(tzinfo=UTC)


@dataclass(frozen=True)
class SearchHit:
    """A capture found by :meth:`Catalog.search`, with its article title if any."""

    capture: Capture
    title: str | None
    snippet: str  # plain text; matched words between MARK_START and MARK_END
    published: str | None = None

    @property
    def snippet_text(self) -> str:
        return self.snippet.replace(MARK_START, "").replace(MARK_END, "")

    def snippet_html(self) -> str:
        escaped = html.escape(self.snippet)
        return escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def tables(metadata: MetaData, dialect: str) -> tuple[Table, Table]:
    captures = Table(
        "captures", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("surt", _Key, nullable=False),
        Column("url", Text, nullable=False),
        Column("timestamp", String(14), nullable=False),
        Column("status", Integer),
        Column("mime", String(255)),
        Column("digest", String(128)),
        Column("length", BigInteger, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("filename", _Key, nullable=False),
        Column("site", String(64), nullable=False),
        Column("run_id", String(64), nullable=False),
        UniqueConstraint("filename", "offset", name="uq_captures_record"),
        Index("ix_captures_surt_ts", "surt", "timestamp"),
        Index("ix_captures_site_ts", "site", "timestamp"),
        Index("ix_captures_ts", "timestamp"),
    )
    extra = []
    if dialect == "postgresql":
        extra.append(Column("tsv", postgresql.TSVECTOR, Computed(
            "to_tsvector('english', coalesce(title, '') || ' ' || coalesce(description, '')"
            " || ' ' || coalesce(text, ''))", persisted=True)))
    articles = Table(
        "articles", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("filename", _Key, nullable=False),  # WARC key of the response record
        Column("offset", BigInteger, nullable=False),
        Column("url", Text, nullable=False),
        Column("title", Text),
        Column("description", Text),
        Column("published", String(64)),
        Column("language", String(16)),
        Column("site", String(64), nullable=False),
        Column("run_id", String(64), nullable=False),
        Column("text", Text, nullable=False),
        Column("content_hash", String(80)),
        Column("record", Text, nullable=False),  # the whole JSONL record
        *extra,
        UniqueConstraint("filename", "offset", name="uq_articles_record"),
        Index("ix_articles_site", "site"),
    )
    if dialect == "postgresql":
        Index("ix_articles_tsv", articles.c.tsv, postgresql_using="gin")
    return captures, articles


SQLITE_FTS = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5("
    "title, description, text, content='articles', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER IF NOT EXISTS articles_fts_ai AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, description, text) "
    "VALUES (new.id, new.title, new.description, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS articles_fts_ad AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, description, text) "
    "VALUES ('delete', old.id, old.title, old.description, old.text); END",
]


def pad_timestamp(value: str, *, high: bool = False) -> str:
    """A 14-digit timestamp from a prefix such as "2026" or "202611251200"."""
    digits = "".join(ch for ch in str(value) if ch.isdigit())
    if not digits or len(digits) > 14:
        raise ValueError(f"expected a timestamp of up to 14 digits (YYYYMMDDhhmmss), got {value!r}")
    if high:
        return (digits + "99991231235959"[len(digits):])[:14]
    return (digits + "00000101000000"[len(digits):])[:14]


def ts_datetime(ts: str) -> datetime:
    return datetime.strptime(ts, "%Y%m%d%H%M%S")


def prefix_end(prefix: str) -> str:
    """The smallest string greater than every string starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
