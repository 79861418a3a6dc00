"""``warcwire normalize WARC...``: re-run extraction over archived WARCs."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from warcwire.commands.common import RAW
from warcwire.exceptions import WarcwireError


def run(args: argparse.Namespace) -> int:
    from normalizer.rerun import default_output_path, normalize_warcs_to

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    missing = [p for p in args.warcs if not Path(p).is_file()]
    if missing:
        raise WarcwireError(f"No such WARC file: {missing[0]}")
    paths = [Path(p) for p in args.warcs]
    out = Path(args.out) if args.out else default_output_path(paths)
    count = normalize_warcs_to(paths, out)
    print(f"Wrote {count} article record(s) to {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("normalize", help="re-run extraction over archived WARCs (no re-crawl)",
                       epilog="example:\n  warcwire normalize archive/site/2026-11-25/*.warc.gz "
                              "--out articles.jsonl.gz", formatter_class=RAW)
    p.add_argument("warcs", nargs="+", help="WARC files")
    p.add_argument("--out", help="output JSON Lines (gzip); default: beside the first WARC")
    p.set_defaults(func=run)
