"""The bundled sample site is self-consistent: links resolve, discovery files agree."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

import lxml.html
import pytest
from lxml import etree

import warcwire

SITE = Path(warcwire.__file__).parent / "sample_site"
HTDOCS = SITE / "htdocs"
MANIFEST = json.loads((SITE / "manifest.json").read_text(encoding="utf-8"))
ARTICLES = {a["path"]: a for a in MANIFEST["articles"]}
BASE = "http://127.0.0.1:8765"
HTML_FILES = sorted(HTDOCS.rglob("*.html"))
NS = {"sm": "http://www.sitemaps.org/schemas/sitemap/0.9",
      "news": "http://www.google.com/schemas/sitemap-news/0.9",
      "atom": "http://www.w3.org/2005/Atom"}


def url_path(path: Path) -> str:
    rel = "/" + path.relative_to(HTDOCS).as_posix()
    return "/" if rel == "/index.html" else rel


def resolve(path: str) -> Path:
    target = HTDOCS / path.lstrip("/")
    return target / "index.html" if target.is_dir() else target


def served(name: str) -> str:
    """A text file as the server sends it: placeholder replaced by the origin."""
    return (HTDOCS / name).read_text(encoding="utf-8").replace("{{BASE_URL}}", BASE)


def xml(name: str) -> etree._Element:
    return etree.fromstring(served(name).encode("utf-8"))


def links(path: Path) -> list[str]:
    tree = lxml.html.fromstring(path.read_bytes())
    return tree.xpath("//a/@href | //link/@href | //img/@src | //script/@src")


def test_manifest_matches_the_files() -> None:
    assert len(ARTICLES) == 10
    assert MANIFEST["seed_article"] in ARTICLES
    pattern = re.compile(MANIFEST["article_pattern"])
    html_paths = {url_path(p) for p in HTML_FILES}
    assert html_paths == set(ARTICLES) | set(MANIFEST["pages"]) | set(MANIFEST["disallowed"])
    assert all(pattern.match(p) for p in ARTICLES)
    assert not any(pattern.match(p) for p in MANIFEST["pages"] + MANIFEST["disallowed"])


@pytest.mark.parametrize("page", HTML_FILES, ids=url_path)
def test_every_link_resolves_and_is_relative(page: Path) -> None:
    found = links(page)
    assert found
    for href in found:
        parts = urlsplit(href)
        assert not parts.scheme and not parts.netloc, f"absolute URL {href} in {page}"
        assert parts.path.startswith("/"), href
        assert resolve(parts.path).is_file(), f"{href} in {url_path(page)} leads nowhere"
    assert "{{BASE_URL}}" not in page.read_text(encoding="utf-8")


def _linked_from_html() -> dict[str, set[str]]:
    linked: dict[str, set[str]] = {}
    for page in HTML_FILES:
        for href in links(page):
            target = urlsplit(href).path
            if target != url_path(page):  # its own canonical link
                linked.setdefault(target, set()).add(url_path(page))
    return linked


def test_front_page_links_and_the_feed_only_article() -> None:
    linked = _linked_from_html()
    for path, article in ARTICLES.items():
        assert ("/" in linked.get(path, set())) == article["linked_from_front"], path
        assert bool(linked.get(path)) == article["linked_from_html"], path
    feed_only = [p for p, a in ARTICLES.items() if not a["linked_from_html"]]
    assert feed_only == ["/news/business/rail-freight-trials-hydrogen-locomotive.html"]
    assert "/about.html" in linked and "/private/drafts.html" in linked


def test_robots_txt_disallows_private_and_names_the_sitemap() -> None:
    robots = RobotFileParser()
    robots.parse(served("robots.txt").splitlines())
    assert not robots.can_fetch("warcwire", BASE + "/private/drafts.html")
    assert all(robots.can_fetch("warcwire", BASE + p) for p in ARTICLES)
    assert robots.site_maps() == [BASE + "/sitemap.xml"]


def test_sitemap_index_points_at_both_sitemaps() -> None:
    locs = xml("sitemap.xml").xpath("//sm:sitemap/sm:loc/text()", namespaces=NS)
    assert locs == [BASE + "/sitemap-articles.xml", BASE + "/news-sitemap.xml"]
    assert all(resolve(urlsplit(u).path).is_file() for u in locs)


def test_article_sitemap_lists_every_article() -> None:
    locs = xml("sitemap-articles.xml").xpath("//sm:url/sm:loc/text()", namespaces=NS)
    assert sorted(locs) == sorted(BASE + p for p in ARTICLES)


def test_news_sitemap_has_publication_dates_and_titles() -> None:
    urls = xml("news-sitemap.xml").xpath("//sm:url", namespaces=NS)
    assert len(urls) == len(ARTICLES)
    for url in urls:
        article = ARTICLES[urlsplit(url.findtext("sm:loc", namespaces=NS)).path]
        news = url.find("news:news", namespaces=NS)
        assert news.findtext("news:publication_date", namespaces=NS) == article["published"]
        assert news.findtext("news:title", namespaces=NS) == article["title"]
        assert news.findtext("news:publication/news:language", namespaces=NS) == "en"


def test_rss_and_atom_list_every_article() -> None:
    rss = xml("feed.rss")
    assert rss.get("version") == "2.0"
    items = {urlsplit(i.findtext("link")).path: i.findtext("title")
             for i in rss.iter("item")}
    atom = xml("feed.atom")
    entries = {urlsplit(e.find("atom:link", NS).get("href")).path:
               e.findtext("atom:title", namespaces=NS)
               for e in atom.iterfind("atom:entry", NS)}
    expected = {p: a["title"] for p, a in ARTICLES.items()}
    assert items == expected
    assert entries == expected


@pytest.mark.parametrize("path", sorted(ARTICLES))
def test_article_pages_carry_news_metadata_and_boilerplate(path: str) -> None:
    article = ARTICLES[path]
    tree = lxml.html.fromstring(resolve(path).read_bytes())

    def meta(prop: str) -> str:
        return tree.xpath(f'//meta[@property="{prop}" or @name="{prop}"]/@content')[0]

    assert tree.get("lang") == "en"
    assert tree.xpath('//link[@rel="canonical"]/@href') == [path]
    assert meta("og:type") == "article"
    assert meta("og:title") == article["title"]
    assert meta("article:published_time") == article["published"]
    assert meta("article:section") == article["section"][-1]
    assert meta("description")
    ld = json.loads(tree.xpath('//script[@type="application/ld+json"]/text()')[0])
    types = [node["@type"] for node in ld["@graph"]]
    assert types == ["NewsArticle", "BreadcrumbList"]
    crumbs = [i["name"] for i in ld["@graph"][1]["itemListElement"]]
    assert crumbs == article["section"]
    for part in ("cookie-banner", "main-nav", "breadcrumb", "most-read", "newsletter",
                 "share-top", "article-trailer", "site-footer"):
        assert tree.xpath(f'//*[contains(@class, "{part}")]'), part
    assert tree.xpath('//*[contains(@class, "byline")]//*[@class="author"]/text()') == \
        [article["author"]]


def test_seed_article_layout() -> None:
    html = resolve(MANIFEST["seed_article"]).read_text(encoding="utf-8")
    body = (Path(__file__).parent / "data" / "seed_article_body.txt").read_text("utf-8")
    assert html.count("&nbsp;") >= 4  # exercised by NBSP normalisation
    assert "News</a> &nbsp; / &nbsp; <a" in html
    assert "(Photo by AFP)</figcaption>" in html
    article_end = html.index("</article>")
    for line in ("Press TV’s website can also be accessed at the following alternate addresses:",
                 "www.presstv.ir", "SHARE THIS ARTICLE", "Press TV News Roku"):
        assert html.index(line) > article_end, line
    tree = lxml.html.fromstring(html)
    paragraphs = [" ".join(p.text_content().split())
                  for p in tree.xpath('//div[@class="article-body"]/p')]
    assert paragraphs == body.strip().split("\n\n")


@pytest.mark.parametrize("image", sorted((HTDOCS / "images").glob("*.png")), ids=lambda p: p.name)
def test_images_are_real_pngs(image: Path) -> None:
    data = image.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")
    width, height = struct.unpack(">II", data[16:24])
    assert width > 0 and height > 0
