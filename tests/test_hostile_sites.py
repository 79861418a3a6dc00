"""Hostile or broken sites (issue 6): each fault is survived, counted and archived validly."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._hostile_server import STORM_PAGES, serve_hostile
from tests.fixtures_site import run_cli, site_entry, write_config
from tests.warc_assertions import read_records, warcio_check


@pytest.fixture(scope="module")
def hostile_site() -> Iterator[str]:
    with serve_hostile() as base_url:
        yield base_url


def _counts(line_prefix: str, out: str) -> dict[str, int]:
    line = next((ln for ln in out.splitlines() if ln.strip().startswith(line_prefix)), "")
    return {k: int(v) for k, v in re.findall(r"([a-z_0-9]+) (\d+)", line)}


def test_hostile_site_run_finishes_counts_each_fault_and_archives(
        hostile_site: str, tmp_path: Path) -> None:
    base = hostile_site
    pages = ["/h/loop-a.html", "/h/chain/0.html", "/h/bomb.html", "/h/stall.html",
             "/h/reset.html", "/h/news/nested.html", "/h/news/too-many.html"]
    pages += [f"/h/news/storm-{i}.html" for i in range(STORM_PAGES)]
    site = site_entry(base, name="hostile", start_urls=[base + p for p in pages],
                      sitemaps=[f"{base}/h/sitemap-huge.xml", f"{base}/h/sitemap-index.xml"],
                      feeds=[f"{base}/h/feed.rss", f"{base}/h/garbage.rss"],
                      article_patterns=[r"/h/(news|p)/"],
                      # well below STALL_SECONDS, well above any honest page on a busy machine
                      follow_depth=0, max_pages=40, download_timeout=3, retries=1)
    archive = tmp_path / "archive"
    config = write_config(tmp_path, [site], storage=str(archive))
    started = time.monotonic()
    result = run_cli("crawl", "hostile", "--config", str(config), timeout=180)
    elapsed = time.monotonic() - started
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    assert "Traceback" not in out, out
    assert elapsed < 150, f"took {elapsed:.0f}s: something stalled the crawl\n{out}"

    errors = _counts("errors by kind:", result.stdout)
    assert errors.get("redirect_loop") == 1, errors
    assert errors.get("redirect_limit") == 1, errors  # the chain beyond REDIRECT_MAX_TIMES
    assert errors.get("decoded_too_large") == 1, errors  # the gzip bomb
    assert errors.get("timeout") == 1, errors  # stalled mid-body
    assert errors.get("data_loss", 0) + errors.get("ResponseFailed", 0) == 1, errors  # reset
    assert errors.get("bad_feed") == 1, errors  # the garbage one; the broken one is recovered
    assert errors.get("http_4xx") == 1, errors  # 429, retried once, then counted
    assert errors.get("http_5xx") == STORM_PAGES, errors
    assert "bad_sitemap" not in errors, errors
    assert "robots.txt" not in _counts("skipped:", result.stdout.replace("robots.txt", "robots"))
    assert re.search(r"skipped:.*\d+ by page budget", result.stdout), result.stdout

    warcs = sorted(archive.rglob("*.warc.gz"))
    warcio_check(warcs)
    records = [r for w in warcs for r in read_records(w.read_bytes(), w.name)]
    responses = {r.uri.replace(base, ""): r for r in records if r.type == "response"}
    # the bomb is archived as sent: still gzip, compressed size, not inflated
    bomb = responses["/h/bomb.html"]
    assert bomb.raw_payload[:2] == b"\x1f\x8b" and len(bomb.raw_payload) < 1_000_000
    # every hop of the loop and the chain is archived, up to where Scrapy gave up
    assert "/h/loop-b.html" in responses and "/h/chain/20.html" in responses
    assert responses["/h/news/nested.html"].status_line.startswith("200")
    assert responses["/h/news/too-many.html"].status_line.startswith("429")
    assert all(f"/h/news/storm-{i}.html" in responses for i in range(STORM_PAGES))
    # the broken feed was read in recover mode: its good item was fetched
    assert responses["/h/news/from-feed.html"].status_line.startswith("200")
    # the self-including sitemap index is fetched once per distinct URL, not recursively
    index_fetches = [r for r in records if r.type == "response" and "sitemap-index" in r.uri]
    assert len(index_fetches) == 2, [r.uri for r in index_fetches]
    # a stalled or reset body is a failed exchange: counted above, no response record
    assert "/h/stall.html" not in responses and "/h/reset.html" not in responses
    # the page budget bounds the 60k-URL sitemap
    assert sum(1 for u in responses if u.startswith("/h/p/")) <= 40
