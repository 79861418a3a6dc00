"""One way to open the state database, shared by the catalog and the run history.

``postgresql://`` means psycopg 3; SQLite files get their folder created and
WAL mode, so readers (``warcwire runs``, the review page) never block a writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from warcwire.exceptions import WarcwireError


def parse_database_url(url: str, error: type[WarcwireError]) -> URL:
    """The URL with psycopg 3 as PostgreSQL's driver; ``error`` says what is wrong."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise error(f"Invalid database URL '{url}': {exc}") from None
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str, error: type[WarcwireError]) -> Engine:
    """An engine for ``url``; bad URLs and missing drivers raise ``error`` in one line."""
    parsed = parse_database_url(url, error)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if backend == "sqlite":
        if parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    try:
        engine = create_engine(parsed, **kwargs)
    except (ArgumentError, ImportError) as exc:
        raise error(f"Cannot use database '{url}': {exc}") from None
    if backend == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


@contextmanager
def one_line_errors(engine: Engine, error: type[WarcwireError], what: str, action: str
                    ) -> Iterator[None]:
    """Turn a database failure into ``error``: one line naming the database (no password)
    and what was being done, e.g. "State database sqlite:///x.db failed while reading it"."""
    try:
        yield
    except SQLAlchemyError as exc:
        where = engine.url.render_as_string(hide_password=True)
        detail = " ".join(str(getattr(exc, "orig", None) or exc).split())
        raise error(f"{what} {where} failed while {action} it: {detail}") from exc
