"""The capture catalog: every archived capture and extracted article, searchable.

SQLAlchemy Core on SQLite (default, under ``data_dir``) or PostgreSQL (by URL).
The WARCs stay the source of truth; ``warcwire reindex`` rebuilds all of this
from storage alone (see :mod:`storage.indexer`).

API (the review UI and the CLI use these; keep them stable)::

    cat = Catalog("sqlite:///.warcwire/warcwire.db")   # or postgresql+psycopg://...
    cat.add_captures(rows) -> int          # dicts as CdxjEntry.as_row() gives; new rows
    cat.add_articles(records) -> int       # normalizer JSONL dicts; new rows
    cat.captures(url, match="exact"|"prefix") -> list[Capture]   # oldest first
    cat.closest(url, at=None) -> Capture   # nearest to a 14-digit timestamp, latest if
                                           # None; raises CaptureNotFound
    cat.search(url=, site=, since=, until=, text=, mime=, limit=50, offset=0)
        -> list[SearchHit]                 # newest first, or best match first with text
    cat.get(capture_id) -> Capture | None
    cat.article(capture_id) -> dict | None # the JSONL record as stored
    cat.article_versions(url, match=) -> dict[capture id, ArticleVersion]
    cat.versions(url) -> list[Capture]     # article versions (else distinct payloads), oldest
                                           # first; never revisits
    cat.original(url, timestamp, digest) -> Capture | None  # what a revisit refers to
    cat.sites() -> list[str]
    cat.count() -> int
    cat.clear(site=None) -> None

URLs match as CDX servers match them: through their SURT key, so scheme,
``www.``, host case, default port and query-parameter order do not matter.
``prefix`` matches every URL whose key starts with the given URL's key (a URL
ending in ``/`` matches only below that path). Timestamps are 14-digit UTC
strings; ``since``/``until`` also take shorter prefixes ("2026", "20261125").

Inserts are idempotent: a capture is unique by (filename, offset), an article by
the (key, offset) of its WARC record, so indexing the same WARC twice adds
nothing. Articles join captures on that pair, in whichever order they arrive.

Full-text search covers article title, description and text: SQLite FTS5 with
the porter stemmer, or a stored tsvector ('english') with a GIN index on
PostgreSQL. Snippets mark matched words with ``MARK_START``/``MARK_END``;
:meth:`SearchHit.snippet_html` escapes the rest and turns marks into ``<mark>``.

A revisit capture (mime ``warc/revisit``) has no payload of its own: a search by
mime counts it as the mime of the capture it revisits, and it is never a version.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    Table,
    and_,
    func,
    or_,
    select,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from storage.catalog_schema import (
    MARK_END,
    MARK_START,
    REVISIT_MIME,
    SQLITE_FTS,
    VERSION_COLUMNS,
    ArticleVersion,
    Capture,
    SearchHit,
    add_missing_columns,
    indexed_table,
    pad_timestamp,
    prefix_end,
    tables,
    ts_datetime,
    version_values,
)
from storage.cdxj import surt_key
from storage.database import make_engine, parse_database_url
from warcwire.exceptions import CaptureNotFound, CatalogError

BATCH = 5000
# the catalog's values and search marks, importable from here as the API above says
__all__ = ["MARK_END", "MARK_START", "ArticleVersion", "Capture", "Catalog", "SearchHit",
           "pad_timestamp", "ts_datetime"]


class Catalog:
    """Captures and articles in a SQL database; see the module docstring for the API."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = url
        parsed = parse_database_url(url, CatalogError)
        self.dialect = parsed.get_backend_name()
        if self.dialect not in ("sqlite", "postgresql"):
            raise CatalogError(
                f"Unsupported catalog database '{self.dialect}' in '{url}'; "
                "use sqlite:///path.db or postgresql+psycopg://user@host/db")
        if engine is None:
            engine = make_engine(url, CatalogError)
        self.engine = engine
        self.metadata = MetaData()
        self.t_captures, self.t_articles = tables(self.metadata, self.dialect)
        self.t_indexed = indexed_table(self.metadata)
        with self._errors("creating the tables of"):
            self.metadata.create_all(self.engine)
            with self.engine.begin() as conn:
                add_missing_columns(conn, self.t_articles)
            if self.dialect == "sqlite":
                with self.engine.begin() as conn:
                    for ddl in SQLITE_FTS:
                        conn.exec_driver_sql(ddl)

    def __repr__(self) -> str:
        return f"Catalog({make_url(self.url).render_as_string(hide_password=True)!r})"

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            where = make_url(self.url).render_as_string(hide_password=True)
            detail = " ".join(str(getattr(exc, "orig", None) or exc).split())
            raise CatalogError(f"Catalog database {where} failed while {action} it: "
                               f"{detail}") from exc

    def close(self) -> None:
        self.engine.dispose()

    # -- writing ---------------------------------------------------------

    def _insert(self, table: Table) -> Any:
        dialect_insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        return dialect_insert(table).on_conflict_do_nothing(
            index_elements=["filename", "offset"])

    def _insert_batches(self, table: Table, rows: Iterable[dict[str, Any]]) -> int:
        added = 0
        batch: list[dict[str, Any]] = []
        with self._errors("writing to"), self.engine.begin() as conn:
            for row in rows:
                batch.append(row)
                if len(batch) >= BATCH:
                    added += self._run_batch(conn, table, batch)
                    batch = []
            if batch:
                added += self._run_batch(conn, table, batch)
        return added

    def _run_batch(self, conn: Connection, table: Table, batch: list[dict[str, Any]]) -> int:
        # RETURNING counts exactly the rows that were new, on both dialects
        result = conn.execute(self._insert(table).returning(table.c.id), batch)
        return len(result.all())

    def add_captures(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Add capture rows (``CdxjEntry.as_row()`` dicts); returns how many were new."""
        def prepare() -> Iterator[dict[str, Any]]:
            for row in rows:
                url = str(row["url"])
                yield {
                    "surt": row.get("surt") or surt_key(url), "url": url,
                    "timestamp": pad_timestamp(str(row["timestamp"])),
                    "status": None if row.get("status") in (None, "", "-") else
                    int(row["status"]),
                    "mime": row.get("mime"), "digest": row.get("digest"),
                    "length": int(row["length"]), "offset": int(row["offset"]),
                    "filename": str(row["filename"]), "site": str(row["site"]),
                    "run_id": str(row.get("run_id") or ""),
                }
        return self._insert_batches(self.t_captures, prepare())

    def add_articles(self, records: Iterable[Mapping[str, Any]]) -> int:
        """Add normalizer article records; how many were new (see :meth:`add_articles_of`)."""
        return self.add_articles_of(records)[0]

    def add_articles_of(self, records: Iterable[Mapping[str, Any]]) -> tuple[int, int]:
        """Add article records whose capture is catalogued: (new rows, records left waiting).

        An article row never exists without its capture: a record whose WARC is not
        indexed yet waits (index its JSONL again once the WARC is). Records without
        a WARC location are skipped.
        """
        def prepare() -> Iterator[dict[str, Any]]:
            for rec in records:
                warc = rec.get("warc")
                if not warc:
                    continue
                yield {
                    "filename": str(warc["key"]), "offset": int(warc["offset"]),
                    "url": str(rec["url"]), "title": rec.get("title"),
                    "description": rec.get("description"), "published": rec.get("published"),
                    "language": rec.get("language"), "site": str(rec.get("site") or ""),
                    "run_id": str(rec.get("run_id") or ""), "text": str(rec.get("text") or ""),
                    "content_hash": rec.get("content_hash"),
                    "record": json.dumps(dict(rec), ensure_ascii=False),
                    **version_values(dict(rec)),
                }
        added = waiting = 0
        batch: list[dict[str, Any]] = []
        c = self.t_captures.c
        with self._errors("writing to"), self.engine.begin() as conn:
            for row in [*prepare(), None]:
                if row is not None:
                    batch.append(row)
                    if len(batch) < BATCH:
                        continue
                if not batch:
                    break
                pairs = {(r["filename"], r["offset"]) for r in batch}
                known = {(f, o) for f, o in conn.execute(
                    select(c.filename, c.offset).where(tuple_(c.filename, c.offset).in_(pairs)))}
                ready = [r for r in batch if (r["filename"], r["offset"]) in known]
                waiting += len(batch) - len(ready)
                if ready:
                    added += self._run_batch(conn, self.t_articles, ready)
                batch = []
        return added, waiting

    def clear(self, site: str | None = None) -> None:
        """Forget every capture and article (of ``site`` only, if given)."""
        with self._errors("clearing"), self.engine.begin() as conn:
            for table in (self.t_articles, self.t_captures):
                stmt = table.delete()
                if site is not None:
                    stmt = stmt.where(table.c.site == site)
                conn.execute(stmt)
            ledger = self.t_indexed.delete()
            if site is not None:
                ledger = ledger.where(self.t_indexed.c.key.startswith(f"{site}/",
                                                                      autoescape=True))
            conn.execute(ledger)

    def mark_indexed(self, key: str) -> None:
        """Every record of the stored file ``key`` is in the catalog."""
        from datetime import UTC, datetime

        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        with self._errors("writing to"), self.engine.begin() as conn:
            conn.execute(insert(self.t_indexed).values(
                key=key, indexed=datetime.now(UTC).isoformat(timespec="seconds"))
                .on_conflict_do_nothing(index_elements=["key"]))

    def indexed_keys(self) -> set[str]:
        """Stored files known to be wholly in the catalog."""
        return {r[0] for r in self._query(select(self.t_indexed.c.key))}

    # -- reading ---------------------------------------------------------

    def _capture(self, row: Any) -> Capture:
        m = row._mapping
        return Capture(id=m["id"], surt=m["surt"], url=m["url"], timestamp=m["timestamp"],
                       status=m["status"], mime=m["mime"], digest=m["digest"],
                       length=m["length"], offset=m["offset"], filename=m["filename"],
                       site=m["site"], run_id=m["run_id"])

    def _query(self, stmt: Any) -> list[Any]:
        with self._errors("reading"), self.engine.connect() as conn:
            return list(conn.execute(stmt))

    def _url_filter(self, url: str, match: str) -> Any:
        c = self.t_captures.c
        key = surt_key(url)
        if match == "exact":
            return c.surt == key
        if match != "prefix":
            raise ValueError(f"match must be 'exact' or 'prefix', got {match!r}")
        if url.endswith("/") and not key.endswith("/"):
            key += "/"
        return and_(c.surt >= key, c.surt < prefix_end(key))

    def captures(self, url: str, *, match: Literal["exact", "prefix"] = "exact"
                 ) -> list[Capture]:
        """Captures of ``url`` (or below it, with ``match="prefix"``), oldest first."""
        c = self.t_captures.c
        stmt = select(self.t_captures).where(self._url_filter(url, match)).order_by(
            c.timestamp, c.surt, c.id)
        return [self._capture(r) for r in self._query(stmt)]

    def closest(self, url: str, at: str | None = None) -> Capture:
        """The capture of ``url`` nearest to ``at`` (the latest if ``at`` is None)."""
        c = self.t_captures.c
        where = self._url_filter(url, "exact")
        if at is None:
            rows = self._query(select(self.t_captures).where(where)
                               .order_by(c.timestamp.desc(), c.id.desc()).limit(1))
            if not rows:
                raise CaptureNotFound(url)
            return self._capture(rows[0])
        target = pad_timestamp(at)
        before = self._query(select(self.t_captures).where(where, c.timestamp <= target)
                             .order_by(c.timestamp.desc(), c.id.desc()).limit(1))
        after = self._query(select(self.t_captures).where(where, c.timestamp > target)
                            .order_by(c.timestamp, c.id).limit(1))
        found = [self._capture(r) for r in before + after]
        if not found:
            raise CaptureNotFound(url, at)
        want = ts_datetime(target)
        # on a tie the earlier capture wins: it is what was online at that moment
        return min(found, key=lambda cap: abs((ts_datetime(cap.timestamp) - want)
                                              .total_seconds()))

    def get(self, capture_id: int) -> Capture | None:
        rows = self._query(select(self.t_captures).where(self.t_captures.c.id == capture_id))
        return self._capture(rows[0]) if rows else None

    def article(self, capture_id: int) -> dict[str, Any] | None:
        """The article record extracted from capture ``capture_id``, if there is one."""
        c, a = self.t_captures.c, self.t_articles.c
        stmt = select(a.record).select_from(self.t_articles.join(
            self.t_captures, and_(a.filename == c.filename, a.offset == c.offset))
        ).where(c.id == capture_id)
        rows = self._query(stmt)
        return json.loads(rows[0][0]) if rows else None

    def article_versions(self, url: str, *, match: Literal["exact", "prefix"] = "exact"
                         ) -> dict[int, ArticleVersion]:
        """The article version of each capture of ``url`` that has an article, by capture id."""
        c, a = self.t_captures.c, self.t_articles.c
        stmt = select(c.id, *(a[name] for name in VERSION_COLUMNS)).select_from(
            self.t_captures.join(self.t_articles,
                                 and_(a.filename == c.filename, a.offset == c.offset))
        ).where(self._url_filter(url, match))
        return {row[0]: ArticleVersion(*row[1:]) for row in self._query(stmt)}

    def versions(self, url: str) -> list[Capture]:
        """The versions of ``url``, oldest first: its captures with an article (each a new
        text), or for a URL without articles the 2xx payloads that differ from the one
        before. Never a revisit: it repeats an earlier payload."""
        captures = [cap for cap in self.captures(url) if not cap.revisit]
        with_article = self.article_versions(url)
        if with_article:
            return [cap for cap in captures if cap.id in with_article]
        versions: list[Capture] = []
        for cap in captures:
            if cap.status is None or not 200 <= cap.status < 300:
                continue
            if versions and cap.digest is not None and cap.digest == versions[-1].digest:
                continue
            versions.append(cap)
        return versions

    def original(self, url: str, timestamp: str | None, digest: str) -> Capture | None:
        """The capture a revisit refers to: of ``url``, not a revisit, with payload
        ``digest``; the one at ``timestamp`` or else the closest to it (the latest if None).
        """
        c = self.t_captures.c
        stmt = select(self.t_captures).where(
            self._url_filter(url, "exact"), c.digest == digest,
            or_(c.mime.is_(None), c.mime != REVISIT_MIME)).order_by(c.timestamp, c.id)
        found = [self._capture(r) for r in self._query(stmt)]
        if not found or timestamp is None:
            return found[-1] if found else None
        at = pad_timestamp(timestamp)
        return min(found, key=lambda cap: (cap.timestamp != at, abs(
            (ts_datetime(cap.timestamp) - ts_datetime(at)).total_seconds())))

    def sites(self) -> list[str]:
        c = self.t_captures.c
        return [r[0] for r in self._query(select(c.site).distinct().order_by(c.site))]

    def count(self, site: str | None = None) -> int:
        stmt = select(func.count()).select_from(self.t_captures)
        if site is not None:
            stmt = stmt.where(self.t_captures.c.site == site)
        return int(self._query(stmt)[0][0])

    def search(self, *, url: str | None = None, site: str | None = None,
               since: str | None = None, until: str | None = None, text: str | None = None,
               mime: str | None = None, limit: int = 50, offset: int = 0) -> list[SearchHit]:
        """Captures matching every filter given; with ``text``, only those with an article.

        ``url`` matches by SURT prefix ("example.com/news/"), ``mime`` by prefix
        ("text/html"), ``since``/``until`` are inclusive timestamp prefixes.
        """
        from storage.catalog_search import search

        return search(self, url=url, site=site, since=since, until=until, text=text,
                      mime=mime, limit=limit, offset=offset)
