"""``warcwire reindex``: rebuild CDXJ indexes and the catalog from storage alone."""

from __future__ import annotations

import argparse

from warcwire.commands.common import RAW, add_config_arg

EPILOG = """example:
  warcwire reindex --config sites.yaml --site example-news

Reads every stored WARC once (streamed), writes <key>.cdxj beside it and refills the
catalog (database_url); article JSONL files fill the full-text index. A crawl state
that was lost is refilled from the archive (payload digests and article versions, so
the next crawl writes revisits and emits no article again); what it still has is kept."""


def run(args: argparse.Namespace) -> int:
    from storage import get_store
    from storage.crawl_state import CrawlState
    from storage.indexer import reindex
    from warcwire.commands.captures import open_catalog
    from warcwire.config import load_config

    config = load_config(args.config)
    if args.site:
        config.site(args.site)
    store = get_store(config.storage)
    catalog = open_catalog(config)
    state = CrawlState(config.database_url)
    try:
        report = reindex(store, catalog, args.site, state)
    finally:
        state.close()
    print(f"Reindexed {report.warcs} WARC(s) in {store.uri}: {report.captures} captures, "
          f"{report.articles} articles, {len(report.cdxj)} CDXJ file(s) written; crawl "
          f"state checked for {report.state_urls} URL(s) and {report.state_articles} "
          "article(s)")
    for key, why in report.failed:
        print(f"  FAILED {key}: {why}")
    return 0 if report.ok else 1


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reindex", help="rebuild CDXJ indexes and the capture catalog",
                       epilog=EPILOG, formatter_class=RAW)
    add_config_arg(p)
    p.add_argument("--site", help="only this site's files (keys under SITE/)")
    p.set_defaults(func=run)
