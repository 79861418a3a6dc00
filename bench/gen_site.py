"""Generate a static news site for crawl benchmarks.

Article pages weigh 50-100 KB, like real ones: most of the bytes are
navigation, sidebars, inline CSS, analytics snippets, JSON-LD and a preloaded
state blob; 6-15 paragraphs of generated prose are the article. Every file gets
a pre-gzipped twin so nginx's ``gzip_static`` serves it without compressing.

Deterministic for a given (pages, seed): two runs produce the same bytes.

    python bench/gen_site.py OUT_DIR --pages 2000
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import random
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

# URLs of articles: /<section>/<yyyy>/<mm>/<dd>/<slug>-<n>.html
ARTICLE_PATTERN = r"/\d{4}/\d{2}/\d{2}/[^/]+-\d+\.html$"
SITE_NAME = "The Loopback Ledger"
SITEMAP_CHUNK = 500  # URLs per child sitemap
FEED_ITEMS = 50
MIN_PAGE_BYTES, MAX_PAGE_BYTES = 50_000, 100_000
_NEWEST = datetime(2026, 11, 20, 18, 0, tzinfo=UTC)

SECTIONS = ["world", "politics", "business", "technology", "science", "health",
            "sport", "culture", "climate", "opinion"]
_ORGS = ["the city council", "the central bank", "the health ministry", "a regional court",
         "the transport authority", "the national statistics office", "the port operator",
         "a coalition of farmers", "the university hospital", "the energy regulator",
         "the teachers' union", "the football federation", "a group of residents",
         "the coastal guard", "the parliament's budget committee", "the water utility"]
_PEOPLE = ["Amara Okafor", "Lukas Brenner", "Sofia Marquez", "Hiroshi Tanaka", "Ingrid Solberg",
           "Rahul Mehta", "Claire Dubois", "Tomasz Nowak", "Fatima Haddad", "Daniel Whitfield",
           "Elena Petrova", "Kwame Mensah", "Lucia Romano", "Owen Gallagher", "Mei Lin",
           "Jonas Eriksen", "Priya Raman", "Mateo Alvarez", "Nora Lindqvist", "Samuel Adeyemi"]
_ROLES = ["a spokesperson for", "the director of", "an economist at", "a senior official at",
          "a researcher with", "the chair of", "a lawyer representing", "a former adviser to"]
_PLACES = ["the northern districts", "the old harbour", "the river valley", "the capital",
           "three coastal towns", "the industrial belt", "the border region",
           "the university quarter", "the eastern suburbs", "the mountain villages",
           "the city centre", "the airport corridor"]
_VERBS = ["approved", "postponed", "rejected", "announced", "expanded", "scaled back",
          "reviewed", "funded", "criticised", "defended", "suspended", "proposed"]
_THINGS = ["a plan to rebuild the bridge", "new rules on short-term rentals",
           "the budget for public transport", "a pilot scheme for night buses",
           "an inquiry into delayed repairs", "the sale of municipal land",
           "a tax on sugary drinks", "emergency funding for schools",
           "the merger of two hospitals", "a ban on diesel lorries in the centre",
           "a programme to plant street trees", "longer opening hours for libraries",
           "a study of flood defences", "the licence for a new wind farm",
           "cuts to the arts grant", "a fresh tender for rubbish collection"]
_CLAUSES = ["critics say the timetable is unrealistic",
            "residents have waited more than a decade for a decision",
            "the cost has risen sharply since the first estimate",
            "opposition members called the vote rushed",
            "similar schemes elsewhere have produced mixed results",
            "the final figures will not be known until spring",
            "business groups broadly welcomed the announcement",
            "the debate lasted well past midnight",
            "independent auditors are expected to report next month",
            "several questions about funding remain unanswered"]
_QUOTES = ["We cannot keep postponing this; people need an answer",
           "The numbers simply do not add up",
           "This is the most significant change in a generation",
           "We listened to every objection before we decided",
           "Nobody asked the people who actually live here",
           "It is a start, but it is not nearly enough",
           "We expect the first results within the year",
           "The consultation was thorough and open to everyone"]
_ADJ = ["cautious", "unexpected", "long-awaited", "contested", "modest", "sweeping",
        "temporary", "costly", "ambitious", "limited", "narrow", "decisive"]
_NOUNS = ["vote", "deal", "report", "ruling", "plan", "review", "budget", "reform",
          "agreement", "investigation", "strike", "recovery"]
_WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


@dataclass(frozen=True)
class Article:
    index: int
    section: str
    published: datetime
    title: str
    slug: str
    author: str

    @property
    def path(self) -> str:
        d = self.published
        return f"/{self.section}/{d:%Y/%m/%d}/{self.slug}-{self.index}.html"


@dataclass(frozen=True)
class SiteInfo:
    root: Path
    pages: int
    articles: list[str]  # URL paths
    total_bytes: int
    gzip_bytes: int


def _sentence(rng: random.Random) -> str:
    kind = rng.randrange(6)
    org, thing, place = rng.choice(_ORGS), rng.choice(_THINGS), rng.choice(_PLACES)
    if kind == 0:
        return (f"On {rng.choice(_WEEKDAYS)}, {org} {rng.choice(_VERBS)} {thing}, "
                f"although {rng.choice(_CLAUSES)}.")
    if kind == 1:
        who = rng.choice(_PEOPLE)
        return (f"\u201c{rng.choice(_QUOTES)},\u201d said {who}, "
                f"{rng.choice(_ROLES)} {rng.choice(_ORGS)}.")
    if kind == 2:
        n = rng.randrange(3, 950)
        return (f"The {rng.choice(_ADJ)} {rng.choice(_NOUNS)} affects about {n:,} households "
                f"in {place}, where {rng.choice(_CLAUSES)}.")
    if kind == 3:
        pct = rng.uniform(0.5, 38.0)
        return (f"Figures published by {org} show a change of {pct:.1f} per cent "
                f"compared with the same period last year.")
    if kind == 4:
        return (f"{rng.choice(_PEOPLE)} said the decision on {thing} would be reviewed "
                f"after consultations in {place}.")
    return (f"It was not immediately clear how {org} would respond, and "
            f"{rng.choice(_CLAUSES)}.")


def _paragraphs(rng: random.Random) -> list[str]:
    return [" ".join(_sentence(rng) for _ in range(rng.randint(3, 7)))
            for _ in range(rng.randint(6, 15))]


def _title(rng: random.Random) -> str:
    subject = rng.choice(_ORGS)
    return (f"{subject[0].upper()}{subject[1:]} {rng.choice(_VERBS)} "
            f"{rng.choice(_THINGS)} in {rng.choice(_PLACES)}")


def _slug(title: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in title.lower()).split()
    return "-".join(words[:9])


def make_articles(pages: int, seed: int) -> list[Article]:
    rng = random.Random(seed)
    out = []
    for i in range(pages):
        published = _NEWEST - timedelta(minutes=37 * i + rng.randrange(30))
        title = _title(rng)
        out.append(Article(i, SECTIONS[i % len(SECTIONS)], published, title, _slug(title),
                           rng.choice(_PEOPLE)))
    return out


# -- page furniture --------------------------------------------------------

def _css(rng: random.Random) -> str:
    rules = []
    for i in range(140):
        rules.append(f".c-{i}{{margin:{rng.randrange(0, 24)}px {rng.randrange(0, 24)}px;"
                     f"padding:{rng.randrange(0, 16)}px;color:#{rng.randrange(0xFFFFFF):06x};"
                     f"font-size:{rng.choice([12, 13, 14, 16, 18, 21, 24])}px}}")
    return "".join(rules)


_ANALYTICS = (
    "(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'start':new Date().getTime(),event:'load'});"
    "var f=d.getElementsByTagName(s)[0],j=d.createElement(s);j.async=true;"
    "j.src='/static/a.js?id='+i;"
    "f.parentNode.insertBefore(j,f);})(window,document,'script','dataLayer','LL-0001');"
)


def _nav() -> str:
    items = "".join(f'<li class="nav__item"><a href="/{s}/">{s.title()}</a>'
                    f'<ul class="nav__sub">' +
                    "".join(f'<li><a href="/{s}/?topic={t}">{s.title()} {t}</a></li>'
                            for t in ("latest", "analysis", "explainers", "video", "live"))
                    + "</ul></li>" for s in SECTIONS)
    return f'<nav class="site-nav" aria-label="Sections"><ul>{items}</ul></nav>'


def _footer() -> str:
    groups = {"About": ["Contact us", "Careers", "Advertise", "Press office", "Our values"],
              "Help": ["Subscriptions", "Newsletters", "Accessibility", "FAQ", "Corrections"],
              "Legal": ["Terms of use", "Privacy", "Cookie settings", "Licensing", "Imprint"]}
    cols = "".join(f'<div class="footer__col"><h4>{g}</h4><ul>' +
                   "".join(f'<li><a href="/info/{_slug(x)}">{x}</a></li>' for x in links) +
                   "</ul></div>" for g, links in groups.items())
    return (f'<footer class="site-footer">{cols}<p class="footer__copy">&copy; 2026 '
            f'{SITE_NAME}. All rights reserved.</p></footer>')


def _teaser(a: Article, rng: random.Random, cls: str) -> str:
    return (f'<li class="{cls}"><a href="{a.path}"><img src="/img/{a.index}-thumb.jpg" '
            f'alt="" width="120" height="80" loading="lazy"><span class="{cls}__title">'
            f'{html.escape(a.title)}</span></a><time datetime="{a.published.isoformat()}">'
            f'{a.published:%d %b %Y}</time><p>{html.escape(_sentence(rng))}</p></li>')


def _head(title: str, canonical: str, extra: str, css: str) -> str:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)} | {SITE_NAME}</title>"
            f'<link rel="canonical" href="{canonical}">{extra}'
            f"<style>{css}</style><script>{_ANALYTICS}</script></head>")


def article_page(a: Article, all_articles: list[Article], base_url: str, css: str,
                 seed: int) -> str:
    rng = random.Random(seed * 1_000_003 + a.index)
    paras = _paragraphs(rng)
    url = base_url + a.path
    summary = paras[0][:180]
    related = [all_articles[rng.randrange(len(all_articles))] for _ in range(8)]
    most_read = [all_articles[rng.randrange(len(all_articles))] for _ in range(10)]
    ld = {"@context": "https://schema.org", "@type": "NewsArticle", "headline": a.title,
          "datePublished": a.published.isoformat(), "dateModified": a.published.isoformat(),
          "author": [{"@type": "Person", "name": a.author}], "articleSection": a.section,
          "mainEntityOfPage": url, "description": summary,
          "publisher": {"@type": "Organization", "name": SITE_NAME,
                        "logo": {"@type": "ImageObject", "url": base_url + "/img/logo.png"}},
          "image": [f"{base_url}/img/{a.index}-{w}.jpg" for w in (640, 1280, 1920)]}
    meta = (f'<meta name="description" content="{html.escape(summary)}">'
            f'<meta property="og:type" content="article">'
            f'<meta property="og:title" content="{html.escape(a.title)}">'
            f'<meta property="og:url" content="{url}">'
            f'<meta property="article:published_time" content="{a.published.isoformat()}">'
            f'<meta property="article:section" content="{a.section.title()}">'
            f'<meta name="author" content="{a.author}">'
            f'<script type="application/ld+json">{json.dumps(ld)}</script>')
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paras)
    mid = len(paras) // 2
    if mid:
        body = (body.replace("</p>", '</p><aside class="inline-promo"><a href="/newsletters">'
                             "Sign up for the morning briefing</a></aside>", 1))
    parts = [
        _head(a.title, url, meta, css),
        '<body class="article-page"><header class="masthead"><a class="logo" href="/">',
        f'{SITE_NAME}</a><form action="/search"><input name="q" placeholder="Search">',
        "</form></header>", _nav(),
        '<div class="layout"><main id="main"><article class="story">',
        f'<nav class="breadcrumb"><a href="/">Home</a> &rsaquo; <a href="/{a.section}/">',
        f"{a.section.title()}</a></nav><h1 class=\"headline\">{html.escape(a.title)}</h1>",
        f'<p class="byline">By <a rel="author" href="/authors/{_slug(a.author)}">{a.author}</a>',
        f' <time itemprop="datePublished" datetime="{a.published.isoformat()}">',
        f"{a.published:%d %B %Y, %H:%M}</time></p>",
        f'<figure><img src="/img/{a.index}-1280.jpg" alt="{html.escape(a.title)}">',
        f"<figcaption>{html.escape(_sentence(rng))}</figcaption></figure>",
        f'<div class="article-body">{body}</div>',
        '<ul class="tags">' + "".join(f'<li><a href="/tag/{t}">{t}</a></li>'
                                      for t in rng.sample(_NOUNS, 4)) + "</ul>",
        '</article><section class="related"><h2>Related stories</h2><ul>',
        "".join(_teaser(r, rng, "related__item") for r in related),
        '</ul></section></main><aside class="sidebar"><section class="most-read">',
        "<h2>Most read</h2><ol>", "".join(_teaser(r, rng, "most-read__item") for r in most_read),
        '</ol></section><div class="ad-slot" data-slot="sidebar-1"></div></aside></div>',
        _footer(),
    ]
    page = "".join(parts)
    # The preloaded state pads the page to its drawn size, as app state blobs do on real sites.
    target = rng.randint(MIN_PAGE_BYTES, MAX_PAGE_BYTES)
    room = target - len(page.encode()) - 700
    state: list[dict[str, object]] = []
    while room > 0:
        r = all_articles[rng.randrange(len(all_articles))]
        entry = {"id": r.index, "url": r.path, "title": r.title, "section": r.section,
                 "published": r.published.isoformat(), "teaser": _sentence(rng),
                 "score": round(rng.random(), 4)}
        state.append(entry)
        room -= len(json.dumps(entry).encode()) + 2
    blob = json.dumps({"article": a.index, "recirculation": state})
    return page + f"<script>window.__PRELOADED_STATE__={blob};</script></body></html>"


def listing_page(title: str, items: list[Article], base_url: str, path: str, css: str,
                 seed: int) -> str:
    rng = random.Random(seed + len(path))
    lis = "".join(_teaser(a, rng, "list__item") for a in items)
    return (_head(title, base_url + path, "", css) + '<body class="listing"><header '
            f'class="masthead"><a class="logo" href="/">{SITE_NAME}</a></header>{_nav()}'
            f'<main><h1>{html.escape(title)}</h1><ul class="list">{lis}</ul></main>'
            f"{_footer()}</body></html>")


def sitemap_index(base_url: str, n_children: int) -> str:
    entries = "".join(f"<sitemap><loc>{base_url}/sitemaps/articles-{i}.xml</loc></sitemap>"
                      for i in range(n_children))
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns='
            f'"http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>\n')


def sitemap(base_url: str, items: list[Article]) -> str:
    urls = "".join(f"<url><loc>{base_url}{a.path}</loc><lastmod>{a.published.isoformat()}"
                   "</lastmod></url>\n" for a in items)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns='
            f'"http://www.sitemaps.org/schemas/sitemap/0.9">\n{urls}</urlset>\n')


def rss(base_url: str, items: list[Article]) -> str:
    entries = "".join(
        f"<item><title>{html.escape(a.title)}</title><link>{base_url}{a.path}</link>"
        f'<guid isPermaLink="true">{base_url}{a.path}</guid>'
        f"<pubDate>{a.published:%a, %d %b %Y %H:%M:%S +0000}</pubDate></item>" for a in items)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"><channel>'
            f"<title>{SITE_NAME}</title><link>{base_url}/</link>"
            f"<description>Latest stories</description>{entries}</channel></rss>\n")


def generate(root: Path, pages: int, base_url: str, seed: int = 1) -> SiteInfo:
    """Write the site under ``root`` with absolute links to ``base_url``."""
    articles = make_articles(pages, seed)
    css = _css(random.Random(seed))
    total = gz_total = 0

    def write(path: str, text: str) -> None:
        nonlocal total, gz_total
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        data = text.encode("utf-8")
        packed = gzip.compress(data, compresslevel=6, mtime=0)
        target.write_bytes(data)
        target.with_name(target.name + ".gz").write_bytes(packed)
        total += len(data)
        gz_total += len(packed)

    for a in articles:
        write(a.path, article_page(a, articles, base_url, css, seed))
    write("/index.html", listing_page(SITE_NAME, articles[:60], base_url, "/", css, seed))
    for s in SECTIONS:
        in_section = [a for a in articles if a.section == s][:50]
        write(f"/{s}/index.html", listing_page(s.title(), in_section, base_url, f"/{s}/", css,
                                               seed))
    chunks = [articles[i:i + SITEMAP_CHUNK] for i in range(0, len(articles), SITEMAP_CHUNK)]
    for i, chunk in enumerate(chunks):
        write(f"/sitemaps/articles-{i}.xml", sitemap(base_url, chunk))
    write("/sitemap.xml", sitemap_index(base_url, len(chunks)))
    write("/rss.xml", rss(base_url, articles[:FEED_ITEMS]))
    write("/robots.txt", f"User-agent: *\nDisallow: /search\nSitemap: {base_url}/sitemap.xml\n")
    return SiteInfo(root, pages, [a.path for a in articles], total, gz_total)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the benchmark news site.")
    parser.add_argument("out", type=Path, help="output folder")
    parser.add_argument("--pages", type=int, default=2000, help="articles (default 2000)")
    parser.add_argument("--base-url", default="http://127.0.0.1:8080",
                        help="absolute URL the site will be served at")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    info = generate(args.out, args.pages, args.base_url.rstrip("/"), args.seed)
    print(f"{info.pages} articles, {info.total_bytes / 1e6:.1f} MB "
          f"({info.gzip_bytes / 1e6:.1f} MB gzipped) in {info.root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
