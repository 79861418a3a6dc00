"""Incremental archiving end to end: re-crawls of a real site served on 127.0.0.1.

The site is a copy of the sample site, served by a server that sends ETag and
Last-Modified and answers 304 as nginx does; between runs the tests edit it
as a newsroom would (a corrected article with a new sitemap lastmod, new
articles in the sitemap).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from tests.fixtures_site import run_cli, site_entry, write_config
from warcwire.demo import sample_site_root
from warcwire.site_server import StaticSiteHandler, serve_site

CHANGED = "/news/world/rotterdam-dock-strike-ends.html"
OLD = "Both sides said talks on automation at the newest terminals would continue in the autumn."
NEW = "Both sides said talks on automation would resume in September with a mediator."
ARTICLES = 10  # in the sample site


class SwitchableHandler(StaticSiteHandler):
    """The sample site; with ``honour_validators`` off it answers every request 200."""

    honour_validators = True

    def do_GET(self, head: bool = False) -> None:  # noqa: N802
        if not SwitchableHandler.honour_validators:
            del self.headers["If-None-Match"]
            del self.headers["If-Modified-Since"]
        super().do_GET(head=head)


@dataclass
class Site:
    root: Path
    base: str
    tmp: Path
    config: Path

    def crawl(self) -> dict:
        result = run_cli("crawl", "sample-news", "--config", str(self.config))
        assert result.returncode == 0, result.stdout + result.stderr[-3000:]
        runs = sqlite3.connect(self.tmp / "state" / "warcwire.db").execute(
            "SELECT run_id, stats, warcs, jsonl FROM warcwire_runs ORDER BY id DESC LIMIT 1"
        ).fetchone()
        return {"run_id": runs[0], "stats": json.loads(runs[1]), "warcs": json.loads(runs[2]),
                "jsonl": json.loads(runs[3]), "stdout": result.stdout}

    def edit(self, path: str, old: str, new: str) -> None:
        target = self.root / path.lstrip("/")
        text = target.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {path}"
        target.write_text(text.replace(old, new, 1), encoding="utf-8")
        stamp = time.time() + 2  # a newer Last-Modified than any earlier answer
        os.utime(target, (stamp, stamp))

    def set_lastmod(self, path: str) -> None:
        """The sitemap says ``path`` changed now, as a CMS does on every edit."""
        entry = f"<loc>{{{{BASE_URL}}}}{path}</loc>\n    <lastmod>"
        sitemap = self.root / "sitemap-articles.xml"
        xml = sitemap.read_text(encoding="utf-8")
        start = xml.index(entry) + len(entry)
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        sitemap.write_text(xml[:start] + now + xml[xml.index("</lastmod>", start):],
                           encoding="utf-8")
        stamp = time.time() + 2
        os.utime(sitemap, (stamp, stamp))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    tmp = tmp_path_factory.mktemp("incremental")
    root = tmp / "htdocs"
    shutil.copytree(sample_site_root(), root)
    with serve_site(root, handler=SwitchableHandler) as base:
        entry = site_entry(base, revisit={"window": "2d", "interval": "6h"})
        config = write_config(tmp, [entry], storage=str(tmp / "archive"))
        yield Site(root, base, tmp, config)


def warc_records(paths: list[str]) -> list:
    out = []
    for path in paths:
        with open(path, "rb") as f:
            for rec in ArchiveIterator(f):
                rec.content_stream().read()
                out.append(rec)
    return out


def articles(jsonl: list[str]) -> list[dict]:
    out = []
    for path in jsonl:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            out += [json.loads(line) for line in f if line.strip()]
    return out


def is_article(rec: object) -> bool:
    return "/news/" in (rec.rec_headers.get_header("WARC-Target-URI") or "")  # type: ignore


def test_runs_in_order(site: Site) -> None:
    """One crawl history, step by step: each step depends on the state the last one left."""
    # 1. first run: every article archived whole and emitted as version 1
    first = site.crawl()
    records = articles(first["jsonl"])
    assert len(records) == ARTICLES and {r["version"] for r in records} == {1}
    assert all(r["changes"] is None for r in records)
    assert first["stats"]["warcwire/incremental/new"] == ARTICLES
    v1 = {r["url"]: r for r in records}

    # 2. unchanged re-crawl: no article fetched, hubs answer 304 and become revisits
    second = site.crawl()
    assert second["jsonl"] == [] and "normalizer/records" not in second["stats"]
    recs = warc_records(second["warcs"])
    assert not [r for r in recs if is_article(r)], "known articles must not be fetched again"
    revisits = [r for r in recs if r.rec_type == "revisit"]
    assert revisits and all(r.rec_headers.get_header("WARC-Profile").endswith(
        "/revisit/server-not-modified") for r in revisits)
    assert [r.rec_headers.get_header("WARC-Target-URI") for r in recs
            if r.rec_type == "response"] == [site.base + "/robots.txt"]
    state_rows = sqlite3.connect(site.tmp / "state" / "warcwire.db").execute(
        "SELECT url, kind, via FROM crawl_urls ORDER BY url").fetchall()
    assert second["stats"]["warcwire/incremental/skipped_known"] == ARTICLES, state_rows
    assert "0 new, 0 changed, 0 unchanged, 0 not modified (304), 10 skipped as known" in \
        second["stdout"]

    # 3. one article corrected (page and sitemap lastmod): exactly one record, version 2
    site.edit(CHANGED, OLD, NEW)
    site.set_lastmod(CHANGED)
    third = site.crawl()
    (changed,) = articles(third["jsonl"])
    assert changed["url"] == site.base + CHANGED and changed["version"] == 2
    assert changed["changes"]["previous_hash"] == v1[site.base + CHANGED]["content_hash"]
    assert changed["changes"]["words_added"] > 0 and changed["changes"]["words_removed"] > 0
    assert NEW in changed["text"] and OLD not in changed["text"]
    assert third["stats"]["warcwire/incremental/changed"] == 1

    # 4. new articles published between runs: each archived once, on the next run; a copy
    # of a known article under a new URL (its canonical URL unchanged) emits nothing
    new_paths = _publish(site, 2)
    _publish_copy(site, "/news/world/rotterdam-copy.html")
    fourth = site.crawl()
    emitted = articles(fourth["jsonl"])
    assert sorted(r["url"] for r in emitted) == sorted(site.base + p for p in new_paths)
    assert {r["version"] for r in emitted} == {1}
    assert fourth["stats"]["warcwire/incremental/new"] == 3
    assert fourth["stats"]["normalizer/unchanged"] == 1

    # 5. every young article re-checked (interval 0): 304s, revisits, no record
    _set_revisit(site, interval=0)
    fifth = site.crawl()
    assert fifth["jsonl"] == []
    assert fifth["stats"]["warcwire/incremental/not_modified"] == ARTICLES + 3
    article_recs = [r for r in warc_records(fifth["warcs"]) if is_article(r)]
    assert article_recs and {r.rec_type for r in article_recs} == {"request", "revisit"}

    # 6. a server that ignores validators: the same payload again is an identical revisit
    SwitchableHandler.honour_validators = False
    try:
        sixth = site.crawl()
    finally:
        SwitchableHandler.honour_validators = True
    assert sixth["jsonl"] == []
    assert sixth["stats"]["warcwire/incremental/unchanged"] == ARTICLES + 3
    profiles = Counter(r.rec_headers.get_header("WARC-Profile").rsplit("/", 1)[1]
                       for r in warc_records(sixth["warcs"]) if r.rec_type == "revisit")
    assert profiles["identical-payload-digest"] >= ARTICLES + 3

    # 7. the crawl state is lost; reindex refills it from the archive: the next crawl
    # (validators unknown, so every fetch is unconditional) writes revisits, emits nothing
    from storage.crawl_state import CrawlState

    state = CrawlState(f"sqlite:///{site.tmp / 'state' / 'warcwire.db'}")
    state.clear()
    state.close()
    reindexed = run_cli("reindex", "--config", str(site.config))
    assert reindexed.returncode == 0, reindexed.stderr
    state = CrawlState(f"sqlite:///{site.tmp / 'state' / 'warcwire.db'}")
    urls, versions = state.load_urls("sample-news"), state.load_versions("sample-news")
    state.close()
    article_urls = [u for u in urls if "/news/" in u]
    assert len(article_urls) == ARTICLES + 3 and all(urls[u].digest for u in article_urls)
    assert not any(urls[u].etag for u in urls)  # validators are learnt again
    assert len(versions) == ARTICLES + 2  # the copy counts for its canonical URL
    assert versions[site.base + CHANGED].version == 2
    seventh = site.crawl()
    assert seventh["jsonl"] == [] and "normalizer/records" not in seventh["stats"]
    assert seventh["stats"]["warcwire/incremental/unchanged"] == ARTICLES + 3
    assert not [r for r in warc_records(seventh["warcs"])
                if r.rec_type == "response" and is_article(r)]

    # across all runs: each article's payload stored whole exactly once per version
    all_warcs = [w for run in (first, second, third, fourth, fifth, sixth, seventh)
                 for w in run["warcs"]]
    whole = Counter(r.rec_headers.get_header("WARC-Target-URI")
                    for r in warc_records(all_warcs) if r.rec_type == "response" and
                    is_article(r))
    assert whole[site.base + CHANGED] == 2
    assert all(n == 1 for url, n in whole.items() if url != site.base + CHANGED), whole
    assert len(whole) == ARTICLES + 3

    # re-normalizing the whole archive gives the same versions, each once
    out = site.tmp / "rerun.jsonl.gz"
    rerun = run_cli("normalize", *all_warcs, "--out", str(out))
    assert rerun.returncode == 0, rerun.stderr
    again = Counter((r["canonical_url"], r["version"]) for r in articles([str(out)]))
    assert again[(site.base + CHANGED, 2)] == 1 and set(again.values()) == {1}
    assert len(again) == ARTICLES + 3  # 12 articles, one of them in two versions


def _publish_copy(site: Site, path: str) -> None:
    """The corrected article again under another URL, naming the original as canonical."""
    (site.root / path.lstrip("/")).write_text(
        (site.root / CHANGED.lstrip("/")).read_text(encoding="utf-8"), encoding="utf-8")
    sitemap = site.root / "sitemap-articles.xml"
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sitemap.write_text(sitemap.read_text(encoding="utf-8").replace(
        "</urlset>", f"  <url><loc>{{{{BASE_URL}}}}{path}</loc><lastmod>{now}</lastmod></url>\n"
                     "</urlset>"), encoding="utf-8")


def _publish(site: Site, count: int) -> list[str]:
    """New articles, in the sitemap with today's lastmod."""
    template = (site.root / CHANGED.lstrip("/")).read_text(encoding="utf-8")
    paths = []
    sitemap = site.root / "sitemap-articles.xml"
    xml = sitemap.read_text(encoding="utf-8")
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    for n in range(count):
        path = f"/news/world/breaking-story-{n}.html"
        body = (template.replace(f'rel="canonical" href="{CHANGED}"',
                                 f'rel="canonical" href="{path}"')
                .replace("Container terminals", f"In breaking story {n}, container terminals"))
        (site.root / path.lstrip("/")).write_text(body, encoding="utf-8")
        xml = xml.replace("</urlset>", f"  <url>\n    <loc>{{{{BASE_URL}}}}{path}</loc>\n"
                                       f"    <lastmod>{now}</lastmod>\n  </url>\n</urlset>")
        paths.append(path)
    sitemap.write_text(xml, encoding="utf-8")
    stamp = time.time() + 2
    os.utime(sitemap, (stamp, stamp))
    return paths


def _set_revisit(site: Site, *, interval: int) -> None:
    import yaml

    config = yaml.safe_load(site.config.read_text(encoding="utf-8"))
    config["sites"][0]["revisit"]["interval"] = interval
    site.config.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


# -- a crawl killed at any moment ------------------------------------------------------

KILL_ARTICLES = 40


class SlowArticles(StaticSiteHandler):
    """Article pages take a while, so a crawl is still busy when it is killed."""

    def do_GET(self, head: bool = False) -> None:  # noqa: N802
        if self.path.startswith("/a/"):
            time.sleep(0.6)
        super().do_GET(head=head)


def _slow_site(root: Path) -> None:
    (root / "a").mkdir(parents=True)
    urls = []
    for n in range(KILL_ARTICLES):
        words = " ".join(f"word{n}x{i}" for i in range(60))
        (root / "a" / f"{n}.html").write_text(
            f"<html><head><title>Story {n}</title><link rel='canonical' href='/a/{n}.html'>"
            f"</head><body><article><h1>Story {n}</h1><p>{words}.</p><p>Second paragraph of "
            f"story {n}, long enough to be an article body for the extractor.</p>"
            f"<p>{words}.</p></article></body></html>", encoding="utf-8")
        urls.append(f"<url><loc>{{{{BASE_URL}}}}/a/{n}.html</loc></url>")
    (root / "sitemap.xml").write_text(
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(urls) + "</urlset>", encoding="utf-8")
    (root / "robots.txt").write_text("User-agent: *\nAllow: /\n", encoding="utf-8")


def _fetched_articles(db: Path) -> int:
    try:
        with sqlite3.connect(db, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM crawl_urls WHERE kind = 'article' "
                                    "AND fetched_at IS NOT NULL").fetchone()[0])
    except sqlite3.Error:  # not created yet
        return 0


def _spool_records(spool: Path) -> tuple[dict[tuple[str, int], str], set[str]]:
    """(key, offset) -> URL of every capture in the spool's WARCs, and every article URL
    in its JSONL files, finished or left open by the kill (read up to where they stop)."""
    captures: dict[tuple[str, int], str] = {}
    for path in spool.rglob("*.warc.gz*"):
        if path.name.endswith(".cdxj"):
            continue
        key = path.relative_to(spool).as_posix().removesuffix(".open")
        with open(path, "rb") as f:
            it = ArchiveIterator(f)
            try:
                for rec in it:
                    if rec.rec_type in ("response", "revisit"):
                        captures[(key, it.get_record_offset())] = \
                            rec.rec_headers.get_header("WARC-Target-URI")
            except Exception:  # noqa: BLE001 - a torn last record: what came before counts
                pass
    urls: set[str] = set()
    for path in spool.rglob("*.jsonl.gz*"):
        try:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                for line in f:
                    if line.endswith("\n"):
                        urls.add(json.loads(line)["url"])
        except (EOFError, OSError):  # an unfinished gzip stream ends here
            pass
    return captures, urls


def test_a_crawl_killed_at_any_moment_loses_no_article(tmp_path: Path) -> None:
    root = tmp_path / "htdocs"
    _slow_site(root)
    with serve_site(root, handler=SlowArticles) as base:
        entry = site_entry(base, start_urls=[], feeds=[], article_patterns=[r"/a/\d+\.html$"],
                           follow_depth=0, page_assets=False,
                           politeness={"delay": 0, "concurrency": 2, "autothrottle": False})
        config = write_config(tmp_path, [entry], storage=str(tmp_path / "archive"))
        db, spool = tmp_path / "state" / "warcwire.db", tmp_path / "spool"
        proc = subprocess.Popen([sys.executable, "-m", "warcwire.cli", "crawl", "sample-news",
                                 "--config", str(config)], start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 90
            while _fetched_articles(db) == 0 and proc.poll() is None:
                assert time.monotonic() < deadline, "no crawl state was committed"
                time.sleep(0.2)
            assert proc.poll() is None, "the crawl ended before it could be killed"
        finally:
            os.killpg(proc.pid, signal.SIGKILL)  # the crawl, its WARC writer, its workers
            proc.wait(timeout=30)

        # what the state claims, the spool holds
        with sqlite3.connect(db) as conn:
            claimed = conn.execute("SELECT url, warc_key, warc_offset FROM crawl_urls WHERE "
                                   "kind = 'article' AND fetched_at IS NOT NULL").fetchall()
            versions = [r[0] for r in conn.execute("SELECT key FROM crawl_articles")]
        captures, emitted = _spool_records(spool)
        assert 0 < len(claimed) < KILL_ARTICLES
        for url, key, offset in claimed:
            assert captures.get((key, offset)) == url, f"state claims {url} at {key}:{offset}"
        assert set(versions) <= emitted, set(versions) - emitted

        result = run_cli("crawl", "sample-news", "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "recovered" in result.stdout
    stored = [str(p) for p in (tmp_path / "archive").rglob("*.jsonl.gz")]
    urls = {r["url"] for r in articles(stored)}
    assert urls == {f"{base}/a/{n}.html" for n in range(KILL_ARTICLES)}
