"""The ``warcwire`` command: a thin layer over jobs/, storage/ and normalizer/.

Every verb is a small function taking parsed arguments and returning an exit
code; domain errors become one ``Error: ...`` line, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from warcwire import __version__
from warcwire.exceptions import WarcwireError

if TYPE_CHECKING:
    from jobs.crawl import RunSummary

DEFAULT_CONFIG = os.environ.get("WARCWIRE_CONFIG", "sites.yaml")

EPILOG_CRAWL = """example:
  warcwire crawl example-news --config sites.yaml --storage s3://news-archive/warc

exit codes: 0 ok; 2 bad config or usage; 3 files kept in the spool (storage failed,
the next run uploads them); 4 nothing could be fetched."""


def _summary_lines(s: RunSummary) -> list[str]:
    errors = s.errors
    lines = [
        f"Crawled {s.site} (run {s.run_id}) in {s.elapsed:.1f}s",
        f"  pages {s.pages}   articles {s.articles}   "
        f"archived {s.archived_bytes / 1e6:.2f} MB   errors {sum(errors.values())}",
    ]
    skipped = {"robots.txt": s.stats.get("warcwire/skipped_robots", 0),
               "page budget": s.stats.get("warcwire/skipped_max_pages", 0)}
    if any(skipped.values()):
        lines.append("  skipped: " + ", ".join(f"{v} by {k}" for k, v in skipped.items() if v))
    if errors:
        lines.append("  errors by kind: " + ", ".join(f"{k} {v}" for k, v in errors.items()))
    lines.append(f"  stored {len(s.stored)} file(s) in {s.storage}")
    lines += [f"    {loc}" for loc in s.stored]
    if s.kept:
        lines.append(f"  NOT stored: {len(s.kept)} file(s) kept in the spool {s.spool_dir}; "
                     "the next run uploads them")
        lines += [f"    {path}: {why}" for path, why in s.kept]
    return lines


def cmd_crawl(args: argparse.Namespace) -> int:
    from jobs.crawl import run_site
    from warcwire.config import load_config

    config = load_config(args.config)
    config.site(args.site)  # unknown site: clear error before Scrapy starts
    tty = sys.stderr.isatty()
    summary = run_site(config, args.site, storage=args.storage, max_pages=args.max_pages,
                       extract=not args.no_extract, progress=True,
                       log_level="DEBUG" if args.verbose else ("WARNING" if tty else "INFO"))
    print("\n".join(_summary_lines(summary)))
    return summary.exit_code


def cmd_sites(args: argparse.Namespace) -> int:
    from warcwire.config import load_config

    config = load_config(args.config)
    print(f"{config.path}: {len(config.sites)} site(s), storage {config.storage}")
    for site in config.sites:
        entry = len(site.start_urls), len(site.sitemaps), len(site.feeds)
        print(f"  {site.name:<24} schedule {site.schedule or '-':<14} "
              f"start pages {entry[0]}, sitemaps {entry[1]}, feeds {entry[2]}, "
              f"max {site.max_pages} pages, domains {', '.join(site.domains)}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from warcwire.demo import run_demo

    summary = run_demo(storage=args.storage, spool_dir=args.spool_dir,
                       verbose=args.verbose)
    print("\n".join(_summary_lines(summary)))
    return summary.exit_code


def cmd_normalize(args: argparse.Namespace) -> int:
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="warcwire",
        description="Crawl news sites on a schedule into WARC archives with normalized text.",
        epilog="example: warcwire demo    (crawls the bundled sample site into ./archive)",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"warcwire {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    raw = argparse.RawDescriptionHelpFormatter

    p = sub.add_parser("crawl", help="crawl one site now and store its WARCs and articles",
                       epilog=EPILOG_CRAWL, formatter_class=raw)
    p.add_argument("site", help="site name from the config")
    p.add_argument("--config", default=DEFAULT_CONFIG,
                   help="sites config (default: $WARCWIRE_CONFIG or sites.yaml)")
    p.add_argument("--storage", help="override the config's storage URI (path or s3://bucket/prefix)")
    p.add_argument("--max-pages", type=int, help="stop after this many pages")
    p.add_argument("--no-extract", action="store_true",
                   help="archive only; skip article extraction")
    p.add_argument("-v", "--verbose", action="store_true", help="show Scrapy's debug log")
    p.set_defaults(func=cmd_crawl)

    p = sub.add_parser("sites", help="validate the config and list its sites",
                       epilog="example:\n  warcwire sites --config sites.yaml", formatter_class=raw)
    p.add_argument("--config", default=DEFAULT_CONFIG,
                   help="sites config (default: $WARCWIRE_CONFIG or sites.yaml)")
    p.set_defaults(func=cmd_sites)

    p = sub.add_parser("demo", help="serve the bundled sample news site and crawl it",
                       epilog="example:\n  warcwire demo --storage ./archive", formatter_class=raw)
    p.add_argument("--storage", default="./archive", help="where to store (default ./archive)")
    p.add_argument("--spool-dir", default=".warcwire/spool", help="local spool folder")
    p.add_argument("-v", "--verbose", action="store_true", help="show Scrapy's debug log")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("normalize", help="re-run extraction over archived WARCs (no re-crawl)",
                       epilog="example:\n  warcwire normalize archive/site/2026-11-25/*.warc.gz "
                              "--out articles.jsonl.gz", formatter_class=raw)
    p.add_argument("warcs", nargs="+", help="WARC files")
    p.add_argument("--out", help="output JSON Lines (gzip); default: beside the first WARC")
    p.set_defaults(func=cmd_normalize)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except WarcwireError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
