"""``warcwire sync``: store and index what waits in the spool, without crawling.

After an S3 outage the files a crawl could not store wait in the spool; the
next crawl uploads them, and so does this command, for when there is no next
crawl soon (or from cron, after the outage).
"""

from __future__ import annotations

import argparse

from warcwire.commands.common import RAW, add_config_arg

EPILOG = """example:
  warcwire sync --config sites.yaml

exit codes: 0 everything stored; 3 some files are still in the spool (storage failed);
2 bad config."""


def run(args: argparse.Namespace) -> int:
    from jobs.crawl import EXIT_OK, EXIT_STORAGE, sync_spool
    from warcwire.config import load_config

    config = load_config(args.config)
    storage = args.storage or config.storage
    report, recovered, not_indexed = sync_spool(config, storage)
    for item in recovered:
        print(f"recovered {item.describe()}")
    print(f"stored {len(report.stored)} file(s) in {storage}")
    for obj in report.stored:
        print(f"  {obj.location}")
    for key, why in not_indexed:
        print(f"  NOT indexed {key}: {why}; run 'warcwire reindex'")
    if report.failed:
        print(f"NOT stored: {len(report.failed)} file(s) still in the spool {config.spool_dir}")
        for path, why in report.failed:
            print(f"  {path}: {why}")
        return EXIT_STORAGE
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sync", help="store and index the files waiting in the spool",
                       epilog=EPILOG, formatter_class=RAW)
    add_config_arg(p)
    p.add_argument("--storage", help="override the config's storage URI")
    p.set_defaults(func=run)
