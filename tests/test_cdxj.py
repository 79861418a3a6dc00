"""Our CDXJ is what cdxj-indexer (pywb's indexer) writes, sorted bytewise."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from storage.cdxj import index_warc, surt_key
from storage.local import LocalStore
from tests._crawled import Crawled, crawl_and_index


def cdxj_indexer(root: Path, keys: list[str]) -> bytes:
    """cdxj-indexer's sorted output, filenames relative to ``root`` like our keys."""
    binary = Path(sys.executable).parent / "cdxj-indexer"
    result = subprocess.run([str(binary), "--sort", "--dir-root", str(root), *keys],
                            cwd=root, capture_output=True, timeout=60, check=True)
    return result.stdout


@pytest.fixture(scope="module")
def crawled(news_site: str, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    # a small rotate size gives several WARCs, each with its own index
    return crawl_and_index(news_site, tmp_path_factory.mktemp("cdxj-crawl"),
                           warc={"rotate_size": "20kB"})


def test_stored_cdxj_equals_cdxj_indexer_for_every_warc(crawled: Crawled) -> None:
    assert len(crawled.warc_keys) >= 3
    for key in crawled.warc_keys:
        ours = (crawled.archive / (key + ".cdxj")).read_bytes()
        assert ours == cdxj_indexer(crawled.archive, [key]), key


def test_cdxj_written_with_the_warc_equals_reading_the_warc_back(crawled: Crawled) -> None:
    # the crawler indexes as it writes; indexing after the fact must give the same bytes
    for key in crawled.warc_keys:
        with LocalStore(crawled.archive).open(key) as fh:
            reread = index_warc(fh, key).cdxj()
        assert (crawled.archive / (key + ".cdxj")).read_bytes() == reread, key


def test_lines_sorted_bytewise_and_only_captures(crawled: Crawled) -> None:
    for key in crawled.warc_keys:
        lines = (crawled.archive / (key + ".cdxj")).read_bytes().splitlines()
        assert lines == sorted(lines) and lines
        with LocalStore(crawled.archive).open(key) as fh:
            from warcio.archiveiterator import ArchiveIterator

            types = [r.rec_type for r in ArchiveIterator(fh)]
        assert len(lines) == types.count("response")  # requests and warcinfo left out
        for line in lines:
            key_, ts, body = line.split(b" ", 2)
            assert len(ts) == 14 and ts.isdigit()
            assert b'"filename": "' + key.encode() + b'"' in body


def _odd_warc() -> bytes:
    """Records a crawl rarely writes: revisit, resource, metadata, odd URLs."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=True)
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def http(url: str, body: bytes, ctype: str = "text/html; charset=UTF-8") -> None:
        headers = StatusAndHeaders("200 OK", [("Content-Type", ctype),
                                              ("Content-Length", str(len(body)))],
                                   protocol="HTTP/1.1")
        rec = writer.create_warc_record(url, "response", payload=io.BytesIO(body),
                                        length=len(body), http_headers=headers,
                                        warc_headers_dict={"WARC-Date": when})
        writer.write_record(rec)
        req = writer.create_warc_record(url, "request", payload=io.BytesIO(b""), length=0,
                                        http_headers=StatusAndHeaders(
                                            "GET / HTTP/1.1", [], protocol="HTTP/1.1"),
                                        warc_headers_dict={"WARC-Date": when})
        writer.write_record(req)

    http("https://www.Example.com/b?z=1&a=2", b"<p>b</p>")
    http("https://example.com/caf%C3%A9/\u00e9t\u00e9", b"<p>utf8</p>")
    http("https://example.com/a", b"body {}", "text/css")
    revisit = writer.create_revisit_record(
        "https://example.com/a", "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "https://example.com/a", when, warc_headers_dict={"WARC-Date": when})
    writer.write_record(revisit)
    writer.write_record(writer.create_warc_record(
        "https://example.com/res.txt", "resource", payload=io.BytesIO(b"plain"), length=5,
        warc_content_type="text/plain", warc_headers_dict={"WARC-Date": when}))
    writer.write_record(writer.create_warc_record(
        "https://example.com/a", "metadata", payload=io.BytesIO(b"k: v\r\n"), length=6,
        warc_content_type="application/warc-fields", warc_headers_dict={"WARC-Date": when}))
    return out.getvalue()


def test_revisit_resource_and_odd_urls_match_cdxj_indexer(tmp_path: Path) -> None:
    (tmp_path / "odd.warc.gz").write_bytes(_odd_warc())
    with open(tmp_path / "odd.warc.gz", "rb") as fh:
        index = index_warc(fh, "odd.warc.gz")
    ours = index.cdxj()
    assert ours == cdxj_indexer(tmp_path, ["odd.warc.gz"])
    kinds = sorted(e.record_type for e in index.entries)
    assert kinds == ["resource", "response", "response", "response", "revisit"]
    assert b"warc/revisit" in ours


@pytest.mark.parametrize(("a", "b"), [
    ("http://example.com/a?b=1&a=2", "https://WWW.EXAMPLE.COM/a?a=2&b=1"),
    ("example.com/news/", "http://example.com:80/news"),
    ("http://example.com/x#frag", "http://example.com/x"),
])
def test_surt_keys_canonicalise_like_cdx_servers(a: str, b: str) -> None:
    assert surt_key(a) == surt_key(b)
