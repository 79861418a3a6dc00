"""Run history: one row per crawl, scheduled or by hand, in the state database.

SQLAlchemy Core on ``config.database_url`` (SQLite under data_dir by default,
PostgreSQL by URL), the same database the scheduler's job store uses. A row is
written when a run starts (outcome ``running``) and completed when it ends, so
a run whose process vanished is still visible and can be closed later.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.exc import SQLAlchemyError

import storage.database
from warcwire.exceptions import HistoryError

RUNNING = "running"
# ok / storage_failed / nothing_fetched / disk_full mirror the crawl's exit codes 0 / 3 / 4 / 6;
# stopped = shut down early by SIGTERM (files closed and stored), timeout = the same
# at the site's time limit, killed = SIGKILLed after not stopping within stop_grace,
# failed = crashed or exited without a summary.
OUTCOMES = ("ok", "storage_failed", "nothing_fetched", "disk_full", "stopped", "timeout",
            "killed", "failed")
TRIGGERS = ("schedule", "manual", "cli")

metadata = MetaData()
runs_table = Table(
    "warcwire_runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), nullable=False, unique=True),
    Column("site", String(64), nullable=False),
    Column("trigger", String(16), nullable=False),
    Column("started", DateTime(timezone=True), nullable=False),
    Column("ended", DateTime(timezone=True)),
    Column("outcome", String(16), nullable=False),
    Column("pages", Integer, nullable=False, default=0),
    Column("articles", Integer, nullable=False, default=0),
    Column("bytes", Integer, nullable=False, default=0),
    Column("errors", Integer, nullable=False, default=0),
    Column("duration", Float),
    Column("exit_status", Integer),
    Column("host", String(255), nullable=False, default=""),
    Column("pid", Integer),
    Column("message", Text),  # one line: why it failed, or what stopped it
    Column("log_tail", Text),  # last log lines of a run that did not end ok
    Column("warcs", JSON),  # stored WARC locations
    Column("jsonl", JSON),  # stored article JSONL locations
    Column("kept", JSON),  # [path, reason] of files left in the spool
    Column("stats", JSON),  # the crawl's Scrapy stats, for later questions
    Index("ix_warcwire_runs_site_started", "site", "started"),
)


def incremental_counts(stats: dict[str, Any]) -> dict[str, int]:
    """What the crawl state saved or found, from a run's stats: articles new, changed,
    unchanged, not modified (304), skipped as known, and revisit records written."""
    def get(key: str) -> int:
        return int(stats.get(f"warcwire/incremental/{key}", 0) or 0)

    return {"new": get("new"), "changed": get("changed"), "unchanged": get("unchanged"),
            "not_modified": get("not_modified"), "skipped_known": get("skipped_known"),
            "revisits": sum(int(v or 0) for k, v in stats.items()
                            if k.startswith("warc/revisits/"))}


def describe_incremental(counts: dict[str, int]) -> str:
    return (f"articles: {counts['new']} new, {counts['changed']} changed, "
            f"{counts['unchanged']} unchanged, {counts['not_modified']} not modified (304), "
            f"{counts['skipped_known']} skipped as known; {counts['revisits']} revisit records")


@dataclass
class Run:
    """One row of the history, as read back."""

    run_id: str
    site: str
    trigger: str
    started: datetime
    outcome: str
    ended: datetime | None = None
    pages: int = 0
    articles: int = 0
    bytes: int = 0
    errors: int = 0
    duration: float | None = None
    exit_status: int | None = None
    host: str = ""
    pid: int | None = None
    message: str | None = None
    log_tail: str | None = None
    warcs: list[str] = field(default_factory=list)
    jsonl: list[str] = field(default_factory=list)
    kept: list[list[str]] = field(default_factory=list)
    incremental: dict[str, int] = field(default_factory=dict)  # see incremental_counts

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        for key in ("started", "ended"):
            d[key] = d[key].isoformat() if d[key] else None
        return d


def _utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything here is UTC."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def make_engine(url: str) -> Engine:
    """An engine for the state database; postgresql:// means psycopg 3."""
    return storage.database.make_engine(url, HistoryError)


class History:
    """Read and write run rows; every database error becomes a one-line HistoryError."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.host = socket.gethostname()
        with self._errors("creating the tables of"):
            metadata.create_all(engine)

    @classmethod
    def from_url(cls, url: str) -> History:
        return cls(make_engine(url))

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except SQLAlchemyError as exc:
            where = self.engine.url.render_as_string(hide_password=True)
            detail = " ".join(str(getattr(exc, "orig", None) or exc).split())
            raise HistoryError(f"State database {where} failed while {action} it: "
                               f"{detail}") from exc

    # -- writing ---------------------------------------------------------

    def start(self, run_id: str, site: str, trigger: str, *, started: datetime | None = None,
              pid: int | None = None) -> None:
        """Record that a run began; it shows as ``running`` until :meth:`finish`."""
        if trigger not in TRIGGERS:
            raise ValueError(f"unknown trigger {trigger!r}")
        with self._errors("recording a run start in"), self.engine.begin() as conn:
            conn.execute(runs_table.insert().values(
                run_id=run_id, site=site, trigger=trigger,
                started=started or datetime.now(UTC), outcome=RUNNING,
                host=self.host, pid=pid))

    def set_pid(self, run_id: str, pid: int) -> None:
        with self._errors("recording a run's process in"), self.engine.begin() as conn:
            conn.execute(update(runs_table).where(runs_table.c.run_id == run_id).values(pid=pid))

    def finish(self, run_id: str, outcome: str, *, ended: datetime | None = None,
               pages: int = 0, articles: int = 0, bytes: int = 0, errors: int = 0,
               duration: float | None = None, exit_status: int | None = None,
               message: str | None = None, log_tail: str | None = None,
               warcs: list[str] | None = None, jsonl: list[str] | None = None,
               kept: list[list[str]] | None = None,
               stats: dict[str, Any] | None = None) -> None:
        """Complete a run's row with how it ended."""
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        values = dict(outcome=outcome, ended=ended or datetime.now(UTC), pages=pages,
                      articles=articles, bytes=bytes, errors=errors, duration=duration,
                      exit_status=exit_status, message=message, log_tail=log_tail,
                      warcs=warcs or [], jsonl=jsonl or [], kept=kept or [], stats=stats)
        with self._errors("recording a run in"), self.engine.begin() as conn:
            conn.execute(update(runs_table).where(runs_table.c.run_id == run_id)
                         .values(**values))

    # -- reading ---------------------------------------------------------

    def _row(self, row: Any) -> Run:
        m = row._mapping
        return Run(**{k: m[k] for k in Run.__dataclass_fields__ if k not in (
            "started", "ended", "warcs", "jsonl", "kept", "incremental")},
            started=_utc(m["started"]), ended=_utc(m["ended"]),  # type: ignore[arg-type]
            warcs=list(m["warcs"] or []), jsonl=list(m["jsonl"] or []),
            kept=list(m["kept"] or []), incremental=incremental_counts(m["stats"] or {}))

    def get(self, run_id: str) -> Run | None:
        with self._errors("reading"), self.engine.connect() as conn:
            row = conn.execute(select(runs_table).where(runs_table.c.run_id == run_id)).first()
        return self._row(row) if row else None

    def runs(self, site: str | None = None, last: int = 20) -> list[Run]:
        """The ``last`` runs, newest first, of one site or all."""
        stmt = select(runs_table).order_by(runs_table.c.started.desc(), runs_table.c.id.desc())
        if site:
            stmt = stmt.where(runs_table.c.site == site)
        with self._errors("reading"), self.engine.connect() as conn:
            return [self._row(r) for r in conn.execute(stmt.limit(last))]

    def latest(self) -> dict[str, Run]:
        """Each site's most recent run (running or finished)."""
        newest = (select(runs_table.c.site, func.max(runs_table.c.id).label("id"))
                  .group_by(runs_table.c.site).subquery())
        stmt = select(runs_table).join(newest, runs_table.c.id == newest.c.id)
        with self._errors("reading"), self.engine.connect() as conn:
            return {r.site: r for r in (self._row(row) for row in conn.execute(stmt))}

    def unfinished(self, host: str | None = None) -> list[Run]:
        """Rows still ``running``, on this host by default."""
        stmt = select(runs_table).where(runs_table.c.outcome == RUNNING,
                                        runs_table.c.host == (host or self.host))
        with self._errors("reading"), self.engine.connect() as conn:
            return [self._row(r) for r in conn.execute(stmt)]
