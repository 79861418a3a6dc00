"""The sample-site server validates like nginx: ETag, Last-Modified and 304s.

Real HTTP over 127.0.0.1 against a throwaway site in ``tmp_path``, so files can
be rewritten; the gzip and chunked paths are picked by ``wire_mode``.
"""

from __future__ import annotations

import gzip
import http.client
import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from email.utils import formatdate
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from warcwire.site_server import entity_tag, serve_site, wire_mode

MTIME = 1_700_000_000  # a whole second, so Last-Modified round-trips exactly
TIMEOUT = 30  # generous: a bound against hangs, not a timing check


def _page_named(mode: str) -> str:
    return next(f"/page-{i}.html" for i in range(100) if wire_mode(f"/page-{i}.html") == mode)


GZIP_PAGE = _page_named("gzip")
CHUNKED_PAGE = _page_named("chunked")


@dataclass
class Reply:
    status: int
    headers: Message
    body: bytes


def page_text(name: str) -> str:
    return (f"<html><head><link rel='canonical' href='{{{{BASE_URL}}}}{name}'></head>"
            f"<body><p>{name}</p>{'<p>Words for the compressor.</p>' * 50}</body></html>")


def write_page(root: Path, name: str, text: str, mtime: int = MTIME) -> None:
    path = root / name.lstrip("/")
    path.write_text(text, encoding="utf-8")
    os.utime(path, (mtime, mtime))


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "htdocs"
    root.mkdir()
    for name in (GZIP_PAGE, CHUNKED_PAGE):
        write_page(root, name, page_text(name))
    with serve_site(root) as base_url:
        yield base_url, root


def fetch(base_url: str, path: str, method: str = "GET", **headers: str) -> Reply:
    """One request on its own connection; header names use '_' for '-'."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=TIMEOUT)
    try:
        conn.request(method, path, headers={k.replace("_", "-"): v for k, v in headers.items()})
        resp = conn.getresponse()
        return Reply(resp.status, resp.headers, resp.read())
    finally:
        conn.close()


def raw_exchange(base_url: str, request_head: str) -> bytes:
    """Every byte the server sends for one request before it closes the connection."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=TIMEOUT) as sock:
        sock.sendall(request_head.encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    return data


def served_body(base_url: str, name: str) -> bytes:
    return page_text(name).replace("{{BASE_URL}}", base_url).encode()


@pytest.mark.parametrize("name", [GZIP_PAGE, CHUNKED_PAGE])
def test_200_carries_a_strong_etag_of_the_served_bytes_and_last_modified(
        site: tuple[str, Path], name: str) -> None:
    base_url, _ = site
    reply = fetch(base_url, name)
    assert reply.status == 200
    assert reply.body == served_body(base_url, name)
    assert re.fullmatch(r'"[0-9a-f]{16}"', reply.headers["ETag"])
    assert reply.headers["ETag"] == entity_tag(reply.body)
    assert reply.headers["Last-Modified"] == formatdate(MTIME, usegmt=True)
    assert reply.headers["Date"]


def test_the_etag_follows_the_host_the_page_is_templated_for(site: tuple[str, Path]) -> None:
    base_url, _ = site
    ours = fetch(base_url, GZIP_PAGE).headers["ETag"]
    other = fetch(base_url, GZIP_PAGE, Host="news.example:80")
    assert b"http://news.example:80" in other.body
    assert other.headers["ETag"] == entity_tag(other.body) != ours


@pytest.mark.parametrize("name", [GZIP_PAGE, CHUNKED_PAGE])
def test_if_none_match_with_the_same_etag_gives_304_and_no_body(
        site: tuple[str, Path], name: str) -> None:
    base_url, _ = site
    first = fetch(base_url, name)
    raw = raw_exchange(base_url, f"GET {name} HTTP/1.1\r\nHost: {urlsplit(base_url).netloc}"
                                 f"\r\nIf-None-Match: {first.headers['ETag']}\r\n"
                                 "Connection: close\r\n\r\n")
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 304 "), head
    assert rest == b"", "a 304 must not carry a body"
    fields = {k.lower(): v for k, v in (line.split(": ", 1) for line in
                                        head.decode("latin-1").split("\r\n")[1:])}
    assert fields["etag"] == first.headers["ETag"]
    assert fields["last-modified"] == first.headers["Last-Modified"]
    assert "date" in fields
    for absent in ("content-length", "content-type", "content-encoding", "transfer-encoding"):
        assert absent not in fields, absent


def test_a_304_keeps_the_connection_usable(site: tuple[str, Path]) -> None:
    base_url, _ = site
    etag = fetch(base_url, CHUNKED_PAGE).headers["ETag"]
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=TIMEOUT)
    try:
        conn.request("GET", CHUNKED_PAGE, headers={"If-None-Match": etag})
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (304, b"")
        conn.request("GET", CHUNKED_PAGE)  # same connection: framing of the 304 was right
        resp = conn.getresponse()
        assert (resp.status, resp.read()) == (200, served_body(base_url, CHUNKED_PAGE))
    finally:
        conn.close()


@pytest.mark.parametrize("header, status", [
    ('"0123456789abcdef"', 200),
    ("*", 304),
    ("W/{etag}", 304),
    ('"0123456789abcdef", W/"ffff", {etag}', 304),
    ('"0123456789abcdef", "ffff"', 200),
    ("{bare}", 200),  # not an entity-tag without its quotes
], ids=["other", "star", "weak", "list", "list-without", "unquoted"])
def test_if_none_match_compares_weakly_against_every_listed_tag(
        site: tuple[str, Path], header: str, status: int) -> None:
    base_url, _ = site
    etag = fetch(base_url, GZIP_PAGE).headers["ETag"]
    reply = fetch(base_url, GZIP_PAGE, If_None_Match=header.format(etag=etag,
                                                                   bare=etag.strip('"')))
    assert reply.status == status
    assert reply.headers["ETag"] == etag
    assert reply.body == (served_body(base_url, GZIP_PAGE) if status == 200 else b"")


@pytest.mark.parametrize("since, status", [
    (formatdate(MTIME, usegmt=True), 304),
    (formatdate(MTIME + 3600, usegmt=True), 304),
    (formatdate(MTIME - 1, usegmt=True), 200),
    ("Tuesday, 14-Nov-23 22:13:20 GMT", 304),  # RFC 850 form of MTIME
    ("Tue Nov 14 22:13:20 2023", 304),  # asctime form of MTIME
    ("yesterday-ish", 200),
    ("", 200),
], ids=["equal", "later", "earlier", "rfc850", "asctime", "garbage", "empty"])
def test_if_modified_since_at_second_precision(
        site: tuple[str, Path], since: str, status: int) -> None:
    base_url, root = site
    os.utime(root / CHUNKED_PAGE.lstrip("/"), (MTIME + 0.75, MTIME + 0.75))  # sub-second part
    reply = fetch(base_url, CHUNKED_PAGE, If_Modified_Since=since)
    assert reply.status == status
    assert reply.headers["Last-Modified"] == formatdate(MTIME, usegmt=True)
    assert bool(reply.body) == (status == 200)


def test_if_none_match_takes_precedence_over_if_modified_since(
        site: tuple[str, Path]) -> None:
    base_url, _ = site
    etag = fetch(base_url, GZIP_PAGE).headers["ETag"]
    later, earlier = formatdate(MTIME + 3600, usegmt=True), formatdate(MTIME - 3600, usegmt=True)
    assert fetch(base_url, GZIP_PAGE, If_None_Match='"other"',
                 If_Modified_Since=later).status == 200
    assert fetch(base_url, GZIP_PAGE, If_None_Match=etag,
                 If_Modified_Since=earlier).status == 304


def test_gzip_and_identity_have_their_own_etags(site: tuple[str, Path]) -> None:
    base_url, _ = site
    plain = fetch(base_url, GZIP_PAGE)
    zipped = fetch(base_url, GZIP_PAGE, Accept_Encoding="gzip")
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Content-Encoding" not in plain.headers
    assert gzip.decompress(zipped.body) == plain.body
    assert zipped.headers["ETag"] == entity_tag(plain.body, "gzip")
    assert zipped.headers["ETag"] != plain.headers["ETag"]
    assert plain.headers["Vary"] == zipped.headers["Vary"] == "Accept-Encoding"

    # each tag validates its own representation only
    assert fetch(base_url, GZIP_PAGE, If_None_Match=plain.headers["ETag"]).status == 304
    crossed = fetch(base_url, GZIP_PAGE, Accept_Encoding="gzip",
                    If_None_Match=plain.headers["ETag"])
    assert (crossed.status, crossed.body) == (200, zipped.body)
    not_modified = fetch(base_url, GZIP_PAGE, Accept_Encoding="gzip",
                         If_None_Match=zipped.headers["ETag"])
    assert not_modified.status == 304
    assert not_modified.headers["ETag"] == zipped.headers["ETag"]
    assert not_modified.headers["Vary"] == "Accept-Encoding"  # as the 200 would have
    crossed = fetch(base_url, GZIP_PAGE, If_None_Match=zipped.headers["ETag"])
    assert (crossed.status, crossed.body) == (200, plain.body)


def test_a_rewritten_file_is_served_again_with_new_validators(site: tuple[str, Path]) -> None:
    base_url, root = site
    old = fetch(base_url, CHUNKED_PAGE)
    write_page(root, CHUNKED_PAGE, page_text(CHUNKED_PAGE) + "<!-- corrected -->",
               mtime=MTIME + 60)
    new = fetch(base_url, CHUNKED_PAGE, If_None_Match=old.headers["ETag"])
    assert new.status == 200
    assert new.body.endswith(b"<!-- corrected -->")
    assert new.headers["ETag"] not in (old.headers["ETag"], None)
    assert new.headers["Last-Modified"] == formatdate(MTIME + 60, usegmt=True)
    since_old = fetch(base_url, CHUNKED_PAGE, If_Modified_Since=old.headers["Last-Modified"])
    assert since_old.status == 200
    assert fetch(base_url, CHUNKED_PAGE, If_None_Match=new.headers["ETag"]).status == 304


@pytest.mark.parametrize("name", [GZIP_PAGE, CHUNKED_PAGE])
def test_head_has_the_headers_of_get_and_validates_too(
        site: tuple[str, Path], name: str) -> None:
    base_url, _ = site
    get = fetch(base_url, name, Accept_Encoding="gzip")
    head = fetch(base_url, name, "HEAD", Accept_Encoding="gzip")
    assert (head.status, head.body) == (200, b"")
    for field in ("ETag", "Last-Modified", "Content-Type", "Content-Encoding"):
        assert head.headers[field] == get.headers[field], field
    if get.headers["Content-Length"]:  # the gzip path; the chunked one has no length on GET
        assert head.headers["Content-Length"] == get.headers["Content-Length"]
    conditional = fetch(base_url, name, "HEAD", Accept_Encoding="gzip",
                        If_None_Match=get.headers["ETag"])
    assert (conditional.status, conditional.body) == (304, b"")


def test_not_found_has_no_validators_and_ignores_conditions(site: tuple[str, Path]) -> None:
    base_url, _ = site
    reply = fetch(base_url, "/missing.html", If_None_Match="*",
                  If_Modified_Since=formatdate(MTIME + 3600, usegmt=True))
    assert reply.status == 404
    assert b"Not found" in reply.body
    assert "ETag" not in reply.headers and "Last-Modified" not in reply.headers
