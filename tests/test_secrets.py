"""Credentials sent in requests are not archived or shown unless the site opts in."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import Response

from crawler.warc_capture import WarcCaptureMiddleware
from storage.warc import WarcRotatingWriter
from tests.fixtures_site import run_cli, site_entry, write_config
from tests.test_ssrf import serve
from tests.warc_assertions import read_jsonl_gz, read_records

SECRET = "s3ss10n-7f1c9e2b"
ARTICLE = (b"<html><head><title>Members only</title></head><body><article><h1>Members only</h1>"
           + b"<p>A long enough paragraph of article text for the extractor to keep.</p>" * 8
           + b"</article></body></html>")
PAGES = {
    "/": (200, {"Set-Cookie": f"session={SECRET}; Path=/; HttpOnly"},
          b'<html><body><a href="/news/a.html">a</a></body></html>'),
    "/news/a.html": (200, {}, ARTICLE),
}


def _crawl(tmp_path: Path, **overrides: object) -> tuple[str, list, bytes, str]:
    with serve("127.0.0.1", PAGES) as (base, _):
        site = site_entry(base, name="members", start_urls=[f"{base}/"], sitemaps=[], feeds=[],
                          article_patterns=[r"/news/"], follow_depth=1, **overrides)
        archive = tmp_path / "archive"
        config = write_config(tmp_path, [site], storage=str(archive))
        result = run_cli("crawl", "members", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    warcs = sorted(archive.rglob("*.warc.gz"))
    records = [r for w in warcs for r in read_records(w.read_bytes(), w.name)]
    warc_bytes = b"".join(gzip.decompress(w.read_bytes()) for w in warcs)
    (jsonl,) = archive.rglob("*.jsonl.gz")
    assert read_jsonl_gz(jsonl.read_bytes())  # the article behind the cookie was extracted
    return base, records, warc_bytes, result.stdout + result.stderr + gzip.decompress(
        jsonl.read_bytes()).decode()


def test_cookies_are_redacted_in_request_records(tmp_path: Path) -> None:
    base, records, warc_bytes, shown = _crawl(tmp_path)
    (req,) = [r for r in records if r.type == "request" and r.uri == f"{base}/news/a.html"]
    assert ("Cookie", "[redacted]") in req.http_headers
    assert req.headers["WARC-Warcwire-Redacted"] == "Cookie"
    for r in records:
        if r.type == "request":
            assert SECRET not in str(r.http_headers)
    # the site's own Set-Cookie is what it published and stays; nowhere else
    assert warc_bytes.count(SECRET.encode()) == 1
    assert SECRET not in shown


def test_a_site_may_archive_cookies_as_sent(tmp_path: Path) -> None:
    base, records, _, _ = _crawl(tmp_path, archive_credentials=True)
    (req,) = [r for r in records if r.type == "request" and r.uri == f"{base}/news/a.html"]
    assert ("Cookie", f"session={SECRET}") in req.http_headers
    assert "WARC-Warcwire-Redacted" not in req.headers


@pytest.mark.parametrize(("archive_credentials", "kept"), [
    (False, []), (True, ["Authorization", "Cookie"]),
])
def test_authorization_and_proxy_credentials(tmp_path: Path, archive_credentials: bool,
                                              kept: list[str]) -> None:
    writer = WarcRotatingWriter(tmp_path, "direct", warcinfo={})
    mw = WarcCaptureMiddleware(writer, archive_credentials=archive_credentials)
    sent = {"Authorization": "Basic dXNlcjpodW50ZXIy", "Cookie": "sid=c00k1e",
            "Proxy-Authorization": "Basic cHJveHk6cHJveHlwYXNz"}
    request = Request("http://example.com/private", headers=sent)
    mw.process_request(request)
    mw.process_response(request, Response("http://example.com/private", body=b"ok"))
    writer.close()
    (warc,) = tmp_path.rglob("*.warc.gz")
    req = next(r for r in read_records(warc.read_bytes(), warc.name) if r.type == "request")
    stored = dict(req.http_headers)
    for name, value in sent.items():
        assert stored[name] == (value if name in kept else "[redacted]")
    redacted = [n for n in sent if n not in kept]
    assert req.headers["WARC-Warcwire-Redacted"] == ", ".join(redacted)
    data = gzip.decompress(warc.read_bytes())
    for name in redacted:
        assert sent[name].encode() not in data
