"""Defaults several layers share, declared once: the config model, the Scrapy settings,
the WARC writer and the articles writer all take them from here."""

from __future__ import annotations

WARC_PREFIX = "warcwire"  # first part of every WARC and articles file name
WARC_ROTATE_SIZE = 1_000_000_000  # bytes: start a new WARC after this
WARC_MAX_BODY_SIZE = 50_000_000  # bytes: longer bodies are cut, marked WARC-Truncated
