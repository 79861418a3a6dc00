"""The job store is persistent: a restart keeps next-run times and coalesces missed runs.

Runs against SQLite (the default, under data_dir) and a fresh PostgreSQL database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from jobs.history import make_engine
from jobs.service import JOB_FUNC, JOBS_TABLE
from tests._service import (
    ServiceProcess,
    finished_runs,
    history_of,
    quick_site,
    service_config,
    services_fixture,  # noqa: F401  (fixture)
    state_db_fixture,  # noqa: F401  (fixture)
    wait_for,
)
from warcwire.config import load_config


def _stored_jobs(url: str) -> dict[str, float]:
    """job id -> next_run_time (Unix time) straight from the job store table."""
    from sqlalchemy import MetaData, Table

    engine = make_engine(url)
    table = Table(JOBS_TABLE, MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        rows = conn.execute(select(table.c.id, table.c.next_run_time)).all()
    engine.dispose()
    return {job_id: next_run for job_id, next_run in rows}


def _set_next_run(url: str, job_id: str, when: datetime) -> None:
    """What a service down since ``when`` leaves behind: a next-run time in the past.

    Written through the job store itself, with no scheduler running that could act on it.
    """
    store = SQLAlchemyJobStore(engine=make_engine(url), tablename=JOBS_TABLE)
    store.start(BackgroundScheduler(timezone="UTC"), "default")
    job = store.lookup_job(job_id)
    assert job is not None
    job.next_run_time = when
    store.update_job(job)
    store.shutdown()


def test_restart_keeps_next_run_times_and_coalesces_missed_runs(
        news_site: str, tmp_path: Path, services: list[ServiceProcess], state_db: str) -> None:
    # Every 5 seconds of one minute that has just passed: 12 due times, all missed,
    # all within the misfire grace; the next fire after them is a year away.
    past = datetime.now(UTC) - timedelta(seconds=90)
    schedule = f"*/5 {past.minute} {past.hour} {past.day} {past.month} *"
    config = service_config(tmp_path, [quick_site(news_site, schedule=schedule)],
                            database=state_db, misfire_grace_time=3600, stop_grace=1)
    url = load_config(config).database_url

    first = ServiceProcess(config)
    services.append(first)
    next_year = first.get("/status")[1]["sites"][0]["next_run"]
    assert datetime.fromisoformat(next_year) > datetime.now(UTC) + timedelta(days=300)
    assert first.stop() == 0
    stored = _stored_jobs(url)
    assert list(stored) == ["site:quick"]
    assert stored["site:quick"] == datetime.fromisoformat(next_year).timestamp()

    missed_since = past.replace(second=0, microsecond=0)
    _set_next_run(url, "site:quick", missed_since)

    second = ServiceProcess(config)  # same config: the stored job and its time are kept
    services.append(second)
    history = history_of(config)
    (run,) = wait_for(lambda: finished_runs(history, "quick"), 30, "the coalesced run")
    assert (run.trigger, run.outcome) == ("schedule", "ok")
    assert 'Added job "quick"' not in second.log()  # kept, not re-created
    # twelve missed times, one run; the job then moves on to next year
    status = second.get("/status")[1]["sites"][0]
    assert status["next_run"] == next_year
    assert len(history.runs(site="quick", last=100)) == 1
    assert _stored_jobs(url)["site:quick"] == datetime.fromisoformat(next_year).timestamp()
    assert second.stop() == 0
    history.close()


def test_a_changed_schedule_takes_effect_at_restart(
        news_site: str, tmp_path: Path, services: list[ServiceProcess], state_db: str) -> None:
    config = service_config(tmp_path, [quick_site(news_site, schedule="0 0 1 1 *")],
                            database=state_db)
    first = ServiceProcess(config)
    services.append(first)
    assert first.stop() == 0
    url = load_config(config).database_url
    before = _stored_jobs(url)["site:quick"]

    text = config.read_text().replace("0 0 1 1 *", "0 0 1 7 *")
    config.write_text(text)
    second = ServiceProcess(config)
    services.append(second)
    status = second.get("/status")[1]["sites"][0]
    assert status["schedule"] == "0 0 1 7 *"
    assert datetime.fromisoformat(status["next_run"]).month == 7
    assert _stored_jobs(url)["site:quick"] != before
    assert second.stop() == 0
    assert JOB_FUNC == "jobs.service:crawl_job"
