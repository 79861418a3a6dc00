"""Page requisites: what a reviewer needs to see an archived page as it was."""

from __future__ import annotations

import html
import re

MAX_ASSETS_PER_PAGE = 100
# url(...) references in a stylesheet: the fonts and images it needs
CSS_URL = re.compile(rb"""url\(\s*['"]?([^'")\s]+)['"]?\s*\)""")
_TAG = re.compile(rb"<(img|link|source|video)\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(rb"""([a-zA-Z-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""")


def page_assets(body: bytes) -> list[str]:
    """Images, stylesheets and icons a page needs to be seen as it was, in page order.

    A regex scan of the raw bytes, as Heritrix's ExtractorHTML does: building
    an lxml tree of every page just for this would cost more than archiving it.
    """
    urls: list[bytes] = []
    for tag, attrs_raw in _TAG.findall(body):
        attrs = {m[0].lower(): (m[1] or m[2] or m[3]) for m in _ATTR.findall(attrs_raw)}
        tag = tag.lower()
        if tag == b"link":
            rel = attrs.get(b"rel", b"").lower().split()
            if b"stylesheet" in rel or b"icon" in rel:
                urls.append(attrs.get(b"href", b""))
            continue
        urls += [attrs.get(b"src", b""), attrs.get(b"poster", b"")]
        for part in attrs.get(b"srcset", b"").split(b","):
            urls.append(part.strip().split(b" ")[0])
    out: list[str] = []
    seen: set[str] = set()
    for raw in urls:
        url = html.unescape(raw.decode("utf-8", "replace").strip())
        if url and not url.startswith("data:") and url not in seen:
            seen.add(url)
            out.append(url)
    return out
