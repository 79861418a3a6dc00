"""What the service reports about itself: ``/status`` (JSON) and ``/metrics`` (Prometheus).

Read-only views over the service's schedule, its runs under way and the run history;
kept apart from :mod:`jobs.service`, which schedules, runs and records.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from warcwire import __version__
from warcwire.exceptions import HistoryError

if TYPE_CHECKING:
    from jobs.service import Service


def service_status(service: Service) -> dict[str, Any]:
    """Per site: schedule, next run, the run under way and the last run; then the service."""
    try:
        latest = service.history.latest()
        history_error = None
    except HistoryError as exc:
        latest, history_error = {}, str(exc)
    jobs, active, config = service.snapshot_state()
    sites = []
    for site in config.sites:
        job = jobs.get(f"site:{site.name}")
        next_run = job.next_run_time if job is not None else None
        run = active.get(site.name)
        last = latest.get(site.name)
        sites.append({
            "site": site.name, "schedule": site.schedule,
            "next_run": next_run.isoformat() if next_run else None,
            "running": (None if site.name not in active else
                        {"state": "queued"} if run is None else
                        {"state": "running", "run_id": run.run_id, "trigger": run.trigger,
                         "started": run.started.isoformat(), "pid": run.child.pid}),
            "last_run": last.as_dict() if last else None})
    return {"service": {
        "version": __version__, "pid": os.getpid(), "config": service.config_path,
        "started": service.started_at.isoformat(), "listen": config.scheduler.listen,
        "timezone": config.timezone, "max_parallel": service.max_parallel,
        "running": sum(1 for r in active.values() if r),
        "stopping": service.stopping.is_set(), "history_error": history_error},
        "sites": sites}


def service_metrics(service: Service) -> str:
    """Counters kept as runs end, plus gauges read now from the schedule and history."""
    jobs, active, config = service.snapshot_state()
    gauges: list[tuple[str, dict[str, str], float]] = [
        ("warcwire_running_crawls", {}, sum(1 for r in active.values() if r)),
        ("warcwire_sites", {}, len(config.sites))]
    for job_id, job in sorted(jobs.items()):
        if job.next_run_time:
            gauges.append(("warcwire_next_run_timestamp_seconds",
                           {"site": job_id.removeprefix("site:")},
                           job.next_run_time.timestamp()))
    try:
        latest = service.history.latest()
    except HistoryError:
        latest = {}
    for site, run in sorted(latest.items()):
        if run.ended:
            gauges.append(("warcwire_last_run_end_timestamp_seconds", {"site": site},
                           run.ended.timestamp()))
            gauges.append(("warcwire_last_run_ok", {"site": site},
                           1 if run.outcome == "ok" else 0))
    return service.metrics.render(gauges)
