"""Refill a lost crawl state from the archive (``warcwire reindex``).

The WARCs say, per URL, when it was first and last captured, the payload
digest of its latest whole response and where that record is: enough for the
next crawl to write revisits rather than new copies. The article JSONL files
say each article's last version, so nothing is emitted again. Validators
(ETag, Last-Modified) are not restored: the next crawl fetches once
unconditionally and learns them. Rows the state still has are left alone; it
knows more than the archive (validators, how URLs were found).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from warcio.recordloader import ArcWarcRecord

from storage.cdxj import CdxjEntry
from storage.crawl_state import ArticleVersion, CrawlState, UrlState


def _when(entry: CdxjEntry, record: ArcWarcRecord) -> datetime:
    value = record.rec_headers.get_header("WARC-Date") or ""
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return datetime.strptime(entry.timestamp, "%Y%m%d%H%M%S").astimezone()


@dataclass
class StateRebuild:
    urls: dict[tuple[str, str], UrlState] = field(default_factory=dict)
    versions: dict[tuple[str, str], ArticleVersion] = field(default_factory=dict)

    def capture(self, site: str, record: ArcWarcRecord, entry: CdxjEntry) -> None:
        """One response or revisit record of ``site``'s WARCs, in any order."""
        if record.rec_type not in ("response", "revisit") or not entry.url:
            return
        when = _when(entry, record)
        state = self.urls.get((site, entry.url))
        if state is None:
            state = UrlState(url=entry.url, kind="page", first_seen=when)
            self.urls[(site, entry.url)] = state
        state.first_seen = min(state.first_seen, when)
        if state.fetched_at is not None and state.fetched_at >= when:
            return
        state.fetched_at, state.status = when, entry.status
        state.warc_key, state.warc_offset, state.warc_length = (
            entry.filename, entry.offset, entry.length)
        head = record.http_headers
        if (record.rec_type == "response" and entry.status is not None
                and 200 <= entry.status < 300 and entry.digest and head is not None
                and not record.rec_headers.get_header("WARC-Truncated")):
            state.digest = entry.digest
            state.orig_uri = entry.url
            state.orig_date = record.rec_headers.get_header("WARC-Date")
            state.orig_record_id = record.rec_headers.get_header("WARC-Record-ID")
            state.orig_status_line = f"{head.protocol} {head.statusline}"
            state.orig_headers = [[name, value] for name, value in head.headers]

    def article(self, site: str, record: dict) -> None:
        """One article record of ``site``'s JSONL files, in any order."""
        key = record.get("canonical_url") or record.get("url")
        version, digest = record.get("version") or 1, record.get("content_hash")
        if not key or not digest:
            return
        known = self.versions.get((site, key))
        if known is None or known.version < version:
            self.versions[(site, key)] = ArticleVersion(key, int(version), digest,
                                                        record.get("text") or "")

    def save(self, state: CrawlState) -> tuple[int, int]:
        """Fill what ``state`` lacks; (URLs, articles) offered."""
        for site in {site for site, _ in self.urls} | {site for site, _ in self.versions}:
            state.fill(site, urls=[s for (s_, _), s in self.urls.items() if s_ == site],
                       versions=[v for (s_, _), v in self.versions.items() if s_ == site])
        return len(self.urls), len(self.versions)
