"""``warcwire status``: what the running service is doing, site by site."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any

from warcwire.commands.common import RAW, add_config_arg
from warcwire.commands.trigger import add_listen_arg

EPILOG = """example:
  warcwire status --config /etc/warcwire/sites.yaml

For each site: its schedule, the next run, the last run (when, outcome, pages,
articles) and whether a crawl is running now. Asks the running service; for past
runs without a service see `warcwire runs`."""


def short_time(value: str | None) -> str:
    """ISO time as 'YYYY-MM-DD HH:MM:SS' in its own offset (the config's timezone)."""
    if not value:
        return "-"
    return datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S")


def _last(run: dict[str, Any] | None) -> str:
    if not run:
        return "never"
    if run["outcome"] == "running":
        return f"{short_time(run['started'])} running"
    duration = f" {run['duration']:.0f}s" if run.get("duration") is not None else ""
    return (f"{short_time(run['started'])} {run['outcome']}{duration}, "
            f"{run['pages']} pages, {run['articles']} articles")


def status_lines(status: dict[str, Any]) -> list[str]:
    svc = status["service"]
    state = "stopping" if svc["stopping"] else "up"
    lines = [f"warcwire {svc['version']} {state} at {svc['listen']} (pid {svc['pid']}) since "
             f"{short_time(svc['started'])}: {len(status['sites'])} site(s), "
             f"{svc['running']} crawling, at most {svc['max_parallel']} at once; "
             f"times in {svc['timezone']}"]
    if svc.get("history_error"):
        lines.append(f"  run history unavailable: {svc['history_error']}")
    rows = [("SITE", "SCHEDULE", "NEXT RUN", "RUNNING", "LAST RUN")]
    for site in status["sites"]:
        running = site["running"]
        now = ("-" if not running else "queued" if running["state"] == "queued"
               else f"since {short_time(running['started'])[11:]} ({running['trigger']})")
        rows.append((site["site"], site["schedule"] or "(manual only)",
                     short_time(site["next_run"]), now, _last(site["last_run"])))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4]
              for r in rows]
    return lines


def run(args: argparse.Namespace) -> int:
    from jobs.client import call_ok, service_address

    status = call_ok(service_address(args.config, args.listen), "GET", "/status")
    print(json.dumps(status, indent=2) if args.json else "\n".join(status_lines(status)))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("status", help="show the running service's sites: next, last, running",
                       epilog=EPILOG, formatter_class=RAW)
    add_config_arg(p)
    add_listen_arg(p)
    p.add_argument("--json", action="store_true", help="print the service's JSON answer")
    p.set_defaults(func=run)
