"""The review page in real headless Chromium: search, replay, diff, and a hostile page."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Frame, Page, expect

from tests.fixtures_review import (
    CHANGED_ARTICLE,
    HOSTILE,
    HOSTILE_MARKER,
    IMAGE,
    IMAGE_ARTICLE,
    LIVE_WEB,
    ReviewSite,
    hostile_html,
    screenshot,
)
from warcwire.review.security import COOKIE


def replay_frame(page: Page, site: ReviewSite) -> Frame:
    page.locator("iframe.replay-frame").wait_for()
    frame = next(f for f in page.frames if f.url.startswith(site.replay + "/"))
    frame.wait_for_load_state("load")
    return frame


def test_search_finds_a_page_by_a_word_of_its_text(page: Page, review_site: ReviewSite) -> None:
    page.fill("#q", "backlog")  # only in the article body, not in any title
    page.click("button[type=submit]")
    hits = page.locator(".hit")
    expect(hits.first).to_contain_text("Dock workers in Rotterdam end two-day strike")
    assert hits.count() == 2  # one per crawl
    for i in range(hits.count()):
        assert hits.nth(i).locator(".url").inner_text() == review_site.url(CHANGED_ARTICLE)
        expect(hits.nth(i).locator("mark")).to_have_text("backlog")
        expect(hits.nth(i).locator(".status")).to_have_text("200")
    page.fill("#q", "said")
    page.click("button[type=submit]")
    expect(page.locator(".count")).to_contain_text("best match first")
    assert page.locator(".hit").count() > 5
    screenshot(page, "review-search.png")


def test_capture_page_replays_with_archived_images(page: Page, review_site: ReviewSite) -> None:
    capture = review_site.latest(IMAGE_ARTICLE)
    responses: dict[str, int] = {}
    page.on("response", lambda r: responses.__setitem__(r.url, r.status))
    page.goto(f"{review_site.ui}/capture/{capture.id}")
    frame = replay_frame(page, review_site)
    frame.wait_for_function("() => [...document.images].every(i => i.complete)")
    images = dict(frame.evaluate(
        "() => [...document.images].map(i => [i.getAttribute('alt'), i.naturalWidth])"))
    assert images["S-400 missile systems on Red Square"] > 0
    assert images["Northwind Daily"] > 0
    # the image came from the replay origin, answered from the archive
    (image_url,) = [u for u in responses if u.endswith(IMAGE)]
    assert image_url.startswith(review_site.replay + "/") and responses[image_url] == 200
    # the archived stylesheet applies (site header colour from css/site.css)
    header_bg = frame.evaluate(
        "() => getComputedStyle(document.querySelector('.site-header')).backgroundColor")
    assert header_bg == "rgb(20, 50, 110)"
    # every link in the replay stays in the archive
    links = frame.evaluate("() => [...document.links].map(a => a.href)")
    assert links and all(u.startswith(review_site.replay + "/") or "#" in u for u in links)
    # extracted text and metadata beside the replay
    panel = page.locator(".panel")
    expect(panel.locator("h1")).to_have_text("US taking no step to create S-400 working group: "
                                             "Turkey")
    expect(panel.locator(".meta").first).to_contain_text("News Desk")
    expect(panel).to_contain_text(capture.filename)
    expect(panel).to_contain_text(str(capture.offset))
    expect(panel.locator(".text p").first).not_to_be_empty()
    screenshot(page, "review-capture.png")


def test_diff_shows_the_changed_paragraph(page: Page, review_site: ReviewSite) -> None:
    first, second = review_site.captures(CHANGED_ARTICLE)
    page.goto(f"{review_site.ui}/capture/{second.id}")
    page.click("text=Compare with previous")
    assert page.url.endswith(f"/diff?a={first.id}&b={second.id}")
    changed = page.locator(".para.change")
    expect(changed).to_have_count(1)
    expect(changed.locator("del")).to_have_text(
        "at the newest terminals would continue in the autumn")
    expect(changed.locator("ins")).to_have_text(
        "would resume in September, with a mediator appointed by the port authority")
    expect(changed).to_contain_text("Both sides said talks on automation")
    expect(page.locator(".diff-stats .plus")).to_contain_text("+")
    # unchanged paragraphs: the neighbour shown, the rest folded
    expect(page.locator(".diff > .para.equal")).to_have_text(
        "Shipping lines had diverted several vessels to Antwerp and Hamburg during the "
        "stoppage, and terminal operators said it would take until midweek to clear the backlog.")
    expect(page.locator("details.fold summary")).to_have_text("2 unchanged paragraphs")
    screenshot(page, "review-diff.png")


def test_hostile_page_is_contained(page: Page, review_site: ReviewSite) -> None:
    capture = review_site.latest(HOSTILE)
    page.context.add_cookies([{"name": "ui_pref", "value": "keep-me", "url": review_site.ui}])
    cookies_before = {c["name"]: c["value"] for c in page.context.cookies()}
    assert COOKIE in cookies_before
    requests: list[str] = []
    console: list[str] = []
    page.context.on("request", lambda r: requests.append(r.url))
    page.on("console", lambda m: console.append(m.text))
    page.goto(f"{review_site.ui}/capture/{capture.id}")
    frame = replay_frame(page, review_site)
    page.wait_for_timeout(300)  # room for anything asynchronous the page might try

    # the page is there, its script never ran
    assert frame.locator("h1.headline").inner_text() == "Harbour festival draws record crowds"
    assert frame.evaluate("document.documentElement.getAttribute('data-pwned')") is None
    assert frame.evaluate("document.body.getAttribute('data-pwned')") is None
    assert frame.title() == "Harbour festival draws record crowds | Northwind Daily"
    assert HOSTILE_MARKER not in console
    assert any("sandboxed" in m and "allow-scripts" in m for m in console), console
    # the review page is untouched: DOM, title, location, cookies, storage
    assert page.evaluate("document.body.getAttribute('data-pwned')") is None
    assert page.title().endswith("warcwire review") and "PWNED" not in page.title()
    assert page.url == f"{review_site.ui}/capture/{capture.id}"
    assert {c["name"]: c["value"] for c in page.context.cookies()} == cookies_before
    assert page.evaluate("localStorage.length") == 0
    # nothing left 127.0.0.1, nothing called the review page's API, the script file was
    # never even requested, and the live-web image was asked of the replay origin (which
    # answers 404: test_review_http) and shows nothing
    assert all(urlsplit(u).hostname == "127.0.0.1" for u in requests), requests
    assert not [u for u in requests if urlsplit(u).path.startswith("/api/")]
    assert not [u for u in requests if u.endswith("/tracker.js")]
    (pixel,) = [u for u in requests if u.endswith(f"/{LIVE_WEB}/pixel.png")]
    assert pixel.startswith(review_site.replay + "/")
    assert frame.evaluate("document.querySelector('img[width=\"1\"]').naturalWidth") == 0


def test_replay_opened_on_its_own_is_still_confined(page: Page, review_site: ReviewSite
                                                    ) -> None:
    """The 'Open replay' link: no iframe sandbox, but the CSP sandbox still holds."""
    capture = review_site.latest(HOSTILE)
    page.goto(f"{review_site.ui}/capture/{capture.id}")
    src = page.locator("iframe.replay-frame").get_attribute("src")
    assert src and src.startswith(review_site.replay + "/")
    console: list[str] = []
    requests: list[str] = []
    tab = page.context.new_page()
    tab.on("console", lambda m: console.append(m.text))
    tab.on("request", lambda r: requests.append(r.url))
    tab.goto(src)
    tab.wait_for_timeout(300)
    assert tab.url == src
    assert tab.evaluate("document.documentElement.getAttribute('data-pwned')") is None
    assert HOSTILE_MARKER not in console
    assert all(u.startswith(review_site.replay + "/") for u in requests), requests


def test_the_hostile_script_does_run_without_the_protections(page: Page,
                                                             review_site: ReviewSite) -> None:
    """Control: the same HTML in an unprotected page sets its marker, so the checks above
    would notice a script that ran."""
    console: list[str] = []
    tab = page.context.new_page()
    tab.route("**/*", lambda route: route.abort())  # still nothing reaches any network
    tab.on("console", lambda m: console.append(m.text))
    tab.set_content(hostile_html(review_site.ui).replace("top.location.href =", "var x ="))
    assert tab.evaluate("document.documentElement.getAttribute('data-pwned')") == "script ran"
    assert HOSTILE_MARKER in console
