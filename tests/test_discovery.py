"""Article URLs, with their dates, are found in sitemap indexes, news sitemaps, RSS and Atom
feeds; sitemaps are read only up to the protocol's limits."""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime

import pytest
from scrapy.http import Response

from crawler.discovery import (
    MAX_SITEMAP_BYTES,
    MAX_SITEMAP_URLS,
    Link,
    feed_links,
    parse_sitemap,
    sitemap_body,
)

URLSET = b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'

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


def urls(links: list[Link]) -> list[str]:
    return [link.url for link in links]


def test_sitemap_index_lists_nested_sitemaps() -> None:
    links = parse_sitemap(INDEX)
    assert urls(links.sitemaps) == ["https://n.example/sitemap-articles.xml",
                                    "https://n.example/news-sitemap.xml"]
    assert links.pages == []
    assert links.dropped == 0


def test_news_sitemap_lists_pages() -> None:
    links = parse_sitemap(NEWS)
    assert urls(links.pages) == ["https://n.example/news/a.html", "https://n.example/news/b.html"]
    assert links.sitemaps == []


def test_garbage_sitemap_is_empty() -> None:
    assert parse_sitemap(b"<html><body>not a sitemap</body></html>").pages == []
    assert parse_sitemap(b"\x00\xff garbage").pages == []


def test_gzipped_sitemap_is_unpacked() -> None:
    response = Response("https://n.example/sitemap.xml.gz", body=gzip.compress(NEWS))
    body = sitemap_body(response, max_size=10_000_000)
    assert body == (NEWS, False)
    assert parse_sitemap(body.xml).pages[0].url.endswith("a.html")


def test_plain_sitemap_within_the_limit_is_returned_whole() -> None:
    response = Response("https://n.example/sitemap.xml", body=NEWS)
    assert sitemap_body(response, max_size=len(NEWS)) == (NEWS, False)


def test_rss_links_and_permalink_guids_once_each() -> None:
    assert urls(list(feed_links(RSS, "https://n.example/feed.rss"))) == [
        "https://n.example/news/a.html", "https://n.example/news/b.html"]


def test_atom_alternate_links_resolved_against_feed_url() -> None:
    assert urls(list(feed_links(ATOM, "https://n.example/feed.atom"))) == [
        "https://n.example/news/a.html", "https://n.example/news/b.html"]


def test_broken_feed_yields_what_it_can() -> None:
    broken = RSS.replace(b"</channel></rss>", b"<item><link>https://n.example/c")
    assert "https://n.example/news/a.html" in urls(list(feed_links(broken, "https://n.example/")))
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


# -- dates ------------------------------------------------------------------


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def sitemap_dates(entries: bytes) -> list[datetime | None]:
    return [link.date for link in parse_sitemap(URLSET + entries + b"</urlset>").pages]


def _news_entry(lastmod: str, published: str) -> bytes:
    return (b'<url xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
            b"<loc>https://n.example/a.html</loc><lastmod>" + lastmod.encode() + b"</lastmod>"
            b"<news:news><news:publication><news:name>N</news:name></news:publication>"
            b"<news:publication_date>" + published.encode() + b"</news:publication_date>"
            b"</news:news></url>")


def test_the_later_of_lastmod_and_publication_date_dates_a_page() -> None:
    # an article corrected after publication: the correction is what a re-crawl needs to see
    assert sitemap_dates(_news_entry("2026-11-21T08:00:00Z", "2026-11-20T06:30:00+01:00")) == [
        utc(2026, 11, 21, 8, 0)]
    assert sitemap_dates(_news_entry("2026-11-19", "2026-11-20T06:30:00+01:00")) == [
        utc(2026, 11, 20, 5, 30)]


def test_news_sitemap_date_only_publication_date() -> None:
    assert [link.date for link in parse_sitemap(NEWS).pages] == [utc(2026, 11, 20), None]


def test_lastmod_alone_dates_a_page() -> None:
    entry = b"<url><loc>https://n.example/a.html</loc><lastmod>2026-11-21</lastmod></url>"
    assert sitemap_dates(entry) == [utc(2026, 11, 21)]


def test_unparsable_publication_date_falls_back_to_lastmod() -> None:
    entry = (b'<url xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
             b"<loc>https://n.example/a.html</loc><lastmod>2026-11-21</lastmod>"
             b"<news:news><news:publication_date>last week</news:publication_date>"
             b"</news:news></url>")
    assert sitemap_dates(entry) == [utc(2026, 11, 21)]


@pytest.mark.parametrize(("text", "expected"), [
    ("2026", utc(2026, 1, 1)),
    ("2026-11", utc(2026, 11, 1)),
    ("2026-11-20", utc(2026, 11, 20)),
    (" 2026-11-20 ", utc(2026, 11, 20)),
    ("2026-11-20T10:30Z", utc(2026, 11, 20, 10, 30)),
    ("2026-11-20T10:30:15Z", utc(2026, 11, 20, 10, 30, 15)),
    ("2026-11-20t10:30:15z", utc(2026, 11, 20, 10, 30, 15)),
    ("2026-11-20T10:30:15.5Z", utc(2026, 11, 20, 10, 30, 15, 500_000)),
    ("2026-11-20T10:30:15.123456789Z", utc(2026, 11, 20, 10, 30, 15, 123_456)),
    ("2026-11-20T10:30:15+02:00", utc(2026, 11, 20, 8, 30, 15)),
    ("2026-11-20T10:30:15-05:30", utc(2026, 11, 20, 16, 0, 15)),
    ("2026-11-20T00:30:00+0100", utc(2026, 11, 19, 23, 30)),
    ("2026-11-20 10:30:15", utc(2026, 11, 20, 10, 30, 15)),  # no zone: UTC
    ("2026-11-20T10:30:15", utc(2026, 11, 20, 10, 30, 15)),
])
def test_lastmod_w3c_datetime_forms_in_utc(text: str, expected: datetime) -> None:
    entry = f"<url><loc>https://n.example/a</loc><lastmod>{text}</lastmod></url>".encode()
    [date] = sitemap_dates(entry)
    assert date == expected
    assert date is not None and date.utcoffset() is not None and not date.utcoffset()


@pytest.mark.parametrize("text", [
    "", "yesterday", "20261120", "2026-13-01", "2026-02-30", "2026-11-20T25:00Z",
    "2026-11-20T10:00+24:00", "2026-11-20T10:00:00 CET", "Fri, 20 Nov 2026 10:00:00 GMT",
    "0000-01-01", "9999-12-31T23:59:59-12:00", "2026-11-20T10Z",
])
def test_junk_sitemap_dates_are_none(text: str) -> None:
    entry = f"<url><loc>https://n.example/a</loc><lastmod>{text}</lastmod></url>".encode()
    assert sitemap_dates(entry) == [None]


def test_sitemap_index_entries_carry_lastmod() -> None:
    index = (b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
             b"<sitemap><loc>https://n.example/s1.xml</loc>"
             b"<lastmod>2026-11-20T10:00:00+00:00</lastmod></sitemap>"
             b"<sitemap><loc>https://n.example/s2.xml</loc></sitemap></sitemapindex>")
    assert parse_sitemap(index).sitemaps == [
        Link("https://n.example/s1.xml", utc(2026, 11, 20, 10)),
        Link("https://n.example/s2.xml", None)]


DATED_RSS = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>N</title>
<item><link>https://n.example/a</link><pubDate>Fri, 20 Nov 2026 10:30:00 GMT</pubDate></item>
<item><link>https://n.example/b</link><pubDate>Fri, 20 Nov 2026 10:30:00 +0100</pubDate></item>
<item><link>https://n.example/c</link><pubDate>20 Nov 2026 10:30 -0000</pubDate></item>
<item><link>https://n.example/d</link><dc:date>2026-11-20T10:30:00-02:00</dc:date></item>
<item><link>https://n.example/e</link><pubDate>Fri, 20 Nov 2026 10:30:00 GMT</pubDate>
  <dc:date>2001-01-01</dc:date></item>
<item><link>https://n.example/f</link><pubDate>sometime soon</pubDate></item>
<item><link>https://n.example/g</link><pubDate>Fri, 32 Nov 2026 10:30:00 GMT</pubDate></item>
<item><link>https://n.example/h</link></item>
</channel></rss>"""


def test_rss_pubdate_and_dc_date_in_utc() -> None:
    dates = {link.url[-1]: link.date for link in feed_links(DATED_RSS, "https://n.example/")}
    assert dates["a"] == utc(2026, 11, 20, 10, 30)
    assert dates["b"] == utc(2026, 11, 20, 9, 30)
    assert dates["c"] == utc(2026, 11, 20, 10, 30)  # -0000: zone unknown, taken as UTC
    assert dates["d"] == utc(2026, 11, 20, 12, 30)  # dc:date alone
    assert dates["e"] == utc(2026, 11, 20, 10, 30)  # pubDate before dc:date


def test_junk_feed_dates_are_none() -> None:
    dates = {link.url[-1]: link.date for link in feed_links(DATED_RSS, "https://n.example/")}
    assert (dates["f"], dates["g"], dates["h"]) == (None, None, None)


def test_atom_published_preferred_over_updated() -> None:
    atom = b"""<feed xmlns="http://www.w3.org/2005/Atom">
    <entry><link href="/a"/><updated>2026-11-21T09:00:00Z</updated>
      <published>2026-11-20T09:00:00+01:00</published></entry>
    <entry><link href="/b"/><updated>2026-11-21T09:00:00.25Z</updated></entry>
    <entry><link href="/c"/><updated>not a date</updated></entry>
    </feed>"""
    assert list(feed_links(atom, "https://n.example/feed.atom")) == [
        Link("https://n.example/a", utc(2026, 11, 20, 8)),
        Link("https://n.example/b", utc(2026, 11, 21, 9, 0, 0, 250_000)),
        Link("https://n.example/c", None)]


def test_rdf_items_dated_by_dc_date() -> None:
    rdf = b"""<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
      xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
    <channel rdf:about="https://n.example/"><title>N</title></channel>
    <item rdf:about="https://n.example/a"><link>https://n.example/a</link>
      <dc:date>2026-11-20T10:30+01:00</dc:date></item>
    </rdf:RDF>"""
    assert list(feed_links(rdf, "https://n.example/")) == [
        Link("https://n.example/a", utc(2026, 11, 20, 9, 30))]


# -- protocol limits --------------------------------------------------------


def entries(first: int, count: int) -> bytes:
    return b"".join(b"<url><loc>https://n.example/p/%d</loc></url>" % i
                    for i in range(first, first + count))


def test_sitemap_reads_at_most_50000_urls_and_counts_the_rest() -> None:
    links = parse_sitemap(URLSET + entries(0, MAX_SITEMAP_URLS + 10) + b"</urlset>")
    assert len(links.pages) == MAX_SITEMAP_URLS == 50_000
    assert links.pages[-1].url == "https://n.example/p/49999"
    assert links.dropped == 10


def test_sitemap_over_50mb_is_cut_after_the_last_whole_entry() -> None:
    # Just under 50 MB of XML comments, then one last whole entry and one that
    # straddles the 50 MB mark, then more entries. Built and sent gzipped (~200 kB),
    # so the test never holds the uncompressed sitemap more than once.
    head = URLSET + entries(0, 3)
    last_whole = b"<url><loc>https://n.example/p/last-whole</loc></url>"
    straddler = b"<url><loc>https://n.example/p/straddles-the-cut</loc></url>"
    comment = b"<!--" + b"x" * 1017 + b"-->"  # 1 KiB
    pad, rest = divmod(MAX_SITEMAP_BYTES - len(head) - len(last_whole) - 20, len(comment))
    gz = zlib.compressobj(1, wbits=31)
    parts = [gz.compress(head)]
    parts += [gz.compress(comment * 1024) for _ in range(pad // 1024)]
    parts += [gz.compress(comment * (pad % 1024) + b" " * rest + last_whole + straddler),
              gz.compress(entries(3, 3) + b"</urlset>"), gz.flush()]
    response = Response("https://n.example/big.xml.gz", body=b"".join(parts))

    body = sitemap_body(response, max_size=2 * MAX_SITEMAP_BYTES)

    assert body.truncated
    assert len(body.xml) == MAX_SITEMAP_BYTES - 20  # ends with the last whole entry
    assert urls(parse_sitemap(body.xml).pages) == [
        "https://n.example/p/0", "https://n.example/p/1", "https://n.example/p/2",
        "https://n.example/p/last-whole"]


def test_plain_sitemap_is_cut_at_max_size_after_a_whole_entry() -> None:
    xml = URLSET + entries(0, 10) + b"</urlset>"
    cut = xml.index(b"/p/5") + 3  # mid-URL: the recovering parser would read ".../p/"
    body = sitemap_body(Response("https://n.example/s.xml", body=xml), max_size=cut)
    assert body.truncated
    assert len(body.xml) <= cut
    assert urls(parse_sitemap(body.xml).pages) == [f"https://n.example/p/{i}" for i in range(5)]


def test_gzipped_sitemap_is_cut_at_max_size() -> None:
    xml = URLSET + entries(0, 10) + b"</urlset>"
    cut = xml.index(b"/p/7") + 1
    response = Response("https://n.example/s.xml.gz", body=gzip.compress(xml))
    body = sitemap_body(response, max_size=cut)
    assert body.truncated
    assert len(body.xml) <= cut
    assert urls(parse_sitemap(body.xml).pages) == [f"https://n.example/p/{i}" for i in range(7)]


def test_broken_off_gzip_stream_keeps_the_whole_entries() -> None:
    xml = URLSET + entries(0, 2000) + b"</urlset>"
    cut_off = gzip.compress(xml)[:-2000]
    body = sitemap_body(Response("https://n.example/s.xml.gz", body=cut_off), max_size=0)
    assert body.truncated
    pages = urls(parse_sitemap(body.xml).pages)
    assert 0 < len(pages) < 2000
    assert pages == [f"https://n.example/p/{i}" for i in range(len(pages))]
