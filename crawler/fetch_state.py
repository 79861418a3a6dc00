"""What one archived fetch tells the crawl state about its URL.

Kept apart from the spider so the rules read (and test) on their own: which
validators to keep, and which capture a later revisit refers to.
"""

from __future__ import annotations

from datetime import datetime

from crawler.warc_capture import Captured
from storage.crawl_state import UrlState


def _header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    lname = name.lower()
    for key, value in headers:
        if key.lower() == lname:
            return value
    return None


def fetched_row(state: UrlState, status: int, captured: Captured, now: datetime) -> UrlState:
    """``state`` after this fetch: a copy, so the caller decides when it is recorded.

    * a whole 2xx response becomes the original later revisits refer to, and its
      ETag / Last-Modified the validators of the next conditional request;
    * a revisit (304, or a 200 with the same payload) keeps the original and
      takes any new validators the server sent;
    * anything else (4xx, 5xx, a truncated body) keeps the original, drops the
      validators: the next fetch is unconditional.
    """
    row = state.copy()
    written = captured.written
    row.fetched_at = now
    row.status = status
    row.warc_key = written.location.key
    row.warc_offset = written.location.offset
    row.warc_length = written.location.length
    etag = _header(captured.headers, "ETag")
    modified = _header(captured.headers, "Last-Modified")
    if written.revisit is not None:
        row.etag = etag or row.etag
        row.last_modified = modified or row.last_modified
    elif 200 <= status < 300 and not captured.truncated and written.digest:
        row.digest = written.digest
        row.orig_uri = captured.url
        row.orig_date = written.date
        row.orig_record_id = written.record_id
        row.orig_status_line = captured.status_line
        row.orig_headers = [[name, value] for name, value in captured.headers]
        row.etag, row.last_modified = etag, modified
    else:
        row.etag = row.last_modified = None
    return row
