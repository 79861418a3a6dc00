"""The crawl child the service starts: ``python -m jobs.child SITE --config ... --summary F``.

One process per crawl, because Twisted's reactor cannot be restarted. The
child runs :func:`jobs.crawl.run_site` and writes its summary as JSON to
``--summary`` (written to a temporary name, then renamed, so the service never
reads half a file); the service records the run. SIGTERM makes Scrapy close
the spider: WARCs are closed and stored and the summary still written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from jobs.crawl import RunSummary


def write_summary(path: Path, summary: RunSummary) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(summary.to_dict()), encoding="utf-8")
    os.replace(tmp, path)


def read_summary(path: Path) -> RunSummary | None:
    """The child's summary, or None if it never wrote one (crashed, killed)."""
    try:
        return RunSummary.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):  # unreadable: treat as no summary
        return None


def command(site: str, config_path: str, run_id: str, summary: Path) -> list[str]:
    """The child's command line, as the service spawns it."""
    return [sys.executable, "-m", "jobs.child", site, "--config", config_path,
            "--run-id", run_id, "--summary", str(summary)]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jobs.child",
                                     description="One crawl for the warcwire service.")
    parser.add_argument("site")
    parser.add_argument("--config", required=True)
    parser.add_argument("--run-id", required=True)
    parser.add_argument("--summary", required=True, type=Path)
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)

    from jobs.crawl import run_site
    from warcwire.config import load_config
    from warcwire.exceptions import WarcwireError

    try:
        config = load_config(args.config)
        summary = run_site(config, args.site, run_id=args.run_id, log_level=args.log_level)
    except WarcwireError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    write_summary(args.summary, summary)
    print(f"Crawl of {summary.site} ended ({summary.finish_reason}): pages {summary.pages}, "
          f"articles {summary.articles}, stored {len(summary.stored)}, "
          f"kept {len(summary.kept)}", file=sys.stderr)
    return summary.exit_code


if __name__ == "__main__":
    sys.exit(main())
