"""Catalog search: filters, full text (SQLite FTS5 or PostgreSQL tsvector) and snippets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, column, exists, func, literal_column, or_, select, table

from storage.catalog_schema import (
    MARK_END,
    MARK_START,
    REVISIT_MIME,
    VERSION_COLUMNS,
    ArticleVersion,
    SearchHit,
    pad_timestamp,
)

if TYPE_CHECKING:
    from storage.catalog import Catalog

_SNIPPET_CHARS = 240


def search(cat: Catalog, *, url: str | None = None, site: str | None = None,
       since: str | None = None, until: str | None = None, text: str | None = None,
       mime: str | None = None, limit: int = 50, offset: int = 0) -> list[SearchHit]:
    """What :meth:`Catalog.search` returns."""
    c, a = cat.t_captures.c, cat.t_articles.c
    join = cat.t_captures.outerjoin(
        cat.t_articles, and_(a.filename == c.filename, a.offset == c.offset))
    conditions: list[Any] = []
    if url:
        conditions.append(cat._url_filter(url, "prefix"))
    if site:
        conditions.append(c.site == site)
    if since:
        conditions.append(c.timestamp >= pad_timestamp(since))
    if until:
        conditions.append(c.timestamp <= pad_timestamp(until, high=True))
    if mime:
        conditions.append(_mime_filter(cat, mime))
    columns: list[Any] = [cat.t_captures, a.title, a.published, a.description, a.text,
                          *(a[name] for name in VERSION_COLUMNS)]
    order: list[Any] = [c.timestamp.desc(), c.id.desc()]
    query = (text or "").strip()
    if query and cat.dialect == "sqlite":
        fts = table("articles_fts", column("rowid"), column("rank"))
        name: Any = literal_column("articles_fts")
        stmt = select(*columns, func.snippet(name, -1, MARK_START, MARK_END, "…", 24)
                      .label("snip")).select_from(join.join(fts, fts.c.rowid == a.id))
        conditions.append(name.op("MATCH")(_fts5_query(query)))
        order = [fts.c.rank, *order]
    elif query:
        config: Any = literal_column("'english'::regconfig")
        tsq = func.websearch_to_tsquery(config, query)
        headline = func.ts_headline(
            config, a.text, tsq,
            f"StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=30, MinWords=12, "
            "MaxFragments=2, FragmentDelimiter=\" … \"")
        stmt = select(*columns, headline.label("snip")).select_from(join)
        conditions.append(a.tsv.op("@@")(tsq))
        order = [func.ts_rank(a.tsv, tsq).desc(), *order]
    else:
        stmt = select(*columns, literal_column("NULL").label("snip")).select_from(join)
    stmt = stmt.where(*conditions).order_by(*order).limit(max(0, limit)).offset(
        max(0, offset))
    hits = []
    for row in cat._query(stmt):
        m = row._mapping
        snippet = " ".join((m["snip"] or _lead(m["description"] or m["text"] or "")).split())
        article = None if m["text"] is None else ArticleVersion(
            *(m[name] for name in VERSION_COLUMNS))
        hits.append(SearchHit(cat._capture(row), m["title"], snippet, m["published"],
                              article))
    return hits

def _mime_filter(cat: Catalog, mime: str) -> Any:
    """Captures of ``mime`` (a prefix), revisits of such captures included."""
    c = cat.t_captures.c
    orig = cat.t_captures.alias("orig")
    return or_(c.mime.startswith(mime, autoescape=True), and_(
        c.mime == REVISIT_MIME, exists().where(
            orig.c.surt == c.surt, orig.c.digest == c.digest,
            orig.c.mime.startswith(mime, autoescape=True))))


def _lead(value: str) -> str:
    value = " ".join(value.split())
    return value if len(value) <= _SNIPPET_CHARS else value[:_SNIPPET_CHARS].rsplit(" ", 1)[0] + "…"


def _fts5_query(query: str) -> str:
    """Words as FTS5 strings (all must match), so user input is never FTS5 syntax."""
    words = [w for w in query.replace('"', " ").split() if w]
    return " ".join(f'"{w}"' for w in words) or '""'
