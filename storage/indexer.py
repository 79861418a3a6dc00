"""Index stored files: a CDXJ beside every WARC, and their rows in the catalog.

Convention: the index of ``<key>.warc.gz`` is stored as ``<key>.warc.gz.cdxj``,
with ``filename`` fields holding storage keys relative to the storage root. To
replay in pywb, copy (or sync) the storage root into a collection's
``archive/`` folder and the ``*.cdxj`` files into its ``indexes/`` folder;
pywb then resolves every ``filename`` under ``archive/`` as it is.

The WARCs are the source of truth: :func:`reindex` rebuilds every CDXJ and the
catalog from storage alone. Site and run come from each WARC's warcinfo record
(``site``, ``run-id``), so files flushed late from the spool are filed under the
run that wrote them.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from warcio.recordloader import ArchiveLoadFailed, ArcWarcRecord

from storage.base import Store
from storage.catalog import Catalog
from storage.cdxj import CDXJ_SUFFIX, CdxjEntry, index_warc, read_warcinfo
from storage.crawl_state import CrawlState
from storage.state_rebuild import StateRebuild
from warcwire.exceptions import WarcwireError

logger = logging.getLogger(__name__)

WARC_SUFFIXES = (".warc.gz", ".warc")
JSONL_SUFFIXES = (".jsonl.gz", ".jsonl")


@dataclass
class IndexReport:
    """What one indexing pass did, and what it could not do."""

    warcs: int = 0
    captures: int = 0  # catalog rows added (0 for a WARC indexed before)
    articles: int = 0
    cdxj: list[str] = field(default_factory=list)  # keys of the CDXJ files written
    state_urls: int = 0  # URLs and article versions offered to the crawl state (reindex)
    state_articles: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (key, why)

    @property
    def ok(self) -> bool:
        return not self.failed

    def add(self, other: IndexReport) -> None:
        self.warcs += other.warcs
        self.captures += other.captures
        self.articles += other.articles
        self.cdxj += other.cdxj
        self.failed += other.failed


def is_warc(key: str) -> bool:
    return key.endswith(WARC_SUFFIXES)


def is_articles(key: str) -> bool:
    return key.endswith(JSONL_SUFFIXES)


def cdxj_key(warc_key: str) -> str:
    return warc_key + CDXJ_SUFFIX


def _site_from_key(key: str, default: str) -> str:
    head, sep, _ = key.partition("/")
    return head if sep else default


def _stored_cdxj(store: Store, key: str) -> list[CdxjEntry] | None:
    """The captures the crawl wrote beside ``key`` (storage/warc.py), if usable."""
    if not store.exists(cdxj_key(key)):
        return None
    try:
        with store.open(cdxj_key(key)) as stream:
            entries = [CdxjEntry.from_line(line.decode("utf-8")) for line in stream if line.strip()]
    except (ValueError, KeyError, UnicodeDecodeError) as exc:
        logger.warning("Ignoring unreadable %s (%s): indexing the WARC", cdxj_key(key), exc)
        return None
    if any(e.filename != key for e in entries):
        return None  # written for another key: not this file's index
    return entries


def index_warc_key(store: Store, catalog: Catalog, key: str, *, site: str, run_id: str,
                   trust_stored_cdxj: bool = True, rebuild: StateRebuild | None = None
                   ) -> IndexReport:
    """Store the CDXJ of one stored WARC beside it (unless there) and add its captures.

    The crawler writes each WARC's CDXJ as it writes the WARC; with
    ``trust_stored_cdxj`` that index is used and only the WARC's first record
    (warcinfo: site and run) is read. Otherwise, or when there is none, the whole
    WARC is streamed once and its CDXJ stored (and, given ``rebuild``, what each
    capture says about its URL collected for the crawl state).
    """
    report = IndexReport(warcs=1)
    entries = _stored_cdxj(store, key) if trust_stored_cdxj else None
    index = None
    seen: list[tuple[ArcWarcRecord, CdxjEntry]] = []
    with store.open(key) as stream:
        if entries is not None:
            warcinfo = read_warcinfo(stream)
        else:
            index = index_warc(stream, key, (lambda r, e: seen.append((r, e)))
                               if rebuild is not None else None)
            entries, warcinfo = index.entries, index.warcinfo
    if not entries and not warcinfo:
        raise WarcwireError(f"{store.location(key)} holds no WARC records")
    if index is not None:  # read from the WARC: store the index it lacked
        with tempfile.TemporaryDirectory(prefix="warcwire-cdxj-") as tmp:
            path = Path(tmp) / "index.cdxj"
            path.write_bytes(index.cdxj())
            store.put(path, cdxj_key(key))
    report.cdxj.append(cdxj_key(key))
    site = warcinfo.get("site") or site
    run_id = warcinfo.get("run-id") or run_id
    if rebuild is not None:
        for record, entry in seen:
            rebuild.capture(site, record, entry)
    report.captures = catalog.add_captures(e.as_row(site=site, run_id=run_id) for e in entries)
    catalog.mark_indexed(key)
    logger.info("Indexed %s: %d captures (%d new)", key, len(entries), report.captures)
    return report


def _jsonl_lines(stream: IO[bytes], key: str) -> Iterator[dict]:
    raw: IO[bytes] | gzip.GzipFile = gzip.GzipFile(fileobj=stream) if key.endswith(".gz") \
        else stream
    for number, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8"), start=1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            raise WarcwireError(f"{key} line {number} is not JSON: {exc}") from None


def index_articles_key(store: Store, catalog: Catalog, key: str,
                       rebuild: StateRebuild | None = None) -> IndexReport:
    """Add every article record of one stored JSONL file to the catalog."""
    def lines() -> Iterator[dict]:
        for record in _jsonl_lines(stream, key):
            if rebuild is not None:
                rebuild.article(str(record.get("site") or _site_from_key(key, "default")),
                                record)
            yield record

    with store.open(key) as stream:
        added, waiting = catalog.add_articles_of(lines())
    if waiting:
        # the WARCs of these records are not indexed (yet): indexing this file again
        # after them adds the rest; an article row never exists without its capture
        return IndexReport(articles=added, failed=[(key, f"{waiting} article record(s) wait "
                                                         "for their WARC to be indexed")])
    catalog.mark_indexed(key)
    return IndexReport(articles=added)


def index_stored(store: Store, catalog: Catalog, keys: Iterable[str], *, site: str,
                 run_id: str, trust_stored_cdxj: bool = True,
                 rebuild: StateRebuild | None = None) -> IndexReport:
    """Index freshly stored files; other keys are ignored, failures are reported per key.

    ``site`` and ``run_id`` are used only where a WARC's warcinfo does not name them;
    ``trust_stored_cdxj`` as in :func:`index_warc_key`.
    Never raises for one bad file: storing already succeeded, indexing can be redone
    with ``warcwire reindex``.
    """
    report = IndexReport()
    keys = list(keys)
    # captures first, so a reader never sees an article without its capture
    for key in [k for k in keys if is_warc(k)] + [k for k in keys if is_articles(k)]:
        try:
            if is_warc(key):
                report.add(index_warc_key(store, catalog, key, site=site, run_id=run_id,
                                          trust_stored_cdxj=trust_stored_cdxj,
                                          rebuild=rebuild))
            else:
                report.add(index_articles_key(store, catalog, key, rebuild))
        except (WarcwireError, ArchiveLoadFailed, OSError, ValueError, EOFError) as exc:
            # warcio raises ArchiveLoadFailed/ValueError/EOFError on damaged files, gzip OSError
            logger.warning("Could not index %s: %s", key, exc)
            report.failed.append((key, (str(exc) or type(exc).__name__)[:300]))
    return report


def index_unindexed(store: Store, catalog: Catalog) -> IndexReport:
    """Index every stored WARC and articles file the catalog does not wholly hold yet.

    What ``warcwire sync`` runs after storing: files that reached the store before
    an outage, or whose indexing failed, are picked up without a full reindex.
    WARCs go first, so their articles find their captures.
    """
    done = catalog.indexed_keys()
    keys = [k for k in store.list("") if (is_warc(k) or is_articles(k)) and k not in done]
    return index_stored(store, catalog, keys, site="unknown", run_id="")


def reindex(store: Store, catalog: Catalog, site: str | None = None,
            state: CrawlState | None = None) -> IndexReport:
    """Rebuild every CDXJ and the catalog (of ``site``, or all) from the stored WARCs.

    Reads every WARC whole: the stored CDXJ files are what is being rebuilt.
    Given the crawl ``state``, what it lacks is filled in from the archive
    (see :mod:`storage.state_rebuild`).
    """
    prefix = f"{site}/" if site else ""
    keys = [k for k in store.list(prefix) if is_warc(k) or is_articles(k)]
    catalog.clear(site)
    report = IndexReport()
    rebuild = StateRebuild() if state is not None else None
    for key in keys:
        default_site = site or _site_from_key(key, "default")
        report.add(index_stored(store, catalog, [key], site=default_site, run_id="",
                                trust_stored_cdxj=False, rebuild=rebuild))
    if state is not None and rebuild is not None:
        report.state_urls, report.state_articles = rebuild.save(state)
    return report
