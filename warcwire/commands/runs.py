"""``warcwire runs``: the run history, read straight from the state database."""

from __future__ import annotations

import argparse
import json

from warcwire.commands.common import RAW, add_config_arg

EPILOG = """example:
  warcwire runs --site example-news --last 5

Every crawl is recorded, scheduled or by hand: trigger (schedule, manual, cli), start,
duration, outcome (ok, storage_failed, nothing_fetched, disk_full, stopped, timeout,
killed, failed, or running), pages, articles, bytes and errors. Works without the service.
--site with --last 1 -v also shows the stored files and, for failures, the last log
lines."""


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1000  # type: ignore[assignment]
    return str(n)


def run(args: argparse.Namespace) -> int:
    from jobs.history import History, describe_incremental
    from warcwire.config import load_config

    config = load_config(args.config)
    if args.site:
        config.site(args.site)  # unknown site: say so rather than print nothing
    history = History.from_url(config.database_url)
    try:
        runs = history.runs(site=args.site, last=args.last)
    finally:
        history.close()
    if args.json:
        print(json.dumps([r.as_dict() for r in runs], indent=2))
        return 0
    if not runs:
        print("No runs recorded" + (f" for {args.site}" if args.site else "") + ".")
        return 0
    rows = [("RUN", "SITE", "TRIGGER", "STARTED (UTC)", "TIME", "OUTCOME", "PAGES",
             "ARTICLES", "BYTES", "ERRORS")]
    for r in runs:
        rows.append((r.run_id, r.site, r.trigger, r.started.strftime("%Y-%m-%d %H:%M:%S"),
                     "-" if r.duration is None else f"{r.duration:.1f}s", r.outcome,
                     str(r.pages), str(r.articles), _size(r.bytes), str(r.errors)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    if args.verbose:
        for r in runs:
            print(f"\n{r.run_id} ({r.site}, {r.outcome}"
                  + (f", exit status {r.exit_status}" if r.exit_status is not None else "")
                  + ")" + (f": {r.message}" if r.message else ""))
            if r.incremental:
                print("  " + describe_incremental(r.incremental))
            for loc in r.warcs + r.jsonl:
                print(f"  stored {loc}")
            for path, why in r.kept:
                print(f"  kept in spool {path}: {why}")
            if r.log_tail:
                print("  last log lines:")
                print("\n".join("    " + line for line in r.log_tail.splitlines()))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list recorded crawl runs (works without the service)",
                       epilog=EPILOG, formatter_class=RAW)
    add_config_arg(p)
    p.add_argument("--site", help="only this site's runs")
    p.add_argument("--last", type=int, default=20, metavar="N",
                   help="how many of the newest runs (default 20)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="also show stored files, messages and last log lines")
    p.add_argument("--json", action="store_true", help="print the runs as JSON")
    p.set_defaults(func=run)
