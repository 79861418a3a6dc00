"""``warcwire captures URL``: list what the archive holds for a URL."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Literal

from warcwire.commands.common import RAW, add_config_arg
from warcwire.exceptions import CaptureNotFound, WarcwireError

if TYPE_CHECKING:
    from collections.abc import Callable

    from storage.base import Store
    from storage.catalog import ArticleVersion, Capture, Catalog
    from warcwire.config import Config

EPILOG = """example:
  warcwire captures https://news.example.org/2026/11/25/ferries.html --config sites.yaml
  warcwire captures news.example.org/2026/ --prefix

URLs match as CDX servers match them: http/https, www., host case and the order of
query parameters do not matter.

VERSION is the article version a capture holds, with the words added and removed
since the previous one (v2 +12/-3); a revisit (mime warc/revisit) says which kind
it is and, in brackets, the version it repeats: "revisit: not modified (v1)" for
a 304, "revisit: identical payload (v1)" for the same bytes again. Telling them
apart reads each revisit's small record from storage."""


def open_catalog(config: Config) -> Catalog:
    """The catalog at the config's database URL."""
    from storage.catalog import Catalog

    return Catalog(config.database_url)


def version_labels(open_store: Callable[[], Store], catalog: Catalog, captures: list[Capture],
                   versions: dict[int, ArticleVersion]) -> dict[int, str]:
    """The VERSION column, by capture id: article versions, and what each revisit repeats
    (the store is opened only if there are revisits to read)."""
    from storage.restore import read_capture, revisit_ref

    labels = {c.id: versions[c.id].label() or "article" for c in captures if c.id in versions}
    listed = {(c.surt, c.timestamp, c.digest): c for c in captures if not c.revisit}
    revisits = [c for c in captures if c.revisit]
    if not revisits:
        return labels
    store = open_store()
    for c in revisits:
        try:
            ref = revisit_ref(read_capture(store, c))
        except (WarcwireError, OSError):
            labels[c.id] = "revisit (record unreadable)"
            continue
        if ref is None:
            continue
        original = listed.get((c.surt, ref.timestamp, ref.digest)) if ref.timestamp else None
        if original is None and ref.digest:
            original = catalog.original(ref.uri, ref.timestamp, ref.digest)
        if original is None:
            labels[c.id] = f"{ref.label} (original not in the catalog)"
        elif original.id in versions and versions[original.id].tag:
            labels[c.id] = f"{ref.label} ({versions[original.id].tag})"
        else:
            labels[c.id] = ref.label
    return labels


def format_table(captures: list[Capture], *, with_url: bool,
                 labels: dict[int, str] | None = None) -> list[str]:
    head = ["TIMESTAMP", "STATUS", "SIZE", "DIGEST", "MIME", "SITE", "VERSION"]
    labels = labels or {}
    rows = [[c.timestamp, "-" if c.status is None else str(c.status), str(c.length),
             c.digest or "-", c.mime or "-", c.site, labels.get(c.id, "-")] for c in captures]
    if with_url:
        head.append("URL")
        for row, c in zip(rows, captures, strict=True):
            row.append(c.url)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip()
            for r in [head, *rows]]


def run(args: argparse.Namespace) -> int:
    from storage import get_store
    from warcwire.config import load_config

    config = load_config(args.config)
    catalog = open_catalog(config)
    match: Literal["exact", "prefix"] = "prefix" if args.prefix else "exact"
    captures = catalog.captures(args.url, match=match)
    if not captures:
        raise CaptureNotFound(args.url)
    versions = catalog.article_versions(args.url, match=match)
    labels = version_labels(lambda: get_store(config.storage), catalog, captures, versions)
    print("\n".join(format_table(captures, with_url=args.prefix, labels=labels)))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("captures", help="list the archived captures of a URL",
                       epilog=EPILOG, formatter_class=RAW)
    p.add_argument("url", help="the URL (scheme optional)")
    add_config_arg(p)
    p.add_argument("--prefix", action="store_true",
                   help="every URL starting with this one (adds a URL column)")
    p.set_defaults(func=run)
