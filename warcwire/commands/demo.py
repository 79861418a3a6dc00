"""``warcwire demo``: serve the bundled sample news site and crawl it."""

from __future__ import annotations

import argparse

from warcwire.commands.common import RAW, summary_lines


def run(args: argparse.Namespace) -> int:
    from warcwire.demo import run_demo

    summary, config, base_url = run_demo(storage=args.storage, spool_dir=args.spool_dir,
                                         verbose=args.verbose)
    print("\n".join(summary_lines(summary)))
    print(f"\nThe demo's config is saved as {config}. Try:\n"
          f"  warcwire captures {base_url}/news/ --prefix --config {config}\n"
          f"  warcwire review --config {config}")
    return summary.exit_code


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="serve the bundled sample news site and crawl it",
                       epilog="example:\n  warcwire demo --storage ./archive",
                       formatter_class=RAW)
    p.add_argument("--storage", default="./archive", help="where to store (default ./archive)")
    p.add_argument("--spool-dir", default=".warcwire/spool", help="local spool folder")
    p.add_argument("-v", "--verbose", action="store_true", help="show Scrapy's debug log")
    p.set_defaults(func=run)
