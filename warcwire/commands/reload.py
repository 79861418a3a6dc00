"""``warcwire reload``: make the running service re-read its config."""

from __future__ import annotations

import argparse

from warcwire.commands.common import RAW, add_config_arg
from warcwire.commands.trigger import add_listen_arg

EPILOG = """example:
  warcwire reload --config /etc/warcwire/sites.yaml

The same as sending SIGHUP (`systemctl reload warcwire`): new sites get a schedule,
removed ones lose theirs, changed schedules take effect. An invalid config is refused
with the reason and the service keeps the one it has."""


def run(args: argparse.Namespace) -> int:
    from jobs.client import call_ok, service_address

    body = call_ok(service_address(args.config, args.listen), "POST", "/reload")
    print(body.get("message", "Config reloaded"))
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reload", help="make the running service re-read its config",
                       epilog=EPILOG, formatter_class=RAW)
    add_config_arg(p)
    add_listen_arg(p)
    p.set_defaults(func=run)
