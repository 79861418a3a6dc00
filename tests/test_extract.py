"""Article extraction on the bundled sample site and on awkward payloads."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

import warcwire
from normalizer.extract import Extracted, decode_html, extract_article
from normalizer.record import normalize_text

SITE = Path(warcwire.__file__).parent / "sample_site"
HTDOCS = SITE / "htdocs"
MANIFEST = json.loads((SITE / "manifest.json").read_text(encoding="utf-8"))
BASE = "http://127.0.0.1:8765"
SEED_PATH = MANIFEST["seed_article"]
SEED_BODY = (Path(__file__).parent / "data" / "seed_article_body.txt").read_text("utf-8")


def page(path: str) -> bytes:
    rel = path.lstrip("/") or "index.html"
    return (HTDOCS / rel).read_bytes()


@pytest.fixture(scope="module")
def seed() -> Extracted:
    result = extract_article(page(SEED_PATH), BASE + SEED_PATH)
    assert result is not None
    return result


def test_seed_text_is_exactly_the_body_paragraphs(seed: Extracted) -> None:
    expected = SEED_BODY.strip().split("\n\n")
    assert len(expected) == 12
    assert normalize_text(seed.text).split("\n\n") == expected


@pytest.mark.parametrize("boilerplate", [
    "SHARE THIS ARTICLE", "alternate addresses", "www.presstv.ir", "Roku",  # trailing block
    "News / Turkey", "Home", "About us", "Business",  # navigation, breadcrumb
    "Most read", "Dock workers in Rotterdam", "More in Turkey",  # sidebars, related links
    "cookies", "Accept all", "Newsletter", "Sign up", "morning briefing",  # banners, boxes
    "Facebook", "WhatsApp", "All rights reserved", "Staff area", "Northwind Daily",
    "Photo by AFP",  # the caption is metadata, not body text
])
def test_seed_text_has_no_boilerplate(seed: Extracted, boilerplate: str) -> None:
    assert boilerplate not in seed.text


def test_seed_metadata(seed: Extracted) -> None:
    assert seed.title == "US taking no step to create S-400 working group: Turkey"
    assert seed.section == ("News", "Turkey")
    assert seed.published == "2019-06-10T12:41:00+00:00"
    assert seed.language == "en"
    assert seed.canonical_url == BASE + SEED_PATH
    assert seed.authors == ("News Desk",)
    assert seed.description and seed.description.startswith("A senior Turkish official")
    assert seed.captions == (
        "Russian S-400 anti-aircraft missile systems roll through Red Square during the Victory"
        " Day military parade in downtown Moscow on May 9, 2019. (Photo by AFP)",)
    assert seed.extractor.startswith("trafilatura/")


def test_extracted_pickles_for_the_process_pool(seed: Extracted) -> None:
    assert pickle.loads(pickle.dumps(seed)) == seed
    assert pickle.loads(pickle.dumps(extract_article)) is extract_article


@pytest.mark.parametrize("article", MANIFEST["articles"], ids=lambda a: a["path"])
def test_every_sample_article_extracts(article: dict) -> None:
    result = extract_article(page(article["path"]), BASE + article["path"])
    assert result is not None
    assert result.title == article["title"]
    assert list(result.section) == article["section"]
    assert result.published == article["published"]
    assert result.authors == (article["author"],)
    assert result.canonical_url == BASE + article["path"]
    text = normalize_text(result.text)
    assert text.count("\n\n") >= 2  # 3 to 12 paragraphs
    for boilerplate in ("SHARE THIS ARTICLE", "alternate addresses", "Roku", "Most read"):
        assert boilerplate not in text


@pytest.mark.parametrize("path", MANIFEST["pages"])
def test_non_article_pages_give_none(path: str) -> None:
    assert extract_article(page(path), BASE + path) is None


def test_selectors_override_title_body_and_date() -> None:
    html = page(SEED_PATH).replace(
        b'<div class="byline">', b'<div class="byline"><span class="dateline">11 June 2019</span>')
    result = extract_article(html, BASE + SEED_PATH, {
        "title": "css:figcaption",
        "body": "xpath://div[@class='article-trailer']",
        "date": "css:.dateline::text",
    })
    assert result is not None
    assert result.title is not None and result.title.startswith("Russian S-400")
    assert result.text == (
        "Press TV’s website can also be accessed at the following alternate addresses:"
        "\n\nwww.presstv.ir\n\nSHARE THIS ARTICLE\n\nPress TV News Roku")
    assert result.published == "2019-06-11"
    assert result.extractor == "selectors"
    assert result.section == ("News", "Turkey")  # not overridable: still from the page


def test_selector_body_joins_paragraphs_of_every_match() -> None:
    html = b"""<html lang="de"><head><title>T</title></head><body>
      <div class="story"><p>Erster  Absatz.</p><ul><li><p>Punkt eins</p></li></ul></div>
      <div class="story">Lose Zeile</div></body></html>"""
    result = extract_article(html, "http://example.test/a.html", {"body": "css:div.story"})
    assert result is not None
    assert result.text == "Erster Absatz.\n\nPunkt eins\n\nLose Zeile"
    assert result.language == "de"


def test_selectors_that_match_nothing_fall_back_to_trafilatura(seed: Extracted) -> None:
    result = extract_article(page(SEED_PATH), BASE + SEED_PATH, {
        "title": "css:h6.missing", "body": "css:div.missing", "date": None})
    assert result == seed


ARTICLE_CP1252 = (
    "<html><head><meta charset='utf-8'><title>Caf\u00e9 prices</title></head><body><article>"
    "<h1>Caf\u00e9 prices rise</h1>"
    + "<p>The \u201ccaf\u00e9 index\u201d rose again this month \u2013 owners blame rents and"
      " the cost of milk, which went up by a fifth since January.</p>" * 3
    + "</article></body></html>").encode("cp1252")


def test_wrong_declared_charset_does_not_crash() -> None:
    result = extract_article(ARTICLE_CP1252, "http://example.test/cafe.html")
    assert result is not None
    assert "caf\ufffd index" in result.text


def test_http_charset_wins_over_meta() -> None:
    result = extract_article(ARTICLE_CP1252, "http://example.test/cafe.html", encoding="cp1252")
    assert result is not None
    assert "\u201ccaf\u00e9 index\u201d" in result.text


def test_decode_html_survives_unknown_and_missing_charsets() -> None:
    assert decode_html("<p>\u00e9</p>".encode(), "no-such-charset") == "<p>\u00e9</p>"
    assert decode_html(b"<p>\xe9</p>") == "<p>\u00e9</p>"  # undeclared, not UTF-8: cp1252
    assert decode_html("<p>x</p>".encode("utf-16")) == "<p>x</p>"


@pytest.mark.parametrize("blob", [
    (HTDOCS / "images" / "s400-red-square.png").read_bytes(),
    bytes(range(256)) * 8,
    b"",
    b"   \n",
    b"<html><body></body></html>",
])
def test_binary_and_empty_payloads_give_none(blob: bytes) -> None:
    assert extract_article(blob, "http://example.test/x") is None
