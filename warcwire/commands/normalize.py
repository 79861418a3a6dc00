"""``warcwire normalize WARC...``: re-run extraction over archived WARCs."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from warcwire.commands.common import RAW, default_config
from warcwire.exceptions import WarcwireError


def run(args: argparse.Namespace) -> int:
    from normalizer.rerun import default_output_path, default_run_id, normalize_warcs_to

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    missing = [p for p in args.warcs if not Path(p).is_file()]
    if missing:
        raise WarcwireError(f"No such WARC file: {missing[0]}")
    selectors_for = None
    if args.config or os.path.exists(default_config()):
        from warcwire.config import load_config

        config = load_config(args.config or default_config())
        sites = {site.name: site.selectors.model_dump() for site in config.sites}
        selectors_for = sites.get
    paths = [Path(p) for p in args.warcs]
    run_id = default_run_id()
    out = Path(args.out) if args.out else default_output_path(paths, run_id)
    count = normalize_warcs_to(paths, out, run_id=run_id, selectors_for=selectors_for,
                               force=args.force)
    print(f"Wrote {count} article record(s) to {out}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("normalize", help="re-run extraction over archived WARCs (no re-crawl)",
                       epilog="example:\n  warcwire normalize archive/site/2026-11-25/*.warc.gz "
                              "--out articles.jsonl.gz\n\nRecords are those a crawl writes: "
                              "site from the WARC's warcinfo, warc.key the storage key,\n"
                              "one record per article version (revisits hold no payload).",
                       formatter_class=RAW)
    p.add_argument("warcs", nargs="+", help="WARC files")
    p.add_argument("--out", help="output JSON Lines (gzip if it ends in .gz); default: beside "
                                 "the first WARC, named as the crawl names its articles file")
    p.add_argument("--force", action="store_true", help="replace the output file if it exists")
    p.add_argument("--config", help="sites config, for per-site selectors (default: "
                                    "$WARCWIRE_CONFIG or sites.yaml, if there is one)")
    p.set_defaults(func=run)
