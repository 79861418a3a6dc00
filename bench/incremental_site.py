"""Changing a generated bench site the way a newsroom corrects articles.

Used by incremental_bench.py between its second and third crawl: a few articles
get a correction paragraph (so their extracted text changes) and a newer
``dateModified``; their ``<lastmod>`` in the sitemaps moves to now; every file
touched gets its ``.gz`` twin rewritten (nginx's ``gzip_static`` serves the twin)
and its mtime set to now, so nginx's ETag and Last-Modified change with it.
"""

from __future__ import annotations

import gzip
import os
import random
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

CORRECTION_MARK = "corrected after publication"


@dataclass(frozen=True)
class Change:
    paths: list[str]  # URL paths of the changed articles
    files: list[Path]  # every file rewritten (not counting the .gz twins)
    lastmod: str  # the new <lastmod> and dateModified


def write_with_twin(path: Path, text: str, mtime: float) -> None:
    """Write ``path`` and its pre-gzipped twin, both with ``mtime``."""
    data = text.encode("utf-8")
    path.write_bytes(data)
    twin = path.with_name(path.name + ".gz")
    twin.write_bytes(gzip.compress(data, compresslevel=6, mtime=0))
    for p in (path, twin):
        os.utime(p, (mtime, mtime))


def correct_article(html: str, lastmod: str, n: int) -> str:
    """The page with a correction paragraph first in its body and a new dateModified."""
    note = (f"<p>Update {lastmod}: this article was {CORRECTION_MARK}; an earlier version "
            f"gave the wrong figures for the vote (correction {n}).</p>")
    body_tag = '<div class="article-body">'
    if body_tag not in html:
        raise ValueError("no article body in the page; did gen_site change?")
    html = html.replace(body_tag, body_tag + note, 1)
    return re.sub(r'"dateModified": "[^"]*"', f'"dateModified": "{lastmod}"', html, count=1)


def change_articles(root: Path, base_url: str, article_paths: list[str], count: int,
                    rng: random.Random) -> Change:
    """Correct ``count`` articles picked by ``rng`` and bump their sitemap lastmod to now."""
    picked = sorted(rng.sample(article_paths, count))
    now = time.time()
    lastmod = datetime.fromtimestamp(int(now), UTC).isoformat()
    files: list[Path] = []
    for n, path in enumerate(picked, 1):
        page = root / path.lstrip("/")
        write_with_twin(page, correct_article(page.read_text(encoding="utf-8"), lastmod, n), now)
        files.append(page)
    wanted = {base_url + p for p in picked}
    entry = re.compile(r"<url><loc>([^<]+)</loc><lastmod>[^<]*</lastmod></url>")

    def bump(m: re.Match[str]) -> str:
        if m.group(1) not in wanted:
            return m.group(0)
        return f"<url><loc>{m.group(1)}</loc><lastmod>{lastmod}</lastmod></url>"

    bumped = 0
    for sitemap in sorted((root / "sitemaps").glob("articles-*.xml")):
        text = sitemap.read_text(encoding="utf-8")
        new, hits = entry.subn(bump, text)
        if new != text:
            write_with_twin(sitemap, new, now)
            files.append(sitemap)
        bumped += sum(1 for m in entry.finditer(text) if m.group(1) in wanted) if hits else 0
    if bumped != count:
        raise ValueError(f"bumped {bumped} sitemap entries for {count} changed articles")
    return Change(picked, files, lastmod)
