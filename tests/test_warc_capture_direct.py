"""The WARC capture middleware driven directly, for cases a local server cannot produce."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._warc_reader import read_warc


def _direct(tmp_path: Path, max_body_size: int = 10):
    from crawler.warc_capture import WarcCaptureMiddleware
    from storage.warc import WarcRotatingWriter

    writer = WarcRotatingWriter(tmp_path, "direct", warcinfo={})
    return writer, WarcCaptureMiddleware(writer, max_body_size=max_body_size)


def test_spool_dir_is_required() -> None:
    from scrapy.exceptions import NotConfigured
    from scrapy.utils.test import get_crawler

    from crawler.warc_capture import WarcCaptureMiddleware

    with pytest.raises(NotConfigured, match="WARCWIRE_SPOOL_DIR"):
        WarcCaptureMiddleware.from_crawler(get_crawler(settings_dict={}))


def test_finished_files_are_announced_with_their_key(tmp_path: Path) -> None:
    from scrapy import Request
    from scrapy.http import Response
    from scrapy.utils.test import get_crawler

    from crawler.warc_capture import WarcCaptureMiddleware, warc_file_closed

    # in-process writer: process_response answers at once, no event loop needed
    crawler = get_crawler(settings_dict={"WARCWIRE_SPOOL_DIR": str(tmp_path),
                                         "WARCWIRE_SITE": "s1", "WARCWIRE_RUN_ID": "r9",
                                         "WARCWIRE_WARC_WRITER_PROCESS": False})
    mw = WarcCaptureMiddleware.from_crawler(crawler)
    announced: list[tuple[Path, str]] = []
    crawler.signals.connect(lambda path, key: announced.append((path, key)),
                            signal=warc_file_closed, weak=False)
    request = Request("http://example.com/")
    mw.process_request(request)
    mw.process_response(request, Response("http://example.com/", body=b"hi"))
    mw.spider_closed(None)
    ((path, key),) = announced
    assert key == request.meta["warc_location"]["key"] == path.relative_to(tmp_path).as_posix()
    assert key.startswith("s1/") and path.exists()
    info = read_warc(path)[0].payload.decode()
    assert "site: s1\r\n" in info and "run-id: r9\r\n" in info


def test_h2_ipv6_unknown_status_and_cut_body(tmp_path: Path) -> None:
    import ipaddress

    from scrapy import Request
    from scrapy.exceptions import StopDownload
    from scrapy.http import Response

    writer, mw = _direct(tmp_path)
    request = Request("http://[::1]:8080/x?a=1#frag")
    mw.process_request(request)
    mw.bytes_received(b"12345", request, None)
    with pytest.raises(StopDownload):
        mw.bytes_received(b"6789abcdef", request, None)
    response = Response(
        "http://[::1]:8080/x?a=1", status=599, body=b"123456789abcdef",
        headers={"X-A": ["1", "2"]}, flags=["download_stopped"], protocol="h2",
        ip_address=ipaddress.ip_address("::1"),
    )
    assert mw.process_response(request, response) is response
    writer.close()
    req, resp = (r for r in read_warc(next(tmp_path.rglob("*.warc.gz"))) if r.type != "warcinfo")
    assert req.http_lines() == ["GET /x?a=1 HTTP/1.1", "Host: [::1]:8080"]
    assert resp.http_lines() == ["HTTP/1.1 599", "X-A: 1", "X-A: 2", "Content-Length: 10"]
    assert resp.payload == b"123456789a"
    assert resp.headers["WARC-Protocol"] == "h2"
    assert resp.headers["WARC-IP-Address"] == "::1"
    assert resp.headers["WARC-Truncated"] == "length"
    assert resp.uri == "http://[::1]:8080/x?a=1"


def test_responses_not_downloaded_by_us_are_not_archived(tmp_path: Path) -> None:
    """A cache hit or an earlier middleware's answer never reached the network."""
    from scrapy import Request
    from scrapy.http import Response

    writer, mw = _direct(tmp_path)
    request = Request("http://example.com/")
    response = Response("http://example.com/", body=b"cached", flags=["cached"])
    assert mw.process_response(request, response) is response
    assert "warc_location" not in request.meta
    assert writer.close() == []

