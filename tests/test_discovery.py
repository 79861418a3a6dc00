"""Article URLs are found in sitemap indexes, news sitemaps, RSS and Atom feeds."""

from __future__ import annotations

import gzip

from scrapy.http import Response

from crawler.discovery import feed_links, parse_sitemap, sitemap_body

INDEX = b"""<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://n.example/sitemap-articles.xml</loc></sitemap>
  <sitemap><loc> https://n.example/news-sitemap.xml </loc></sitemap>
</sitemapindex>"""

NEWS = b"""<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>https://n.example/news/a.html</loc>
    <news:news><news:publication><news:name>N</news:name><news:language>en</news:language>
    </news:publication><news:publication_date>2026-11-20</news:publication_date>
    <news:title>A</news:title></news:news></url>
  <url><loc>https://n.example/news/b.html</loc></url>
</urlset>"""

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>N</title>
<item><title>A</title><link>https://n.example/news/a.html</link></item>
<item><title>B</title><guid>https://n.example/news/b.html</guid></item>
<item><title>C</title><guid isPermaLink="false">tag:n.example,1</guid></item>
<item><title>A again</title><link>https://n.example/news/a.html</link></item>
</channel></rss>"""

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>N</title>
<entry><title>A</title><link rel="alternate" href="/news/a.html"/>
  <link rel="enclosure" href="/a.mp3"/></entry>
<entry><title>B</title><link href="https://n.example/news/b.html"/></entry>
</feed>"""


def test_sitemap_index_lists_nested_sitemaps() -> None:
    links = parse_sitemap(INDEX)
    assert links.sitemaps == ["https://n.example/sitemap-articles.xml",
                              "https://n.example/news-sitemap.xml"]
    assert links.pages == []


def test_news_sitemap_lists_pages() -> None:
    links = parse_sitemap(NEWS)
    assert links.pages == ["https://n.example/news/a.html", "https://n.example/news/b.html"]
    assert links.sitemaps == []


def test_garbage_sitemap_is_empty() -> None:
    assert parse_sitemap(b"<html><body>not a sitemap</body></html>").pages == []
    assert parse_sitemap(b"\x00\xff garbage").pages == []


def test_gzipped_sitemap_is_unpacked() -> None:
    response = Response("https://n.example/sitemap.xml.gz", body=gzip.compress(NEWS))
    assert parse_sitemap(sitemap_body(response, max_size=10_000_000)).pages[0].endswith("a.html")


def test_rss_links_and_permalink_guids_once_each() -> None:
    assert list(feed_links(RSS, "https://n.example/feed.rss")) == [
        "https://n.example/news/a.html", "https://n.example/news/b.html"]


def test_atom_alternate_links_resolved_against_feed_url() -> None:
    assert list(feed_links(ATOM, "https://n.example/feed.atom")) == [
        "https://n.example/news/a.html", "https://n.example/news/b.html"]


def test_broken_feed_yields_what_it_can() -> None:
    broken = RSS.replace(b"</channel></rss>", b"<item><link>https://n.example/c")
    assert "https://n.example/news/a.html" in list(feed_links(broken, "https://n.example/"))
    assert list(feed_links(b"", "https://n.example/")) == []


def test_page_assets_found_in_page_order_once_each() -> None:
    from crawler.spiders.news import page_assets

    html = (b'<link rel="stylesheet" href="/css/a.css"><LINK REL=\'shortcut icon\' href=/f.ico>'
            b'<link rel="alternate" href="/feed.rss">'
            b'<img src="/i/a.png" srcset="/i/a-2x.png 2x, /i/a-3x.png 3x">'
            b'<img src="data:image/png;base64,AAAA"><video poster="/p.jpg"></video>'
            b'<picture><source srcset="/s.webp 100w"></picture><img src="/i/a.png">'
            b'<img src="/q.png?a=1&amp;b=2"><a href="/not-an-asset.html">x</a>')
    assert page_assets(html) == ["/css/a.css", "/f.ico", "/i/a.png", "/i/a-2x.png",
                                 "/i/a-3x.png", "/p.jpg", "/s.webp", "/q.png?a=1&b=2"]
