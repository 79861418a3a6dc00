"""End-to-end WARC capture: a real Scrapy crawl against a raw server on 127.0.0.1.

The crawl runs in a subprocess (Twisted's reactor cannot restart), see
tests/_run_capture_crawl.py. The server runs here, so the tests compare the
WARCs with the bytes that really crossed the socket.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests._rawhttp import RawHTTPServer
from tests._run_capture_crawl import (
    CHUNKED_HTML,
    DATALOSS_SENT,
    GZIPPED,
    HTML,
    LARGE,
    MAX_BODY,
    ROBOTS,
    ROUTES,
)
from tests._warc_reader import Rec, read_warc, sha1_b32

VENV_BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parent.parent


@dataclass
class Crawl:
    server: RawHTTPServer
    spool: Path
    files: list[Path]
    records: list[Rec]
    results: list[dict]
    stats: dict
    log: str

    def url(self, target: str) -> str:
        return self.server.url(target)

    def one(self, rec_type: str, target: str) -> Rec:
        found = [r for r in self.records if r.type == rec_type and r.uri == self.url(target)]
        assert len(found) == 1, (rec_type, target, len(found))
        return found[0]

    def exchanges(self) -> list[Rec]:
        return [r for r in self.records if r.type in ("request", "response")]


@pytest.fixture(scope="module")
def crawl(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("capture")
    spool, out = tmp / "spool", tmp / "out.json"
    with socket.socket() as s:  # a port with nobody listening: connection refused
        s.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{s.getsockname()[1]}/refused"
    with RawHTTPServer(ROUTES) as server:
        proc = subprocess.run(
            [sys.executable, "-m", "tests._run_capture_crawl",
             server.url(""), refused, str(spool), str(out)],
            cwd=REPO, capture_output=True, text=True, timeout=120,
        )
    assert proc.returncode == 0, proc.stderr[-5000:]
    data = json.loads(out.read_text())
    files = sorted(p for p in spool.rglob("*.warc.gz*") if not p.name.endswith(".cdxj"))
    records = [rec for path in files for rec in read_warc(path)]
    return Crawl(server, spool, files, records, data["results"], data["stats"], proc.stderr)


# -- the tests ---------------------------------------------------------------------


def test_every_warc_passes_warcio_check_and_is_finished(crawl: Crawl) -> None:
    assert len(crawl.files) >= 2, "the small rotate size should have produced several files"
    assert all(p.name.endswith(".warc.gz") for p in crawl.files), "no .open file left"
    result = subprocess.run(
        [str(VENV_BIN / "warcio"), "check", *map(str, crawl.files)],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_file_starts_with_warcinfo_describing_the_crawl(crawl: Crawl) -> None:
    for path in crawl.files:
        first = read_warc(path)[0]
        assert first.type == "warcinfo"
        info = dict(line.split(": ", 1) for line in first.payload.decode().splitlines())
        assert info["site"] == "testsite"
        assert info["run-id"] == "run-42"
        assert info["config-digest"] == "sha256:abc"
        assert info["robots"] == "obey"
        assert info["http-header-user-agent"] == "warcwire-test/1.0"
        assert info["software"].startswith("warcwire/")
        assert path.name.startswith("warcwire-testsite-")
        assert path.parent.parent == crawl.spool / "testsite"


def test_every_fetched_url_has_one_linked_request_and_response(crawl: Crawl) -> None:
    fetched = {crawl.url(r.target) for r in crawl.server.received}
    assert len(fetched) == len(crawl.server.received), "each URL is fetched once"
    for rec_type in ("request", "response"):
        assert sorted(r.uri for r in crawl.records if r.type == rec_type) == sorted(fetched)
    for url in fetched:
        (req,) = [r for r in crawl.records if r.type == "request" and r.uri == url]
        (resp,) = [r for r in crawl.records if r.type == "response" and r.uri == url]
        assert req.headers["WARC-Concurrent-To"] == resp.headers["WARC-Record-ID"]
        assert resp.headers["WARC-Concurrent-To"] == req.headers["WARC-Record-ID"]
        assert req.path == resp.path, "an exchange never spans two files"


def test_robots_txt_is_archived(crawl: Crawl) -> None:
    assert crawl.one("request", "/robots.txt").http_lines()[0] == "GET /robots.txt HTTP/1.1"
    assert crawl.one("response", "/robots.txt").payload == ROBOTS


def test_robots_disallowed_page_is_not_fetched(crawl: Crawl) -> None:
    # Scrapy's own middleware fails this (requests waiting for robots.txt skip the
    # check); crawler.robotstxt.SharedRobotsTxtMiddleware fixes it.
    assert "/private" not in [r.path for r in crawl.server.received]


def test_request_records_are_the_bytes_the_server_received(crawl: Crawl) -> None:
    for received in crawl.server.received:
        req = crawl.one("request", received.target)
        assert req.http_head == received.head
        assert req.payload == received.body


def test_request_line_keeps_method_path_and_query(crawl: Crawl) -> None:
    assert crawl.one("request", "/search?q=news&page=2").http_lines()[0] == (
        "GET /search?q=news&page=2 HTTP/1.1"
    )
    post = crawl.one("request", "/post")
    assert post.http_lines()[0] == "POST /post HTTP/1.1"
    assert post.payload == b"q=a+b&n=1"
    assert post.http_header("Content-Length") == ["9"]
    assert post.http_header("Host") == [f"127.0.0.1:{crawl.server.port}"]


def test_gzip_bodies_are_stored_as_sent(crawl: Crawl) -> None:
    for target in ("/gzip", "/chunked-gzip"):
        resp = crawl.one("response", target)
        assert resp.http_header("Content-Encoding") == ["gzip"]
        assert resp.payload == GZIPPED
        assert gzip.decompress(resp.payload) == HTML


def test_chunked_body_is_stored_dechunked_with_real_length(crawl: Crawl) -> None:
    resp = crawl.one("response", "/chunked")
    assert resp.payload == CHUNKED_HTML
    assert resp.http_header("Content-Length") == [str(len(CHUNKED_HTML))]


def test_content_length_matches_payload_and_no_transfer_encoding(crawl: Crawl) -> None:
    for resp in (r for r in crawl.records if r.type == "response"):
        assert resp.http_header("Content-Length") == [str(len(resp.payload))], resp.uri
        assert resp.http_header("Transfer-Encoding") == [], resp.uri


def test_repeated_set_cookie_lines_are_kept(crawl: Crawl) -> None:
    resp = crawl.one("response", "/cookies")
    assert resp.http_header("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/; HttpOnly"]


def test_redirects_and_errors_are_archived_unfollowed(crawl: Crawl) -> None:
    redirect = crawl.one("response", "/redirect")
    assert redirect.http_lines()[0] == "HTTP/1.1 301 Moved Permanently"
    assert redirect.http_header("Location") == ["/landing"]
    assert crawl.one("response", "/landing").payload == HTML
    assert crawl.one("response", "/missing").http_lines()[0] == "HTTP/1.1 404 Not Found"
    assert crawl.one("response", "/missing").payload == b"no such page"
    error = crawl.one("response", "/error")
    assert error.http_lines()[0] == "HTTP/1.1 500 Internal Server Error"
    assert error.payload == b"oops"


def test_ip_address_and_protocol_are_what_the_server_spoke(crawl: Crawl) -> None:
    for rec in crawl.exchanges():
        assert rec.headers["WARC-IP-Address"] == "127.0.0.1"
    for resp in (r for r in crawl.records if r.type == "response"):
        expected = "HTTP/1.0" if resp.uri.endswith("/http10") else "HTTP/1.1"
        assert resp.http_lines()[0].split(" ")[0] == expected, resp.uri
    assert crawl.one("response", "/http10").payload == HTML


def test_payload_and_block_digests_verify(crawl: Crawl) -> None:
    for rec in crawl.records:
        assert rec.headers["WARC-Block-Digest"] == sha1_b32(rec.block)
        if rec.type != "warcinfo":
            assert rec.headers["WARC-Payload-Digest"] == sha1_b32(rec.payload)


def test_oversized_body_is_cut_at_the_limit_and_marked(crawl: Crawl) -> None:
    resp = crawl.one("response", "/large")
    assert resp.headers["WARC-Truncated"] == "length"
    assert resp.payload == LARGE[:MAX_BODY]
    assert resp.http_header("Content-Length") == [str(MAX_BODY)]
    (seen,) = [r for r in crawl.results if r["url"] == crawl.url("/large")]
    assert "download_stopped" in seen["flags"]


def test_connection_lost_mid_body_is_marked_disconnect(crawl: Crawl) -> None:
    resp = crawl.one("response", "/dataloss")
    assert resp.headers["WARC-Truncated"] == "disconnect"
    assert resp.payload == DATALOSS_SENT
    untruncated = [r for r in crawl.records if r.type == "response" and "WARC-Truncated"
                   not in r.headers]
    assert len(untruncated) == len([r for r in crawl.records if r.type == "response"]) - 2


def test_spider_meta_location_points_at_its_response_record(crawl: Crawl) -> None:
    located = [r for r in crawl.results if r.get("warc_location")]
    assert {r["url"] for r in located} >= {crawl.url(p) for p in ("/gzip", "/landing", "/post")}
    for result in located:
        loc = result["warc_location"]
        path = crawl.spool / loc["key"]
        with open(path, "rb") as f:
            f.seek(loc["offset"])
            records = list(ArchiveIterator(io.BytesIO(f.read(loc["length"]))))
        assert len(records) == 1
        assert records[0].rec_type == "response"
        assert records[0].rec_headers.get_header("WARC-Target-URI") == result["url"]
        assert records[0].http_headers.get_statuscode() == str(result["status"])


def test_spider_still_gets_decoded_bodies(crawl: Crawl) -> None:
    (seen,) = [r for r in crawl.results if r["url"] == crawl.url("/chunked-gzip")]
    assert seen["body_sha1"] == hashlib.sha1(HTML).hexdigest()


def test_cdxj_indexer_agrees_with_recorded_locations(crawl: Crawl) -> None:
    """pywb replays from cdxj-indexer output; its offsets must be ours."""
    out = subprocess.run(
        [str(VENV_BIN / "cdxj-indexer"), *map(str, crawl.files)],
        capture_output=True, text=True, check=True,
    ).stdout
    index = {}
    for line in out.splitlines():
        fields = json.loads(line.split(" ", 2)[2])
        index[fields["url"]] = fields
    for result in (r for r in crawl.results if r.get("warc_location")):
        entry, loc = index[result["url"]], result["warc_location"]
        assert entry["filename"] == Path(loc["key"]).name
        assert (int(entry["offset"]), int(entry["length"])) == (loc["offset"], loc["length"])


def test_failed_exchanges_are_counted_not_archived(crawl: Crawl) -> None:
    # the refused host's robots.txt, then the page itself
    assert crawl.stats["warc/failed_exchanges"] == 2
    assert not [r for r in crawl.records if r.uri.endswith("/refused")]
    assert any(r.get("error") and r["url"].endswith("/refused") for r in crawl.results)


def test_stats_count_what_was_written(crawl: Crawl) -> None:
    exchanges = len(crawl.server.received)
    assert crawl.stats["warc/exchanges"] == exchanges
    assert crawl.stats["warc/records"] == 2 * exchanges + len(crawl.files)
    assert crawl.stats["warc/files"] == len(crawl.files)
    assert crawl.stats["warc/bytes"] == sum(p.stat().st_size for p in crawl.files)
    assert crawl.stats["warc/truncated"] == 2


def test_warc_record_ids_are_unique(crawl: Crawl) -> None:
    ids = [r.headers["WARC-Record-ID"] for r in crawl.records]
    assert len(ids) == len(set(ids))
    assert all(i.startswith("<urn:uuid:") and i.endswith(">") for i in ids)
