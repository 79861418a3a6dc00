"""URL rewriting for replay and the text diff, without a server."""

from __future__ import annotations

import pytest

from warcwire.review.archive import Payload
from warcwire.review.diff import diff_texts
from warcwire.review.replay import ReplayApp
from warcwire.review.rewrite import UrlRewriter, rewrite_css, rewrite_html

PAGE = "http://news.example/world/story.html"


def rw(base: str = PAGE) -> UrlRewriter:
    return UrlRewriter(base, lambda url: f"/k/20261125093001/{url}")


def r(url: str) -> str:
    return f"/k/20261125093001/{url}"


def test_links_and_resources_point_into_the_archive() -> None:
    html = ('<a href="/world/">W</a><img src="pic.png" srcset="a.png 1x, /b.png 2x">'
            '<link rel="stylesheet" href="//cdn.example/s.css"><script src="app.js"></script>'
            '<iframe src="https://video.example/embed"></iframe><video poster="p.jpg"></video>'
            '<form action="/search"></form><source srcset="c.webp">')
    out = rewrite_html(html, rw())
    for url in ("http://news.example/world/", "http://news.example/world/pic.png",
                "http://news.example/world/a.png", "http://news.example/b.png",
                "http://cdn.example/s.css", "http://news.example/world/app.js",
                "https://video.example/embed", "http://news.example/world/p.jpg",
                "http://news.example/search", "http://news.example/world/c.webp"):
        assert f'"{r(url)}' in out or f" {r(url)}" in out, url
    assert 'srcset="' + r("http://news.example/world/a.png") + " 1x, " in out


def test_everything_else_is_left_as_archived() -> None:
    html = ('<!DOCTYPE html>\n<html lang="en"><!-- note --><p class=x>Caf&eacute; &amp; '
            "&#8217;s <b>bold</b></p><script>var s = '<a href=x>';</script>"
            '<a href="#top">top</a><a href="mailto:desk@news.example">mail</a>'
            '<img src="data:image/png;base64,AAAA"></html>')
    assert rewrite_html(html, rw()) == html


def test_dangerous_and_odd_urls() -> None:
    out = rewrite_html('<a href="javascript:alert(1)">x</a><a href="ftp://f.example/x">f</a>'
                       '<script integrity="sha384-x" src="a.js"></script><a ping="/p" href="/">',
                       rw())
    assert 'href="#"' in out and "javascript:" not in out and "ftp:" not in out
    assert "integrity" not in out and "ping" not in out


def test_base_href_changes_resolution() -> None:
    out = rewrite_html('<base href="https://static.example/v2/"><img src="i.png">', rw())
    assert f'src="{r("https://static.example/v2/i.png")}"' in out
    assert f'<base href="{r("https://static.example/v2/")}">' in out


def test_css_urls_imports_and_inline_styles() -> None:
    css = ("@import 'print.css';\n@import url(\"fonts.css\");\n"
           ".a { background: url( ../img/bg.png ) }\n.b { background: url(data:image/gif;x) }")
    out = rewrite_css(css, rw("http://news.example/css/site.css"))
    assert f'@import "{r("http://news.example/css/print.css")}"' in out
    assert f'url("{r("http://news.example/css/fonts.css")}")' in out
    assert f'url("{r("http://news.example/img/bg.png")}")' in out
    assert 'url("data:image/gif;x")' in out
    html = rewrite_html('<div style="background:url(/x.png)"></div><style>p{background:'
                        'url(y.png)}</style>', rw())
    assert f"url(&quot;{r('http://news.example/x.png')}&quot;)" in html
    assert f'url("{r("http://news.example/world/y.png")}")' in html


def test_meta_refresh_stays_in_the_archive() -> None:
    out = rewrite_html('<meta http-equiv="refresh" content="0; url=/next.html">', rw())
    assert f'content="0; url={r("http://news.example/next.html")}"' in out


def test_archived_redirect_replays_as_a_redirect_into_the_archive() -> None:
    payload = Payload(301, [("Location", "/moved.html"), ("Set-Cookie", "a=b")], b"")
    response = ReplayApp._serve(ReplayApp.__new__(ReplayApp), payload, rw())
    assert response.status_code == 302
    assert response.headers["Location"] == r("http://news.example/moved.html")
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize(("old", "new", "added", "removed"), [
    ("One.\n\nTwo.", "One.\n\nTwo.", 0, 0),
    ("The bridge opens in May.", "The bridge opens in June.", 1, 1),
    ("A.\n\nB.", "A.\n\nNew paragraph here.\n\nB.", 3, 0),
])
def test_diff_counts_words(old: str, new: str, added: int, removed: int) -> None:
    diff = diff_texts(old, new)
    assert (diff.words_added, diff.words_removed) == (added, removed)
    assert diff.changed == bool(added or removed)


def test_diff_pairs_edited_paragraphs_and_marks_words() -> None:
    diff = diff_texts("Same start.\n\nThe mayor said on Monday the bridge would open.",
                      "Same start.\n\nThe mayor said on Tuesday the bridge would open.")
    kinds = [b.kind for b in diff.blocks]
    assert kinds == ["equal", "change"]
    assert diff.blocks[1].segments == [("=", "The mayor said on "), ("-", "Monday"),
                                       ("+", "Tuesday"), ("=", " the bridge would open.")]


def test_diff_shows_unrelated_paragraphs_as_out_and_in() -> None:
    diff = diff_texts("Old text about ferries.", "Entirely different words now.")
    assert [b.kind for b in diff.blocks] == ["delete", "insert"]
