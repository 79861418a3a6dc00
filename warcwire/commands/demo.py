"""``warcwire demo``: serve the bundled sample news site and crawl it."""

from __future__ import annotations

import argparse
from pathlib import Path

from warcwire.commands.common import RAW, default_config, summary_lines


def run(args: argparse.Namespace) -> int:
    from warcwire.demo import run_demo

    summary, config, base_url = run_demo(storage=args.storage, spool_dir=args.spool_dir,
                                         verbose=args.verbose, port=args.port)
    print("\n".join(summary_lines(summary)))
    here = Path(default_config()).resolve() == config.resolve()
    flag = "" if here else f" --config {config}"
    print(f"\nThe demo's config is saved as {config}. Try (in this folder):\n"
          f"  warcwire captures {base_url}/news/ --prefix{flag}\n"
          f"  warcwire review{flag}\n"
          f"  warcwire runs{flag}\n"
          f"  warcwire demo              # again: an incremental re-crawl")
    return summary.exit_code


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="serve the bundled sample news site and crawl it",
                       epilog="example:\n  warcwire demo --storage ./archive",
                       formatter_class=RAW)
    p.add_argument("--storage", default="./archive", help="where to store (default ./archive)")
    p.add_argument("--spool-dir", default=".warcwire/spool", help="local spool folder")
    p.add_argument("--port", type=int, default=8741,
                   help="port of the sample site on 127.0.0.1 (default 8741; another is "
                        "used if it is taken, and then a second demo is not a re-crawl)")
    p.add_argument("-v", "--verbose", action="store_true", help="show Scrapy's debug log")
    p.set_defaults(func=run)
