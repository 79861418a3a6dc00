"""A real crawl of the sample news site into local folder storage, end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.fixtures_site import run_cli, site_entry, write_config
from tests.warc_assertions import (
    assert_exchange_integrity,
    decoded_body,
    read_jsonl_gz,
    read_records,
    warcio_check,
)
from warcwire.demo import sample_site_root

MANIFEST = json.loads((sample_site_root().parent / "manifest.json").read_text())
SEED_BODY = (Path(__file__).parent / "data" / "seed_article_body.txt").read_text("utf-8")


@pytest.fixture(scope="module")
def local_crawl(news_site: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("local-crawl")
    archive = tmp / "archive"
    config = write_config(tmp, [site_entry(news_site)], storage=str(archive))
    result = run_cli("crawl", "sample-news", "--config", str(config))
    return {"result": result, "archive": archive, "spool": tmp / "spool", "base": news_site}


def test_crawl_exits_zero_and_prints_summary(local_crawl: dict) -> None:
    result = local_crawl["result"]
    assert result.returncode == 0, result.stderr
    out = result.stdout
    n_articles = len(MANIFEST["articles"])
    assert re.search(rf"articles {n_articles}\b", out), out
    assert "stored 3 file(s) in" in out and "errors 0" in out, out  # WARC, its CDXJ, JSONL


def test_files_grouped_by_site_and_date_and_spool_empty(local_crawl: dict) -> None:
    archive: Path = local_crawl["archive"]
    files = sorted(p.relative_to(archive).as_posix() for p in archive.rglob("*") if p.is_file())
    assert len(files) == 3, files
    warc = [f for f in files if f.endswith(".warc.gz")]
    jsonl = [f for f in files if f.endswith(".jsonl.gz")]
    assert len(warc) == 1 and len(jsonl) == 1
    assert warc[0] + ".cdxj" in files  # the capture index, beside its WARC
    assert re.fullmatch(r"sample-news/\d{4}-\d{2}-\d{2}/warcwire-sample-news-\d{17}-00000-.+"
                        r"\.warc\.gz", warc[0]), warc[0]
    assert not [p for p in local_crawl["spool"].rglob("*") if p.is_file()]


def test_every_warc_passes_warcio_check(local_crawl: dict) -> None:
    warcio_check(sorted(local_crawl["archive"].rglob("*.warc.gz")))


def test_every_exchange_archived_faithfully(local_crawl: dict) -> None:
    base = local_crawl["base"]
    (warc,) = local_crawl["archive"].rglob("*.warc.gz")
    records = read_records(warc.read_bytes(), warc.name)
    assert records[0].type == "warcinfo"
    assert_exchange_integrity(records)
    responses = {r.uri: r for r in records if r.type == "response"}
    requests = {r.uri for r in records if r.type == "request"}
    expected = {base + "/robots.txt", base + "/", base + "/sitemap.xml", base + "/feed.rss",
                base + "/news-sitemap.xml", base + "/sitemap-articles.xml"}
    expected |= {base + a["path"] for a in MANIFEST["articles"]}
    assert expected <= set(responses), expected - set(responses)
    assert set(responses) == requests  # one request record for every response record
    # page requisites are archived too, so the page can be reviewed as it was
    assert {base + "/css/site.css", base + "/images/s400-red-square.png"} <= set(responses)
    png = responses[base + "/images/s400-red-square.png"]
    assert png.raw_payload.startswith(b"\x89PNG")
    # robots.txt is obeyed: the disallowed page was never fetched
    assert not [u for u in requests if "/private/" in u]
    # both wire formats met, and stored as they came: gzip stays gzip
    encodings = {r.uri: (dict((k.lower(), v) for k, v in r.http_headers)) for r in
                 responses.values()}
    gz = [u for u, h in encodings.items() if h.get("content-encoding") == "gzip"]
    assert gz, "expected some gzip-encoded responses"
    for uri in gz:
        assert responses[uri].raw_payload[:2] == b"\x1f\x8b"
        decoded = decoded_body(responses[uri])
        assert decoded and decoded[:2] != b"\x1f\x8b"


def test_jsonl_records_hold_clean_text_and_point_at_their_warc_record(local_crawl: dict) -> None:
    archive: Path = local_crawl["archive"]
    (jsonl,) = archive.rglob("*.jsonl.gz")
    records = read_jsonl_gz(jsonl.read_bytes())
    by_path = {r["url"].split(local_crawl["base"], 1)[1]: r for r in records}
    assert set(by_path) == {a["path"] for a in MANIFEST["articles"]}
    for article in MANIFEST["articles"]:
        rec = by_path[article["path"]]
        assert rec["title"] == article["title"]
        assert rec["section"] == article["section"]
        assert rec["schema"] == "warcwire.article/2"
        loc = rec["warc"]
        with open(archive / loc["key"], "rb") as f:
            f.seek(loc["offset"])
            data = f.read(loc["length"])
        (resp,) = read_records(data, loc["key"])
        assert resp.type == "response" and resp.uri == rec["url"]
    seed = by_path[MANIFEST["seed_article"]]
    for paragraph in SEED_BODY.split("\n\n"):
        assert paragraph.strip() in seed["text"]
    for boilerplate in ("SHARE THIS ARTICLE", "alternate addresses", "www.presstv.ir", "Roku"):
        assert boilerplate not in seed["text"]
    assert "\u00a0" not in seed["text"]
    assert seed["published"].startswith("2019-06-10")
    assert seed["language"] == "en"


def test_normalize_rerun_from_archived_warcs(local_crawl: dict, tmp_path: Path) -> None:
    archive: Path = local_crawl["archive"]
    warcs = sorted(archive.rglob("*.warc.gz"))
    out = tmp_path / "rerun.jsonl.gz"
    result = run_cli("normalize", *map(str, warcs), "--out", str(out))
    assert result.returncode == 0, result.stderr
    rerun = {r["url"]: r for r in read_jsonl_gz(out.read_bytes())}
    (jsonl,) = archive.rglob("*.jsonl.gz")
    crawled = {r["url"]: r for r in read_jsonl_gz(jsonl.read_bytes())}
    assert set(rerun) == set(crawled)
    for url, rec in crawled.items():
        assert rerun[url]["content_hash"] == rec["content_hash"], url
        assert rerun[url]["warc"]["offset"] == rec["warc"]["offset"]


def test_rotation_stores_every_file_and_locations_stay_right(news_site: str, tmp_path: Path
                                                             ) -> None:
    archive = tmp_path / "archive"
    config = write_config(tmp_path, [site_entry(news_site)], storage=str(archive),
                          warc={"rotate_size": "20kB"})
    result = run_cli("crawl", "sample-news", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    warcs = sorted(archive.rglob("*.warc.gz"))
    assert len(warcs) >= 3, warcs
    serials = sorted(int(re.search(r"-\d{17}-(\d{5})-", w.name).group(1)) for w in warcs)
    assert serials == list(range(len(warcs)))
    warcio_check(warcs)
    for warc in warcs:  # every file starts with its own warcinfo record, and is indexed
        assert read_records(warc.read_bytes(), warc.name)[0].type == "warcinfo"
        assert warc.with_name(warc.name + ".cdxj").is_file(), warc
        assert str(warc) in result.stdout  # reported as stored, mid-crawl uploads included
    (jsonl,) = archive.rglob("*.jsonl.gz")
    for rec in read_jsonl_gz(jsonl.read_bytes()):
        loc = rec["warc"]
        with open(archive / loc["key"], "rb") as f:
            f.seek(loc["offset"])
            (resp,) = read_records(f.read(loc["length"]), loc["key"])
        assert resp.uri == rec["url"]
    assert not [p for p in (tmp_path / "spool").rglob("*") if p.is_file()]
