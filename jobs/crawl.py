"""Run one crawl of one site: Scrapy, then storing what it wrote.

This is the unit every trigger shares: ``warcwire crawl`` by hand, system
cron, and the scheduler (which runs it in a child process, since Twisted's
reactor cannot be restarted). Storing happens after the reactor stops, from
the local spool, so a storage outage never loses a fetched page.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jobs.history import incremental_counts
from storage import StoredObject, get_store
from storage.recovery import Recovered, recover_open_files
from storage.spool import FlushReport, Spool
from storage.warc import is_disk_full
from warcwire.config import Config
from warcwire.exceptions import WarcwireError

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_STORAGE = 3  # crawl finished, some files still wait in the spool
EXIT_NOTHING_FETCHED = 4  # the site could not be reached at all
EXIT_STOPPED = 5  # stopped early by SIGTERM/SIGINT; what was fetched is stored
EXIT_DISK_FULL = 6  # the spool disk filled up: stopped early; what was written is kept


@dataclass
class RunSummary:
    site: str
    run_id: str
    storage: str
    spool_dir: str
    started: datetime
    elapsed: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)
    stored: list[str] = field(default_factory=list)  # locations of stored objects
    kept: list[tuple[str, str]] = field(default_factory=list)  # (spool path, why)
    not_indexed: list[tuple[str, str]] = field(default_factory=list)  # (key, why)
    recovered: list[str] = field(default_factory=list)  # files an interrupted run left

    @property
    def pages(self) -> int:
        return int(self.stats.get("warcwire/pages", 0))

    @property
    def responses(self) -> int:
        """Responses from the site besides robots.txt (a 304 is one)."""
        return (int(self.stats.get("response_received_count", 0))
                - int(self.stats.get("robotstxt/response_count", 0)))

    @property
    def articles(self) -> int:
        return int(self.stats.get("normalizer/records", 0))

    @property
    def archived_bytes(self) -> int:
        return int(self.stats.get("warc/bytes", 0))

    @property
    def errors(self) -> dict[str, int]:
        prefix = "warcwire/errors/"
        return {k[len(prefix):]: int(v) for k, v in sorted(self.stats.items())
                if k.startswith(prefix)}

    @property
    def incremental(self) -> dict[str, int]:
        """What the crawl state saved or found (see jobs.history.incremental_counts)."""
        return incremental_counts(self.stats)

    @property
    def disk_full(self) -> str:
        """What could not be written when the spool disk filled up; '' if it never did."""
        return str(self.stats.get("warcwire/disk_full") or "")

    @property
    def finish_reason(self) -> str:
        """Scrapy's reason: 'finished', 'shutdown' (SIGTERM/SIGINT), 'disk_full', ..."""
        return str(self.stats.get("finish_reason", ""))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: the crawl child hands its summary to the service this way."""
        return {"site": self.site, "run_id": self.run_id, "storage": self.storage,
                "spool_dir": self.spool_dir, "started": self.started.isoformat(),
                "elapsed": self.elapsed,
                "stats": {k: v if isinstance(v, int | float | str | bool) or v is None
                          else str(v) for k, v in self.stats.items()},
                "stored": list(self.stored), "kept": [list(k) for k in self.kept],
                "not_indexed": [list(k) for k in self.not_indexed],
                "recovered": list(self.recovered)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunSummary:
        return cls(site=d["site"], run_id=d["run_id"], storage=d["storage"],
                   spool_dir=d["spool_dir"], started=datetime.fromisoformat(d["started"]),
                   elapsed=float(d["elapsed"]), stats=dict(d["stats"]),
                   stored=list(d["stored"]), kept=[(p, why) for p, why in d["kept"]],
                   not_indexed=[(k, why) for k, why in d.get("not_indexed", [])],
                   recovered=list(d.get("recovered", [])))

    @property
    def exit_code(self) -> int:
        # a full spool first: until it has room again every run fails the same way
        if self.disk_full:
            return EXIT_DISK_FULL
        if self.kept:
            return EXIT_STORAGE
        if self.finish_reason == "shutdown":
            return EXIT_STOPPED
        if self.responses == 0 and self.errors:
            return EXIT_NOTHING_FETCHED
        return EXIT_OK


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: UTC time plus a short random suffix."""
    now = now or datetime.now(UTC)
    return now.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def run_site(config: Config, site_name: str, *, storage: str | None = None,
             max_pages: int | None = None, extract: bool = True,
             progress: bool = False, log_level: str = "INFO",
             run_id: str | None = None) -> RunSummary:
    """Crawl ``site_name`` once and store the WARCs and JSONL it produced."""
    from scrapy.crawler import CrawlerProcess
    from scrapy.settings import Settings

    from crawler.settings import crawl_settings
    from crawler.spiders.news import NewsSpider

    site = config.site(site_name)
    storage = storage or config.storage
    store = get_store(storage)  # fail on a bad URI before crawling anything
    run_id = run_id or new_run_id()
    summary = RunSummary(site=site.name, run_id=run_id, storage=storage,
                         spool_dir=config.spool_dir, started=datetime.now(UTC))
    Path(config.spool_dir).mkdir(parents=True, exist_ok=True)

    settings = Settings()
    settings.setmodule("crawler.settings", priority="project")
    settings.setdict(crawl_settings(config, site, run_id=run_id, storage=storage,
                                    extract=extract, progress=progress), priority="cmdline")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")

    t0 = time.monotonic()
    process = CrawlerProcess(settings)
    crawler = process.create_crawler(NewsSpider)
    process.crawl(crawler, site=site, max_pages=max_pages)
    process.start()
    summary.stats = dict(crawler.stats.get_stats() or {})

    report, recovered = store_spool(Spool(Path(config.spool_dir)), store)
    summary.recovered = [item.describe() for item in recovered]
    # WARCs that rotated mid-crawl were stored by the background uploader already
    stored = uploaded_during_crawl(crawler) + report.stored
    summary.stored = [obj.location for obj in stored]
    summary.kept = [(str(path), why) for path, why in report.failed]
    summary.not_indexed = index_captures(config, store, stored, site=site.name, run_id=run_id)
    summary.elapsed = time.monotonic() - t0
    # The caller records the run (jobs.record for `warcwire crawl`, the service for
    # scheduled runs): run_site only reports, so data flows one way.
    return summary


def uploaded_during_crawl(crawler: Any) -> list[StoredObject]:
    from crawler.uploader import SpoolUploader

    extensions = getattr(crawler.extensions, "middlewares", ())
    return [obj for ext in extensions if isinstance(ext, SpoolUploader) for obj in ext.stored]


def index_captures(config: Config, store: Any, stored: list[StoredObject], *, site: str,
                   run_id: str) -> list[tuple[str, str]]:
    """CDXJ beside each stored WARC and rows in the catalog; failures are reported, not raised.

    The files are stored, so the crawl succeeded either way; what is not indexed
    now is picked up by ``warcwire reindex``.
    """
    from storage.catalog import Catalog
    from storage.indexer import index_stored

    keys = [obj.key for obj in stored]
    if not keys:
        return []
    try:
        catalog = Catalog(config.database_url)
        try:
            indexed = index_stored(store, catalog, keys, site=site, run_id=run_id)
        finally:
            catalog.close()
    except WarcwireError as exc:  # e.g. the catalog database is unreachable
        logger.warning("Could not index stored files: %s; run 'warcwire reindex'", exc)
        return [(key, str(exc)) for key in keys]
    for key, why in indexed.failed:
        logger.warning("Not indexed: %s (%s); run 'warcwire reindex'", key, why)
    return list(indexed.failed)


def sync_spool(config: Config, storage: str | None = None, *, run_id: str = "sync"
               ) -> tuple[FlushReport, list[Recovered], list[tuple[str, str]]]:
    """What ``warcwire sync`` and the service's sweep do: recover, store and index the spool.

    Returns the flush report, what was recovered, and what was stored but not indexed.
    """
    store = get_store(storage or config.storage)
    report, recovered = store_spool(Spool(Path(config.spool_dir)), store)
    # site and run come from each WARC's warcinfo; these are fallbacks only
    not_indexed = index_captures(config, store, report.stored, site="unknown", run_id=run_id)
    return report, recovered, not_indexed


def store_spool(spool: Spool, store: Any) -> tuple[FlushReport, list[Recovered]]:
    """Upload everything finished in the spool, this run's files and any left before.

    Files a killed run left half-written are recovered first (torn tails cut),
    so they are uploaded and indexed with the rest.
    """
    recovered = _recover(spool)
    report = spool.flush(store)
    if recovered is None:  # the spool disk was full; storing made room, so once more
        recovered = _recover(spool) or []
        again = spool.flush(store)
        report = FlushReport(stored=report.stored + again.stored, failed=again.failed)
    for path, why in report.failed:
        logger.warning("Kept in spool: %s (%s)", path, why)
    return report, recovered


def _recover(spool: Spool) -> list[Recovered] | None:
    """Recover interrupted files; None if a full spool disk stopped it (they stay ``.open``)."""
    try:
        recovered = recover_open_files(spool)
    except OSError as exc:
        if not is_disk_full(exc):
            raise
        logger.warning("Could not recover interrupted spool files yet: %s", exc)
        return None
    for item in recovered:
        logger.warning("Recovered from an interrupted run: %s", item.describe())
    return recovered
