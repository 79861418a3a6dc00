"""The scheduler service: every site on its cron, each crawl in a child process.

APScheduler 3.x in its native configuration: the jobs live in the SQLAlchemy
job store on ``config.database_url`` (so next-run times survive a restart),
one cron job per site calling :func:`crawl_job` (referenced as text), with
``coalesce``, ``max_instances=1`` and the configured misfire grace time; a
thread pool of ``max_parallel`` workers bounds the crawls running at once.
Manual triggers go through the same job function and the same pool.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from jobs import child as crawl_child
from jobs.crawl import new_run_id
from jobs.history import History
from jobs.metrics import Metrics
from jobs.observe import service_metrics, service_status
from jobs.record import close_abandoned, summary_values
from jobs.runner import ChildResult, ChildRun
from jobs.schedule import parse_timezone, read_config
from warcwire.config import Config
from warcwire.exceptions import (
    AlreadyRunning,
    ConfigError,
    HistoryError,
    ServiceRefused,
    UnknownSite,
)

logger = logging.getLogger(__name__)

JOB_FUNC = "jobs.service:crawl_job"
JOBS_TABLE = "warcwire_jobs"
SWEEP_JOB = "sweep"
KEEP_LOGS = 50  # crawl logs kept per site
_service: Service | None = None


def crawl_job(site: str, trigger: str = "schedule") -> None:
    """The APScheduler job of every site (scheduled and manual runs alike)."""
    if _service is None:
        logger.warning("No service running; crawl of %s not started", site)
        return
    _service.run_crawl(site, trigger)


@dataclass
class ActiveRun:
    run_id: str
    site: str
    trigger: str
    started: datetime
    child: ChildRun


class Service:
    """Scheduling, running and recording crawls; the control API and CLI call in here."""

    def __init__(self, config_path: str) -> None:
        self.config_path = str(Path(config_path).absolute())
        text, self.config, triggers = read_config(self.config_path)
        self._pending_triggers: dict[str, CronTrigger] | None = triggers
        self.data_dir = Path(self.config.data_dir).absolute()
        self.snapshot = self.data_dir / "service" / "sites.yaml"
        self._write_snapshot(text)
        self.history = History.from_url(self.config.database_url)
        self.metrics = Metrics()
        self.max_parallel = self.config.scheduler.max_parallel or os.cpu_count() or 1
        self.started_at = datetime.now(UTC)
        self.stopping = threading.Event()
        self.active: dict[str, ActiveRun | None] = {}  # None: manual run waiting to start
        self._lock = threading.Condition()
        self._reload_lock = threading.Lock()
        self.scheduler = BackgroundScheduler(
            jobstores={"default": {"type": "sqlalchemy", "engine": self.history.engine,
                                   "tablename": JOBS_TABLE},
                       "manual": {"type": "memory"}},
            executors={"default": {"type": "threadpool", "max_workers": self.max_parallel},
                       "sweep": {"type": "threadpool", "max_workers": 1}},
            job_defaults={"coalesce": True, "max_instances": 1,
                          "misfire_grace_time": self.config.scheduler.misfire_grace_time},
            timezone=parse_timezone(self.config.timezone))
        self.scheduler.add_listener(self._on_event,
                                    EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_ERROR)

    # -- lifecycle --------------------------------------------------------

    def start(self) -> None:
        global _service
        _service = self
        close_abandoned(self.history, self.data_dir / "runs")
        self.scheduler.start(paused=True)
        triggers, self._pending_triggers = self._pending_triggers or {}, None
        self.sync_jobs(self.config, triggers)
        interval = self.config.scheduler.sweep_interval
        if interval:
            # In memory and on its own one-thread executor: never two sweeps at
            # once, and a sweep stuck on a dead endpoint never holds up a crawl.
            self.scheduler.add_job(self.sweep, trigger="interval", seconds=interval,
                                   id=SWEEP_JOB, name="spool sweep", jobstore="manual",
                                   executor="sweep", coalesce=True, max_instances=1,
                                   misfire_grace_time=None, replace_existing=True)
        self.scheduler.resume()
        logger.info("Scheduler started: %d site(s), %d scheduled, up to %d crawl(s) at once",
                    len(self.config.sites), len(triggers), self.max_parallel)

    def shutdown(self) -> None:
        """Start no more crawls; give running ones stop_grace, then SIGTERM them."""
        global _service
        grace = self.config.scheduler.stop_grace
        self.stopping.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        with self._lock:
            for site in [s for s, run in self.active.items() if run is None]:
                del self.active[site]  # manual runs that never started
            running = [r for r in self.active.values() if r]
        if running:
            logger.info("Waiting up to %ss for %d running crawl(s) to finish", grace,
                        len(running))
        if not self._wait_idle(grace):
            with self._lock:
                running = [r for r in self.active.values() if r]
            for run in running:
                run.child.stop("shutdown")
            # each child gets stop_grace to store its files, then its runner kills it
            self._wait_idle(grace + 30)
        if _service is self:
            _service = None
        self.history.close()
        logger.info("Scheduler stopped")

    def _wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._lock:
            while any(self.active.values()):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(min(left, 1.0))
        return True

    def _write_snapshot(self, text: str) -> None:
        """The config in force, which crawl children read: edits wait for a reload."""
        self.snapshot.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.snapshot.with_name(self.snapshot.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.snapshot)

    # -- jobs -----------------------------------------------------------

    def sync_jobs(self, config: Config, triggers: dict[str, CronTrigger]) -> dict[str, list]:
        """Make the job store match the config; keep next-run times of unchanged jobs."""
        grace = config.scheduler.misfire_grace_time
        changes: dict[str, list[str]] = {"added": [], "removed": [], "rescheduled": []}
        existing = {job.id: job for job in self.scheduler.get_jobs(jobstore="default")}
        for job_id, job in existing.items():
            if job_id.removeprefix("site:") not in triggers:
                job.remove()
                changes["removed"].append(job_id.removeprefix("site:"))
        for name, trigger in triggers.items():
            job = existing.get(f"site:{name}")
            if job is None:
                self.scheduler.add_job(JOB_FUNC, trigger=trigger, args=[name], id=f"site:{name}",
                                       name=name, jobstore="default", misfire_grace_time=grace,
                                       coalesce=True, max_instances=1, replace_existing=True)
                changes["added"].append(name)
                continue
            if repr(job.trigger) != repr(trigger):
                job.reschedule(trigger)
                changes["rescheduled"].append(name)
            if job.misfire_grace_time != grace or job.func_ref != JOB_FUNC:
                job.modify(misfire_grace_time=grace, func=JOB_FUNC)
        return changes

    def _on_event(self, event: JobExecutionEvent | JobSubmissionEvent) -> None:
        if event.job_id == SWEEP_JOB:
            if event.code == EVENT_JOB_ERROR:
                logger.error("Spool sweep failed: %s", event.exception)
            return  # a sweep still running when the next is due is simply skipped
        site = event.job_id.split(":", 1)[-1]
        if event.code == EVENT_JOB_MAX_INSTANCES:
            logger.warning("Crawl of %s not started: the previous one is still running", site)
            self.metrics.inc("warcwire_runs_skipped_total", site=site, reason="running")
        elif event.code == EVENT_JOB_MISSED:
            logger.warning("Crawl of %s due at %s missed by more than the misfire grace time",
                           site, event.scheduled_run_time)
            self.metrics.inc("warcwire_runs_skipped_total", site=site, reason="missed")
        elif event.code == EVENT_JOB_ERROR:
            logger.error("Crawl job of %s failed: %s", site, event.exception)

    # -- the spool sweep --------------------------------------------------

    def sweep(self) -> None:
        """Store and index what waits in the spool, as ``warcwire sync`` does.

        Skipped while a crawl runs: each crawl stores the whole spool when it
        ends, and a sweep must not take files a running crawl will report.
        """
        with self._lock:
            busy = self.stopping.is_set() or any(self.active.values())
        if busy:
            logger.debug("Spool sweep skipped: a crawl is running")
            return
        from jobs.crawl import sync_spool

        try:
            report, recovered, not_indexed = sync_spool(self.config, run_id="sweep")
        except Exception:  # a sweep failure must not stop the next ones
            logger.exception("Spool sweep failed")
            return
        for item in recovered:
            logger.warning("Sweep recovered %s", item.describe())
        if report.stored:
            logger.info("Sweep stored %d spooled file(s) in %s", len(report.stored),
                        self.config.storage)
        for key, why in not_indexed:
            logger.warning("Sweep stored %s but did not index it: %s", key, why)
        if report.failed:
            logger.warning("Sweep kept %d file(s) in the spool %s (first: %s)",
                           len(report.failed), self.config.spool_dir, report.failed[0][1])

    # -- running one crawl --------------------------------------------------

    def run_crawl(self, site: str, trigger: str) -> None:
        """Run one crawl child to its end and record it; called in a pool thread."""
        with self._lock:
            claimed = site in self.active
            own_claim = trigger == "manual" and claimed and self.active[site] is None
            if self.stopping.is_set() or (claimed and not own_claim):
                reason = "stopping" if self.stopping.is_set() else "running"
                logger.info("Crawl of %s (%s) not started: %s", site, trigger,
                            "service stopping" if reason == "stopping" else "already running")
                self.metrics.inc("warcwire_runs_skipped_total", site=site, reason=reason)
                if own_claim:
                    del self.active[site]
                return
            config = self.config
            try:
                site_config = config.site(site)
            except UnknownSite:
                if own_claim:
                    del self.active[site]
                logger.warning("Crawl of %s not started: no longer in the config", site)
                return
            run_id = new_run_id()
            run = ActiveRun(run_id, site, trigger, datetime.now(UTC), ChildRun(
                crawl_child.command(site, str(self.snapshot), run_id,
                                    self.data_dir / "runs" / f"{run_id}.json"),
                log_path=self.data_dir / "logs" / site / f"{run_id}.log",
                summary_path=self.data_dir / "runs" / f"{run_id}.json",
                time_limit=site_config.time_limit or config.scheduler.time_limit,
                stop_grace=config.scheduler.stop_grace))
            self.active[site] = run
        try:
            self._run(run)
        finally:
            with self._lock:
                self.active.pop(site, None)
                self._lock.notify_all()
            self._prune_logs(site)

    def _run(self, run: ActiveRun) -> None:
        try:
            self.history.start(run.run_id, run.site, run.trigger, started=run.started)
        except HistoryError as exc:
            logger.error("Run %s not recorded as started: %s", run.run_id, exc)
        logger.info("Crawl of %s started (run %s, %s)", run.site, run.run_id, run.trigger)
        t0 = time.monotonic()
        try:
            run.child.start()
        except OSError as exc:
            logger.error("Could not start the crawl process for %s: %s", run.site, exc)
            self._record(run, ChildResult(None, None, None, False, str(exc)), time.monotonic() - t0)
            return
        try:
            self.history.set_pid(run.run_id, run.child.pid or 0)
        except HistoryError as exc:
            logger.warning("%s", exc)
        result = run.child.wait()
        self._record(run, result, time.monotonic() - t0)

    def _record(self, run: ActiveRun, result: ChildResult, duration: float) -> None:
        values: dict[str, Any] = summary_values(result.summary) if result.summary else {}
        values["duration"] = duration
        outcome = result.outcome
        log_tail = None if outcome == "ok" else result.log_tail
        try:
            self.history.finish(run.run_id, outcome, exit_status=result.exit_status,
                                message=result.message, log_tail=log_tail, **values)
        except HistoryError as exc:
            logger.error("Run %s of %s (%s) not recorded: %s", run.run_id, run.site, outcome, exc)
        self.metrics.run_ended(run.site, run.trigger, outcome, pages=values.get("pages", 0),
                               articles=values.get("articles", 0),
                               archived_bytes=values.get("bytes", 0),
                               errors=values.get("errors", 0), duration=duration)
        log = logger.info if outcome == "ok" else logger.warning
        log("Crawl of %s ended: %s (run %s, exit status %s, %.1fs, pages %s, articles %s)%s",
            run.site, outcome, run.run_id, result.exit_status, duration,
            values.get("pages", 0), values.get("articles", 0),
            f": {result.message}" if result.message else "")

    def _prune_logs(self, site: str) -> None:
        folder = self.data_dir / "logs" / site
        try:
            logs = sorted(folder.glob("*.log"))
        except OSError:
            return
        for old in logs[:-KEEP_LOGS]:
            old.unlink(missing_ok=True)

    # -- control ------------------------------------------------------------

    def trigger(self, site: str) -> None:
        """Crawl ``site`` now, through the scheduler's pool like a scheduled run."""
        with self._lock:
            if self.stopping.is_set():
                raise ServiceRefused("The service is shutting down; no crawl started")
            self.config.site(site)
            if site in self.active:
                run = self.active[site]
                raise AlreadyRunning(site, run.started.isoformat(timespec="seconds")
                                     if run else "waiting for a free slot")
            self.active[site] = None
        try:
            self.scheduler.add_job(JOB_FUNC, trigger="date", args=[site, "manual"],
                                   id=f"manual:{site}", name=site, jobstore="manual",
                                   misfire_grace_time=None, replace_existing=True)
        except Exception:
            with self._lock:
                self.active.pop(site, None)
            raise
        logger.info("Crawl of %s triggered by hand", site)

    def reload(self) -> str:
        """Re-read the config; an invalid one is refused and the current one stays."""
        with self._reload_lock:
            try:
                text, config, triggers = read_config(self.config_path)
            except ConfigError as exc:
                self.metrics.inc("warcwire_config_reloads_total", result="refused")
                logger.error("Config reload refused, keeping the current config: %s", exc)
                raise
            changes = self.sync_jobs(config, triggers)
            self._write_snapshot(text)
            old = self.config
            with self._lock:
                self.config = config
            self.metrics.inc("warcwire_config_reloads_total", result="ok")
        parts = [f"{k} {', '.join(v)}" for k, v in changes.items() if v]
        message = "Config reloaded: " + ("; ".join(parts) if parts else "no schedule changes")
        later = [name for name, a, b in (
            ("scheduler.listen", old.scheduler.listen, config.scheduler.listen),
            ("scheduler.max_parallel", old.scheduler.max_parallel, config.scheduler.max_parallel),
            ("timezone", old.timezone, config.timezone),
            ("data_dir", old.data_dir, config.data_dir),
            ("database", old.database, config.database)) if a != b]
        if later:
            message += f" ({', '.join(later)} take effect at the next restart)"
        logger.info("%s", message)
        return message

    def status(self) -> dict[str, Any]:
        """What ``GET /status`` answers (see jobs/observe.py)."""
        return service_status(self)

    def metrics_text(self) -> str:
        """What ``GET /metrics`` answers (see jobs/observe.py)."""
        return service_metrics(self)

    def snapshot_state(self) -> tuple[dict[str, Any], dict[str, ActiveRun | None], Config]:
        """The scheduled jobs, the runs under way and the config in force, consistently."""
        jobs = {job.id: job for job in self.scheduler.get_jobs(jobstore="default")}
        with self._lock:
            return jobs, dict(self.active), self.config
