"""Reading WARC records back by hand, independently of warcio's parser.

Used by the capture tests to compare stored bytes with what crossed the socket.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

from warcio.archiveiterator import ArchiveIterator


@dataclass
class Rec:
    path: Path
    offset: int
    length: int
    warc_head: bytes
    block: bytes
    headers: dict[str, str]
    http_head: bytes
    payload: bytes

    @property
    def type(self) -> str:
        return self.headers["WARC-Type"]

    @property
    def uri(self) -> str:
        return self.headers.get("WARC-Target-URI", "")

    def http_lines(self) -> list[str]:
        return self.http_head.decode("latin-1").split("\r\n")[:-2]

    def http_header(self, name: str) -> list[str]:
        found = []
        for line in self.http_lines()[1:]:
            key, _, value = line.partition(": ")
            if key.lower() == name.lower():
                found.append(value)
        return found


def read_member(path: Path, offset: int, length: int) -> Rec:
    """Decode one gzip member by hand, independently of warcio's parser."""
    with open(path, "rb") as f:
        f.seek(offset)
        raw = f.read(length)
    data = gzip.decompress(raw)
    warc_head, _, rest = data.partition(b"\r\n\r\n")
    lines = warc_head.decode("utf-8").split("\r\n")
    assert lines[0] == "WARC/1.1"
    headers = dict(line.split(": ", 1) for line in lines[1:])
    block = rest[: int(headers["Content-Length"])]
    assert rest[len(block):] == b"\r\n\r\n"
    http_head, payload = b"", block
    if headers["WARC-Type"] in ("request", "response"):
        end = block.index(b"\r\n\r\n") + 4
        http_head, payload = block[:end], block[end:]
    return Rec(path, offset, length, warc_head, block, headers, http_head, payload)


def read_warc(path: Path) -> list[Rec]:
    recs = []
    with open(path, "rb") as f:
        it = ArchiveIterator(f)
        for record in it:
            record.content_stream().read()
            recs.append(read_member(path, it.get_record_offset(), it.get_record_length()))
    return recs


def sha1_b32(data: bytes) -> str:
    return "sha1:" + base64.b32encode(hashlib.sha1(data).digest()).decode()
