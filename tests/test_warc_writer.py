"""WarcRotatingWriter: naming, rotation, record locations, digests, exact bytes."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import os
import zlib
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.checker import Checker

from storage.warc import RecordLocation, WarcRotatingWriter

T0 = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)


def fixed_clock() -> datetime:
    """Stopped time, as FixedTestRecordMixin in warcio's tests does."""
    return T0


def counter_ids():
    n = 0

    def make() -> str:
        nonlocal n
        n += 1
        return f"<urn:uuid:00000000-0000-0000-0000-{n:012d}>"

    return make


def make_writer(spool: Path, **kwargs) -> WarcRotatingWriter:
    options = dict(warcinfo={"site": "news", "run-id": "r1"}, host="box1",
                   clock=fixed_clock, record_id_maker=counter_ids())
    options.update(kwargs)
    return WarcRotatingWriter(spool, "news", **options)


def write_one(writer: WarcRotatingWriter, n: int = 0, body: bytes = b"<p>hello</p>",
              **response_kwargs) -> RecordLocation:
    url = f"http://example.com/a/{n}?x=1&y=2"
    req = writer.make_request_record(
        url, "GET", f"/a/{n}?x=1&y=2",
        [("User-Agent", "ua"), ("Host", "example.com")], ip="127.0.0.1",
    )
    resp = writer.make_response_record(
        url, "HTTP/1.1 200 OK",
        [("Content-Type", "text/html"), ("Content-Length", str(len(body)))], body,
        ip="127.0.0.1", concurrent_to=req.rec_headers.get_header("WARC-Record-ID"),
        **response_kwargs,
    )
    return writer.write_exchange(req, resp)


def members(path: Path) -> list[tuple[int, int, object]]:
    """(offset, length, record) for every record, as ArchiveIterator reports them."""
    found = []
    with open(path, "rb") as f:
        it = ArchiveIterator(f)
        for record in it:
            payload = record.raw_stream.read()
            found.append((it.get_record_offset(), it.get_record_length(),
                          (record.rec_type, record.rec_headers, record.http_headers, payload)))
    return found


def warcio_check(paths: list[Path]) -> int:
    return Checker(SimpleNamespace(inputs=[str(p) for p in paths], verbose=False)).process_all()


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def test_same_inputs_give_identical_bytes(tmp_path: Path) -> None:
    outputs = []
    for name in ("one", "two"):
        writer = make_writer(tmp_path / name)
        write_one(writer)
        (path,) = writer.close()
        outputs.append((path.relative_to(tmp_path / name), path.read_bytes()))
    assert outputs[0] == outputs[1]


def test_request_record_bytes_are_exact(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    loc = write_one(writer)
    (path,) = writer.close()
    (_, _, _), (req_offset, req_length, _), _ = members(path)
    with open(path, "rb") as f:
        f.seek(req_offset)
        text = gzip.decompress(f.read(req_length))
    block = b"GET /a/0?x=1&y=2 HTTP/1.1\r\nUser-Agent: ua\r\nHost: example.com\r\n\r\n"
    assert text == (
        b"WARC/1.1\r\n"
        b"WARC-Type: request\r\n"
        b"WARC-Record-ID: <urn:uuid:00000000-0000-0000-0000-000000000001>\r\n"
        b"WARC-Date: 2024-05-06T07:08:09.123456Z\r\n"
        b"WARC-Target-URI: http://example.com/a/0?x=1&y=2\r\n"
        b"WARC-IP-Address: 127.0.0.1\r\n"
        b"WARC-Payload-Digest: " + sha1_b32(b"").encode() + b"\r\n"
        b"WARC-Block-Digest: " + sha1_b32(block).encode() + b"\r\n"
        b"Content-Type: application/http; msgtype=request\r\n"
        b"Content-Length: " + str(len(block)).encode() + b"\r\n"
        b"\r\n" + block + b"\r\n\r\n"
    )
    assert loc.offset == req_offset + req_length


def test_file_is_open_while_writing_and_renamed_on_close(tmp_path: Path) -> None:
    closed: list[Path] = []
    writer = make_writer(tmp_path, on_file_closed=[closed.append])
    assert writer.close() == [] and not any(tmp_path.rglob("*")), "no empty files"
    loc = write_one(writer)
    open_path = writer.current_path
    assert open_path is not None and open_path.name.endswith(".warc.gz.open")
    assert open_path.exists()
    assert not (tmp_path / loc.key).exists()
    assert closed == []
    finished = writer.close()
    assert finished == [tmp_path / loc.key] == closed
    assert not open_path.exists() and (tmp_path / loc.key).exists()
    assert writer.current_path is None


def test_name_follows_prefix_site_timestamp_serial_host(tmp_path: Path) -> None:
    writer = make_writer(tmp_path, prefix="arch")
    loc = write_one(writer)
    writer.close()
    assert loc.key == "news/2024-05-06/arch-news-20240506070809123-00000-box1.warc.gz"


def test_rotation_makes_several_files_each_valid_and_starting_with_warcinfo(
    tmp_path: Path,
) -> None:
    writer = make_writer(tmp_path, rotate_size=2_000)
    body = bytes(range(256)) * 8  # 2 KiB, barely compressible
    locations = [write_one(writer, n, body) for n in range(6)]
    paths = writer.close()
    assert len(paths) >= 3
    assert [p.name.split("-")[3] for p in paths] == [f"{i:05d}" for i in range(len(paths))]
    assert not list(tmp_path.rglob("*.open"))
    assert warcio_check(paths) == 0
    for path in paths[:-1]:
        assert path.stat().st_size >= 2_000
    for path in paths:
        types = [rec[0] for _, _, rec in members(path)]
        assert types[0] == "warcinfo" and types.count("warcinfo") == 1
        assert types[1:] == ["request", "response"] * ((len(types) - 1) // 2)
    assert {loc.key for loc in locations} == {p.relative_to(tmp_path).as_posix() for p in paths}
    assert writer.files == len(paths)
    assert writer.records == len(paths) + 12
    assert writer.bytes_written == sum(p.stat().st_size for p in paths)


def test_location_is_archive_iterator_offset_and_reads_back_alone(tmp_path: Path) -> None:
    writer = make_writer(tmp_path, rotate_size=3_000)
    locations = [write_one(writer, n, b"x" * 1_500 + bytes([n])) for n in range(5)]
    writer.close()
    for n, loc in enumerate(locations):
        path = tmp_path / loc.key
        responses = [(o, ln) for o, ln, rec in members(path) if rec[0] == "response"]
        assert (loc.offset, loc.length) in responses
        with open(path, "rb") as f:
            f.seek(loc.offset)
            chunk = f.read(loc.length)
        seen = [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.raw_stream.read())
                for r in ArchiveIterator(io.BytesIO(chunk))]
        assert seen == [("response", f"http://example.com/a/{n}?x=1&y=2",
                         b"x" * 1_500 + bytes([n]))]


def test_digests_verify(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    write_one(writer, body=b"\x1f\x8b compressed-looking bytes \x00\xff")
    (path,) = writer.close()
    for _, _, (rec_type, rec_headers, http_headers, payload) in members(path):
        http_head = http_headers.to_bytes() if http_headers else b""
        block = http_head + payload
        assert rec_headers.get_header("WARC-Block-Digest") == sha1_b32(block)
        if rec_type != "warcinfo":
            assert rec_headers.get_header("WARC-Payload-Digest") == sha1_b32(payload)


def test_header_bytes_are_written_unchanged(tmp_path: Path) -> None:
    """warcio would percent-encode this latin-1 value; the wire bytes must survive."""
    writer = make_writer(tmp_path)
    raw_value = b'attachment; filename="caf\xe9.pdf"'
    resp = writer.make_response_record(
        "http://example.com/f", "HTTP/1.1 200 OK",
        [("Content-Disposition", raw_value.decode("latin-1")), ("Content-Length", "0")], b"",
    )
    req = writer.make_request_record("http://example.com/f", "GET", "/f", [("Host", "x")])
    writer.write_exchange(req, resp)
    (path,) = writer.close()
    assert b"Content-Disposition: " + raw_value + b"\r\n" in gzip.decompress(path.read_bytes())
    assert warcio_check([path]) == 0


def test_optional_fields_truncation_and_links(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    write_one(writer, truncated="length", warc_protocol="h2")
    (path,) = writer.close()
    _, (_, _, req), (_, _, resp) = members(path)
    assert resp[1].get_header("WARC-Truncated") == "length"
    assert resp[1].get_header("WARC-Protocol") == "h2"
    assert resp[1].get_header("WARC-Concurrent-To") == req[1].get_header("WARC-Record-ID")
    assert resp[1].get_header("WARC-IP-Address") == "127.0.0.1"
    with pytest.raises(ValueError, match="WARC-Truncated 'big'"):
        writer.make_response_record("http://x/", "HTTP/1.1 200 OK", [], b"", truncated="big")


def test_warcinfo_names_file_software_and_crawl(tmp_path: Path) -> None:
    writer = make_writer(tmp_path, warcinfo={"site": "news", "run-id": "r1", "software": "x"})
    write_one(writer)
    (path,) = writer.close()
    (_, _, (rec_type, rec_headers, _, payload)), *_ = members(path)
    assert rec_type == "warcinfo"
    assert rec_headers.get_header("WARC-Filename") == path.name
    info = dict(line.split(": ", 1) for line in payload.decode().splitlines())
    assert info["software"].startswith("warcwire/") and " warcio/" in info["software"]
    assert info["format"] == "WARC File Format 1.1"
    assert (info["site"], info["run-id"]) == ("news", "r1")


def test_failed_write_rolls_back_to_last_whole_exchange(tmp_path: Path) -> None:
    writer = make_writer(tmp_path)
    write_one(writer, 0)

    class Broken(io.BytesIO):
        def read(self, *args: object) -> bytes:
            raise OSError("disk went away")

    req = writer.make_request_record("http://e/1", "GET", "/1", [("Host", "e")])
    resp = writer.make_response_record("http://e/1", "HTTP/1.1 200 OK", [], b"abc")
    resp.raw_stream = Broken()
    with pytest.raises(OSError, match="disk went away"):
        writer.write_exchange(req, resp)
    loc = write_one(writer, 2)
    (path,) = writer.close()
    assert warcio_check([path]) == 0
    uris = [rec[1].get_header("WARC-Target-URI") for _, _, rec in members(path)]
    assert uris[1:] == ["http://example.com/a/0?x=1&y=2"] * 2 + [
        "http://example.com/a/2?x=1&y=2"] * 2
    assert loc.offset in [o for o, _, _ in members(path)]


def test_names_that_could_escape_the_spool_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="site '../x'"):
        WarcRotatingWriter(tmp_path, "../x", warcinfo={})


def test_compressed_payloads_are_stored_not_deflated_again(tmp_path: Path) -> None:
    noise = os.urandom(20_000)  # as incompressible as a gzip-encoded page
    page = b"<p>the same words again and again</p>" * 500
    writer = make_writer(tmp_path)
    url = "http://example.com/z"
    req = writer.make_request_record(url, "GET", "/z", [("Host", "example.com")])
    encoded = writer.make_response_record(
        url, "HTTP/1.1 200 OK", [("Content-Type", "text/html"), ("Content-Encoding", "gzip")],
        noise)
    plain = writer.make_response_record(url, "HTTP/1.1 200 OK",
                                        [("Content-Type", "text/html")], page)
    locs = writer.write_records([req, encoded, plain])
    (path,) = writer.close()
    data = path.read_bytes()
    members = [data[loc.offset:loc.offset + loc.length] for loc in locs]
    blocks = [gzip.decompress(m) for m in members]
    assert noise in blocks[1] and page in blocks[2]
    # deflate level 0 keeps the member just above its content; text is still compressed
    assert len(blocks[1]) < len(members[1]) < len(blocks[1]) + 100
    assert len(members[2]) < len(blocks[2]) // 10
    # a level-0 member is an ordinary gzip member: deflate "stored" blocks (BTYPE 00)
    body = members[1][10:]
    assert body[0] & 0b110 == 0 and zlib.decompress(body, -15) == blocks[1]
    assert warcio_check([path]) == 0
