"""Serve a folder of static pages on 127.0.0.1 the way real news servers do.

Used by ``warcwire demo`` (the bundled sample site) and by the tests. Pages
are sent gzip-encoded with a Content-Length, or chunked without one, chosen
per path, so the crawler meets both wire formats on every run. Files carry
ETag and Last-Modified and conditional requests get 304, as from nginx, so
re-crawls can be incremental.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import logging
import mimetypes
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from email.message import Message
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

logger = logging.getLogger(__name__)

BASE_URL_PLACEHOLDER = b"{{BASE_URL}}"
_TEMPLATED = {".xml", ".rss", ".atom", ".txt", ".html"}
_COMPRESSIBLE = ("text/", "application/xml", "application/rss+xml", "application/atom+xml",
                 "application/json", "application/javascript")
_TYPES = {".rss": "application/rss+xml", ".atom": "application/atom+xml",
          ".xml": "application/xml"}
_ENTITY_TAG = re.compile(r'(?:W/)?"[^"]*"')


def wire_mode(path: str) -> str:
    """'gzip' or 'chunked', stable per path, so both formats appear on every site."""
    return "gzip" if hashlib.sha1(path.encode()).digest()[0] % 2 == 0 else "chunked"


def _negotiable(ctype: str, mode: str) -> bool:
    """Whether the body depends on Accept-Encoding, so responses carry Vary."""
    return mode == "gzip" and ctype.startswith(_COMPRESSIBLE)


def entity_tag(body: bytes, coding: str | None = None) -> str:
    """Strong ETag of the identity bytes, suffixed per content-coding.

    A gzip body is a different representation from the identity one, so it
    needs its own tag; gzip with ``mtime=0`` is deterministic, so it stays strong.
    """
    digest = hashlib.sha1(body).hexdigest()[:16]
    return f'"{digest}-{coding}"' if coding else f'"{digest}"'


def not_modified(headers: Message, etag: str, mtime: float) -> bool:
    """Whether a GET or HEAD gets 304 (RFC 9110 §13.2.2, steps 3 and 4)."""
    none_match = headers.get_all("If-None-Match")
    if none_match:
        value = ", ".join(none_match)
        ours = etag.removeprefix("W/")
        return value.strip() == "*" or any(
            tag.removeprefix("W/") == ours for tag in _ENTITY_TAG.findall(value))
    since = headers.get("If-Modified-Since")
    if since is None:
        return False
    try:
        date = parsedate_to_datetime(since)
    except (TypeError, ValueError, IndexError):
        return False  # not an HTTP-date: ignored, as RFC 9110 §13.1.3 requires
    if date.tzinfo is None:
        date = date.replace(tzinfo=UTC)
    return int(mtime) <= date.timestamp()


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
        with target.open("rb") as f:  # the mtime of the bytes we read, as nginx does
            mtime = os.fstat(f.fileno()).st_mtime
            body = f.read()
        if target.suffix in _TEMPLATED:
            host = self.headers.get("Host") or _host_port(self.server.server_address)
            body = body.replace(BASE_URL_PLACEHOLDER, f"http://{host}".encode())
        ctype = _TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0] or \
            "application/octet-stream"
        if ctype.startswith("text/") or ctype.endswith("xml"):
            ctype += "; charset=utf-8"
        mode = wire_mode(path)
        etag = entity_tag(body, "gzip" if self._gzips(ctype, mode) else None)
        validators = [("ETag", etag), ("Last-Modified", formatdate(mtime, usegmt=True))]
        if not_modified(self.headers, etag, mtime):
            self.send_not_modified(ctype, mode, validators)
        else:
            self.send_body(200, body, ctype, head=head, mode=mode, extra=validators)

    def _resolve(self, path: str) -> Path | None:
        rel = path.lstrip("/")
        candidate = (self.root / rel).resolve()
        if not candidate.is_relative_to(self.root):
            return None
        if candidate.is_dir():
            candidate = candidate / "index.html"
        return candidate if candidate.is_file() else None

    def _gzips(self, ctype: str, mode: str) -> bool:
        accepted = "gzip" in (self.headers.get("Accept-Encoding") or "")
        return accepted and _negotiable(ctype, mode)

    def send_not_modified(self, ctype: str, mode: str, validators: list[tuple[str, str]]
                          ) -> None:
        """304 with the validators and Vary the 200 would carry, and no body."""
        self.send_response(304)
        for name, value in validators:
            self.send_header(name, value)
        if _negotiable(ctype, mode):
            self.send_header("Vary", "Accept-Encoding")
        self.end_headers()

    def send_body(self, status: int, body: bytes, ctype: str, *, head: bool = False,
                  mode: str = "plain", extra: list[tuple[str, str]] | None = None) -> None:
        """Send ``body`` gzip-encoded (with Content-Length), chunked, or plain."""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for name, value in extra or []:
            self.send_header(name, value)
        if _negotiable(ctype, mode):
            self.send_header("Vary", "Accept-Encoding")  # on both codings, for caches
        if self._gzips(ctype, mode):
            body = gzip.compress(body, compresslevel=6, mtime=0)
            self.send_header("Content-Encoding", "gzip")
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


def _host_port(address: Any) -> str:
    """``host:port`` of a TCP server address (an (address, port, ...) tuple)."""
    return f"{address[0]}:{address[1]}"


def make_handler(root: Path, base: type[StaticSiteHandler] = StaticSiteHandler
                 ) -> type[StaticSiteHandler]:
    return type("BoundSiteHandler", (base,), {"root": root.resolve()})


def _bind(handler: type[BaseHTTPRequestHandler], host: str, port: int,
          fallback: bool) -> ThreadingHTTPServer:
    try:
        return ThreadingHTTPServer((host, port), handler)
    except OSError as exc:
        if not (fallback and port and exc.errno == errno.EADDRINUSE):
            raise
    server = ThreadingHTTPServer((host, 0), handler)
    logger.warning("Port %d on %s is in use; serving on port %d instead, so the URLs differ "
                   "from those of earlier runs", port, host, server.server_address[1])
    return server


@contextmanager
def serve_handler(handler: type[BaseHTTPRequestHandler], host: str = "127.0.0.1",
                  port: int = 0, *, fallback: bool = False) -> Iterator[str]:
    """Serve ``handler`` in a background thread; yields the base URL.

    With ``fallback``, a ``port`` that is in use gives way to one the OS picks.
    """
    server = _bind(handler, host, port, fallback)
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
               handler: type[StaticSiteHandler] = StaticSiteHandler, *,
               fallback: bool = False) -> Iterator[str]:
    """Serve ``root`` in a background thread; yields the base URL."""
    with serve_handler(make_handler(root, handler), host, port, fallback=fallback) as base_url:
        yield base_url
