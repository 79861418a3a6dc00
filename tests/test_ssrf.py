"""The SSRF guard: non-public addresses are refused, literally, after DNS and after redirects."""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request

from crawler.ssrf import AddressGuardMiddleware, BlockedAddress, address_kind, is_public
from tests.fixtures_site import run_cli, site_entry, write_config
from warcwire.config import SiteConfig


@pytest.mark.parametrize(("address", "kind"), [
    ("127.0.0.1", "loopback"), ("127.0.0.2", "loopback"), ("10.1.2.3", "private"),
    ("172.16.0.1", "private"), ("192.168.1.1", "private"), ("169.254.169.254", "link-local"),
    ("0.0.0.0", "unspecified"), ("224.0.0.1", "multicast"), ("100.64.0.1", "non-public"),
    ("240.0.0.1", "reserved"), ("::1", "loopback"), ("::", "unspecified"),
    ("fe80::1", "link-local"), ("fd00::1", "private"), ("ff02::1", "multicast"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:169.254.169.254", "link-local"),
    ("2002:a00:1::", "private"), ("64:ff9b::a9fe:a9fe", "link-local"),
])
def test_non_public_addresses_are_named(address: str, kind: str) -> None:
    ip = ipaddress.ip_address(address)
    assert address_kind(ip) == f"a {kind} address"
    assert not is_public(ip)


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700::1111",
                                     "::ffff:8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def _checked(coro: Coroutine[Any, Any, None]) -> None:
    """Run a check that needs no DNS (so never waits) without an event loop."""
    try:
        coro.send(None)
    except StopIteration:
        return
    raise AssertionError("the check waited for something")


def test_literal_hosts_are_checked_against_the_allowed_networks() -> None:
    mw = AddressGuardMiddleware(["127.0.0.1", "10.0.0.0/8"])
    for url in ["http://127.0.0.1:8080/", "http://10.9.8.7/", "http://[::ffff:10.0.0.1]/",
                "http://93.184.216.34/"]:
        assert _checked(mw.process_request(Request(url))) is None
    for url, address in [("http://127.0.0.2/", "127.0.0.2"),
                         ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
                         ("http://[::1]:80/", "::1")]:
        with pytest.raises(BlockedAddress) as err:
            _checked(mw.process_request(Request(url)))
        assert str(err.value.address) == address
        assert str(err.value).startswith(f"Refused to fetch {url}: {address} is a ")
        assert "allow_addresses" in str(err.value)


def test_allow_addresses_must_be_networks() -> None:
    with pytest.raises(ValueError, match="expected an IP address or network"):
        SiteConfig(name="a", start_urls=["http://x/"], allow_addresses=["localhost"])


# -- end to end -------------------------------------------------------------------


class _Site(BaseHTTPRequestHandler):
    pages: dict[str, tuple[int, dict[str, str], bytes]] = {}
    received: list[str]

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.received.append(self.path)
        status, headers, body = self.pages.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for name, value in {"Content-Type": "text/html", **headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serve(host: str, pages: dict[str, tuple[int, dict[str, str], bytes]]
          ) -> Iterator[tuple[str, list[str]]]:
    """A site on ``host``; yields its base URL and the paths it was asked for."""
    received: list[str] = []
    handler = type("Handler", (_Site,), {"pages": pages, "received": received})
    server = ThreadingHTTPServer((host, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{host}:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_loopback_site_without_opt_in_fetches_nothing(tmp_path: Path) -> None:
    page = (200, {}, b"<html><body>hello</body></html>")
    with serve("127.0.0.1", {"/": page, "/b.html": page}) as (base, received):
        port = base.rsplit(":", 1)[1]
        site = site_entry(base, name="local", start_urls=[f"{base}/",
                                                          f"http://localhost:{port}/b.html"],
                          sitemaps=[], feeds=[], allow_addresses=[])
        config = write_config(tmp_path, [site], storage=str(tmp_path / "archive"))
        result = run_cli("crawl", "local", "--config", str(config))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "pages 0" in result.stdout and "blocked_address 2" in result.stdout, result.stdout
    assert received == []  # not even robots.txt
    assert f"Refused to fetch {base}/: 127.0.0.1 is a loopback address" in result.stderr
    assert "(localhost resolves to it); a site may allow it with allow_addresses" \
        in result.stderr


def test_redirect_to_a_blocked_address_is_not_followed(tmp_path: Path) -> None:
    with serve("127.0.0.2", {"/": (200, {}, b"internal")}) as (inner, inner_received):
        pages = {
            "/": (200, {}, b'<html><body><a href="/go.html">go</a></body></html>'),
            "/go.html": (302, {"Location": f"{inner}/"}, b"moved"),
        }
        with serve("127.0.0.1", pages) as (base, received):
            # allowed_domains lets the redirect through the offsite check: only the guard stops it
            site = site_entry(base, name="local", start_urls=[f"{base}/"], sitemaps=[],
                              feeds=[], article_patterns=[], follow_depth=1,
                              allowed_domains=["127.0.0.1", "127.0.0.2"],
                              allow_addresses=["127.0.0.1/32"])
            config = write_config(tmp_path, [site], storage=str(tmp_path / "archive"))
            result = run_cli("crawl", "local", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "/go.html" in received
    assert inner_received == []
    assert "blocked_address 1" in result.stdout, result.stdout
    assert f"Refused to fetch {inner}/: 127.0.0.2 is a loopback address" in result.stderr
