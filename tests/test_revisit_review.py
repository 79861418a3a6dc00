"""The review page over an archive with revisits and article versions, over HTTP and in
Chromium: revisits replay their original's payload, are labelled, and diffs walk versions."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from warcio.archiveiterator import ArchiveIterator
from werkzeug.http import http_date

from storage.catalog import Capture
from storage.local import LocalStore
from tests.fixtures_review import (
    CHANGED_ARTICLE,
    IMAGE,
    IMAGE_ARTICLE,
    OLD_PARAGRAPH,
    RevisitArchive,
    screenshot,
)
from tests.test_review_browser import replay_frame
from tests.test_review_http import get
from tests.test_revisit_restore import HTML, PAGE, PAGE_HEAD, RUN1, RUN2, RUN3, build_archive
from tests.test_revisit_restore import SAME_AGAIN as SAME_AGAIN_HEAD
from warcwire.review.archive import Payload, ReviewArchive
from warcwire.review.replay import replay_path
from warcwire.review.server import ReviewServer
from warcwire.review.views import when

TOKEN = "revisit-review-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PLAIN = "/news/world/alpine-glaciers-lose-a-tenth-of-ice.html"  # never edited
PLAIN_TITLE = "Alpine survey finds glaciers lost a tenth of their ice in five years"
NOT_MODIFIED, SAME_AGAIN = "revisit: not modified", "revisit: identical payload"


class Site:
    """The review server over ``revisit_archive``, and what a test needs to reach it."""

    def __init__(self, archive: RevisitArchive, server: ReviewServer) -> None:
        self.archive, self.server = archive, server
        self.ui = f"http://127.0.0.1:{server.port}"
        self.replay = f"http://127.0.0.1:{server.replay_port}"
        self.key = server.guard.replay_key

    def captures(self, path: str) -> list[Capture]:
        return self.server.ui_app.archive.captures(self.archive.url(path))

    def page(self, path: str) -> str:
        status, _, body = get(self.ui + path, AUTH)
        assert status == 200, body[:300]
        return body.decode()

    def replayed(self, capture: Capture) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = get(self.replay + replay_path(self.key, capture.timestamp,
                                                              capture.url))
        return status, dict(headers.items()), body


@pytest.fixture(scope="module")
def site(revisit_archive: RevisitArchive) -> Iterator[Site]:
    catalog = revisit_archive.catalog()
    archive = ReviewArchive(catalog, LocalStore(revisit_archive.archive))
    with ReviewServer(archive, port=0, replay_port=0, token=TOKEN) as server:
        yield Site(revisit_archive, server)
    catalog.close()


def test_the_archive_has_what_these_tests_need(site: Site) -> None:
    assert [c.mime for c in site.captures(PLAIN)] == ["text/html", "warc/revisit",
                                                      "warc/revisit"]
    assert [c.mime for c in site.captures("/sitemap.xml")] == ["application/xml",
                                                               "warc/revisit", "warc/revisit"]
    assert [c.mime for c in site.captures(CHANGED_ARTICLE)] == ["text/html"] * 3


# -- replay ------------------------------------------------------------------------

def test_a_revisit_replays_the_original_payload_at_its_own_time(site: Site) -> None:
    served = site.archive.served("/sitemap.xml")
    for capture in site.captures("/sitemap.xml"):
        status, headers, body = site.replayed(capture)
        assert (status, body) == (200, served), capture
        assert headers["Content-Type"] == "application/xml; charset=utf-8"
        assert headers["Memento-Datetime"] == http_date(capture.datetime)
        csp = headers["Content-Security-Policy"]
        assert "script-src 'none'" in csp and "sandbox" in csp and "connect-src 'none'" in csp


def test_a_revisited_page_replays_exactly_as_its_original_does(site: Site) -> None:
    original, *revisits = site.captures(PLAIN)
    _, _, expected = site.replayed(original)
    assert PLAIN_TITLE.encode() in expected
    for revisit in revisits:
        status, headers, body = site.replayed(revisit)
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        # links point at the revisit's time; otherwise the same rewritten page
        at = f"/{site.key}/{revisit.timestamp}/".encode()
        assert at in body
        assert body.replace(at, f"/{site.key}/{original.timestamp}/".encode()) == expected


def test_a_revisits_payload_has_its_own_status_and_headers(tmp_path: Path) -> None:
    """What replay serves from: the revisit's head (a 304 merged into the stored one, or
    the 200 as received) with the original's body, Content-Encoding undone."""
    built = build_archive(tmp_path)
    archive = ReviewArchive(built.catalog, built.store)
    merged = [("Date", "Fri, 20 Nov 2026 10:00:00 GMT"), *PAGE_HEAD[1:],
              ("Cache-Control", "max-age=60")]
    assert archive.payload(built.capture(PAGE, RUN2)) == Payload(200, merged, HTML)
    assert archive.payload(built.capture(PAGE, RUN3)) == Payload(200, SAME_AGAIN_HEAD, HTML)
    assert archive.payload(built.capture(PAGE, RUN1)) == Payload(200, PAGE_HEAD, HTML)
    revisit = archive.revisit(built.capture(PAGE, RUN3))
    assert revisit is not None and revisit.label == SAME_AGAIN
    assert revisit.original == built.capture(PAGE, RUN1)
    assert archive.revisit(built.capture(PAGE, RUN1)) is None


# -- capture, search and diff pages ------------------------------------------------

def test_the_capture_page_labels_a_revisit_and_shows_its_originals_text(site: Site) -> None:
    original, not_modified, same_again = site.captures(PLAIN)
    for capture, label in ((not_modified, NOT_MODIFIED), (same_again, SAME_AGAIN)):
        page = site.page(f"/capture/{capture.id}")
        assert f'<span class="tag revisit">{label}</span>' in page
        assert (f'<dt>Revisit</dt><dd class="revisit-of">{label} · payload of the '
                f'<a href="/capture/{original.id}">capture of {when(original.timestamp)}</a>'
                "</dd>") in page
        assert f"<h1>{PLAIN_TITLE}</h1>" in page
        assert ('<dd class="article-version">version 1 <span class="muted">(text of the '
                "original capture)</span></dd>") in page
        assert "Glaciers in the eastern Alps have lost about a tenth" in page
        assert "No article text was extracted" not in page
    page = site.page(f"/capture/{original.id}")
    assert '<dd class="article-version">version 1</dd>' in page
    assert "<dt>Revisit</dt>" not in page
    # the captures of the URL, each labelled
    labels = re.findall(r'<span class="tag (?:revisit|version)"[^>]*>([^<]+)</span>', page)
    assert labels == [SAME_AGAIN, NOT_MODIFIED, "v1"]  # newest first


def test_the_capture_page_lists_article_versions_with_their_changes(site: Site) -> None:
    first, second, third = site.captures(CHANGED_ARTICLE)
    article = site.server.ui_app.archive.article
    changes = [article(c.id)["changes"] for c in (second, third)]  # type: ignore[index]
    page = site.page(f"/capture/{third.id}")
    tags = re.findall(r'<span class="tag version" title="([^"]+)">([^<]+)</span>', page)
    assert tags == [
        (f"version {n} · +{c['words_added']}/−{c['words_removed']} words",
         f"v{n} +{c['words_added']}/-{c['words_removed']}")
        for n, c in ((3, changes[1]), (2, changes[0]))] + [("version 1", "v1")]
    assert (f'<dd class="article-version">version 3 · +{changes[1]["words_added"]}/−'
            f'{changes[1]["words_removed"]} words</dd>') in page
    assert f'href="/diff?a={second.id}&amp;b={third.id}">Compare with previous</a>' in page


def test_search_labels_revisits_and_versions(site: Site) -> None:
    page = site.page(f"/?url={site.archive.url(PLAIN)}&type=all")
    hits = re.findall(r'<h2><a href="/capture/(\d+)">([^<]+)</a></h2>.*?<span class="tags">'
                      r"(.*?)</span>\s*</div>", page, re.S)
    original, not_modified, same_again = site.captures(PLAIN)
    assert [(int(cid), title) for cid, title, _ in hits] == [
        (same_again.id, PLAIN_TITLE), (not_modified.id, PLAIN_TITLE),
        (original.id, PLAIN_TITLE)]  # a revisit is titled by its original's article
    tags = [re.findall(r'<span class="tag[^"]*"[^>]*>([^<]+)</span>', t) for _, _, t in hits]
    assert tags == [[SAME_AGAIN, "sample-news"], [NOT_MODIFIED, "sample-news"],
                    ["text/html", "v1", "sample-news"]]
    # "Pages" (the default) counts a revisit of a page as a page, not a sitemap's
    pages = site.page(f"/?url={site.archive.base}/")
    assert pages.count(f'<span class="tag revisit">{NOT_MODIFIED}</span>') > 5
    assert "sitemap" not in pages
    # full-text hits carry their article version
    found = site.page("/?q=backlog")  # in a paragraph all three versions have
    assert sorted(re.findall(r'<span class="tag version"[^>]*>(v\d)', found)) == \
        ["v1", "v2", "v3"]


def test_diffs_link_consecutive_versions(site: Site) -> None:
    v1, v2, v3 = site.captures(CHANGED_ARTICLE)
    first = site.page(f"/diff?a={v1.id}&b={v2.id}")
    assert 'class="step earlier"' not in first
    assert (f'<a class="step later" href="/diff?a={v2.id}&amp;b={v3.id}" title="The change '
            'after this one">v2 → v3 →</a>') in first
    assert "<del>at the newest terminals would continue in the autumn</del>" in first
    second = site.page(f"/diff?a={v3.id}&b={v2.id}")  # either order: older first
    assert (f'<a class="step earlier" href="/diff?a={v1.id}&amp;b={v2.id}" title="The change '
            'before this one">← v1 → v2</a>') in second
    assert 'class="step later"' not in second
    assert '<span class="label">Before · v2</span>' in second
    assert '<span class="label">After · v3</span>' in second
    assert ('<p class="para change">Both sides said talks on automation would resume in '
            "<del>September</del><ins>October</ins>, with a mediator appointed by the port "
            "authority<ins> and the city</ins>.</p>") in second
    options = re.findall(r'<option value="(\d+)"[^>]*>([^<]+)</option>', second)
    assert options[:3] == [(str(c.id), f"{tag} · {when(c.timestamp)} · 200")
                           for tag, c in (("v1", v1), ("v2", v2), ("v3", v3))]


def test_a_revisit_diffs_as_the_text_it_repeats(site: Site) -> None:
    original, not_modified, same_again = site.captures(PLAIN)
    page = site.page(f"/diff?a={original.id}&b={same_again.id}")
    assert "The article text is the same in both captures." in page
    assert "No article text was extracted" not in page
    assert '<span class="label">Before · v1</span>' in page
    assert f'<span class="label">After · {SAME_AGAIN}</span>' in page
    # revisits are not versions: nothing else to pick, no change before or after
    assert 'class="pick"' not in page and 'class="step' not in page
    assert f"/capture/{not_modified.id}" not in page


def test_download_of_a_revisit_is_a_self_contained_warc(site: Site) -> None:
    original, not_modified, _ = site.captures(PLAIN)
    status, headers, body = get(f"{site.ui}/capture/{not_modified.id}/record.warc.gz", AUTH)
    assert status == 200 and headers["Content-Type"] == "application/warc"
    store = LocalStore(site.archive.archive)
    assert body == b"".join(store.open_range(c.filename, c.offset, c.length)
                            for c in (not_modified, original))
    records = list(ArchiveIterator(io.BytesIO(body)))
    assert [r.rec_type for r in records] == ["revisit", "response"]
    assert records[0].rec_headers.get_header("WARC-Refers-To") == \
        records[1].rec_headers.get_header("WARC-Record-ID")


def test_the_api_says_what_a_revisit_repeats(site: Site) -> None:
    original, not_modified, _ = site.captures(PLAIN)
    status, _, body = get(f"{site.ui}/api/captures/{not_modified.id}", AUTH)
    data = json.loads(body)
    assert status == 200 and data["revisit"] == {
        "profile": "server-not-modified", "label": NOT_MODIFIED, "original": original.id}
    assert data["article"]["title"] == PLAIN_TITLE and data["article"]["version"] == 1
    _, _, body = get(f"{site.ui}/api/captures/{original.id}", AUTH)
    assert json.loads(body)["revisit"] is None


def test_a_revisit_whose_original_is_gone_is_a_404_in_replay(site: Site) -> None:
    """Its original's catalog row is gone: the replay says not archived, not a 500."""
    archive = site.server.ui_app.archive
    original, not_modified, _ = site.captures(PLAIN)
    table = archive.catalog.t_captures
    with archive.catalog.engine.begin() as conn:
        conn.execute(table.delete().where(table.c.id == original.id))
    try:
        status, headers, body = site.replayed(not_modified)
        assert status == 404 and b"Not archived" in body
        assert "script-src 'none'" in headers["Content-Security-Policy"]
        page = site.page(f"/capture/{not_modified.id}")
        assert "original not in the catalog; run warcwire reindex" in page
    finally:
        archive.catalog.add_captures([{
            "surt": original.surt, "url": original.url, "timestamp": original.timestamp,
            "status": original.status, "mime": original.mime, "digest": original.digest,
            "length": original.length, "offset": original.offset,
            "filename": original.filename, "site": original.site, "run_id": original.run_id}])


# -- in Chromium -------------------------------------------------------------------

@pytest.fixture
def tab(browser: Browser, site: Site) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.set_default_timeout(10_000)
    page.goto(f"{site.ui}/?token={TOKEN}")
    yield page
    context.close()


def test_a_revisit_replays_in_the_browser_with_its_images(tab: Page, site: Site) -> None:
    original, _, same_again = site.captures(IMAGE_ARTICLE)
    assert same_again.revisit
    responses: dict[str, int] = {}
    tab.on("response", lambda r: responses.__setitem__(r.url, r.status))
    tab.goto(f"{site.ui}/capture/{same_again.id}")
    expect(tab.locator(".replay-bar .tag.revisit")).to_have_text(SAME_AGAIN)
    assert tab.locator("iframe.replay-frame").get_attribute("sandbox") == ""
    frame = replay_frame(tab, site)  # type: ignore[arg-type]
    assert frame.url.startswith(f"{site.replay}/{site.key}/{same_again.timestamp}/")
    assert frame.locator("h1").first.inner_text() == \
        "US taking no step to create S-400 working group: Turkey"
    frame.wait_for_function("() => [...document.images].every(i => i.complete)")
    widths = dict(frame.evaluate(
        "() => [...document.images].map(i => [i.getAttribute('alt'), i.naturalWidth])"))
    assert widths["S-400 missile systems on Red Square"] > 0
    (image,) = [u for u in responses if u.endswith(IMAGE)]
    assert image.startswith(site.replay + "/") and responses[image] == 200
    expect(tab.locator(".revisit-of a")).to_have_attribute("href", f"/capture/{original.id}")
    screenshot(tab, "review-revisit.png")


def test_walking_the_versions_of_an_article(tab: Page, site: Site) -> None:
    v1, v2, v3 = site.captures(CHANGED_ARTICLE)
    tab.goto(f"{site.ui}/capture/{v3.id}")
    tab.click("text=Compare with previous")
    assert tab.url.endswith(f"/diff?a={v2.id}&b={v3.id}")
    expect(tab.locator(".para.change del")).to_have_text("September")
    tab.click("a.step.earlier")
    assert tab.url.endswith(f"/diff?a={v1.id}&b={v2.id}")
    change = tab.locator(".para.change")
    expect(change.locator("del")).to_have_text(
        "at the newest terminals would continue in the autumn")
    expect(change.locator("ins")).to_have_text(
        "would resume in September, with a mediator appointed by the port authority")
    expect(change).to_have_text(re.compile(r"^" + re.escape(OLD_PARAGRAPH.split(" at ")[0])))
    tab.click("a.step.later")
    assert tab.url.endswith(f"/diff?a={v2.id}&b={v3.id}")
    expect(tab.locator(".diff-sides .side.after .label")).to_have_text("After · v3")
    expect(tab.locator(".para.change ins").last).to_have_text(" and the city")
    screenshot(tab, "review-versions.png")
