"""``warcwire verify``: re-read stored WARCs and check them against the catalog."""

from __future__ import annotations

import argparse
import re

from warcwire.commands.common import RAW, add_config_arg

EPILOG = """example:
  warcwire verify --config sites.yaml --site example-news --since 2026-01-01

Streams every stored WARC from the storage backend and recomputes each record's
WARC-Block-Digest and WARC-Payload-Digest; checks that each WARC has its .cdxj and
its catalog rows, that every catalog row resolves (by a ranged read) to a record
with the row's URL and digest, and that every revisit record resolves: its original
is in the catalog and the record stored there is a response with the revisit's
payload digest. Prints one line per problem and a summary line:

  MISSING     a catalog row's WARC is not stored
  CORRUPT     a digest mismatch, a damaged gzip member, or a catalog row that does
              not lead to its record
  UNINDEXED   no .cdxj, or captures not in the catalog (warcwire reindex fixes it)
  UNRESOLVED  a revisit whose original is not in the catalog, or is not a response
              with the same payload digest (its page cannot be restored or replayed)

exit codes: 0 everything checked out; 1 something is missing, corrupt, unindexed
or unresolved; 2 bad config or usage."""

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _date(value: str) -> str:
    if not _DATE.match(value):
        raise argparse.ArgumentTypeError(f"{value!r} is not a date; use YYYY-MM-DD")
    return value


def run(args: argparse.Namespace) -> int:
    from storage import get_store
    from storage.verify import KINDS, verify_store
    from warcwire.commands.captures import open_catalog
    from warcwire.config import load_config

    config = load_config(args.config)
    if args.site:
        config.site(args.site)
    store = get_store(config.storage)
    catalog = open_catalog(config)
    try:
        report = verify_store(store, catalog, site=args.site, since=args.since)
    finally:
        catalog.close()
    for problem in report.problems:
        print(problem.line())
    counts = ", ".join(f"{report.count(kind)} {kind}" for kind in KINDS)
    verdict = "OK" if report.ok else f"PROBLEMS: {counts}"
    print(f"Verified {report.warcs} WARC(s), {report.records} record(s), {report.rows} "
          f"catalog row(s), {report.revisits} revisit(s) in {store.uri}: {verdict}")
    return 0 if report.ok else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="check stored WARCs' digests, indexes, catalog rows "
                       "and revisits",
                       epilog=EPILOG, formatter_class=RAW)
    add_config_arg(p)
    p.add_argument("--site", help="only this site's files (keys under SITE/)")
    p.add_argument("--since", metavar="YYYY-MM-DD", type=_date,
                   help="only files stored under this date or later")
    p.set_defaults(func=run)
