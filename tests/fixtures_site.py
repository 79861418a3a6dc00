"""HTTP test sites served on 127.0.0.1.

The bundled sample news site, plus a few pages that misbehave on purpose
(a 500, a page slower than the download timeout, a binary file and a
mis-declared charset at article URLs), served by a real threaded HTTP server
that sends some pages gzip-encoded and others chunked.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from warcwire.demo import sample_site_root
from warcwire.site_server import StaticSiteHandler, serve_site

SLOW_SECONDS = 4.0
BINARY_BODY = bytes(range(256)) * 64
WRONG_CHARSET_BODY = (
    "<html><head><meta charset='utf-8'><title>Caf\u00e9 prices rise</title></head><body>"
    "<article><h1>Caf\u00e9 prices rise</h1>"
    + "<p>Prices at the caf\u00e9 went up again this week, owners said, citing costs.</p>" * 8
    + "</article></body></html>"
).encode("cp1252")


class InFlight:
    """Counts requests the server is answering at once, to check politeness."""

    lock = threading.Lock()
    now = 0
    peak = 0

    @classmethod
    def reset(cls) -> None:
        with cls.lock:
            cls.now = cls.peak = 0

    @classmethod
    def enter(cls) -> None:
        with cls.lock:
            cls.now += 1
            cls.peak = max(cls.peak, cls.now)

    @classmethod
    def leave(cls) -> None:
        with cls.lock:
            cls.now -= 1


class FaultySiteHandler(StaticSiteHandler):
    """The sample site plus /faults/... pages that fail in the ways real sites do."""

    def do_GET(self, head: bool = False) -> None:  # noqa: N802
        path = self.path.split("?", 1)[0]
        if path == "/faults/counted.html":
            InFlight.enter()
            try:
                time.sleep(0.3)
                self.send_body(200, b"<html><body>counted</body></html>", "text/html",
                               mode="plain")
            finally:
                InFlight.leave()
        elif path == "/faults/server-error.html":
            self.send_body(500, b"<html><body>Internal error</body></html>",
                           "text/html; charset=utf-8", mode="plain")
        elif path == "/faults/slow.html":
            time.sleep(SLOW_SECONDS)
            self.send_body(200, b"<html><body>too late</body></html>", "text/html",
                           mode="plain")
        elif path == "/news/world/binary-file.html":
            self.send_body(200, BINARY_BODY, "application/octet-stream", mode="plain")
        elif path == "/news/world/wrong-charset.html":
            self.send_body(200, WRONG_CHARSET_BODY, "text/html; charset=utf-8", mode="gzip")
        else:
            super().do_GET(head=head)


@pytest.fixture(scope="session")
def news_site() -> Iterator[str]:
    """Base URL of the sample news site (with fault pages) on 127.0.0.1."""
    with serve_site(sample_site_root(), handler=FaultySiteHandler) as base_url:
        yield base_url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def site_entry(base_url: str, name: str = "sample-news", **overrides: object) -> dict:
    entry: dict = {
        "name": name,
        "start_urls": [f"{base_url}/"],
        "sitemaps": [f"{base_url}/sitemap.xml"],
        "feeds": [f"{base_url}/feed.rss"],
        "article_patterns": [r"/news/[^/]+/[^/]+\.html$"],
        "follow_depth": 2,
        "max_pages": 200,
        "politeness": {"delay": 0, "concurrency": 8, "autothrottle": False},
        "allow_addresses": ["127.0.0.1"],  # a local test site: opt out of the SSRF guard
    }
    entry.update(overrides)
    return entry


def write_config(tmp_path: Path, sites: list[dict], storage: str,
                 **globals_: object) -> Path:
    config = {"storage": storage, "spool_dir": str(tmp_path / "spool"),
              "data_dir": str(tmp_path / "state"), "sites": sites}
    config.update(globals_)
    path = tmp_path / "sites.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 180
            ) -> subprocess.CompletedProcess[str]:
    """Run ``warcwire`` in a child process (Twisted's reactor cannot restart in ours)."""
    return subprocess.run([sys.executable, "-m", "warcwire.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env=env)
