"""Turning a crawl's :class:`RunSummary` into its run-history row.

Used by ``warcwire crawl`` (which records its own runs, trigger ``cli``) and by
the service (which records the runs of its crawl children). run_site itself
never writes history: it returns the summary and the caller records it.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from jobs.crawl import (
    EXIT_DISK_FULL,
    EXIT_NOTHING_FETCHED,
    EXIT_OK,
    EXIT_STORAGE,
    RunSummary,
    new_run_id,
)
from jobs.history import History
from storage.indexer import is_articles, is_warc
from warcwire.config import Config
from warcwire.exceptions import HistoryError

logger = logging.getLogger(__name__)

_BY_EXIT = {EXIT_OK: "ok", EXIT_STORAGE: "storage_failed",
            EXIT_NOTHING_FETCHED: "nothing_fetched", EXIT_DISK_FULL: "disk_full"}


def outcome_of(summary: RunSummary, stop_reason: str | None = None) -> str:
    """The history outcome of a crawl that returned a summary.

    ``stop_reason`` is why the caller sent SIGTERM, if it did: 'timeout' (time
    limit) or 'shutdown' (service stopping). A crawl that Scrapy shut down early
    for any other SIGTERM/SIGINT is 'stopped'.
    """
    if stop_reason == "timeout":
        return "timeout"
    if stop_reason == "shutdown" or summary.finish_reason == "shutdown":
        return "stopped"
    return _BY_EXIT.get(summary.exit_code, "failed")


def message_of(summary: RunSummary) -> str | None:
    """The one-line history message of a run that ended with a summary, if it needs one."""
    if summary.disk_full:
        return f"spool disk full ({summary.spool_dir}): {summary.disk_full}"
    return None


def split_stored(locations: list[str]) -> tuple[list[str], list[str]]:
    """(WARC locations, article JSONL locations) among the stored objects (indexes left out)."""
    warcs = [loc for loc in locations if is_warc(loc)]
    jsonl = [loc for loc in locations if is_articles(loc)]
    return warcs, jsonl


def summary_values(summary: RunSummary) -> dict[str, Any]:
    """The History.finish keyword arguments a summary provides."""
    warcs, jsonl = split_stored(summary.stored)
    return dict(pages=summary.pages, articles=summary.articles,
                bytes=summary.archived_bytes, errors=sum(summary.errors.values()),
                duration=summary.elapsed, warcs=warcs, jsonl=jsonl,
                kept=[list(k) for k in summary.kept], stats=summary.to_dict()["stats"])


def _warn(what: str, exc: Exception) -> None:
    # A broken history database must never cost a crawl: say so and go on.
    print(f"Warning: run not {what} in the run history: {exc}", file=sys.stderr)


def crawl_and_record(config: Config, site: str, *, trigger: str = "cli",
                     **run_kwargs: Any) -> RunSummary:
    """``run_site`` plus a history row, for crawls started outside the service."""
    from jobs.crawl import run_site

    run_id = run_kwargs.pop("run_id", None) or new_run_id()
    history: History | None = None
    try:
        history = History.from_url(config.database_url)
        history.start(run_id, site, trigger, pid=os.getpid())
    except HistoryError as exc:
        _warn("recorded", exc)
        history = None
    try:
        summary = run_site(config, site, run_id=run_id, **run_kwargs)
    except BaseException as exc:
        if history is not None:
            try:
                history.finish(run_id, "failed", message=f"{type(exc).__name__}: {exc}",
                               exit_status=1)
            except HistoryError as hexc:
                _warn("completed", hexc)
        raise
    if history is not None:
        try:
            history.finish(run_id, outcome_of(summary), exit_status=summary.exit_code,
                           message=message_of(summary), **summary_values(summary))
        except HistoryError as exc:
            _warn("completed", exc)
        finally:
            history.close()
    return summary


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def close_abandoned(history: History, summaries: Path) -> None:
    """Close rows left ``running`` by processes that are gone (a crash, a reboot).

    A crawl child that finished after its service died left its summary in
    ``summaries``; that is recorded as it would have been.
    """
    from jobs.child import read_summary

    try:
        rows = history.unfinished()
    except HistoryError as exc:
        logger.warning("%s", exc)
        return
    for row in rows:
        if row.pid and _alive(row.pid):
            continue
        summary = read_summary(summaries / f"{row.run_id}.json")
        if summary is not None:
            history.finish(row.run_id, outcome_of(summary), exit_status=summary.exit_code,
                           message="recorded after a service restart",
                           **summary_values(summary))
        else:
            history.finish(row.run_id, "failed", message=(
                "the process running this crawl is gone and left no summary "
                "(service or machine stopped)"))
        logger.warning("Closed abandoned run %s of %s", row.run_id, row.site)
