"""A local site that misbehaves on purpose, for tests/test_hostile_sites.py.

Every path under ``/h/`` is one fault: redirect loops and over-long chains, a gzip
bomb, a body that stalls or is reset mid-way, 100k nested divs, a broken feed,
a huge and a self-including sitemap, 429 with Retry-After and a storm of 5xx.
"""

from __future__ import annotations

import contextlib
import functools
import re
import socket
import struct
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler

from warcwire.site_server import serve_handler

BOMB_DECODED = 200 * 1024 * 1024  # what the gzip bomb inflates to
CHAIN_LENGTH = 30  # beyond Scrapy's REDIRECT_MAX_TIMES (20)
HUGE_SITEMAP_URLS = 60_000
STORM_PAGES = 12
NESTED_DEPTH = 100_000
STALL_SECONDS = 8.0  # keep well above the test's download_timeout
ARTICLE = (b"<html><head><title>Fine article</title></head><body><article><h1>Fine article"
           b"</h1>" + b"<p>Plenty of ordinary words in a perfectly ordinary paragraph.</p>" * 6
           + b"</article></body></html>")


@functools.cache
def gzip_bomb() -> bytes:
    """A gzip member of BOMB_DECODED zero bytes, about 200 kB on the wire."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1024 * 1024)
    parts = [comp.compress(chunk) for _ in range(BOMB_DECODED // len(chunk))]
    parts.append(comp.flush())
    return b"".join(parts)


def huge_sitemap(base: str) -> bytes:
    urls = "".join(f"<url><loc>{base}/h/p/{i}.html</loc></url>"
                   for i in range(HUGE_SITEMAP_URLS))
    return ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns='
            f'"http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>').encode()


def self_index(base: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns='
            '"http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{base}/h/sitemap-index.xml</loc></sitemap>"
            f"<sitemap><loc>{base}/h/sitemap-index.xml?again=1</loc></sitemap>"
            "</sitemapindex>").encode()


# Broken XML (a bare &, cut off mid-item) with one good item: read in recover mode.
BROKEN_FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken & co</title>'
               b"<item><link>/h/news/from-feed.html</link></item><item><title>cut off &")
# Not XML at all: counted as bad_feed.
GARBAGE_FEED = bytes(range(256)) * 8


class HostileHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def handle(self) -> None:
        # the crawler hanging up on a stalled or reset response is expected here
        with contextlib.suppress(ConnectionResetError, BrokenPipeError):
            super().handle()

    @property
    def base(self) -> str:
        return f"http://{self.headers['Host']}"

    def send_body(self, status: int, body: bytes, ctype: str = "text/html",
                  headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def redirect(self, location: str) -> None:
        self.send_body(302, b"", headers={"Location": location})

    def do_GET(self) -> None:  # noqa: N802, C901
        path = self.path.split("?", 1)[0]
        if path == "/robots.txt":
            self.send_body(200, b"User-agent: *\nAllow: /\n", "text/plain")
        elif path == "/h/loop-a.html":
            self.redirect("/h/loop-b.html")
        elif path == "/h/loop-b.html":
            self.redirect("/h/loop-a.html")
        elif m := re.fullmatch(r"/h/chain/(\d+)\.html", path):
            n = int(m[1])
            if n < CHAIN_LENGTH:
                self.redirect(f"/h/chain/{n + 1}.html")
            else:
                self.send_body(200, ARTICLE)
        elif path == "/h/bomb.html":
            self.send_body(200, gzip_bomb(), headers={"Content-Encoding": "gzip"})
        elif path == "/h/stall.html":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "20000")
            self.end_headers()
            self.wfile.write(b"<html><body>" + b"x" * 9988)
            self.wfile.flush()
            time.sleep(STALL_SECONDS)
            self.close_connection = True
        elif path == "/h/reset.html":
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b"<html><body>" + b"y" * 4988)
            self.wfile.flush()
            time.sleep(0.1)
            # SO_LINGER 0: close() sends RST instead of FIN
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
            self.close_connection = True
        elif path == "/h/news/nested.html":
            body = (b"<html><head><title>Deep</title></head><body>"
                    + b"<div>" * NESTED_DEPTH + b"<p>bottom</p>" + b"</div>" * NESTED_DEPTH
                    + b"</body></html>")
            self.send_body(200, body)
        elif path == "/h/feed.rss":
            self.send_body(200, BROKEN_FEED, "application/rss+xml")
        elif path == "/h/garbage.rss":
            self.send_body(200, GARBAGE_FEED, "application/rss+xml")
        elif path == "/h/news/from-feed.html":
            self.send_body(200, ARTICLE)
        elif path == "/h/sitemap-huge.xml":
            self.send_body(200, huge_sitemap(self.base), "application/xml")
        elif path == "/h/sitemap-index.xml":
            self.send_body(200, self_index(self.base), "application/xml")
        elif path == "/h/news/too-many.html":
            self.send_body(429, b"slow down", "text/plain", headers={"Retry-After": "1"})
        elif re.fullmatch(r"/h/news/storm-\d+\.html", path):
            self.send_body(503, b"<html><body>overloaded</body></html>")
        elif re.fullmatch(r"/h/p/\d+\.html", path):
            self.send_body(200, ARTICLE)
        else:
            self.send_body(404, b"not here")


@contextmanager
def serve_hostile() -> Iterator[str]:
    """Serve HostileHandler on 127.0.0.1 in a background thread; yields the base URL."""
    # Built before the first request: deflating 200 MB takes seconds of CPU, which on a
    # busy machine would run past the crawl's download timeout and test nothing.
    gzip_bomb()
    with serve_handler(HostileHandler) as base_url:
        yield base_url
