"""The test site and the crawl for tests/test_warc_capture.py.

Run as ``python -m tests._run_capture_crawl BASE REFUSED SPOOL OUT`` in a
subprocess, because Twisted's reactor cannot be restarted in one process.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sys
from pathlib import Path

from tests._rawhttp import Reply, reply

MAX_BODY = 50_000
ROTATE_SIZE = 20_000

ROBOTS = b"User-agent: *\nDisallow: /private\n"
HTML = b"<html><head><title>t</title></head><body>" + b"news " * 200 + b"</body></html>"
CHUNKED_HTML = b"<html><body>" + b"chunk of text " * 50 + b"</body></html>"
GZIPPED = gzip.compress(HTML, mtime=0)
# incompressible, so rotation and truncation see the full size
LARGE = b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(300_000 // 32))
DATALOSS_SENT = b"x" * 400

START_PATHS = [
    "/gzip", "/chunked", "/chunked-gzip", "/redirect", "/missing", "/error",
    "/cookies", "/search?q=news&page=2", "/large", "/dataloss", "/http10", "/private",
]


def _ok(body: bytes, *extra: tuple[str, str], chunked: bool = False) -> Reply:
    headers = [("Content-Type", "text/html; charset=utf-8"), *extra]
    if not chunked:
        headers.append(("Content-Length", str(len(body))))
    else:
        headers.append(("Transfer-Encoding", "chunked"))
    return reply("HTTP/1.1 200 OK", headers, body, chunked=chunked)


ROUTES = {
    "/robots.txt": lambda r: reply(
        "HTTP/1.1 200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(ROBOTS)))],
        ROBOTS),
    "/gzip": lambda r: _ok(GZIPPED, ("Content-Encoding", "gzip")),
    "/chunked": lambda r: _ok(CHUNKED_HTML, chunked=True),
    "/chunked-gzip": lambda r: _ok(GZIPPED, ("Content-Encoding", "gzip"), chunked=True),
    "/redirect": lambda r: reply(
        "HTTP/1.1 301 Moved Permanently", [("Location", "/landing"), ("Content-Length", "5")],
        b"moved"),
    "/landing": lambda r: _ok(HTML),
    "/missing": lambda r: reply(
        "HTTP/1.1 404 Not Found", [("Content-Length", "12")], b"no such page"),
    "/error": lambda r: reply(
        "HTTP/1.1 500 Internal Server Error", [("Content-Length", "4")], b"oops"),
    "/cookies": lambda r: _ok(
        HTML, ("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/; HttpOnly")),
    "/search": lambda r: _ok(r.target.encode()),
    "/large": lambda r: reply(
        "HTTP/1.1 200 OK",
        [("Content-Type", "application/octet-stream"), ("Content-Length", str(len(LARGE)))],
        LARGE),
    "/dataloss": lambda r: Reply(
        b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n", [DATALOSS_SENT], close=True),
    "/http10": lambda r: reply(
        "HTTP/1.0 200 OK", [("Content-Type", "text/html")], HTML, close=True),
    "/post": lambda r: _ok(b"posted " + r.body),
    "/private": lambda r: _ok(b"secret"),
}


# -- the crawl, run in a subprocess ---------------------------------------------


def crawl_main(base: str, refused: str, spool: str, out: str) -> None:
    import scrapy
    from scrapy.crawler import CrawlerProcess

    results: list[dict] = []

    class CaptureSpider(scrapy.Spider):
        name = "capture"

        async def start(self):
            for path in START_PATHS:
                yield scrapy.Request(base + path, errback=self.failed)
            yield scrapy.Request(refused, errback=self.failed)
            yield scrapy.FormRequest(base + "/post", formdata={"q": "a b", "n": "1"},
                                     errback=self.failed)

        def parse(self, response):
            results.append({
                "url": response.url,
                "status": response.status,
                "flags": response.flags,
                "body_sha1": hashlib.sha1(response.body).hexdigest(),
                "warc_location": response.meta.get("warc_location"),
            })

        def failed(self, failure):
            results.append({"url": failure.request.url, "error": repr(failure.value)})

    process = CrawlerProcess(settings={
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.warc_capture.WarcCaptureMiddleware": 950,
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.robotstxt.SharedRobotsTxtMiddleware": 100,
        },
        "DOWNLOAD_FAIL_ON_DATALOSS": False,
        "DOWNLOAD_TIMEOUT": 20,
        "HTTPERROR_ALLOW_ALL": True,
        "LOG_LEVEL": "INFO",
        "RETRY_ENABLED": False,
        "ROBOTSTXT_OBEY": True,
        "TELNETCONSOLE_ENABLED": False,
        "USER_AGENT": "warcwire-test/1.0",
        # the tests compare request records with the wire, cookies included
        "WARCWIRE_ARCHIVE_CREDENTIALS": True,
        "WARCWIRE_RUN_ID": "run-42",
        "WARCWIRE_SITE": "testsite",
        "WARCWIRE_SPOOL_DIR": spool,
        "WARCWIRE_WARCINFO": {"config-digest": "sha256:abc"},
        "WARCWIRE_WARC_MAX_BODY_SIZE": MAX_BODY,
        "WARCWIRE_WARC_ROTATE_SIZE": ROTATE_SIZE,
    })
    crawler = process.create_crawler(CaptureSpider)
    process.crawl(crawler)
    process.start()
    stats = crawler.stats.get_stats()
    Path(out).write_text(json.dumps({"results": results, "stats": stats}, default=str))


if __name__ == "__main__":
    crawl_main(*sys.argv[1:5])
