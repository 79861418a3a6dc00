"""Short names for why a request failed, as the run summary counts them."""

from __future__ import annotations

import logging
from typing import Any

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadConnectionRefusedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.internet.error import (
    ConnectionRefusedError,
    DNSLookupError,
    TCPTimedOutError,
    TimeoutError,
)
from twisted.python.failure import Failure

from crawler.decoded_limit import DECOMPRESSION_MESSAGE
from crawler.ssrf import BlockedAddress


def classify_failure(failure: Failure) -> str:
    """A short name for why a request failed, for the run summary."""
    if failure.check(HttpError):
        status = failure.value.response.status
        return f"http_{status // 100}xx"
    if failure.check(DNSLookupError, CannotResolveHostError):
        return "dns"
    if failure.check(ConnectionRefusedError, DownloadConnectionRefusedError):
        return "connection_refused"
    if failure.check(ResponseDataLossError):
        return "data_loss"
    if failure.check(TimeoutError, TCPTimedOutError, DownloadTimeoutError):
        return "timeout"
    if failure.check(BlockedAddress):
        return "blocked_address"
    if failure.check(IgnoreRequest):
        # Scrapy raises IgnoreRequest for these too; they are failures, not robots.txt
        message = str(failure.value)
        if "max redirections" in message:  # RedirectMiddleware: chain over REDIRECT_MAX_TIMES
            return "redirect_limit"
        if DECOMPRESSION_MESSAGE in message:  # decoded body over the limit (gzip bomb)
            return "decoded_too_large"
        return "ignored"
    return failure.type.__name__ if failure.type else "unknown"


def quiet_retry_log(settings: Any) -> None:
    """Below INFO, leave failures to the run summary, which counts and lists each one.

    Scrapy's retry middleware logs every request it gives up on as an ERROR: in a
    quiet crawl (cron mails every line) that repeats the summary line by line.
    """
    level = logging.getLevelName(str(settings.get("LOG_LEVEL", "INFO")))
    if isinstance(level, int) and level >= logging.WARNING:
        logging.getLogger("scrapy.downloadermiddlewares.retry").setLevel(logging.CRITICAL)
