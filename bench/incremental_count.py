"""What one benchmark crawl added: files in storage, WARC records, articles, its stats.

Used by incremental_bench.py after each ``warcwire crawl``: the storage folder is
listed before and after, and only the files the run added are read.
"""

from __future__ import annotations

import gzip
import json
import re
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

from incremental_site import CORRECTION_MARK

from jobs.history import incremental_counts

SUMMARY_RE = re.compile(
    r"articles: (?P<new>\d+) new, (?P<changed>\d+) changed, (?P<unchanged>\d+) unchanged, "
    r"(?P<not_modified>\d+) not modified \(304\), (?P<skipped_known>\d+) skipped as known; "
    r"(?P<revisits>\d+) revisit records")


def snapshot(root: Path) -> dict[str, int]:
    """Relative path -> size of every file under ``root``."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def file_kind(name: str) -> str:
    for suffix, kind in ((".warc.gz.cdxj", "cdxj"), (".warc.gz", "warc"),
                         (".jsonl.gz", "jsonl")):
        if name.endswith(suffix):
            return kind
    return "other"


def scan_warcs(paths: list[Path], article_re: re.Pattern[str]
               ) -> tuple[dict[str, int], set[str]]:
    """Record counts by type (articles apart) and the article URLs requested."""
    from warcio.archiveiterator import ArchiveIterator

    counts: Counter[str] = Counter()
    fetched: set[str] = set()
    for path in paths:
        with path.open("rb") as f:
            for record in ArchiveIterator(f):
                kind = record.rec_type
                url = record.rec_headers.get_header("WARC-Target-URI") or ""
                what = "article" if article_re.search(url) else "other"
                if kind == "request":
                    counts[f"request/{what}"] += 1
                    if what == "article":
                        fetched.add(url)
                elif kind == "response":
                    status = record.http_headers.get_statuscode() if record.http_headers else "?"
                    counts[f"response/{what}/{status}"] += 1
                elif kind == "revisit":
                    profile = (record.rec_headers.get_header("WARC-Profile") or "").rsplit("/", 1)
                    counts[f"revisit/{what}/{profile[-1]}"] += 1
                else:
                    counts[kind] += 1
    return dict(sorted(counts.items())), fetched


def read_records(paths: list[Path]) -> list[dict[str, Any]]:
    """The normalizer records in ``paths``: URL, version and whether the correction is in."""
    out = []
    for path in paths:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    rec = json.loads(line)
                    out.append({"url": rec.get("url"), "version": rec.get("version"),
                                "corrected": CORRECTION_MARK in (rec.get("text") or "")})
    return out


def run_stats(data_dir: Path, run_id: str | None) -> dict[str, Any]:
    """The run's Scrapy stats from the run history (warcwire_runs.stats)."""
    db = data_dir / "warcwire.db"
    if run_id is None or not db.exists():
        return {}
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        row = conn.execute("SELECT stats FROM warcwire_runs WHERE run_id = ?",
                           (run_id,)).fetchone()
    return json.loads(row[0]) if row and row[0] else {}


def counts_from_stats(stats: dict[str, Any]) -> dict[str, int]:
    """The summary line's counts, from the recorded stats: a cross-check of both."""
    return incremental_counts(stats)


def dir_bytes(root: Path) -> int:
    return sum(snapshot(root).values())
