"""Serve a folder of static pages on 127.0.0.1 the way real news servers do.

Used by ``warcwire demo`` (the bundled sample site) and by the tests. Pages
are sent gzip-encoded with a Content-Length, or chunked without one, chosen
per path, so the crawler meets both wire formats on every run.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import mimetypes
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

logger = logging.getLogger(__name__)

BASE_URL_PLACEHOLDER = b"{{BASE_URL}}"
_TEMPLATED = {".xml", ".rss", ".atom", ".txt", ".html"}
_COMPRESSIBLE = ("text/", "application/xml", "application/rss+xml", "application/atom+xml",
                 "application/json", "application/javascript")
_TYPES = {".rss": "application/rss+xml", ".atom": "application/atom+xml",
          ".xml": "application/xml"}


def wire_mode(path: str) -> str:
    """'gzip' or 'chunked', stable per path, so both formats appear on every site."""
    return "gzip" if hashlib.sha1(path.encode()).digest()[0] % 2 == 0 else "chunked"


class StaticSiteHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "warcwire-sample/1.0"
    root: Path  # set on the subclass built by make_handler

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        logger.debug("%s %s", self.address_string(), format % args)

    def do_HEAD(self) -> None:  # noqa: N802
        self.do_GET(head=True)

    def do_GET(self, head: bool = False) -> None:  # noqa: N802
        path = unquote(urlsplit(self.path).path)
        target = self._resolve(path)
        if target is None:
            self.send_body(404, b"<html><body><h1>Not found</h1></body></html>",
                           "text/html; charset=utf-8", head=head)
            return
        body = target.read_bytes()
        if target.suffix in _TEMPLATED:
            host = self.headers.get("Host") or _host_port(self.server.server_address)
            body = body.replace(BASE_URL_PLACEHOLDER, f"http://{host}".encode())
        ctype = _TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or \
            "application/octet-stream"
        if ctype.startswith("text/") or ctype.endswith("xml"):
            ctype += "; charset=utf-8"
        self.send_body(200, body, ctype, head=head, mode=wire_mode(path))

    def _resolve(self, path: str) -> Path | None:
        rel = path.lstrip("/")
        candidate = (self.root / rel).resolve()
        if not candidate.is_relative_to(self.root):
            return None
        if candidate.is_dir():
            candidate = candidate / "index.html"
        return candidate if candidate.is_file() else None

    def send_body(self, status: int, body: bytes, ctype: str, *, head: bool = False,
                  mode: str = "plain", extra: list[tuple[str, str]] | None = None) -> None:
        """Send ``body`` gzip-encoded (with Content-Length), chunked, or plain."""
        accepts_gzip = "gzip" in (self.headers.get("Accept-Encoding") or "")
        compressible = ctype.startswith(_COMPRESSIBLE)
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for name, value in extra or []:
            self.send_header(name, value)
        if mode == "gzip" and accepts_gzip and compressible:
            body = gzip.compress(body, compresslevel=6, mtime=0)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Vary", "Accept-Encoding")
        if mode == "chunked" and not head:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for i in range(0, len(body), 4096):
                chunk = body[i:i + 4096]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)


def _host_port(address: tuple) -> str:
    return f"{address[0]}:{address[1]}"


def make_handler(root: Path, base: type[StaticSiteHandler] = StaticSiteHandler
                 ) -> type[StaticSiteHandler]:
    return type("BoundSiteHandler", (base,), {"root": root.resolve()})


@contextmanager
def serve_handler(handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1",
                  port: int = 0) -> Iterator[str]:
    """Serve ``handler`` in a background thread; yields the base URL."""
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name=handler.__name__, daemon=True)
    thread.start()
    try:
        yield f"http://{_host_port(server.server_address)}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def serve_site(root: Path, host: str = "127.0.0.1", port: int = 0,
               handler: type[StaticSiteHandler] = StaticSiteHandler) -> Iterator[str]:
    """Serve ``root`` in a background thread; yields the base URL."""
    with serve_handler(make_handler(root, handler), host, port) as base_url:
        yield base_url
