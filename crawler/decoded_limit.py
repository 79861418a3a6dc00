"""Bound decompression: a small gzip body must not inflate without limit (gzip bombs).

warcwire sets ``DOWNLOAD_MAXSIZE = 0`` so Scrapy never cancels a raw download
(the capture middleware cuts and archives oversized bodies itself). But Scrapy's
HttpCompressionMiddleware takes its decoded-size limit from the same setting, so
decompression was unbounded: a 200 kB gzip body inflated to 200 MB in memory.

This subclass keeps the raw download unlimited and caps the *decoded* body at
:func:`decoded_size_limit`. Past it Scrapy's middleware stops inflating (it
decompresses in chunks and checks as it goes) and raises ``IgnoreRequest``; the
compressed response is already archived as sent by the capture middleware (950).
The spider counts the failure as ``decoded_too_large``. A per-request
``download_maxsize`` in meta still takes precedence, as in Scrapy.
"""

from __future__ import annotations

from scrapy.crawler import Crawler
from scrapy.downloadermiddlewares.httpcompression import HttpCompressionMiddleware
from scrapy.settings import BaseSettings

from warcwire import defaults

# Used when bodies are archived without a limit (WARCWIRE_WARC_MAX_BODY_SIZE = 0):
# Scrapy's own DOWNLOAD_MAXSIZE default.
FALLBACK_LIMIT = 1024 * 1024 * 1024
# Marks the IgnoreRequest HttpCompressionMiddleware raises past the limit.
DECOMPRESSION_MESSAGE = "during decompression"


def decoded_size_limit(settings: BaseSettings) -> int:
    """Largest decoded (gunzipped, inflated, ...) body: the archive body limit."""
    explicit = settings.getint("DOWNLOAD_MAXSIZE")
    if explicit:
        return explicit
    limit = settings.getint("WARCWIRE_WARC_MAX_BODY_SIZE", defaults.WARC_MAX_BODY_SIZE)
    return limit or FALLBACK_LIMIT


class BoundedHttpCompressionMiddleware(HttpCompressionMiddleware):
    """Scrapy's HttpCompressionMiddleware with a decoded-size limit even when
    DOWNLOAD_MAXSIZE is 0."""

    def __init__(self, stats: object = None, *, crawler: Crawler | None = None) -> None:
        super().__init__(crawler=crawler)
        if crawler is not None:
            self._max_size = decoded_size_limit(crawler.settings)
