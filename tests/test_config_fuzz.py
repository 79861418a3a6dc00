"""Fuzzing the config loader: any input gives a Config or one ConfigError, never a crash."""

from __future__ import annotations

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from warcwire.config import parse_config
from warcwire.exceptions import ConfigError

VALID = {
    "storage": "./archive",
    "sites": [{"name": "daily", "start_urls": ["https://news.example.org/"],
               "politeness": {"delay": 1, "concurrency": 2},
               "selectors": {"title": "css:h1"}, "schedule": "0 * * * *"}],
}
FIELDS = ["storage", "spool_dir", "warc", "scheduler", "sites", "name", "start_urls",
          "sitemaps", "feeds", "politeness", "delay", "concurrency", "selectors", "title",
          "schedule", "max_pages", "follow_depth", "rotate_size", "article_patterns",
          "allow_addresses", "timezone", "listen"]
scalars = (st.none() | st.booleans() | st.integers(-10**12, 10**12)
           | st.floats(allow_nan=True) | st.text(max_size=40)
           | st.sampled_from(["css:[[", "xpath://[", "*/0 * * * *", "1GB", "-1", "::",
                              "http://", "127.0.0.1:0", "Europe/Nowhere", "(", "\x00"]))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=8),
                                        inner, max_size=5), max_leaves=20)


def _mutate(doc: dict, path: list[str | int], value: object) -> dict:
    import copy

    out = copy.deepcopy(doc)
    node: object = out
    for step in path[:-1]:
        if not _has(node, step):
            return out
        node = node[step]  # type: ignore[index]
    last = path[-1]
    if isinstance(node, dict) or _has(node, last):
        node[last] = value  # type: ignore[index]
    return out


def _has(node: object, step: str | int) -> bool:
    if isinstance(node, dict):
        return step in node
    return isinstance(node, list) and isinstance(step, int) and step < len(node)


def _check(text: str) -> None:
    try:
        parse_config(text, "fuzz.yaml")
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("fuzz.yaml") and "\n" not in message, message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_arbitrary_text(text: str) -> None:
    _check(text)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FIELDS) | st.integers(0, 2), min_size=1, max_size=4), values)
def test_mutated_valid_config(path: list[str | int], value: object) -> None:
    doc = _mutate(VALID, ["sites", 0, *path] if path[0] not in VALID else path, value)
    _check(yaml.safe_dump(doc, allow_unicode=True))
