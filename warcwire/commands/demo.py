"""``warcwire demo``: serve the bundled sample news site and crawl it."""

from __future__ import annotations

import argparse

from warcwire.commands.common import RAW, summary_lines


def run(args: argparse.Namespace) -> int:
    from warcwire.demo import run_demo

    summary = run_demo(storage=args.storage, spool_dir=args.spool_dir, verbose=args.verbose)
    print("\n".join(summary_lines(summary)))
    return summary.exit_code


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="serve the bundled sample news site and crawl it",
                       epilog="example:\n  warcwire demo --storage ./archive",
                       formatter_class=RAW)
    p.add_argument("--storage", default="./archive", help="where to store (default ./archive)")
    p.add_argument("--spool-dir", default=".warcwire/spool", help="local spool folder")
    p.add_argument("-v", "--verbose", action="store_true", help="show Scrapy's debug log")
    p.set_defaults(func=run)
