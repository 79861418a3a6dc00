"""``warcwire captures URL``: list what the archive holds for a URL."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from warcwire.commands.common import RAW, add_config_arg
from warcwire.exceptions import CaptureNotFound

if TYPE_CHECKING:
    from storage.catalog import Capture, Catalog
    from warcwire.config import Config

EPILOG = """example:
  warcwire captures https://news.example.org/2026/11/25/ferries.html --config sites.yaml
  warcwire captures news.example.org/2026/ --prefix

URLs match as CDX servers match them: http/https, www., host case and the order of
query parameters do not matter."""


def open_catalog(config: Config) -> Catalog:
    """The catalog at the config's database URL."""
    from storage.catalog import Catalog

    return Catalog(config.database_url)


def format_table(captures: list[Capture], *, with_url: bool) -> list[str]:
    head = ["TIMESTAMP", "STATUS", "SIZE", "DIGEST", "MIME", "SITE"]
    rows = [[c.timestamp, "-" if c.status is None else str(c.status), str(c.length),
             c.digest or "-", c.mime or "-", c.site] for c in captures]
    if with_url:
        head.append("URL")
        for row, c in zip(rows, captures, strict=True):
            row.append(c.url)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
            for r in [head, *rows]]


def run(args: argparse.Namespace) -> int:
    from warcwire.config import load_config

    catalog = open_catalog(load_config(args.config))
    captures = catalog.captures(args.url, match="prefix" if args.prefix else "exact")
    if not captures:
        raise CaptureNotFound(args.url)
    print("\n".join(format_table(captures, with_url=args.prefix)))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("captures", help="list the archived captures of a URL",
                       epilog=EPILOG, formatter_class=RAW)
    p.add_argument("url", help="the URL (scheme optional)")
    add_config_arg(p)
    p.add_argument("--prefix", action="store_true",
                   help="every URL starting with this one (adds a URL column)")
    p.set_defaults(func=run)
