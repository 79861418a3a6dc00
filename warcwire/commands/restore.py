"""``warcwire restore URL``: one capture, read with one ranged read (two for a revisit)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from warcwire.commands.common import RAW, add_config_arg, timestamp_arg

EPILOG = """example:
  warcwire restore https://news.example.org/2026/11/25/ferries.html --at 20261125 \\
      --out restored/ --with-resources

--at takes a timestamp or a prefix of one (2026, 20261125, 20261125093000); the
capture closest to it is restored. Without --out the result goes to stdout.
--out DIR/ names the file after the URL; --out FILE names it. Existing files are
never overwritten without --force, and nothing is written outside the target folder.

A revisit capture (a 304, or the same payload again) restores as its own status
line, headers and date with the body of the capture it refers to, which is found
through the catalog and read with one more ranged read; --as warc then writes both
records."""


def run(args: argparse.Namespace) -> int:
    from storage import get_store
    from storage.restore import (
        load,
        page_with_resources,
        restore_capture,
        restore_loaded,
        safe_name,
        write_files,
    )
    from warcwire.commands.captures import open_catalog
    from warcwire.config import load_config

    if args.with_resources and (args.out is None or args.format != "html"):
        print("Error: --with-resources needs --out and --as html", file=sys.stderr)
        return 2
    config = load_config(args.config)
    catalog = open_catalog(config)
    capture = catalog.closest(args.url, None if args.latest else args.at)
    store = get_store(config.storage)
    if args.out is None:
        sys.stdout.buffer.write(restore_capture(store, catalog, capture, args.format))
        sys.stdout.buffer.flush()
        return 0
    loaded = None if args.format == "text" else load(store, catalog, capture)
    out = Path(args.out)
    if out.is_dir() or args.out.endswith(("/", "\\")):
        folder = out
        name = safe_name(capture.url, args.format, loaded.mime if loaded else capture.mime)
    else:
        folder, name = out.parent, out.name
    missing: list[str] = []
    if args.with_resources:
        bundle = page_with_resources(store, catalog, capture, name, loaded)
        files, missing = bundle.files, bundle.missing
    elif loaded is not None:
        files = {name: restore_loaded(catalog, loaded, args.format)}
    else:
        files = {name: restore_capture(store, catalog, capture, args.format)}
    written = write_files(folder, files, force=args.force)
    what = f"status {capture.status or '-'}"
    if loaded is not None and loaded.revisit is not None and loaded.original is not None:
        what += f"; {loaded.revisit.label}, payload of {loaded.original.timestamp}"
    print(f"Restored {capture.url} captured {capture.timestamp} ({what}) to {written[0]}",
          file=sys.stderr)
    if len(written) > 1:
        print(f"  with {len(written) - 1} resource(s) in {written[1].parent}", file=sys.stderr)
    for url in missing:
        print(f"  not archived: {url}", file=sys.stderr)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("restore", help="restore a page from the archive by URL and time",
                       epilog=EPILOG, formatter_class=RAW)
    p.add_argument("url", help="the URL (scheme optional)")
    add_config_arg(p)
    when = p.add_mutually_exclusive_group()
    when.add_argument("--at", metavar="TIMESTAMP", type=timestamp_arg,
                      help="the capture closest to this time")
    when.add_argument("--latest", action="store_true", help="the latest capture (default)")
    p.add_argument("--out", metavar="PATH", help="file, or folder ending in / (default stdout)")
    p.add_argument("--as", dest="format", choices=["html", "http", "warc", "text"],
                   default="html", help="page body (default), full HTTP response, "
                   "single-record WARC, or extracted article text")
    p.add_argument("--with-resources", action="store_true",
                   help="also restore the page's images and stylesheets and link them locally")
    p.add_argument("--force", action="store_true", help="overwrite existing files")
    p.set_defaults(func=run)
