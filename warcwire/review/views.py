"""Small pieces the UI templates need: the search form, formatting filters, diff folding."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from werkzeug.datastructures import MultiDict

from storage.catalog import ArticleVersion, Capture
from warcwire.review.diff import Block
from warcwire.review.diff import paragraphs as split_paragraphs

_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
KEEP_EQUAL = 1  # unchanged paragraphs kept on each side of a change in a diff


@dataclass(frozen=True)
class SearchForm:
    q: str = ""
    url: str = ""
    site: str = ""
    since: str = ""
    until: str = ""
    type: str = "html"
    offset: int = 0

    @classmethod
    def from_args(cls, args: MultiDict[str, str]) -> SearchForm:
        def get(name: str) -> str:
            return (args.get(name) or "").strip()[:500]

        offset = get("offset")
        return cls(q=get("q"), url=get("url"), site=get("site"), since=get("since"),
                   until=get("until"), type="all" if get("type") == "all" else "html",
                   offset=int(offset) if offset.isdigit() else 0)

    def filters(self) -> dict[str, Any]:
        """Catalog search arguments; raises ValueError with a readable message."""
        for label, value in (("From", self.since), ("To", self.until)):
            if value and not _DATE.match(value):
                raise ValueError(f"{label} date: expected YYYY-MM-DD, got {value!r}")
        return {"text": self.q or None, "url": self.url or None, "site": self.site or None,
                "since": self.since.replace("-", "") or None,
                "until": self.until.replace("-", "") or None,
                "mime": "text/html" if self.type == "html" else None}

    @property
    def active(self) -> bool:
        return any((self.q, self.url, self.site, self.since, self.until))

    def args(self) -> dict[str, str]:
        values = {"q": self.q, "url": self.url, "site": self.site, "since": self.since,
                  "until": self.until, "type": "all" if self.type == "all" else ""}
        return {k: v for k, v in values.items() if v}

    def page_url(self, offset: int) -> str:
        args = self.args() | ({"offset": str(offset)} if offset else {})
        return "/?" + urlencode(args) if args else "/"


def paragraphs(article: dict[str, Any] | None) -> list[str]:
    return split_paragraphs((article or {}).get("text") or "")


def previous_version(versions: list[Capture], shown: Capture) -> Capture | None:
    """The latest version before ``shown`` (a capture, or the original a revisit shows)."""
    earlier = [v for v in versions if (v.timestamp, v.id) < (shown.timestamp, shown.id)]
    return earlier[-1] if earlier else None


def neighbours(versions: list[Capture], before: Capture, after: Capture
               ) -> tuple[tuple[Capture, Capture] | None, tuple[Capture, Capture] | None]:
    """The change into ``before`` and the change out of ``after``, as (old, new) versions."""
    ids = [v.id for v in versions]
    earlier = later = None
    if before.id in ids and (i := ids.index(before.id)) > 0:
        earlier = (versions[i - 1], versions[i])
    if after.id in ids and (j := ids.index(after.id)) + 1 < len(versions):
        later = (versions[j], versions[j + 1])
    return earlier, later


@dataclass
class Fold:
    """A run of unchanged paragraphs shown folded in a diff."""

    paragraphs: list[str]
    kind: str = "fold"


def collapse(blocks: list[Block]) -> list[Block | Fold]:
    """Keep changes and a little context; fold longer runs of unchanged paragraphs."""
    changed = [i for i, b in enumerate(blocks) if b.kind != "equal"]
    keep = {j for i in changed for j in range(i - KEEP_EQUAL, i + KEEP_EQUAL + 1)}
    out: list[Block | Fold] = []
    for i, block in enumerate(blocks):
        if block.kind != "equal" or i in keep:
            out.append(block)
        elif out and isinstance(out[-1], Fold):
            out[-1].paragraphs.append(block.segments[0][1])
        else:
            out.append(Fold([block.segments[0][1]]))
    return out


def capture_json(c: Capture) -> dict[str, Any]:
    return {"id": c.id, "url": c.url, "timestamp": c.timestamp, "status": c.status,
            "mime": c.mime, "digest": c.digest, "site": c.site, "run_id": c.run_id,
            "warc": {"key": c.filename, "offset": c.offset, "length": c.length}}


# -- template filters ------------------------------------------------------

def when(ts: str) -> str:
    """14-digit timestamp -> '2026-11-25 09:30:01 UTC'."""
    try:
        return datetime.strptime(ts, "%Y%m%d%H%M%S").strftime("%Y-%m-%d %H:%M:%S UTC")
    except (TypeError, ValueError):
        return str(ts)


def day(value: str | None) -> str:
    """ISO 8601 -> '10 Jun 2019, 12:41'."""
    if not value:
        return ""
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if len(value) <= 10:
        return parsed.strftime("%-d %b %Y")
    return parsed.strftime("%-d %b %Y, %H:%M")


def size(n: int | None) -> str:
    if n is None:
        return ""
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{n} B"


def status_class(status: int | None) -> str:
    if status is None:
        return "st-none"
    return {2: "st-ok", 3: "st-redirect"}.get(status // 100, "st-error")


def short_mime(mime: str | None) -> str:
    return (mime or "").split(";", 1)[0].strip() or "?"


def version_text(value: ArticleVersion | None) -> str:
    """'version 2 · +12/−3 words', 'version 1', or '' without a version."""
    if value is None or value.version is None:
        return ""
    if value.words_added is None or value.words_removed is None:
        return f"version {value.version}"
    return f"version {value.version} · +{value.words_added}/−{value.words_removed} words"


def join(value: Any, sep: str = ", ") -> str:
    if isinstance(value, (list, tuple)):
        return sep.join(str(v) for v in value if v)
    return str(value or "")


FILTERS = {"when": when, "day": day, "size": size, "status_class": status_class,
           "short_mime": short_mime, "joinlist": join, "version_text": version_text}
