"""``warcwire sites``: validate the config and list its sites."""

from __future__ import annotations

import argparse

from warcwire.commands.common import RAW, add_config_arg


def run(args: argparse.Namespace) -> int:
    from warcwire.config import load_config

    config = load_config(args.config)
    print(f"{config.path}: {len(config.sites)} site(s), storage {config.storage}")
    for site in config.sites:
        entry = len(site.start_urls), len(site.sitemaps), len(site.feeds)
        print(f"  {site.name:<24} schedule {site.schedule or '-':<14} "
              f"start pages {entry[0]}, sitemaps {entry[1]}, feeds {entry[2]}, "
              f"max {site.max_pages} pages, domains {', '.join(site.domains)}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sites", help="validate the config and list its sites",
                       epilog="example:\n  warcwire sites --config sites.yaml",
                       formatter_class=RAW)
    add_config_arg(p)
    p.set_defaults(func=run)
