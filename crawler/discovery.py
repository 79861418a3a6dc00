"""Find article URLs in sitemaps and feeds.

Pure functions over response bodies, so discovery is testable without a crawl.
Sitemaps go through Scrapy's own parser (which guards against XML entity
attacks); feeds are read with lxml in recover mode, since broken feeds are common.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin

from lxml import etree
from scrapy.http import Response
from scrapy.utils.gz import gunzip, gzip_magic_number
from scrapy.utils.sitemap import Sitemap


@dataclass(frozen=True)
class SitemapLinks:
    sitemaps: list[str]  # nested sitemaps (from a sitemap index)
    pages: list[str]  # page URLs (from a urlset, news sitemaps included)


def sitemap_body(response: Response, max_size: int) -> bytes:
    """The XML of a sitemap response, gunzipping *.xml.gz files served as binary."""
    if gzip_magic_number(response):
        return gunzip(response.body, max_size=max_size)
    return response.body


def parse_sitemap(body: bytes) -> SitemapLinks:
    """Split a sitemap into nested sitemaps and page URLs; empty on unparsable XML."""
    try:
        sitemap = Sitemap(body)
    except Exception:  # lxml raises several types for garbage input
        return SitemapLinks([], [])
    locs = [entry["loc"].strip() for entry in sitemap if entry.get("loc")]
    if sitemap.type == "sitemapindex":
        return SitemapLinks(locs, [])
    if sitemap.type == "urlset":
        return SitemapLinks([], locs)
    return SitemapLinks([], [])


def feed_links(body: bytes, base_url: str) -> Iterator[str]:
    """Item links of an RSS 2.0, RSS 1.0 (RDF) or Atom feed."""
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
        for child in el:
            if not isinstance(child.tag, str) or etree.QName(child).localname != "link":
                continue
            href = child.get("href")
            rel = child.get("rel", "alternate")
            if href is not None:  # Atom
                if rel == "alternate":
                    link = href
                    break
            elif child.text and child.text.strip():  # RSS
                link = child.text.strip()
                break
        if link is None:  # RSS items sometimes carry only a permalink guid
            guid = el.find("{*}guid")
            if guid is not None and guid.get("isPermaLink", "true") != "false" and guid.text:
                link = guid.text.strip()
        if link:
            url = urljoin(base_url, link)
            if url not in seen:
                seen.add(url)
                yield url
