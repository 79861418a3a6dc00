"""The demo site keeps its address between runs, and gives way when the port is taken.

A second ``warcwire demo`` is only a re-crawl if the URLs are the same, so the
site is served on a fixed port; a busy port must not stop the demo.
"""

from __future__ import annotations

import errno
import inspect
import logging
import socket
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

from tests.fixtures_site import free_port
from warcwire.demo import DEMO_PORT, run_demo, sample_site_root, serve_demo_site
from warcwire.site_server import serve_site

TIMEOUT = 30  # a bound against hangs, not a timing check


def get(base_url: str, path: str = "/") -> bytes:
    with urllib.request.urlopen(f"{base_url}{path}", timeout=TIMEOUT) as resp:
        return resp.read()


@contextmanager
def listener(port: int) -> Iterator[socket.socket]:
    """Some other program serving on ``port``."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        yield sock


def test_run_demo_serves_on_the_fixed_port_by_default() -> None:
    assert inspect.signature(run_demo).parameters["port"].default == DEMO_PORT
    assert inspect.signature(serve_demo_site).parameters["port"].default == DEMO_PORT


def test_serving_twice_in_a_row_gets_the_same_address() -> None:
    port = free_port()
    with serve_demo_site(port) as first:
        sitemap = get(first, "/sitemap.xml")  # leaves a closed connection, as a crawl does
    with serve_demo_site(port) as second:
        assert get(second, "/sitemap.xml") == sitemap
    assert first == second == f"http://127.0.0.1:{port}"
    assert f"<loc>http://127.0.0.1:{port}/".encode() in sitemap  # the same URLs to crawl


def test_the_default_port_is_the_same_on_every_run() -> None:
    with serve_demo_site() as first:
        if urlsplit(first).port != DEMO_PORT:
            pytest.skip(f"port {DEMO_PORT} is in use by something else on this machine")
    with serve_demo_site() as second:
        pass
    assert first == second == f"http://127.0.0.1:{DEMO_PORT}"


def test_a_taken_port_falls_back_to_a_free_one(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    with listener(port) as other, caplog.at_level(logging.WARNING, "warcwire.site_server"), \
            serve_demo_site(port) as base_url:
        served_on = urlsplit(base_url).port
        assert served_on not in (port, None)
        assert b"<html" in get(base_url).lower()
        assert other.getsockname()[1] == port
    assert f"Port {port} on 127.0.0.1 is in use; serving on port {served_on}" in caplog.text


def test_without_fallback_a_taken_port_is_an_error() -> None:
    port = free_port()
    with listener(port), pytest.raises(OSError) as info, \
            serve_site(sample_site_root(), port=port):
        pass
    assert info.value.errno == errno.EADDRINUSE


def test_other_bind_errors_are_not_hidden_by_the_fallback() -> None:
    # 192.0.2.1 (TEST-NET-1) is no address of this machine: not EADDRINUSE, so no fallback
    with pytest.raises(OSError) as info, \
            serve_site(sample_site_root(), host="192.0.2.1", port=free_port(), fallback=True):
        pass
    assert info.value.errno != errno.EADDRINUSE
