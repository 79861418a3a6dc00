"""``warcwire trigger SITE``: ask the running service to crawl a site now."""

from __future__ import annotations

import argparse

from warcwire.commands.common import RAW, add_config_arg

EPILOG = """example:
  warcwire trigger example-news --config /etc/warcwire/sites.yaml

The crawl runs inside the service, exactly like a scheduled run (same process limits,
time limit and run history, trigger "manual"). Refused if that site is already being
crawled. Without a running service, use `warcwire crawl SITE` instead."""


def run(args: argparse.Namespace) -> int:
    from jobs.client import call_ok, service_address

    address = service_address(args.config, args.listen)
    call_ok(address, "POST", f"/trigger/{args.site}")
    print(f"Crawl of {args.site} started by the service at {address}; "
          "see `warcwire status` or `warcwire runs`")
    return 0


def add_listen_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", metavar="HOST:PORT",
                        help="service address (default: scheduler.listen from the config)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("trigger", help="ask the running service to crawl a site now",
                       epilog=EPILOG, formatter_class=RAW)
    p.add_argument("site", help="site name from the config")
    add_config_arg(p)
    add_listen_arg(p)
    p.set_defaults(func=run)
