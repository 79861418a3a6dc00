"""Fallback static server for the benchmark when nginx cannot be had.

Threaded, keep-alive, and it serves ``<file>.gz`` with ``Content-Encoding:
gzip`` when the client accepts gzip, as nginx's gzip_static does. Slower than
nginx; the benchmark prints a warning when it uses this.
"""

from __future__ import annotations

import argparse
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class GzipStaticHandler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    extensions_map = {".html": "text/html; charset=utf-8",
                      ".xml": "application/xml; charset=utf-8",
                      ".txt": "text/plain; charset=utf-8", "": "text/plain; charset=utf-8"}

    def send_head(self):  # type: ignore[no-untyped-def]
        path = Path(self.translate_path(self.path))
        if path.is_dir():
            path = path / "index.html"
        gz = path.with_name(path.name + ".gz")
        if "gzip" not in self.headers.get("Accept-Encoding", "") or not gz.is_file():
            return super().send_head()
        data = gz.open("rb")
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("Content-Length", str(gz.stat().st_size))
        self.end_headers()
        return data

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", type=Path)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)

    def handler(*a: object, **kw: object) -> GzipStaticHandler:
        return GzipStaticHandler(*a, directory=str(args.root), **kw)  # type: ignore[arg-type]

    server = ThreadingHTTPServer(("127.0.0.1", args.port), handler)
    server.daemon_threads = True
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
