"""Run history in the state database (SQLite and PostgreSQL), and `warcwire crawl` recording.

Every run is recorded, by hand too: a finished crawl, a crawl stopped by SIGTERM,
and (through a warning, never a failed crawl) a crawl whose database is down.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobs.child import write_summary
from jobs.crawl import RunSummary
from jobs.history import History, make_engine
from jobs.record import close_abandoned, outcome_of, split_stored
from tests._service import (
    finished_runs,
    history_of,
    many_slow_pages,
    quick_site,
    state_db_fixture,  # noqa: F401  (fixture)
    wait_for,
)
from tests.fixtures_site import run_cli, write_config
from tests.warc_assertions import warcio_check
from warcwire.cli import main


@pytest.fixture
def history(tmp_path: Path, state_db: str) -> History:
    h = History(make_engine(state_db or f"sqlite:///{tmp_path / 'state' / 'warcwire.db'}"))
    yield h
    h.close()


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_run_is_recorded_from_start_to_end(history: History) -> None:
    t0 = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)
    history.start("r1", "news", "schedule", started=t0, pid=123)
    (running,) = history.runs()
    assert (running.outcome, running.pid, running.started, running.ended) == (
        "running", 123, t0, None)
    history.finish("r1", "ok", ended=t0 + timedelta(seconds=6), pages=16, articles=11,
                   bytes=310_000, errors=1, duration=6.2, exit_status=0,
                   warcs=["s3://b/w.warc.gz"], jsonl=["s3://b/a.jsonl.gz"],
                   stats={"warcwire/pages": 16})
    run = history.get("r1")
    assert run is not None
    assert (run.outcome, run.pages, run.articles, run.bytes, run.errors) == (
        "ok", 16, 11, 310_000, 1)
    assert run.ended == t0 + timedelta(seconds=6) and run.duration == 6.2
    assert run.warcs == ["s3://b/w.warc.gz"] and run.jsonl == ["s3://b/a.jsonl.gz"]
    assert run.as_dict()["started"] == "2026-11-25T09:30:00+00:00"
    with pytest.raises(ValueError, match="unknown outcome"):
        history.finish("r1", "fine")
    with pytest.raises(ValueError, match="unknown trigger"):
        history.start("r2", "news", "cron")


def test_runs_newest_first_per_site_and_latest(history: History) -> None:
    t0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    for i, (site, outcome) in enumerate([("a", "ok"), ("b", "failed"), ("a", "timeout"),
                                         ("b", "ok"), ("a", "ok")]):
        history.start(f"r{i}", site, "manual", started=t0 + timedelta(minutes=i))
        history.finish(f"r{i}", outcome)
    assert [r.run_id for r in history.runs()] == ["r4", "r3", "r2", "r1", "r0"]
    assert [r.run_id for r in history.runs(site="a", last=2)] == ["r4", "r2"]
    latest = history.latest()
    assert {s: r.run_id for s, r in latest.items()} == {"a": "r4", "b": "r3"}


def test_abandoned_runs_are_closed_at_service_start(history: History, tmp_path: Path) -> None:
    summaries = tmp_path / "runs"
    summaries.mkdir()
    history.start("gone", "a", "schedule", pid=_dead_pid())
    history.start("finished-late", "a", "schedule", pid=_dead_pid())
    history.start("alive", "b", "cli", pid=os.getpid())
    summary = RunSummary(site="a", run_id="finished-late", storage="./archive",
                         spool_dir="spool", started=datetime.now(UTC), elapsed=3.0,
                         stats={"warcwire/pages": 4, "finish_reason": "finished"},
                         stored=["./archive/a/x.warc.gz", "./archive/a/x.articles.v2.jsonl.gz"])
    write_summary(summaries / "finished-late.json", summary)
    close_abandoned(history, summaries)
    gone, late, alive = (history.get(r) for r in ("gone", "finished-late", "alive"))
    assert gone.outcome == "failed" and "left no summary" in gone.message
    assert (late.outcome, late.pages, late.warcs) == ("ok", 4, ["./archive/a/x.warc.gz"])
    assert alive.outcome == "running"


def test_outcomes_from_summaries() -> None:
    base = dict(site="a", run_id="r", storage="s", spool_dir="p", started=datetime.now(UTC))
    ok = RunSummary(**base, stats={"warcwire/pages": 3, "finish_reason": "finished"})
    stopped = RunSummary(**base, stats={"warcwire/pages": 3, "finish_reason": "shutdown"})
    kept = RunSummary(**base, stats={"warcwire/pages": 3}, kept=[("f", "S3 down")])
    dead = RunSummary(**base, stats={"warcwire/errors/refused": 2})
    assert [outcome_of(s) for s in (ok, stopped, kept, dead)] == [
        "ok", "stopped", "storage_failed", "nothing_fetched"]
    assert outcome_of(stopped, "timeout") == "timeout"
    assert RunSummary.from_dict(ok.to_dict()) == ok
    assert split_stored(["s3://b/x-00000.warc.gz", "s3://b/x.articles.v2.jsonl.gz"]) == (
        ["s3://b/x-00000.warc.gz"], ["s3://b/x.articles.v2.jsonl.gz"])


def test_crawl_by_hand_is_recorded(news_site: str, tmp_path: Path, state_db: str) -> None:
    extra = {"database": state_db} if state_db else {}
    config = write_config(tmp_path, [quick_site(news_site)], storage=str(tmp_path / "archive"),
                          data_dir=str(tmp_path / "state"), **extra)
    result = run_cli("crawl", "quick", "--config", str(config))
    assert result.returncode == 0, result.stderr
    history = history_of(config)
    (run,) = history.runs()
    history.close()
    assert (run.site, run.trigger, run.outcome, run.exit_status) == ("quick", "cli", "ok", 0)
    assert run.pages == 2 and run.articles == 1 and run.bytes > 0
    assert [Path(p).is_file() for p in run.warcs + run.jsonl] == [True, True]
    assert run.run_id in result.stdout

    out = run_cli("runs", "--config", str(config), "-v")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["RUN", "SITE", "TRIGGER", "STARTED", "(UTC)", "TIME",
                                "OUTCOME", "PAGES", "ARTICLES", "BYTES", "ERRORS"]
    assert lines[1].split()[:3] == [run.run_id, "quick", "cli"]
    assert lines[1].split()[6:] == ["ok", "2", "1", lines[1].split()[9], "0"]
    assert f"  stored {run.warcs[0]}" in lines
    assert ("  articles: 1 new, 0 changed, 0 unchanged, 0 not modified (304), 0 skipped as "
            "known; 0 revisit records") in lines


def test_sigterm_to_crawl_by_hand_stores_and_records_it_stopped(
        news_site: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, [many_slow_pages(news_site)],
        storage=str(tmp_path / "archive"), data_dir=str(tmp_path / "state"))
    proc = subprocess.Popen([sys.executable, "-m", "warcwire.cli", "crawl", "slow",
                             "--config", str(config)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: list((tmp_path / "spool").rglob("*.warc.gz.open")), 30,
                 "the crawl to write its WARC")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 5, err  # EXIT_STOPPED
    assert "STOPPED early by a signal" in out
    history = history_of(config)
    (run,) = finished_runs(history, "slow")
    history.close()
    assert run.outcome == "stopped" and run.trigger == "cli"
    assert len(run.warcs) == 1
    warcio_check([Path(run.warcs[0])])
    assert not [p for p in (tmp_path / "spool").rglob("*") if p.is_file()]


def test_a_database_outage_never_costs_a_crawl(news_site: str, tmp_path: Path) -> None:
    down = "postgresql://postgres@127.0.0.1:1/warcwire"
    config = write_config(tmp_path, [quick_site(news_site)], storage=str(tmp_path / "archive"),
                          data_dir=str(tmp_path / "state"), database=down)
    result = run_cli("crawl", "quick", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("Warning: run not recorded in the run history: State "
                                    "database postgresql+psycopg://postgres@127.0.0.1:1/")
    assert len(list((tmp_path / "archive").rglob("*.warc.gz"))) == 1

    runs = run_cli("runs", "--config", str(config))
    assert runs.returncode == 1
    assert runs.stderr.startswith("Error: State database postgresql+psycopg://")
    assert runs.stderr.count("\n") == 1


def test_runs_names_an_unknown_site(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                    ) -> None:
    config = write_config(tmp_path, [{"name": "a", "start_urls": ["http://127.0.0.1:9/"]}],
                          storage=str(tmp_path / "archive"), data_dir=str(tmp_path / "state"))
    assert main(["runs", "--config", str(config)]) == 0
    assert capsys.readouterr().out == "No runs recorded.\n"
    assert main(["runs", "--config", str(config), "--site", "b"]) == 2
    assert capsys.readouterr().err == (
        f"Error: No site named 'b' in {config}. Configured sites: a\n")
