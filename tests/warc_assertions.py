"""Reading back what a crawl archived, the way a user's tools would."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator

WARCIO = str(Path(sys.executable).parent / "warcio")


@dataclass
class Rec:
    file: str
    offset: int
    length: int
    type: str
    uri: str
    headers: dict[str, str]
    http_headers: list[tuple[str, str]]
    status_line: str
    raw_payload: bytes  # the HTTP body exactly as stored (still content-encoded)


def read_records(data: bytes, name: str) -> list[Rec]:
    out = []
    it = ArchiveIterator(io.BytesIO(data))
    for record in it:
        hh = record.http_headers
        payload = record.raw_stream.read()
        out.append(Rec(name, 0, 0, record.rec_type, record.rec_headers.get_header("WARC-Target-URI")
                       or "", dict(record.rec_headers.headers),
                       list(hh.headers) if hh else [], hh.statusline if hh else "", payload))
        out[-1].offset = it.get_record_offset()
        it.read_to_end()
        out[-1].length = it.get_record_length()
    return out


def warcio_check(paths: list[Path]) -> None:
    result = subprocess.run([WARCIO, "check", "-v", *map(str, paths)], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()


def header(rec: Rec, name: str) -> str | None:
    for k, v in rec.http_headers:
        if k.lower() == name.lower():
            return v
    return None


def decoded_body(rec: Rec) -> bytes:
    if (header(rec, "Content-Encoding") or "").lower() == "gzip":
        return gzip.decompress(rec.raw_payload)
    return rec.raw_payload


def read_jsonl_gz(data: bytes) -> list[dict]:
    return [json.loads(line) for line in gzip.decompress(data).decode("utf-8").splitlines()
            if line.strip()]


def assert_exchange_integrity(records: list[Rec]) -> None:
    """Each response: headers agree with the stored payload, digests verify, has a request."""
    requests = {r.headers.get("WARC-Concurrent-To") for r in records if r.type == "request"}
    request_ids = {r.headers["WARC-Record-ID"] for r in records if r.type == "request"}
    for rec in records:
        if rec.type != "response":
            continue
        assert header(rec, "Transfer-Encoding") is None, rec.uri
        assert header(rec, "Content-Length") == str(len(rec.raw_payload)), rec.uri
        assert rec.headers["WARC-Payload-Digest"] == sha1_b32(rec.raw_payload), rec.uri
        assert rec.headers.get("WARC-IP-Address") == "127.0.0.1", rec.uri
        rid = rec.headers["WARC-Record-ID"]
        linked = rid in requests or rec.headers.get("WARC-Concurrent-To") in request_ids
        assert linked, f"no request record linked to the response for {rec.uri}"
