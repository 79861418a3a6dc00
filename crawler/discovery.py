"""Find article URLs, with their dates, in sitemaps and feeds.

Pure functions over response bodies, so discovery is testable without a crawl.
Dates let incremental runs skip what an earlier run already archived. Both
sitemaps and feeds are read with lxml in recover mode (broken files are common)
and with the safe options Scrapy's own sitemap parser uses: no entity
resolution, no network, no huge trees. Scrapy's ``Sitemap`` is not used because
it flattens nested elements, losing ``news:publication_date``.
"""

from __future__ import annotations

import re
import struct
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from gzip import GzipFile
from io import BytesIO
from typing import NamedTuple
from urllib.parse import urljoin

from lxml import etree
from scrapy.http import Response
from scrapy.utils.gz import gzip_magic_number

# Limits of the sitemap protocol (sitemaps.org): per file, 50,000 URLs and 50 MB uncompressed.
MAX_SITEMAP_URLS = 50_000
MAX_SITEMAP_BYTES = 50 * 1024 * 1024

_GUNZIP_CHUNK = 64 * 1024
# The end tag of a whole sitemap entry, with or without a namespace prefix.
_ENTRY_END = re.compile(rb"</(?:[^\s<>/:]+:)?(?:url|sitemap)\s*>")
# W3C Datetime (a profile of ISO 8601), leniently: a space for the "T", "+hhmm" or "+hh" zones.
_W3C_DATETIME = re.compile(
    r"(\d{4})(?:-(\d\d)(?:-(\d\d)"
    r"(?:[T ](\d\d):(\d\d)(?::(\d\d)(?:[.,](\d+))?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?)?)?)?",
    re.IGNORECASE | re.ASCII,
)


@dataclass(frozen=True)
class Link:
    url: str
    date: datetime | None  # latest date the site gives (publication, lastmod), UTC; or None


@dataclass(frozen=True)
class SitemapLinks:
    sitemaps: list[Link]  # nested sitemaps (from a sitemap index)
    pages: list[Link]  # page URLs (from a urlset, news sitemaps included)
    dropped: int = 0  # entries past MAX_SITEMAP_URLS, ignored


class SitemapBody(NamedTuple):
    xml: bytes  # at most min(max_size, MAX_SITEMAP_BYTES) bytes
    # The sitemap was over the limit, or its gzip stream broke off: the XML was cut
    # after the last whole entry, and entries past the cut are missing.
    truncated: bool


def sitemap_body(response: Response, max_size: int) -> SitemapBody:
    """The XML of a sitemap response, gunzipping *.xml.gz files served as binary.

    A body over the limit (``max_size`` bounds decompression, 0 for none; the
    protocol's MAX_SITEMAP_BYTES always applies) is cut rather than rejected, so
    an oversized sitemap still yields the entries that fit; so is a gzip stream
    that breaks off. The cut falls after the last whole ``<url>``/``<sitemap>``
    entry: the recovering parser would otherwise read a URL or date cut in half
    as a real one. Raises only for a gzip body of which nothing can be read.
    """
    limit = min(max_size, MAX_SITEMAP_BYTES) if max_size > 0 else MAX_SITEMAP_BYTES
    if gzip_magic_number(response):
        return _gunzip_prefix(response.body, limit)
    if len(response.body) <= limit:
        return SitemapBody(response.body, False)
    return SitemapBody(response.body[:_last_entry_end(response.body, limit)], True)


def _gunzip_prefix(data: bytes, limit: int) -> SitemapBody:
    """Gunzip at most ``limit`` bytes; like Scrapy's gunzip, keep what a corrupt tail spares.

    Raises (OSError, EOFError) only when not a byte can be read.
    """
    gz = GzipFile(fileobj=BytesIO(data))
    out = BytesIO()  # getvalue() hands over its buffer: no second copy of a 50 MB sitemap
    size = 0
    cut = False
    while size <= limit:  # one byte past the limit tells that there is more
        try:
            chunk = gz.read1(min(_GUNZIP_CHUNK, limit + 1 - size))
        except (OSError, EOFError, struct.error):
            if not size:
                raise
            cut = True  # a truncated or corrupt stream: the XML may stop mid-entry
            break
        if not chunk:
            break
        out.write(chunk)
        size += len(chunk)
    if size > limit:
        cut = True
    if cut:
        with out.getbuffer() as view:
            end = _last_entry_end(view, min(limit, size))
        out.truncate(end)
    return SitemapBody(out.getvalue(), cut)


def _last_entry_end(xml: bytes | memoryview, limit: int) -> int:
    """Length of the longest prefix of ``xml[:limit]`` that ends with a whole entry (or 0).

    Searches back from the limit in growing windows: entries are small, so the
    first window nearly always holds one, and the regex scan stays in C.
    """
    window = 64 * 1024
    while True:
        start = max(0, limit - window)
        last = deque(_ENTRY_END.finditer(xml, start, limit), maxlen=1)
        if last:
            return last[0].end()
        if start == 0:
            return 0
        window *= 4


def parse_sitemap(body: bytes) -> SitemapLinks:
    """Split a sitemap into nested sitemaps and page URLs; empty on unparsable XML.

    Only the first MAX_SITEMAP_URLS entries are read, as the protocol allows no
    more; the rest are counted in ``dropped``.
    """
    events = etree.iterparse(
        BytesIO(body), events=("start", "end"), recover=True, resolve_entities=False,
        no_network=True, huge_tree=False, remove_comments=True, remove_pis=True,
        collect_ids=False)
    try:
        _, root = next(events)
    except (StopIteration, etree.XMLSyntaxError):  # empty or not XML at all
        return SitemapLinks([], [])
    links: list[Link] = []
    dropped = 0
    try:
        for event, elem in events:
            if event != "end" or _localname(elem) not in ("url", "sitemap"):
                continue
            if len(links) < MAX_SITEMAP_URLS:
                link = _sitemap_entry(elem)
                if link is not None:
                    links.append(link)
            elif any(_localname(child) == "loc" and (child.text or "").strip()
                     for child in elem):
                dropped += 1
            _free(elem)
    except etree.XMLSyntaxError:  # an error even recovery gives up on: keep what came before
        pass
    kind = _localname(root)
    if kind == "sitemapindex":
        return SitemapLinks(links, [], dropped)
    if kind == "urlset":
        return SitemapLinks([], links, dropped)
    return SitemapLinks([], [])


def _sitemap_entry(elem: etree._Element) -> Link | None:
    """A ``<url>`` or ``<sitemap>`` entry: its loc, and the later of its news
    publication date and its lastmod."""
    loc = lastmod = published = None
    for child in elem:
        name = _localname(child)
        if name == "loc" and loc is None:
            loc = (child.text or "").strip()
        elif name == "lastmod" and lastmod is None:
            lastmod = child.text
        elif name == "news" and published is None:
            published = next((sub.text for sub in child
                              if _localname(sub) == "publication_date"), None)
    if not loc:
        return None
    dates = [d for d in (_w3c_datetime(published), _w3c_datetime(lastmod)) if d is not None]
    # the later one: a correction after publication bumps lastmod, and that is news
    return Link(loc, max(dates) if dates else None)


def _free(elem: etree._Element) -> None:
    """Drop a parsed entry and its earlier siblings, so a big sitemap takes little memory."""
    elem.clear()
    parent = elem.getparent()
    if parent is not None:
        while elem.getprevious() is not None:
            del parent[0]


def _localname(elem: etree._Element) -> str:
    tag = elem.tag
    if not isinstance(tag, str):  # comments, processing instructions, entities
        return ""
    return tag.rpartition("}")[2]


def feed_links(body: bytes, base_url: str) -> Iterator[Link]:
    """Item links of an RSS 2.0, RSS 1.0 (RDF) or Atom feed, each with its date."""
    parser = etree.XMLParser(recover=True, resolve_entities=False, no_network=True,
                             huge_tree=False)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError:
        return
    if root is None:
        return
    seen: set[str] = set()
    for el in root.iter("{*}item", "{*}entry"):
        link = None
        dates: dict[str, str | None] = {}
        for child in el:
            name = _localname(child)
            if name in ("published", "pubDate", "date", "updated"):
                dates.setdefault(name, child.text)
            if name != "link" or link is not None:
                continue
            href = child.get("href")
            if href is not None:  # Atom
                if child.get("rel", "alternate") == "alternate":
                    link = href
            elif child.text and child.text.strip():  # RSS
                link = child.text.strip()
        if link is None:  # RSS items sometimes carry only a permalink guid
            guid = el.find("{*}guid")
            if guid is not None and guid.get("isPermaLink", "true") != "false" and guid.text:
                link = guid.text.strip()
        if link:
            url = urljoin(base_url, link)
            if url not in seen:
                seen.add(url)
                yield Link(url, _feed_date(dates))


def _feed_date(dates: dict[str, str | None]) -> datetime | None:
    """Publication before modification: Atom published, RSS pubDate, dc:date, Atom updated.

    Either date format is accepted in any element: feeds often put ISO dates in
    pubDate, or RFC 822 dates in dc:date.
    """
    for name in ("published", "pubDate", "date", "updated"):
        text = dates.get(name)
        date = _w3c_datetime(text) or _rfc822_datetime(text)
        if date is not None:
            return date
    return None


def _w3c_datetime(text: str | None) -> datetime | None:
    """A W3C Datetime (YYYY, YYYY-MM, YYYY-MM-DD, with time and zone) in UTC; no zone is UTC."""
    if not text:
        return None
    match = _W3C_DATETIME.fullmatch(text.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        tz = UTC
        if zone and zone.upper() != "Z":
            digits = zone[1:].replace(":", "")
            offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
            tz = timezone(-offset if zone[0] == "-" else offset)
        date = datetime(int(year), int(month or 1), int(day or 1), int(hour or 0),
                        int(minute or 0), int(second or 0),
                        int((fraction or "0")[:6].ljust(6, "0")), tzinfo=tz)
        return date.astimezone(UTC)
    except (ValueError, OverflowError):  # out-of-range fields, zones of a day or more
        return None


def _rfc822_datetime(text: str | None) -> datetime | None:
    """An RFC 822 date (RSS pubDate) in UTC; "-0000" (zone unknown) is taken as UTC."""
    if not text:
        return None
    try:
        date = parsedate_to_datetime(text.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if date.tzinfo is None:
        return date.replace(tzinfo=UTC)
    try:
        return date.astimezone(UTC)
    except OverflowError:
        return None
