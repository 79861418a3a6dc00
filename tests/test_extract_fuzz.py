"""Fuzzing extraction: hostile or broken pages give an article or None, never an exception."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from normalizer.extract import Extracted, extract_article
from normalizer.record import normalize

TAGS = ["html", "head", "body", "article", "p", "div", "h1", "script", "style", "nav",
        "footer", "meta", "time", "title", "table", "td", "figure", "figcaption"]


@st.composite
def html_soup(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.integers(0, 5))
        tag = draw(st.sampled_from(TAGS))
        if kind == 0:
            parts.append(f"<{tag}>")
        elif kind == 1:
            parts.append(f"</{tag}>")
        elif kind == 2:
            parts.append(draw(st.text(max_size=80)))
        elif kind == 3:
            parts.append('<script type="application/ld+json">' + draw(st.text(max_size=60))
                         + "</script>")
        elif kind == 4:
            attr = draw(st.sampled_from(["property='og:type' content", "charset",
                                         "name='article:published_time' content", "lang"]))
            parts.append(f"<meta {attr}='{draw(st.text(max_size=20))}'>")
        else:
            parts.append("<div>" * draw(st.integers(0, 300)))  # deep nesting
    return "".join(parts)


def _check(page: bytes | str, encoding: str | None = None) -> None:
    result = extract_article(page, "https://n.example/news/a.html", None, encoding)
    assert result is None or isinstance(result, Extracted)
    if result is not None:
        record = normalize(result, url="https://n.example/news/a.html", site="s",
                           run_id="r", fetched_at="2026-11-25T00:00:00+00:00",
                           warc_location=None)
        assert record.text and "\u00a0" not in record.text


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html_soup())
def test_broken_html(page: str) -> None:
    _check(page)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000), st.sampled_from([None, "utf-8", "latin-1", "x-unknown"]))
def test_arbitrary_bytes_and_charsets(page: bytes, encoding: str | None) -> None:
    _check(page, encoding)
