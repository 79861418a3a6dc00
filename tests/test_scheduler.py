"""``warcwire serve`` for real: a service process, crawl children, the local news site.

Schedules are compressed to seconds with 6-field cron (seconds first). Every
wait is a bounded poll for a condition.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

import yaml

from tests._service import (
    ServiceProcess,
    finished_runs,
    history_of,
    many_slow_pages,
    quick_site,
    service_config,
    services_fixture,  # noqa: F401  (fixture)
    slow_site,
    wait_for,
)
from tests.fixtures_site import run_cli
from tests.warc_assertions import warcio_check


def test_scheduled_crawls_run_and_are_recorded(news_site: str, tmp_path: Path,
                                               services: list[ServiceProcess]) -> None:
    config = service_config(tmp_path, [quick_site(news_site, schedule="*/2 * * * * *")],
                            stop_grace=1)
    svc = ServiceProcess(config)
    services.append(svc)
    history = history_of(config)
    runs = wait_for(lambda: len(finished_runs(history, "quick")) >= 2 and
                    finished_runs(history, "quick"), 40, "two scheduled runs")
    for run in runs:
        assert (run.trigger, run.outcome, run.exit_status) == ("schedule", "ok", 0), run
        assert run.bytes > 0 and run.errors == 0 and run.log_tail is None
        assert len(run.warcs) == 1 and Path(run.warcs[0]).is_file()
    # the first run archives both pages and the article; later ones find them unchanged
    # (304s, archived as revisits) and emit no article again
    first, later = runs[-1], runs[:-1]
    assert first.pages == 2 and len(first.jsonl) == 1
    assert all(run.pages == 0 and run.jsonl == [] for run in later), later
    warcio_check([Path(r.warcs[0]) for r in runs])

    status = svc.get("/status")[1]
    (site,) = status["sites"]
    assert site["site"] == "quick" and site["schedule"] == "*/2 * * * * *"
    assert site["next_run"] and site["last_run"]["site"] == "quick"
    assert status["service"]["pid"] == svc.proc.pid

    metrics = svc.get("/metrics")[1]
    assert 'warcwire_runs_total{outcome="ok",site="quick",trigger="schedule"}' in metrics
    assert 'warcwire_pages_total{site="quick"}' in metrics
    assert 'warcwire_run_duration_seconds_count{site="quick"}' in metrics
    assert "# TYPE warcwire_run_duration_seconds histogram" in metrics

    out = run_cli("status", "--config", str(config))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"warcwire 0.1.0 up at {svc.address} (pid {svc.proc.pid})")
    assert lines[1].split() == ["SITE", "SCHEDULE", "NEXT", "RUN", "RUNNING", "LAST", "RUN"]
    assert lines[2].startswith("quick  */2 * * * * *  ")

    out = run_cli("runs", "--config", str(config), "--site", "quick", "--last", "1")
    assert out.returncode == 0, out.stderr
    header, row = out.stdout.splitlines()
    assert header.split()[:4] == ["RUN", "SITE", "TRIGGER", "STARTED"]
    assert row.split()[1:3] == ["quick", "schedule"]

    assert svc.stop() == 0
    assert "Scheduler stopped" in svc.log()


def test_a_crawl_outlasting_its_interval_is_not_started_twice(
        news_site: str, tmp_path: Path, services: list[ServiceProcess]) -> None:
    # the crawl takes ~5 s (a 4-second page), the schedule fires every second
    config = service_config(tmp_path, [slow_site(news_site, schedule="* * * * * *")],
                            stop_grace=1)
    svc = ServiceProcess(config)
    services.append(svc)
    history = history_of(config)
    runs = wait_for(lambda: len(finished_runs(history, "slow")) >= 2 and
                    finished_runs(history, "slow"), 60, "two runs of the slow site")
    every = sorted(history.runs(site="slow", last=100), key=lambda r: r.started)
    for before, after in zip(every, every[1:], strict=False):
        assert before.ended is not None and after.started >= before.ended, (before, after)
    assert all(r.duration and r.duration > 4 for r in runs)
    skipped = svc.get("/metrics")[1]
    assert 'warcwire_runs_skipped_total{reason="running",site="slow"}' in skipped
    assert svc.stop() == 0


def test_trigger_starts_a_crawl_at_once_and_refuses_a_second(
        news_site: str, tmp_path: Path, services: list[ServiceProcess]) -> None:
    config = service_config(tmp_path, [slow_site(news_site)])  # no schedule: manual only
    svc = ServiceProcess(config)
    services.append(svc)
    history = history_of(config)

    out = run_cli("trigger", "slow", "--config", str(config))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"Crawl of slow started by the service at {svc.address}")
    run = wait_for(lambda: history.runs(site="slow"), 10, "the triggered run to start")[0]
    assert run.trigger == "manual"

    again = run_cli("trigger", "slow", "--config", str(config))
    assert again.returncode == 1
    assert again.stderr.startswith("Error: A crawl of 'slow' is already running (since ")
    assert again.stderr.count("\n") == 1

    unknown = run_cli("trigger", "nope", "--config", str(config))
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("Error: No site named 'nope'")

    done = wait_for(lambda: finished_runs(history, "slow"), 30, "the triggered run to end")
    assert done[0].run_id == run.run_id and done[0].outcome == "ok"
    assert len(history.runs(site="slow")) == 1
    assert svc.stop() == 0


def test_sigterm_mid_crawl_stores_valid_warcs_and_records_the_run(
        news_site: str, tmp_path: Path, services: list[ServiceProcess]) -> None:
    site = many_slow_pages(news_site)
    config = service_config(tmp_path, [site], stop_grace=7)
    svc = ServiceProcess(config)
    services.append(svc)
    history = history_of(config)
    assert svc.post("/trigger/slow")[0] == 202
    spool = tmp_path / "spool"
    wait_for(lambda: list(spool.rglob("*.warc.gz.open")), 20, "the crawl to write its WARC")

    assert svc.stop(signal.SIGTERM, timeout=40) == 0
    (run,) = history.runs(site="slow")
    assert run.outcome == "stopped", run
    assert run.message == "service shutting down; stopped with SIGTERM"
    assert run.exit_status == 5 and run.pages >= 2  # EXIT_STOPPED
    assert len(run.warcs) == 1 and Path(run.warcs[0]).is_file()
    warcio_check([Path(run.warcs[0])])
    assert not [p for p in spool.rglob("*") if p.is_file()], "files left in the spool"
    assert run.duration is not None and run.duration < 20  # stopped, not run to the end
    log = svc.log()
    assert "Waiting up to 7s for 1 running crawl(s) to finish" in log
    assert "Stopping crawl process" in log


def test_a_killed_child_is_recorded_failed_and_scheduling_goes_on(
        news_site: str, tmp_path: Path, services: list[ServiceProcess]) -> None:
    config = service_config(tmp_path, [slow_site(news_site, schedule="*/2 * * * * *")],
                            stop_grace=1)
    svc = ServiceProcess(config)
    services.append(svc)
    history = history_of(config)
    first = wait_for(lambda: [r for r in history.runs(site="slow")
                              if r.outcome == "running" and r.pid], 20, "a running crawl")[0]
    wait_for(lambda: list((tmp_path / "spool").rglob("*.warc.gz.open")), 20,
             "the crawl to be fetching")
    os.kill(first.pid, signal.SIGKILL)
    failed = wait_for(lambda: (r := history.get(first.run_id)) and r.outcome != "running" and r,
                      20, "the killed run to be recorded")
    assert failed.outcome == "failed" and failed.exit_status == -signal.SIGKILL
    assert failed.message == "crawl process ended without a summary (killed by signal SIGKILL)"
    assert failed.log_tail and "scrapy" in failed.log_tail.lower()
    wait_for(lambda: [r for r in history.runs(site="slow") if r.run_id != first.run_id],
             20, "the next scheduled run")
    assert svc.proc.poll() is None
    assert 'warcwire_runs_total{outcome="failed",site="slow",trigger="schedule"} 1' in (
        svc.get("/metrics")[1])
    assert svc.stop() == 0


def test_reload_refuses_a_broken_config_and_applies_a_good_one(
        news_site: str, tmp_path: Path, services: list[ServiceProcess]) -> None:
    config = service_config(tmp_path, [quick_site(news_site, "one", schedule="*/2 * * * * *")],
                            stop_grace=1)
    good = yaml.safe_load(config.read_text())
    svc = ServiceProcess(config)
    services.append(svc)
    history = history_of(config)
    wait_for(lambda: finished_runs(history, "one"), 30, "a first run of 'one'")

    broken = dict(good, sites=[dict(good["sites"][0], schedule="*/2 * * *")])
    config.write_text(yaml.safe_dump(broken))
    out = run_cli("reload", "--config", str(config))
    assert out.returncode == 2
    assert out.stderr == (
        f"Error: Config not reloaded, the current one stays in force: {svc.config.absolute()}: "
        "site 'one': field 'schedule': expected a cron expression of 5 fields (minute hour "
        "day month day-of-week, e.g. '0 * * * *') or 6 (seconds first), got '*/2 * * *'\n")
    assert "Config reload refused, keeping the current config" in svc.log()
    seen = len(finished_runs(history, "one"))
    wait_for(lambda: len(finished_runs(history, "one")) > seen, 30,
             "the old schedule to keep running")

    # a good config: 'one' removed, 'two' added; SIGHUP as systemd's reload sends it
    config.write_text(yaml.safe_dump(dict(good, sites=[
        quick_site(news_site, "two", schedule="*/2 * * * * *")])))
    svc.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: "Config reloaded: added two; removed one" in svc.log(), 10,
             "the reload to be logged")
    wait_for(lambda: finished_runs(history, "two"), 30, "a run of the new site")
    status = svc.get("/status")[1]
    assert [s["site"] for s in status["sites"]] == ["two"]
    assert svc.post("/trigger/one")[0] == 404
    assert svc.stop() == 0
