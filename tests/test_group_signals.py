"""A crawl stopped by a signal to its whole process group, and pages over their budget.

Ctrl-C in a terminal, ``timeout`` and container runtimes signal every process of
the group: the crawl, its WARC writer and its extraction workers at once. The
crawl must stop as with a signal to it alone: exit 5, no traceback, every
archived article with its record, every WARC finished with its CDXJ.
"""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.fixtures_site import run_cli, site_entry, write_config
from tests.test_incremental import SlowArticles, _slow_site
from warcwire.site_server import StaticSiteHandler, serve_site


def _config(tmp_path: Path, base: str, **overrides: object) -> Path:
    entry = site_entry(base, start_urls=[], feeds=[], article_patterns=[r"/(a|heavy)/"],
                       follow_depth=0, page_assets=False,
                       politeness={"delay": 0, "concurrency": 4, "autothrottle": False})
    return write_config(tmp_path, [entry], storage=str(tmp_path / "archive"), **overrides)


def _archived_and_emitted(archive: Path) -> tuple[set[str], set[str]]:
    archived: set[str] = set()
    for warc in archive.rglob("*.warc.gz"):
        with open(warc, "rb") as f:
            archived |= {r.rec_headers.get_header("WARC-Target-URI") for r in ArchiveIterator(f)
                         if r.rec_type == "response" and "/robots.txt" not in
                         r.rec_headers.get_header("WARC-Target-URI")
                         and "sitemap" not in r.rec_headers.get_header("WARC-Target-URI")}
    emitted: set[str] = set()
    for jsonl in archive.rglob("*.jsonl.gz"):
        with gzip.open(jsonl, "rt", encoding="utf-8") as f:
            emitted |= {json.loads(line)["url"] for line in f}
    return archived, emitted


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_to_the_process_group_stops_the_crawl_cleanly(tmp_path: Path,
                                                               signum: int) -> None:
    _slow_site(tmp_path / "htdocs")
    with serve_site(tmp_path / "htdocs", handler=SlowArticles) as base:
        config = _config(tmp_path, base, extract={"timeout": 120})  # a busy machine: no limit
        proc = subprocess.Popen([sys.executable, "-m", "warcwire.cli", "crawl", "sample-news",
                                 "--config", str(config)], start_new_session=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while not list((tmp_path / "spool").rglob("*.jsonl.gz.open")):
                assert proc.poll() is None and time.monotonic() < deadline, \
                    "no article was written"
                time.sleep(0.1)
            os.killpg(proc.pid, signum)  # as a terminal's Ctrl-C or `kill -- -PGID` does
            out, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 5, err[-3000:]
    assert "Traceback" not in err and "Error" not in err.replace("HttpErrorMiddleware", ""), \
        err[-3000:]
    assert "STOPPED early by a signal: what was fetched until then is stored" in out
    archived, emitted = _archived_and_emitted(tmp_path / "archive")
    assert archived and archived == emitted
    warcs = list((tmp_path / "archive").rglob("*.warc.gz"))
    assert warcs and all(w.with_name(w.name + ".cdxj").is_file() for w in warcs)
    assert not list((tmp_path / "spool").rglob("*.open"))


class HugePage(StaticSiteHandler):
    """One article page far over the extraction budget; the others as usual."""

    def do_GET(self, head: bool = False) -> None:  # noqa: N802
        if self.path == "/a/huge.html":
            body = b"<html><body><article>" + b"<p>word word word</p>" * 200_000 + \
                b"</article></body></html>"
            self.send_body(200, body, "text/html; charset=utf-8", mode="plain")
        else:
            super().do_GET(head=head)


def test_a_page_over_the_size_budget_is_archived_not_extracted(tmp_path: Path) -> None:
    root = tmp_path / "htdocs"
    _slow_site(root)
    sitemap = root / "sitemap.xml"
    sitemap.write_text(sitemap.read_text().replace(
        "</urlset>", "<url><loc>{{BASE_URL}}/a/huge.html</loc></url></urlset>"))
    with serve_site(root, handler=HugePage) as base:
        config = _config(tmp_path, base, extract={"max_page_size": "1MB"})
        result = run_cli("crawl", "sample-news", "--config", str(config))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "errors by kind: extract_too_large 1" in result.stdout
    archived, emitted = _archived_and_emitted(tmp_path / "archive")
    assert f"{base}/a/huge.html" in archived and f"{base}/a/huge.html" not in emitted
    assert len(emitted) == 40


class HeavyPages(StaticSiteHandler):
    """Article pages that take trafilatura seconds each (thousands of paragraphs)."""

    def do_GET(self, head: bool = False) -> None:  # noqa: N802
        if self.path.startswith("/heavy/"):
            words = [f"w{i}" for i in range(500)]
            paragraphs = (f"<p>{' '.join(words[(n + k) % 500] for k in range(40))}</p>"
                          for n in range(20000))
            body = ("<html><head><title>Heavy</title></head><body><article>"
                    + "".join(paragraphs) + "</article></body></html>").encode()
            self.send_body(200, body, "text/html; charset=utf-8", mode="plain")
        else:
            super().do_GET(head=head)


def test_an_extraction_over_its_time_budget_is_given_up_and_the_crawl_goes_on(
        tmp_path: Path) -> None:
    root = tmp_path / "htdocs"
    _slow_site(root)  # 40 quick articles, and three heavy ones
    sitemap = root / "sitemap.xml"
    heavy = "".join(f"<url><loc>{{{{BASE_URL}}}}/heavy/{n}.html</loc></url>" for n in range(3))
    sitemap.write_text(sitemap.read_text().replace("</urlset>", heavy + "</urlset>"))
    with serve_site(root, handler=HeavyPages) as base:
        config = _config(tmp_path, base, extract={"timeout": 1.0})
        result = run_cli("crawl", "sample-news", "--config", str(config))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "errors by kind: extract_timeout 3" in result.stdout, result.stdout
    archived, emitted = _archived_and_emitted(tmp_path / "archive")
    # each heavy page's worker was replaced, and the other articles were all extracted
    assert {u for u in archived if "/heavy/" in u} == {f"{base}/heavy/{n}.html"
                                                       for n in range(3)}
    assert emitted == {u for u in archived if "/a/" in u} and len(emitted) == 40
