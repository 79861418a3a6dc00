"""``warcwire review``: the review web page over the catalog and the archive."""

from __future__ import annotations

import argparse
import logging

from warcwire.commands.common import RAW, add_config_arg

EPILOG = """example:
  warcwire review --config sites.yaml                 # http://127.0.0.1:8750/
  WARCWIRE_REVIEW_TOKEN=s3cret warcwire review --host 0.0.0.0 --port 8750

Archived pages replay from a second listener on --replay-port (default: the next
port), a separate origin, so their scripts can never reach the review page. On any
address other than loopback a token is required (--token or WARCWIRE_REVIEW_TOKEN);
open the page once as http://HOST:PORT/?token=TOKEN."""


def run(args: argparse.Namespace) -> int:
    from storage import get_store
    from storage.catalog import Catalog
    from warcwire.config import load_config
    from warcwire.review.archive import ReviewArchive
    from warcwire.review.server import ReviewServer

    config = load_config(args.config)
    listen_host, _, listen_port = config.review.listen.rpartition(":")
    host = args.host or listen_host
    port = int(listen_port) if args.port is None else args.port
    archive = ReviewArchive(Catalog(config.database_url),
                            get_store(args.storage or config.storage))
    server = ReviewServer(archive, host=host, port=port, replay_port=args.replay_port,
                          token=args.token)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    login = "?token=<your token>" if server.guard.token else ""
    print(f"Review page on {server.url}{login}  (replay origin port {server.replay_port}, "
          f"{archive.catalog.count()} captures)", flush=True)
    print("Press Ctrl+C to stop.", flush=True)
    server.serve_forever()
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("review", help="serve the review web page: search, replay, diff",
                       epilog=EPILOG, formatter_class=RAW)
    add_config_arg(p)
    p.add_argument("--host", help="address to bind (default: review.listen, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port of the page (default: review.listen, 8750)")
    p.add_argument("--replay-port", type=int,
                   help="port of the replay origin (default: the page's port + 1)")
    p.add_argument("--token", help="required to open the page; also WARCWIRE_REVIEW_TOKEN; "
                                   "needed on any address other than loopback")
    p.add_argument("--storage", help="override the config's storage URI")
    p.add_argument("-v", "--verbose", action="store_true", help="log every request")
    p.set_defaults(func=run)
