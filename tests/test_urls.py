"""clean_url strips fragments and tracking parameters, and changes nothing else."""

from __future__ import annotations

import pytest

from crawler.urls import clean_url


def test_utm_parameters_removed_others_kept_in_order() -> None:
    url = "https://n.example/a?id=5&utm_source=tw&page=2&utm_medium=social&utm_campaign=x&z=1"
    assert clean_url(url) == "https://n.example/a?id=5&page=2&z=1"


@pytest.mark.parametrize("name", [
    "utm_source", "utm_content", "fbclid", "gclid", "gbraid", "wbraid", "dclid", "msclkid",
    "mc_cid", "mc_eid", "igshid", "yclid", "_hsenc", "_hsmi", "mkt_tok", "_ga", "_gl",
    "oly_anon_id", "oly_enc_id", "vero_id", "__twitter_impression", "at_medium", "at_campaign",
])
def test_each_default_tracking_parameter_is_removed(name: str) -> None:
    assert clean_url(f"https://n.example/a?{name}=x&id=5") == "https://n.example/a?id=5"


@pytest.mark.parametrize("name", ["ocid", "cmpid", "ito", "smid", "rss", "utm", "gal", "page"])
def test_generic_names_that_may_carry_content_are_kept(name: str) -> None:
    url = f"https://n.example/a?{name}=x"
    assert clean_url(url) == url


def test_repeated_names_kept_or_removed_every_time() -> None:
    url = "https://n.example/a?a=1&utm_source=x&a=2&utm_source=y&a=1"
    assert clean_url(url) == "https://n.example/a?a=1&a=2&a=1"


def test_blank_values_names_without_equals_and_empty_segments_kept() -> None:
    url = "https://n.example/a?a=&b&&c=3&fbclid=&=v&utm_term"
    assert clean_url(url) == "https://n.example/a?a=&b&&c=3&=v"


def test_fragment_dropped() -> None:
    assert clean_url("https://n.example/a#comments") == "https://n.example/a"
    assert clean_url("https://n.example/a?id=5#x?utm_source=y") == "https://n.example/a?id=5"
    assert clean_url("https://n.example/a?utm_source=y#top") == "https://n.example/a"


def test_question_mark_dropped_only_when_stripping_emptied_the_query() -> None:
    assert clean_url("https://n.example/a?utm_source=x&utm_medium=y") == "https://n.example/a"
    assert clean_url("https://n.example/a?utm_source=x&") == "https://n.example/a"
    assert clean_url("https://n.example/a?") == "https://n.example/a?"  # not normalised


def test_parameter_names_match_case_insensitively() -> None:
    assert clean_url("https://n.example/a?UTM_Source=x&FBCLID=y&Id=1") == "https://n.example/a?Id=1"


def test_percent_encoded_names_match_as_the_server_decodes_them() -> None:
    assert clean_url("https://n.example/a?utm%5Fsource=x&id=1") == "https://n.example/a?id=1"


def test_custom_patterns_replace_the_defaults() -> None:
    url = "https://n.example/a?ref=home&utm_source=x&sess_1=a&Sess_2=b&id=5"
    assert clean_url(url, ["ref", "sess_?"]) == "https://n.example/a?utm_source=x&id=5"
    assert clean_url(url, ()) == url
    assert clean_url(url + "#f", []) == url


def test_percent_escapes_case_and_everything_else_untouched() -> None:
    url = "HTTPS://N.Example:443/%7Efoo/A%2fB/%E2%82%AC?q=a%20b+c&X=%zz&utm_source=1"
    assert clean_url(url) == "HTTPS://N.Example:443/%7Efoo/A%2fB/%E2%82%AC?q=a%20b+c&X=%zz"


def test_url_without_tracking_returned_unchanged() -> None:
    url = "https://n.example/news/2026/a.html?id=5;v=2&x=%2F&y=a=b"
    assert clean_url(url) == url


@pytest.mark.parametrize(("junk", "expected"), [
    ("", ""),
    ("#", ""),
    ("?", "?"),
    ("?utm_source=1", ""),
    ("http://[::1?utm_source=1#x", "http://[::1"),  # urlsplit would raise on this
    ("::::?a=1&gclid=2", "::::?a=1"),
    ("not a url at all #frag", "not a url at all "),
    ("http://\u00e9x.example/\u00fc?\u00fc=1&utm_source=\x00", "http://\u00e9x.example/\u00fc?\u00fc=1"),
    ("https://n.example/a?%%%=1&utm_source=%ff", "https://n.example/a?%%%=1"),
])
def test_junk_input_never_raises(junk: str, expected: str) -> None:
    assert clean_url(junk) == expected

