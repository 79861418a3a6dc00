"""Text normalisation, the article record, JSONL output and re-runs from WARCs."""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

import warcwire
from normalizer.extract import Extracted
from normalizer.jsonl import JsonlFile, JsonlWriter, read_jsonl
from normalizer.record import SCHEMA, ArticleRecord, content_hash, normalize, normalize_text
from normalizer.rerun import OutputExists, WarcReadError, normalize_warcs_to, records_from_warcs

HTDOCS = Path(warcwire.__file__).parent / "sample_site" / "htdocs"
SEED_PATH = "/news/turkey/us-taking-no-step-to-create-s400-working-group.html"
SEED_BODY = (Path(__file__).parent / "data" / "seed_article_body.txt").read_text("utf-8").strip()
BASE = "http://127.0.0.1:8765"


# --- text normalisation -------------------------------------------------------------------

def test_nbsp_and_other_unicode_spaces_become_plain_spaces() -> None:
    assert normalize_text("402\u00a0km\u2009away\u202fnow\u3000ok") == "402 km away now ok"


def test_nfc() -> None:
    assert normalize_text("Cafe\u0301") == "Caf\u00e9"


def test_zero_width_and_soft_hyphen_removed_but_zwnj_kept() -> None:
    assert normalize_text("zero\u200bwidth\ufeff soft\u00adhyphen") == "zerowidth softhyphen"
    assert normalize_text("\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645") == \
        "\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"  # Persian needs its ZWNJ


def test_paragraphs_kept_whitespace_collapsed_empties_dropped() -> None:
    raw = "  First   para\nwraps here. \r\n\r\n\n \u00a0\n\n\tSecond\tpara \n\n\u200b\n\nThird"
    assert normalize_text(raw) == "First para wraps here.\n\nSecond para\n\nThird"


def make_extracted(text: str = "One two\u00a0three.\n\nFour five.") -> Extracted:
    return Extracted(text=text, title=" A\u00a0title ", authors=("Jane  Doe", " "),
                     published="2019-06-10T12:41:00+00:00", language="en",
                     canonical_url=BASE + "/a.html", section=("News", "Turkey"),
                     description="Desc", captions=("Cap",), extractor="trafilatura/2.3.1")


def make_record(text: str = "One two\u00a0three.\n\nFour five.") -> ArticleRecord:
    return normalize(make_extracted(text), url=BASE + "/a.html?utm=x", site="sample",
                     run_id="r1", fetched_at=datetime(2024, 5, 1, 12, 0, tzinfo=UTC),
                     warc_location={"key": "a.warc.gz", "offset": 10, "length": 99})


def test_normalize_builds_the_documented_record() -> None:
    rec = make_record()
    assert rec.to_dict() == {
        "url": BASE + "/a.html?utm=x", "canonical_url": BASE + "/a.html", "title": "A title",
        "authors": ["Jane Doe"], "published": "2019-06-10T12:41:00+00:00", "language": "en",
        "section": ["News", "Turkey"], "text": "One two three.\n\nFour five.", "word_count": 5,
        "content_hash": content_hash("One two three.\n\nFour five."),
        "fetched_at": "2024-05-01T12:00:00+00:00", "site": "sample", "run_id": "r1",
        "warc": {"key": "a.warc.gz", "offset": 10, "length": 99},
        "extractor": "trafilatura/2.3.1", "description": "Desc", "captions": ["Cap"],
        "version": 1, "changes": None, "schema": SCHEMA,
    }
    assert ArticleRecord.from_dict(rec.to_dict()) == rec


def test_content_hash_is_stable_and_follows_the_text() -> None:
    a, b = make_record(), make_record("One  two three.\n\n\nFour\u00a0five.")
    assert a.content_hash == b.content_hash  # same text after normalisation
    assert a.content_hash.startswith("sha256:") and len(a.content_hash) == 7 + 64
    assert make_record("One two three.\n\nFour six.").content_hash != a.content_hash


# --- JSONL output -------------------------------------------------------------------------

def test_jsonl_writer_round_trip(tmp_path: Path) -> None:
    day = datetime(2024, 5, 1, 23, 59, tzinfo=UTC)
    writer = JsonlWriter(tmp_path, "sample", "run7", now=lambda: day)
    final = tmp_path / "sample" / "2024-05-01" / "warcwire-sample-run7.articles.v2.jsonl.gz"
    assert writer.path == final
    records = [make_record(), make_record("Ünïcödé “quotes” stay raw.")]
    for rec in records:
        writer.write(rec)
    assert writer.count == 2
    assert writer.open_path.exists() and not final.exists()
    assert writer.close() == final
    assert final.exists() and not writer.open_path.exists()
    raw = gzip.decompress(final.read_bytes()).decode("utf-8")
    lines = raw.splitlines()
    assert len(lines) == 2 and raw.endswith("\n")
    assert "“quotes”" in lines[1]  # ensure_ascii=False
    assert list(json.loads(lines[0])) == sorted(json.loads(lines[0]))
    assert [ArticleRecord.from_dict(d) for d in read_jsonl(final)] == records


def test_jsonl_writer_without_records_leaves_no_file(tmp_path: Path) -> None:
    writer = JsonlWriter(tmp_path, "sample", "empty")
    assert writer.close() is None
    assert list(tmp_path.rglob("*")) == []


def test_jsonl_file_output_is_deterministic(tmp_path: Path) -> None:
    for name in ("a.jsonl.gz", "b.jsonl.gz"):
        with JsonlFile(tmp_path / name) as out:
            out.write(make_record())
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()


# --- re-runs from WARCs -------------------------------------------------------------------

def _response(writer: WARCWriter, url: str, body: bytes, *, status: str = "200 OK",
              ctype: str = "text/html; charset=utf-8", gzip_body: bool = False,
              chunked: bool = False) -> None:
    headers = [("Content-Type", ctype)]
    if gzip_body:
        body = gzip.compress(body)
        headers.append(("Content-Encoding", "gzip"))
    if chunked:
        body = b"".join(b"%x\r\n%s\r\n" % (len(c), c)
                        for c in (body[:100], body[100:])) + b"0\r\n\r\n"
        headers.append(("Transfer-Encoding", "chunked"))
    else:
        headers.append(("Content-Length", str(len(body))))
    http = StatusAndHeaders(status, headers, protocol="HTTP/1.1")
    writer.write_record(writer.create_warc_record(
        url, "response", payload=io.BytesIO(body), http_headers=http,
        warc_headers_dict={"WARC-Date": "2024-05-01T10:00:00Z"}))


@pytest.fixture()
def warc(tmp_path: Path) -> Path:
    path = tmp_path / "warcwire-sample-20240501-00000.warc.gz"
    seed = (HTDOCS / SEED_PATH.lstrip("/")).read_bytes()
    other = "/news/world/rotterdam-dock-strike-ends.html"
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "test"}))
        _response(writer, BASE + "/", (HTDOCS / "index.html").read_bytes())  # not an article
        _response(writer, BASE + "/images/s400-red-square.png",
                  (HTDOCS / "images/s400-red-square.png").read_bytes(), ctype="image/png")
        _response(writer, BASE + "/gone.html", b"<html><body><p>gone</p></body></html>",
                  status="404 Not Found")
        _response(writer, BASE + SEED_PATH, seed, gzip_body=True)
        _response(writer, BASE + other, (HTDOCS / other.lstrip("/")).read_bytes(), chunked=True)
    return path


def test_records_from_warcs_point_at_their_response_records(warc: Path) -> None:
    records = list(records_from_warcs([warc], site="sample", run_id="rerun-test"))
    assert [r.url for r in records] == [
        BASE + SEED_PATH, BASE + "/news/world/rotterdam-dock-strike-ends.html"]
    seed = records[0]
    assert seed.text == SEED_BODY
    assert seed.section == ["News", "Turkey"]
    assert (seed.site, seed.run_id, seed.fetched_at) == ("sample", "rerun-test",
                                                        "2024-05-01T10:00:00+00:00")
    assert records[1].title == "Dock workers in Rotterdam end two-day strike after pay deal"
    with open(warc, "rb") as fh:
        for rec in records:
            assert rec.warc is not None and rec.warc["key"] == warc.name
            fh.seek(rec.warc["offset"])
            member = fh.read(rec.warc["length"])
            found = next(iter(ArchiveIterator(io.BytesIO(member))))
            assert found.rec_type == "response"
            assert found.rec_headers.get_header("WARC-Target-URI") == rec.url


def test_records_from_warcs_defaults(warc: Path) -> None:
    records = list(records_from_warcs([warc], key_for=lambda p: f"s3://bucket/{p.name}"))
    assert {r.site for r in records} == {"127.0.0.1"}
    assert records[0].run_id.startswith("rerun-")
    assert records[0].warc is not None and records[0].warc["key"].startswith("s3://bucket/")


def test_normalize_warcs_to_writes_jsonl(warc: Path, tmp_path: Path) -> None:
    out = tmp_path / "out" / "articles.jsonl.gz"
    assert normalize_warcs_to([warc], out, site="sample") == 2
    rows = list(read_jsonl(out))
    assert [r["title"] for r in rows][0].startswith("US taking no step")
    assert not out.with_name(out.name + ".open").exists()
    assert normalize_warcs_to([warc]) == 2  # default: beside the WARC
    assert (warc.parent / "warcwire-sample-20240501-00000.articles.v2.jsonl.gz").exists()


def test_a_rerun_writes_the_records_a_crawl_writes(tmp_path: Path) -> None:
    """Site from the warcinfo, the storage key, the crawl's date format, its file name."""
    folder = tmp_path / "archive" / "sample-news" / "2024-05-01"
    folder.mkdir(parents=True)
    path = folder / "warcwire-sample-news-20240501100000123-00000-box.warc.gz"
    seed = (HTDOCS / SEED_PATH.lstrip("/")).read_bytes()
    with open(path, "wb") as fh:
        writer = WARCWriter(fh, gzip=True)
        writer.write_record(writer.create_warcinfo_record(
            path.name, {"software": "warcwire", "site": "sample-news"}))
        _response(writer, BASE + SEED_PATH, seed)
    wanted: list[str] = []

    def selectors_for(site: str) -> dict[str, str | None]:
        wanted.append(site)
        return {"title": "css:h1", "body": None, "date": None}

    (record,) = records_from_warcs([path], run_id="rerun-1", selectors_for=selectors_for)
    assert (record.site, record.fetched_at) == ("sample-news", "2024-05-01T10:00:00+00:00")
    assert record.warc is not None and record.warc["key"] == (
        "sample-news/2024-05-01/" + path.name)
    assert wanted == ["sample-news"]
    out = tmp_path / "plain.jsonl"
    assert normalize_warcs_to([path], out, run_id="rerun-1") == 1
    assert json.loads(out.read_text())["site"] == "sample-news"  # plain, not gzip
    with pytest.raises(OutputExists, match="plain.jsonl exists; pass --force"):
        normalize_warcs_to([path], out)
    assert normalize_warcs_to([path], out, force=True) == 1
    assert normalize_warcs_to([path], run_id="rerun-2") == 1
    assert (folder / "warcwire-sample-news-rerun-2.articles.v2.jsonl.gz").is_file()


def test_not_a_warc_is_a_domain_error(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.warc.gz"
    bogus.write_bytes(b"this is not a WARC file\n")
    with pytest.raises(WarcReadError, match="Cannot read WARC .*notes.warc.gz"):
        normalize_warcs_to([bogus], tmp_path / "x.jsonl.gz")
    assert list(tmp_path.glob("x.jsonl.gz*")) == []
    with pytest.raises(WarcReadError, match="missing.warc"):
        list(records_from_warcs([tmp_path / "missing.warc"]))
