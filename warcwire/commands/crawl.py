"""``warcwire crawl SITE``: one crawl by hand (or from system cron)."""

from __future__ import annotations

import argparse

from warcwire.commands.common import RAW, add_config_arg, summary_lines

EPILOG = """example:
  warcwire crawl example-news --config sites.yaml --storage s3://news-archive/warc

exit codes: 0 ok; 2 bad config or usage; 3 files kept in the spool (storage failed,
the next run uploads them); 4 nothing could be fetched; 5 stopped early by
SIGTERM/SIGINT (what was fetched is stored); 6 stopped early because the spool disk
is full (what was written until then is stored; free space or move spool_dir)."""


def run(args: argparse.Namespace) -> int:
    from jobs.record import crawl_and_record
    from warcwire.config import load_config

    config = load_config(args.config)
    config.site(args.site)  # unknown site: clear error before Scrapy starts
    # quiet by default, on a terminal as in cron: the summary says what happened
    level = {0: "WARNING", 1: "INFO"}.get(args.verbose, "DEBUG")
    # recorded in the run history (trigger "cli"), as every run is
    summary = crawl_and_record(config, args.site, storage=args.storage,
                               max_pages=args.max_pages, extract=not args.no_extract,
                               progress=True, log_level=level)
    print("\n".join(summary_lines(summary)))
    return summary.exit_code


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("crawl", help="crawl one site now and store its WARCs and articles",
                       epilog=EPILOG, formatter_class=RAW)
    p.add_argument("site", help="site name from the config")
    add_config_arg(p)
    p.add_argument("--storage",
                   help="override the config's storage URI (path or s3://bucket/prefix)")
    p.add_argument("--max-pages", type=int, help="stop after this many pages")
    p.add_argument("--no-extract", action="store_true",
                   help="archive only; skip article extraction")
    p.add_argument("-v", "--verbose", action="count", default=0,
                   help="show Scrapy's log (-vv: its debug log too)")
    p.set_defaults(func=run)
