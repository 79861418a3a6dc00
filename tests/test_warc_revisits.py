"""Revisit records: which exchanges become revisits, in which profile, with which fields."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

from storage.cdxj import index_warc
from storage.warc import Exchange, Original, WarcRotatingWriter, write_exchange
from storage.warc.records import (
    IDENTICAL_PAYLOAD_DIGEST,
    SERVER_NOT_MODIFIED,
    merge_not_modified,
)
from tests.test_warc_writer import counter_ids, fixed_clock, sha1_b32, warcio_check

URL = "http://news.example/a.html"
BODY = b"<html><body><p>The story.</p></body></html>"
HEAD = [("Content-Type", "text/html"), ("Content-Length", str(len(BODY))), ("ETag", '"v1"'),
        ("Date", "Mon, 06 May 2024 07:00:00 GMT"), ("Cache-Control", "max-age=60")]


def exchange(status_line: str, headers: list[tuple[str, str]], body: bytes,
             previous: Original | None = None, **kwargs: object) -> Exchange:
    return Exchange(url=URL, method="GET", target="/a.html",
                    request_headers=[("Host", "news.example"), ("If-None-Match", '"v1"')],
                    request_body=b"", status_line=status_line, response_headers=headers,
                    body=body, sent=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
                    ip="127.0.0.1", previous=previous, **kwargs)  # type: ignore[arg-type]


def writer(tmp_path: Path) -> WarcRotatingWriter:
    return WarcRotatingWriter(tmp_path, "news", warcinfo={"site": "news"}, host="box",
                              clock=fixed_clock, record_id_maker=counter_ids())


def records(path: Path) -> list:
    with open(path, "rb") as f:
        out = []
        for r in ArchiveIterator(f):
            r.content_stream().read()
            out.append(r)
        return out


def first_capture(tmp_path: Path) -> tuple[WarcRotatingWriter, Original]:
    w = writer(tmp_path)
    written = write_exchange(w, exchange("HTTP/1.1 200 OK", HEAD, BODY))
    assert written.revisit is None and written.digest == sha1_b32(BODY)
    return w, Original(uri=URL, date=written.date, digest=written.digest or "",
                       record_id=written.record_id, status_line="HTTP/1.1 200 OK",
                       headers=tuple(HEAD))


def test_a_304_becomes_a_server_not_modified_revisit_replayable_as_the_original(
        tmp_path: Path) -> None:
    w, original = first_capture(tmp_path)
    not_modified = [("Date", "Tue, 07 May 2024 08:00:00 GMT"), ("ETag", '"v1"'),
                    ("Content-Length", "0"), ("X-New", "yes")]
    written = write_exchange(w, exchange("HTTP/1.1 304 Not Modified", not_modified, b"",
                                         previous=original))
    (path,) = w.close()
    assert warcio_check([path]) == 0
    rec = records(path)[-1]
    h = rec.rec_headers
    assert rec.rec_type == "revisit" and written.revisit == "server-not-modified"
    assert h.get_header("WARC-Profile") == SERVER_NOT_MODIFIED
    assert h.get_header("WARC-Refers-To-Target-URI") == URL
    assert h.get_header("WARC-Refers-To-Date") == original.date
    assert h.get_header("WARC-Refers-To") == original.record_id
    assert h.get_header("WARC-Payload-Digest") == original.digest == written.digest
    assert h.get_header("WARC-Warcwire-Received-Status") == "HTTP/1.1 304 Not Modified"
    # the head a cache holds after the 304: the original's, updated, Content-Length kept
    assert rec.http_headers.statusline == "200 OK"
    assert rec.http_headers.headers == [
        ("Content-Type", "text/html"), ("Content-Length", str(len(BODY))), ("ETag", '"v1"'),
        ("Date", "Tue, 07 May 2024 08:00:00 GMT"), ("Cache-Control", "max-age=60"),
        ("X-New", "yes")]


def test_an_identical_200_becomes_an_identical_payload_revisit_with_its_own_head(
        tmp_path: Path) -> None:
    w, original = first_capture(tmp_path)
    head = [("Content-Type", "text/html"), ("Content-Length", str(len(BODY))),
            ("Date", "Tue, 07 May 2024 08:00:00 GMT")]
    written = write_exchange(w, exchange("HTTP/1.1 200 OK", head, BODY, previous=original))
    (path,) = w.close()
    assert warcio_check([path]) == 0
    rec = records(path)[-1]
    assert rec.rec_type == "revisit" and written.revisit == "identical-payload-digest"
    assert rec.rec_headers.get_header("WARC-Profile") == IDENTICAL_PAYLOAD_DIGEST
    assert rec.rec_headers.get_header("WARC-Payload-Digest") == original.digest
    assert rec.rec_headers.get_header("WARC-Warcwire-Received-Status") is None
    assert rec.http_headers.headers == head  # as received; no body stored
    assert int(rec.rec_headers.get_header("Content-Length")) < len(BODY) + 200


def test_a_changed_payload_error_or_truncation_is_archived_whole(tmp_path: Path) -> None:
    w, original = first_capture(tmp_path)
    changed = write_exchange(w, exchange("HTTP/1.1 200 OK", HEAD, BODY + b"!",
                                         previous=original))
    gone = write_exchange(w, exchange("HTTP/1.1 404 Not Found", [], b"", previous=original))
    cut = write_exchange(w, exchange("HTTP/1.1 200 OK", HEAD, BODY, previous=original,
                                     truncated="length"))
    (path,) = w.close()
    assert [changed.revisit, gone.revisit, cut.revisit] == [None, None, None]
    assert [r.rec_type for r in records(path)][-6:] == ["request", "response"] * 3


def test_revisits_are_indexed_as_warc_revisit_with_the_original_digest(tmp_path: Path) -> None:
    w, original = first_capture(tmp_path)
    write_exchange(w, exchange("HTTP/1.1 304 Not Modified", [("ETag", '"v1"')], b"",
                               previous=original))
    (path,) = w.close()
    cdxj = path.with_name(path.name + ".cdxj").read_text().splitlines()
    with open(path, "rb") as f:
        assert [e.line() for e in index_warc(f, path.name).entries] == [
            line.replace(path.relative_to(tmp_path).as_posix(), path.name) for line in cdxj]
    revisit = [line for line in cdxj if '"warc/revisit"' in line]
    assert len(revisit) == 1 and f'"digest": "{original.digest}"' in revisit[0]
    assert '"status": "200"' in revisit[0]


def test_merge_not_modified_follows_rfc_9111() -> None:
    stored = [("Content-Type", "text/html"), ("Content-Encoding", "gzip"),
              ("Content-Length", "10"), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
              ("Expires", "old")]
    update = [("content-type", "text/plain"), ("Content-Length", "0"), ("Expires", "new"),
              ("Set-Cookie", "c=3"), ("Connection", "close"), ("Age", "5")]
    assert merge_not_modified(stored, update) == [
        ("Content-Type", "text/html"), ("Content-Encoding", "gzip"), ("Content-Length", "10"),
        ("Set-Cookie", "c=3"), ("Expires", "new"), ("Age", "5")]
