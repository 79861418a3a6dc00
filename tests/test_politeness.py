"""A site's concurrency limit holds, even with no download delay."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fixtures_site import InFlight, run_cli, site_entry, write_config


@pytest.mark.parametrize("concurrency", [1, 2])
def test_per_site_concurrency_is_never_exceeded(news_site: str, tmp_path: Path,
                                                concurrency: int) -> None:
    # Scrapy 2.19's own downloader starts every queued request at once when the
    # delay is 0; crawler.downloader.PoliteDownloader keeps to the limit.
    urls = [f"{news_site}/faults/counted.html?n={i}" for i in range(6)]
    site = site_entry(news_site, start_urls=urls, sitemaps=[], feeds=[], follow_depth=0,
                      page_assets=False, retries=0,
                      politeness={"delay": 0, "concurrency": concurrency,
                                  "autothrottle": False})
    config = write_config(tmp_path, [site], storage=str(tmp_path / "archive"))
    InFlight.reset()
    result = run_cli("crawl", "sample-news", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "pages 6" in result.stdout
    assert InFlight.peak == concurrency
