"""The review server over plain HTTP: 404s, downloads, headers, tokens, host names."""

from __future__ import annotations

import http.client
import io
import json
import os
import subprocess
import sys
import time
from urllib.parse import urlsplit

import pytest
from warcio.archiveiterator import ArchiveIterator

from storage.catalog import Catalog
from storage.local import LocalStore
from tests.fixtures_review import CHANGED_ARTICLE, LIVE_WEB, TOKEN, ReviewSite
from tests.fixtures_site import free_port, run_cli
from warcwire.review.archive import ReviewArchive
from warcwire.review.replay import replay_path
from warcwire.review.security import COOKIE, TOKEN_ENV, TokenRequired
from warcwire.review.server import ReviewServer

AUTH = {"Authorization": f"Bearer {TOKEN}"}


def get(url: str, headers: dict[str, str] | None = None
        ) -> tuple[int, http.client.HTTPMessage, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""),
                     headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("path", ["/capture/999999", "/capture/999999/record.warc.gz",
                                  "/diff?a=1&b=999999", "/diff?a=one&b=two", "/no/such/page"])
def test_unknown_record_is_a_clear_404_page(review_site: ReviewSite, path: str) -> None:
    status, headers, body = get(review_site.ui + path, AUTH)
    assert status == 404
    assert headers["Content-Type"].startswith("text/html")
    text = body.decode()
    assert "Not found" in text and "Back to search" in text
    assert "Traceback" not in text
    if path.startswith("/capture/"):
        assert "There is no capture with id 999999 in the catalog" in text


def test_unknown_record_in_the_api_is_a_json_404(review_site: ReviewSite) -> None:
    status, headers, body = get(review_site.ui + "/api/captures/999999", AUTH)
    assert status == 404 and headers["Content-Type"] == "application/json"
    assert "no capture with id 999999" in json.loads(body)["error"]


def test_download_is_the_record_as_a_single_record_warc(review_site: ReviewSite) -> None:
    capture = review_site.latest(CHANGED_ARTICLE)
    status, headers, body = get(f"{review_site.ui}/capture/{capture.id}/record.warc.gz", AUTH)
    assert status == 200
    assert headers["Content-Type"] == "application/warc"
    assert headers["Content-Disposition"] == (
        f'attachment; filename="sample-news-{capture.timestamp}-{capture.id}.warc.gz"')
    assert body[:2] == b"\x1f\x8b"
    records = list(ArchiveIterator(io.BytesIO(body)))
    assert len(records) == 1
    (record,) = records
    assert record.rec_type == "response"
    assert record.rec_headers.get_header("WARC-Target-URI") == capture.url
    stored = LocalStore(review_site.archive).open_range(capture.filename, capture.offset,
                                                         capture.length)
    assert body == stored


def test_search_filters_by_url_prefix_site_and_dates(review_site: ReviewSite) -> None:
    def hits(query: str) -> list[dict]:
        status, _, body = get(f"{review_site.ui}/api/search?{query}", AUTH)
        assert status == 200, body
        return json.loads(body)["hits"]

    world = hits(f"url={review_site.base}/news/world/")
    assert world and all(h["url"].startswith(review_site.base + "/news/world/") for h in world)
    assert all(h["site"] == "sample-news" for h in hits("site=sample-news"))
    assert hits("site=no-such-site") == []
    day = world[0]["timestamp"][:8]
    since = f"{day[:4]}-{day[4:6]}-{day[6:]}"
    assert len(hits(f"since={since}&until={since}")) == len(hits(""))
    assert hits("until=2001-01-01") == []
    status, _, body = get(f"{review_site.ui}/api/search?since=yesterday", AUTH)
    assert status == 400 and "YYYY-MM-DD" in json.loads(body)["error"]
    (hit,) = hits(f"q=backlog&url={review_site.base}/news/&since={since}")[:1]
    assert hit["url"] == review_site.url(CHANGED_ARTICLE) and hit["title"]


def test_not_archived_is_a_404_from_the_replay_origin(review_site: ReviewSite) -> None:
    key = review_site.server.guard.replay_key
    for url in (f"{LIVE_WEB}/pixel.png", review_site.url("/never-crawled.html")):
        status, headers, body = get(review_site.replay + replay_path(key, "20260101", url))
        assert status == 404
        assert "script-src 'none'" in headers["Content-Security-Policy"]
        assert b"Not archived" in body
    # a wrong key is no way in
    url = review_site.url(CHANGED_ARTICLE)
    status, _, _ = get(review_site.replay + replay_path("0" * 24, "20260101", url))
    assert status == 404
    status, _, body = get(review_site.replay + replay_path(key, "20260101", url))
    assert status == 200 and b"Rotterdam" in body


def test_security_headers(review_site: ReviewSite) -> None:
    capture = review_site.latest(CHANGED_ARTICLE)
    _, headers, body = get(f"{review_site.ui}/capture/{capture.id}", AUTH)
    csp = headers["Content-Security-Policy"]
    assert "script-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert f"frame-src {review_site.replay}" in csp
    assert headers["X-Frame-Options"] == "DENY"
    assert b'sandbox=""' in body and b"<script" not in body
    key = review_site.server.guard.replay_key
    _, headers, _ = get(review_site.replay + replay_path(key, capture.timestamp, capture.url))
    csp = headers["Content-Security-Policy"]
    for directive in ("script-src 'none'", "connect-src 'none'", "object-src 'none'",
                      f"frame-ancestors {review_site.ui}", "sandbox"):
        assert directive in csp, directive
    assert "Set-Cookie" not in headers


def test_token_is_required_and_kept_in_an_httponly_cookie(review_site: ReviewSite) -> None:
    status, _, body = get(review_site.ui + "/")
    assert status == 401 and b"Token required" in body
    status, _, body = get(review_site.ui + "/api/search")
    assert status == 401 and json.loads(body) == {"error": "token required"}
    status, _, _ = get(review_site.ui + "/?token=wrong")
    assert status == 401
    status, headers, _ = get(review_site.ui + f"/?q=dock&token={TOKEN}")
    assert status == 303 and headers["Location"] == "/?q=dock"
    cookie = headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN not in cookie
    session = cookie.split(";", 1)[0]
    assert session.startswith(COOKIE + "=")
    status, _, body = get(review_site.ui + "/?q=dock", {"Cookie": session})
    assert status == 200 and b"Dock workers" in body


def test_loopback_server_refuses_foreign_host_names(review_site: ReviewSite) -> None:
    """A page that DNS-rebinds its own name to 127.0.0.1 gets nothing."""
    for origin in (review_site.ui, review_site.replay):
        status, _, _ = get(origin + "/", {"Host": "rebind.attacker.example", **AUTH})
        assert status == 421
    status, _, _ = get(review_site.ui + "/", {"Host": f"localhost:{review_site.server.port}",
                                              **AUTH})
    assert status == 200


def test_off_loopback_without_token_refuses_to_start(review_site: ReviewSite) -> None:
    catalog = Catalog(review_site.database_url)
    archive = ReviewArchive(catalog, LocalStore(review_site.archive))
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    try:
        with pytest.raises(TokenRequired):
            ReviewServer(archive, host="0.0.0.0", port=0)
    finally:
        catalog.close()
    result = run_cli("review", "--config", str(review_site.config), "--host", "0.0.0.0",
                     "--port", "0", env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr == (
        "Error: Refusing to serve the review page on 0.0.0.0 without a token: pass --token T "
        f"or set {TOKEN_ENV} (or bind 127.0.0.1)\n")


def test_off_loopback_with_token_from_environment(review_site: ReviewSite) -> None:
    port = free_port()
    env = {**os.environ, TOKEN_ENV: "env-token"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "warcwire.cli", "review", "--config", str(review_site.config),
         "--host", "0.0.0.0", "--port", str(port), "--replay-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"Review page on http://0.0.0.0:{port}/?token=<your token>"), (
            line + (proc.stderr.read() if proc.poll() is not None and proc.stderr else ""))
        ui = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 10
        while True:
            try:
                status, _, _ = get(ui + "/")
                break
            except ConnectionRefusedError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert status == 401
        status, _, body = get(ui + "/?q=backlog", {"Authorization": "Bearer env-token"})
        assert status == 200 and b"Dock workers" in body
    finally:
        proc.terminate()
        proc.wait(timeout=10)
