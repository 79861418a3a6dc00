"""A real crawl of the sample site, stored and indexed, for the restore, CDXJ and pywb tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from storage.catalog import Catalog
from storage.indexer import IndexReport, index_stored
from storage.local import LocalStore
from tests.fixtures_site import run_cli, site_entry, write_config
from warcwire.demo import sample_site_root
from warcwire.site_server import BASE_URL_PLACEHOLDER

TEMPLATED = {".xml", ".rss", ".atom", ".txt", ".html"}


@dataclass
class Crawled:
    base: str  # base URL of the sample site the crawl fetched
    tmp: Path
    config: Path
    archive: Path  # local storage root
    database_url: str
    keys: list[str]  # stored keys of the crawl (WARC + JSONL)
    report: IndexReport

    @property
    def warc_keys(self) -> list[str]:
        return [k for k in self.keys if k.endswith(".warc.gz")]


def crawl_and_index(news_site: str, tmp: Path, **globals_: object) -> Crawled:
    """Crawl into ``tmp/archive`` (the crawl indexes what it stored into its catalog).

    ``report`` comes from indexing the stored keys again into a fresh catalog,
    so tests can check what one indexing pass does.
    """
    archive = tmp / "archive"
    data = tmp / "data"
    config = write_config(tmp, [site_entry(news_site)], storage=str(archive),
                          data_dir=str(data), **globals_)
    result = run_cli("crawl", "sample-news", "--config", str(config))
    if result.returncode != 0:
        raise AssertionError(f"crawl failed:\n{result.stdout}\n{result.stderr[-3000:]}")
    store = LocalStore(archive)
    keys = [k for k in store.list() if not k.endswith(".cdxj")]
    database_url = f"sqlite:///{data / 'warcwire.db'}"
    catalog = Catalog(f"sqlite:///{tmp / 'fresh-index.db'}")
    report = index_stored(store, catalog, keys, site="sample-news", run_id="unknown")
    catalog.close()
    return Crawled(news_site, tmp, config, archive, database_url, keys, report)


def served_body(base_url: str, path: str) -> bytes:
    """What the sample site sends for ``path`` (before any Content-Encoding)."""
    root = sample_site_root()
    target = root / path.lstrip("/")
    if target.is_dir():
        target = target / "index.html"
    body = target.read_bytes()
    if target.suffix in TEMPLATED:
        body = body.replace(BASE_URL_PLACEHOLDER, base_url.encode())
    return body
