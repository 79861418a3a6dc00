"""Crawl state: what each site's URLs returned last time, and each article's last version.

Incremental archiving reads this before a crawl (which URLs are known, their
validators for conditional requests, the capture a revisit refers to) and
writes it as the crawl goes. It lives in the state database beside the run
history and the catalog (SQLite under ``data_dir``, or PostgreSQL by URL).

The state must never claim more than the archive holds: a row saying a URL was
fetched, or that an article version was emitted, is written only after the WARC
or JSONL record behind it is fsynced in the spool (``crawler/state_recorder.py``
orders that). A crawl killed at any moment therefore leaves, at worst, URLs
that are fetched again.

Rows are keyed by site and the SHA-1 of the URL, so keys stay short on every
database whatever the URL length. ``warcwire reindex`` rebuilds digests and
article versions from the archive if the state is lost (validators are not
rebuilt: the next run fetches unconditionally once and learns them again).
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite

from storage.database import make_engine, one_line_errors
from storage.warc.exchange import Original
from warcwire.exceptions import StateError

# What a URL is to the crawl: hubs are fetched every run, articles by policy.
KINDS = ("sitemap", "feed", "page", "article", "asset")
BATCH = 1000

metadata = MetaData()
urls_table = Table(
    "crawl_urls", metadata,
    Column("site", String(64), primary_key=True),
    Column("url_hash", String(40), primary_key=True),
    Column("url", Text, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("via", Text),  # the shallowest hub (sitemap, feed, page) that listed it
    Column("depth", Integer),  # link hops from the site's entry points (0: one of them)
    Column("first_seen", DateTime(timezone=True), nullable=False),
    Column("hint", DateTime(timezone=True)),  # newest date the site gave (lastmod, news, feed)
    Column("fetched_at", DateTime(timezone=True)),  # last fetch that was archived
    Column("status", Integer),  # its HTTP status (304 included)
    Column("etag", Text),
    Column("last_modified", Text),
    Column("digest", String(80)),  # payload digest of the content held (original)
    Column("orig_uri", Text),  # WARC-Target-URI of the response record holding it
    Column("orig_date", String(40)),  # its WARC-Date
    Column("orig_record_id", String(80)),
    Column("orig_status_line", Text),
    Column("orig_headers", JSON),  # [[name, value], ...] as received, for a 304 to update
    Column("warc_key", Text),  # the last record written for it (response or revisit)
    Column("warc_offset", BigInteger),
    Column("warc_length", BigInteger),
)
articles_table = Table(
    "crawl_articles", metadata,
    Column("site", String(64), primary_key=True),
    Column("key_hash", String(40), primary_key=True),
    Column("key", Text, nullable=False),  # canonical URL (or URL) the versions count for
    Column("version", Integer, nullable=False),
    Column("content_hash", String(80), nullable=False),
    Column("text_z", LargeBinary),  # zlib of the emitted text: what the next version diffs
    Column("updated", DateTime(timezone=True), nullable=False),
)


def url_hash(url: str) -> str:
    return hashlib.sha1(url.encode("utf-8", "surrogatepass")).hexdigest()


def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything here is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@dataclass
class UrlState:
    """One URL of one site: how it was found and what its last archived fetch returned."""

    url: str
    kind: str
    first_seen: datetime
    via: str | None = None
    depth: int | None = None
    hint: datetime | None = None
    fetched_at: datetime | None = None
    status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    digest: str | None = None
    orig_uri: str | None = None  # differs from url after a redirect
    orig_date: str | None = None
    orig_record_id: str | None = None
    orig_status_line: str | None = None
    orig_headers: list[list[str]] = field(default_factory=list)
    warc_key: str | None = None
    warc_offset: int | None = None
    warc_length: int | None = None

    @property
    def fetched(self) -> bool:
        return self.fetched_at is not None

    def original(self) -> Original | None:
        """The capture a re-fetch can be a revisit of; None if there is no 2xx one."""
        if not (self.digest and self.orig_date and self.orig_status_line):
            return None
        return Original(uri=self.orig_uri or self.url, date=self.orig_date, digest=self.digest,
                        record_id=self.orig_record_id, status_line=self.orig_status_line,
                        headers=tuple((str(n), str(v)) for n, v in self.orig_headers))

    def copy(self) -> UrlState:
        return replace(self, orig_headers=[list(h) for h in self.orig_headers])


_URL_FIELDS = [f.name for f in fields(UrlState)]
_DISCOVERY_FIELDS = ("kind", "via", "depth", "hint")
_FETCH_FIELDS = tuple(n for n in _URL_FIELDS if n not in (*_DISCOVERY_FIELDS, "url",
                                                           "first_seen"))


@dataclass(frozen=True)
class ArticleVersion:
    """The last emitted version of one article (by canonical URL)."""

    key: str
    version: int
    content_hash: str
    text: str | None = None  # loaded on demand: only a changed article needs it


class CrawlState:
    """The crawl state tables on ``database_url``; errors are one-line StateErrors."""

    def __init__(self, database_url: str, *, engine: Engine | None = None) -> None:
        self.engine = engine or make_engine(database_url, StateError)
        self.dialect = self.engine.dialect.name
        with self._errors("creating the tables of"):
            metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def _errors(self, action: str) -> AbstractContextManager[None]:
        return one_line_errors(self.engine, StateError, "State database", action)

    def _upsert(self, table: Table, keys: list[str],
                columns: Iterable[str] | None = None) -> Any:
        """Insert, or on a key conflict update ``columns`` (every non-key one by default)."""
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        stmt = insert(table)
        names = list(columns) if columns is not None else [
            c.name for c in table.columns if c.name not in keys]
        return stmt.on_conflict_do_update(
            index_elements=keys, set_={name: stmt.excluded[name] for name in names})

    # -- URLs --------------------------------------------------------------

    def load_urls(self, site: str) -> dict[str, UrlState]:
        """Every known URL of ``site``, by URL."""
        stmt = select(urls_table).where(urls_table.c.site == site)
        out: dict[str, UrlState] = {}
        with self._errors("reading"), self.engine.connect() as conn:
            for row in conn.execute(stmt):
                m = row._mapping
                values = {name: m[name] for name in _URL_FIELDS}
                for name in ("first_seen", "hint", "fetched_at"):
                    values[name] = _utc(values[name])
                values["orig_headers"] = list(values["orig_headers"] or [])
                state = UrlState(**values)
                out[state.url] = state
        return out

    def save(self, site: str, *, discovered: Iterable[UrlState] = (),
             fetched: Iterable[UrlState] = (), versions: Iterable[ArticleVersion] = (),
             now: datetime | None = None) -> None:
        """Record discoveries, fetches and article versions in one transaction.

        A discovery updates only how a URL was found (kind, via, hint), a fetch
        only what it returned, so neither undoes the other whatever the order.
        """
        found = [self._url_row(site, s) for s in discovered]
        got = [self._url_row(site, s) for s in fetched]
        now = now or datetime.now(UTC)
        kept = [{"site": site, "key_hash": url_hash(v.key), "key": v.key, "version": v.version,
                 "content_hash": v.content_hash, "updated": now,
                 "text_z": None if v.text is None else zlib.compress(v.text.encode("utf-8"), 6)}
                for v in versions]
        if not (found or got or kept):
            return
        keys = ["site", "url_hash"]
        with self._errors("writing to"), self.engine.begin() as conn:
            for rows, stmt in ((found, self._upsert(urls_table, keys, _DISCOVERY_FIELDS)),
                               (got, self._upsert(urls_table, keys, _FETCH_FIELDS)),
                               (kept, self._upsert(articles_table, ["site", "key_hash"]))):
                for start in range(0, len(rows), BATCH):
                    conn.execute(stmt, rows[start:start + BATCH])

    @staticmethod
    def _url_row(site: str, state: UrlState) -> dict[str, Any]:
        return {"site": site, "url_hash": url_hash(state.url),
                **{name: getattr(state, name) for name in _URL_FIELDS}}

    # -- articles ----------------------------------------------------------

    def load_versions(self, site: str) -> dict[str, ArticleVersion]:
        """The last version of every article of ``site``, by key, without texts."""
        a = articles_table.c
        stmt = select(a.key, a.version, a.content_hash).where(a.site == site)
        with self._errors("reading"), self.engine.connect() as conn:
            return {r.key: ArticleVersion(r.key, r.version, r.content_hash)
                    for r in conn.execute(stmt)}

    def version_text(self, site: str, key: str) -> str | None:
        """The text of the last emitted version of ``key``, if kept."""
        a = articles_table.c
        stmt = select(a.text_z).where(a.site == site, a.key_hash == url_hash(key))
        with self._errors("reading"), self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        if row is None or row.text_z is None:
            return None
        return zlib.decompress(row.text_z).decode("utf-8")

    def fill(self, site: str, *, urls: Iterable[UrlState] = (),
             versions: Iterable[ArticleVersion] = ()) -> None:
        """Add URLs the state lacks and article versions newer than its own (a rebuild)."""
        rows = [self._url_row(site, s) for s in urls]
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        kept = [{"site": site, "key_hash": url_hash(v.key), "key": v.key, "version": v.version,
                 "content_hash": v.content_hash, "updated": datetime.now(UTC),
                 "text_z": zlib.compress((v.text or "").encode("utf-8"), 6)} for v in versions]
        newer = insert(articles_table)
        newer = newer.on_conflict_do_update(
            index_elements=["site", "key_hash"],
            set_={c: newer.excluded[c] for c in ("key", "version", "content_hash", "text_z",
                                                   "updated")},
            where=articles_table.c.version < newer.excluded.version)
        with self._errors("filling"), self.engine.begin() as conn:
            for start in range(0, len(rows), BATCH):
                conn.execute(insert(urls_table).on_conflict_do_nothing(
                    index_elements=["site", "url_hash"]), rows[start:start + BATCH])
            for start in range(0, len(kept), BATCH):
                conn.execute(newer, kept[start:start + BATCH])

    def clear(self, site: str | None = None) -> None:
        """Forget the state (of ``site`` only, if given): the next crawl starts from nothing."""
        with self._errors("clearing"), self.engine.begin() as conn:
            for table in (urls_table, articles_table):
                stmt = table.delete()
                if site is not None:
                    stmt = stmt.where(table.c.site == site)
                conn.execute(stmt)
