"""A dead site, a timeout, a 500, a wrong charset and a binary file: the run completes."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures_site import SLOW_SECONDS, free_port, run_cli, site_entry, write_config
from tests.warc_assertions import read_jsonl_gz, read_records, warcio_check


def test_faulty_pages_are_counted_and_archived(news_site: str, tmp_path: Path) -> None:
    fault_pages = ["/faults/server-error.html", "/faults/slow.html",
                   "/news/world/binary-file.html", "/news/world/wrong-charset.html",
                   "/news/world/missing-page.html"]
    site = site_entry(news_site, start_urls=[news_site + p for p in fault_pages],
                      sitemaps=[], feeds=[], follow_depth=0,
                      download_timeout=SLOW_SECONDS / 4, retries=0)
    archive = tmp_path / "archive"
    config = write_config(tmp_path, [site], storage=str(archive))
    result = run_cli("crawl", "sample-news", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "errors by kind:" in out
    assert "http_5xx 1" in out and "http_4xx 1" in out and "timeout 1" in out, out
    # which URLs failed, and why, under the counts
    failed = sorted(line.strip() for line in out.splitlines() if line.startswith("    ")
                    and line.strip().split(" ")[0] in ("http_5xx", "http_4xx", "timeout"))
    assert failed == [f"http_4xx {news_site}/news/world/missing-page.html",
                      f"http_5xx {news_site}/faults/server-error.html",
                      f"timeout {news_site}/faults/slow.html"]
    assert result.stderr == ""  # quiet by default: the summary says it all

    warcs = sorted(archive.rglob("*.warc.gz"))
    warcio_check(warcs)
    records = [r for w in warcs for r in read_records(w.read_bytes(), w.name)]
    responses = {r.uri.replace(news_site, ""): r for r in records if r.type == "response"}
    # what the server answered is archived, errors included; the timed-out page has no response
    assert responses["/faults/server-error.html"].status_line.startswith("500")
    assert responses["/news/world/missing-page.html"].status_line.startswith("404")
    assert responses["/news/world/binary-file.html"].raw_payload[:4] == bytes(range(4))
    assert "/faults/slow.html" not in responses
    # the mis-declared charset page still yields an article, with its words intact
    (jsonl,) = archive.rglob("*.jsonl.gz")
    (article,) = read_jsonl_gz(jsonl.read_bytes())
    assert article["url"].endswith("/news/world/wrong-charset.html")
    assert "prices" in article["text"].lower()


def test_dead_site_exits_4_with_a_clear_count(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    site = site_entry(dead, name="dead-site", retries=0)
    config = write_config(tmp_path, [site], storage=str(tmp_path / "archive"))
    result = run_cli("crawl", "dead-site", "--config", str(config))
    assert result.returncode == 4, result.stdout + result.stderr
    assert "pages 0" in result.stdout and "connection_refused" in result.stdout
