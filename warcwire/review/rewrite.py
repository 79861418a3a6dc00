"""Rewrite archived HTML and CSS so that every URL in them points back into the archive.

Replay must never reach the live web, so links and resources become replay
paths (``/<key>/<timestamp>/<absolute url>``) that the replay listener answers
from the catalog, closest in time. The HTML is re-emitted token by token with
only URL-bearing attributes changed, so the page stays as it was archived.
The browser-side guarantee comes from the Content-Security-Policy the replay
listener sends; rewriting is what makes the archived resources appear.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

# tag -> attributes whose value is one URL.
_URL_ATTRS: dict[str, set[str]] = {
    "a": {"href"}, "area": {"href"}, "link": {"href"}, "base": {"href"},
    "img": {"src", "longdesc"}, "script": {"src"}, "iframe": {"src"}, "frame": {"src"},
    "embed": {"src"}, "source": {"src"}, "track": {"src"}, "audio": {"src"},
    "video": {"src", "poster"}, "input": {"src", "formaction"}, "button": {"formaction"},
    "object": {"data"}, "form": {"action"}, "body": {"background"},
    "table": {"background"}, "td": {"background"}, "th": {"background"},
    "image": {"href", "xlink:href"}, "use": {"href", "xlink:href"},
    "blockquote": {"cite"}, "q": {"cite"}, "ins": {"cite"}, "del": {"cite"},
}
_SRCSET_TAGS = {"img", "source"}
_DROP_ATTRS = {"integrity", "ping"}  # rewritten bodies no longer match; pings reach out
_KEEP_SCHEMES = {"data", "mailto", "tel", "about", "blob"}

_CSS_URL = re.compile(r"""url\(\s*(?P<q>['"]?)(?P<u>.*?)(?P=q)\s*\)""", re.IGNORECASE | re.DOTALL)
_CSS_IMPORT = re.compile(r"""@import\s+(?P<q>['"])(?P<u>[^'"]*)(?P=q)""", re.IGNORECASE)
_REFRESH = re.compile(r"""^(?P<head>\s*\d*(?:\.\d*)?\s*[;,]?\s*(?:url\s*=\s*)?)(?P<q>['"]?)"""
                      r"""(?P<u>.*?)(?P=q)\s*$""", re.IGNORECASE | re.DOTALL)


class UrlRewriter:
    """Resolve URLs found in one archived document and map them into the replay space."""

    def __init__(self, base_url: str, to_replay: Callable[[str], str]) -> None:
        self.base_url = base_url
        self._to_replay = to_replay

    def url(self, value: str) -> str:
        raw = value.strip()
        if not raw or raw.startswith("#"):
            return value
        scheme = raw.split(":", 1)[0].lower() if ":" in raw else ""
        if scheme in _KEEP_SCHEMES:
            return raw
        if scheme == "javascript":
            return "#"
        absolute = urljoin(self.base_url, raw)
        if urlsplit(absolute).scheme not in ("http", "https"):
            return "#"
        return self._to_replay(absolute)

    def srcset(self, value: str) -> str:
        out = []
        for url, descriptor in _parse_srcset(value):
            out.append(f"{self.url(url)} {descriptor}".strip())
        return ", ".join(out)

    def css(self, text: str) -> str:
        def url_sub(m: re.Match[str]) -> str:
            return f'url("{_css_escape(self.url(m.group("u")))}")'

        def import_sub(m: re.Match[str]) -> str:
            return f'@import "{_css_escape(self.url(m.group("u")))}"'

        return _CSS_IMPORT.sub(import_sub, _CSS_URL.sub(url_sub, text))

    def refresh(self, content: str) -> str:
        m = _REFRESH.match(content)
        if not m or not m.group("u"):
            return content
        return m.group("head") + self.url(m.group("u"))


def _css_escape(url: str) -> str:
    return url.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "")


def _parse_srcset(value: str) -> list[tuple[str, str]]:
    """Split a srcset into (url, descriptor) pairs the way browsers do."""
    candidates: list[tuple[str, str]] = []
    i, n = 0, len(value)
    while i < n:
        while i < n and (value[i].isspace() or value[i] == ","):
            i += 1
        start = i
        while i < n and not value[i].isspace():
            i += 1
        url = value[start:i]
        descriptor = ""
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            start, depth = i, 0
            while i < n and (value[i] != "," or depth):
                depth += {"(": 1, ")": -1}.get(value[i], 0)
                i += 1
            descriptor = value[start:i].strip()
        if url:
            candidates.append((url, descriptor))
    return candidates


class _HtmlRewriter(HTMLParser):
    def __init__(self, rewriter: UrlRewriter) -> None:
        super().__init__(convert_charrefs=False)
        self.rw = rewriter
        self.out: list[str] = []
        self._base_seen = False
        self._in_style = False

    # -- tags ----------------------------------------------------------------
    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(self._tag(tag, attrs, closed=False))
        if tag == "style":
            self._in_style = True

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.out.append(self._tag(tag, attrs, closed=True))

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False
        self.out.append(f"</{tag}>")

    def _tag(self, tag: str, attrs: list[tuple[str, str | None]], closed: bool) -> str:
        if tag == "base" and not self._base_seen:
            href = dict(attrs).get("href")
            if href:  # the first <base href> sets how the rest of the page resolves
                self.rw.base_url = urljoin(self.rw.base_url, href.strip())
                self._base_seen = True
        names = _URL_ATTRS.get(tag, set())
        is_refresh = tag == "meta" and (dict(attrs).get("http-equiv") or "").lower() == "refresh"
        changed = False
        new: list[tuple[str, str | None]] = []
        for name, value in attrs:
            if name in _DROP_ATTRS:
                changed = True
                continue
            if value is not None:
                if name in names:
                    value, changed = self.rw.url(value), True
                elif name == "srcset" and tag in _SRCSET_TAGS:
                    value, changed = self.rw.srcset(value), True
                elif name == "style":
                    value, changed = self.rw.css(value), True
                elif is_refresh and name == "content":
                    value, changed = self.rw.refresh(value), True
            new.append((name, value))
        raw = self.get_starttag_text() or ""
        if not changed and raw:
            return raw
        parts = [tag] + [n if v is None else f'{n}="{html.escape(v, quote=True)}"'
                         for n, v in new]
        return "<" + " ".join(parts) + (" />" if closed else ">")

    # -- everything else passes through --------------------------------------
    def handle_data(self, data: str) -> None:
        self.out.append(self.rw.css(data) if self._in_style else data)

    def handle_entityref(self, name: str) -> None:
        self.out.append(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self.out.append(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        self.out.append(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self.out.append(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self.out.append(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self.out.append(f"<![{data}]>")


def rewrite_html(text: str, rewriter: UrlRewriter) -> str:
    """The document with every link and resource URL mapped by ``rewriter``."""
    parser = _HtmlRewriter(rewriter)
    parser.feed(text)
    parser.close()
    return "".join(parser.out)


def rewrite_css(text: str, rewriter: UrlRewriter) -> str:
    return rewriter.css(text)
