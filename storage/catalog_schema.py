"""The catalog's tables and the values it returns.

Split from :mod:`storage.catalog` so the schema (one place for both SQLite and
PostgreSQL) reads on its own; import these names from ``storage.catalog``.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    bindparam,
    inspect,
    select,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import SQLAlchemyError

MARK_START = "\x02"
MARK_END = "\x03"
# The CDXJ mime of a revisit record (as cdxj-indexer writes it); its payload is elsewhere.
REVISIT_MIME = "warc/revisit"

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

    @property
    def revisit(self) -> bool:
        """A revisit record: HTTP head only, the payload is in an earlier capture."""
        return self.mime == REVISIT_MIME


@dataclass(frozen=True)
class ArticleVersion:
    """Which version of its article a capture's text is, and how it changed."""

    version: int | None  # None for records from before article versions
    words_added: int | None = None
    words_removed: int | None = None

    @property
    def tag(self) -> str:
        """'v2', or '' when the record has no version."""
        return "" if self.version is None else f"v{self.version}"

    def label(self) -> str:
        """'v2 +12/-3', 'v1', or '' when the record has no version."""
        if self.version is None or self.words_added is None or self.words_removed is None:
            return self.tag
        return f"{self.tag} +{self.words_added}/-{self.words_removed}"


@dataclass(frozen=True)
class SearchHit:
    """A capture found by :meth:`Catalog.search`, with its article title if any."""

    capture: Capture
    title: str | None
    snippet: str  # plain text; matched words between MARK_START and MARK_END
    published: str | None = None
    article: ArticleVersion | None = None  # None when the capture has no article

    @property
    def snippet_text(self) -> str:
        return self.snippet.replace(MARK_START, "").replace(MARK_END, "")

    def snippet_html(self) -> str:
        escaped = html.escape(self.snippet)
        return escaped.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")


def indexed_table(metadata: MetaData) -> Table:
    """The stored files whose every record is in the catalog: what `sync` need not redo."""
    return Table(
        "indexed_files", metadata,
        Column("key", _Key, primary_key=True),  # storage key of a WARC or articles file
        Column("indexed", String(32), nullable=False),  # ISO 8601, UTC
    )


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
        # from the record's version and changes, for listings that do not parse it
        *(Column(name, Integer) for name in VERSION_COLUMNS),
        *extra,
        UniqueConstraint("filename", "offset", name="uq_articles_record"),
        Index("ix_articles_site", "site"),
    )
    if dialect == "postgresql":
        Index("ix_articles_tsv", articles.c.tsv, postgresql_using="gin")
    return captures, articles


VERSION_COLUMNS = ("version", "words_added", "words_removed")


def version_values(record: dict[str, Any]) -> dict[str, int | None]:
    """The VERSION_COLUMNS of an article record (schema 1 records have none)."""
    changes = record.get("changes") or {}
    values = (record.get("version"), changes.get("words_added"), changes.get("words_removed"))
    return {name: value if isinstance(value, int) else None
            for name, value in zip(VERSION_COLUMNS, values, strict=True)}


def add_missing_columns(conn: Connection, articles: Table) -> list[str]:
    """Bring a catalog made before article versions up to date; the columns added.

    ``create_all`` leaves existing tables alone, so the version columns are added
    here (on SQLite and PostgreSQL alike) and filled from the stored records.
    """
    present = {col["name"] for col in inspect(conn).get_columns("articles")}
    added = [name for name in VERSION_COLUMNS if name not in present]
    if_missing = "IF NOT EXISTS " if conn.dialect.name == "postgresql" else ""
    for name in added:
        try:
            conn.exec_driver_sql(f"ALTER TABLE articles ADD COLUMN {if_missing}{name} INTEGER")
        except SQLAlchemyError:
            # SQLite: another process opening the catalog at this moment added it first
            if name not in {col["name"] for col in inspect(conn).get_columns("articles")}:
                raise
    if added:
        _fill_versions(conn, articles)
    return added


def _fill_versions(conn: Connection, articles: Table, batch: int = 1000) -> None:
    """Fill the version columns from the stored records, a batch of rows at a time."""
    a, last = articles.c, 0
    update = articles.update().where(a.id == bindparam("row_id")).values(
        {name: bindparam(name) for name in VERSION_COLUMNS})
    while rows := conn.execute(select(a.id, a.record).where(a.id > last)
                               .order_by(a.id).limit(batch)).all():
        last = rows[-1][0]
        values = [{"row_id": row_id, **version_values(json.loads(record))}
                  for row_id, record in rows]
        if values := [v for v in values if v["version"] is not None]:
            conn.execute(update, values)


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
