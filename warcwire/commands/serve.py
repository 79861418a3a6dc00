"""``warcwire serve``: crawl every site on its schedule until stopped."""

from __future__ import annotations

import argparse

from warcwire.commands.common import RAW, add_config_arg

EPILOG = """example:
  warcwire serve --config /etc/warcwire/sites.yaml

Each site with a `schedule` (cron) is crawled in its own process, one crawl per site
at a time, at most scheduler.max_parallel at once. Jobs and run history are kept in the
state database (SQLite under data_dir, or `database:`). The control API listens on
scheduler.listen (127.0.0.1:8740): see `warcwire status`, `warcwire trigger`,
`warcwire reload`. SIGHUP reloads the config; SIGTERM/SIGINT stop the service after
running crawls finish (or, after scheduler.stop_grace seconds, are stopped and stored)."""


def run(args: argparse.Namespace) -> int:
    from jobs.daemon import serve

    return serve(args.config, verbose=args.verbose)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the scheduler: crawl every site on its schedule",
                       epilog=EPILOG, formatter_class=RAW)
    add_config_arg(p)
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    p.set_defaults(func=run)
