"""The replay listener: archived pages and their resources, on an origin of their own.

Paths are ``/<key>/<timestamp>/<archived url>``; each answers with the capture
of that URL closest to the timestamp, with HTML and CSS rewritten so every
link and resource stays inside this space. A revisit answers with its own
status and headers and the payload of the capture it refers to. Anything not archived is a 404
from here; nothing is ever fetched from the live web. Every response carries
the confining headers of :func:`warcwire.review.security.replay_headers`.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from werkzeug.http import http_date
from werkzeug.wrappers import Request, Response

from warcwire.exceptions import RestoreError
from warcwire.review.archive import Payload, ReviewArchive
from warcwire.review.rewrite import UrlRewriter, rewrite_css, rewrite_html
from warcwire.review.security import Guard, replay_headers

logger = logging.getLogger(__name__)

_PATH = re.compile(r"^/(?P<key>[A-Za-z0-9]+)/(?P<ts>\d{1,14})/(?P<url>https?:/.*)$", re.I)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_\-]+)""", re.I)
_CSS_CHARSET = re.compile(rb"""^@charset\s+["']([A-Za-z0-9_\-]+)["']""")
_HTML_TYPES = {"text/html", "application/xhtml+xml"}


def replay_path(key: str, timestamp: str, url: str) -> str:
    """Where the capture of ``url`` nearest ``timestamp`` replays, on the replay origin."""
    return f"/{key}/{timestamp}/{quote(url, safe=_URL_SAFE)}"


_URL_SAFE = "/:?&=#%+@!$'()*,;~[]-._"


def _decode(body: bytes, declared: str | None, sniff: re.Pattern[bytes]) -> str:
    candidates = [declared]
    m = sniff.search(body[:4096])
    if m:
        candidates.append(m.group(1).decode("ascii"))
    for charset in [*candidates, "utf-8"]:
        if not charset:
            continue
        try:
            return body.decode(charset, errors="replace")
        except LookupError:
            continue
    return body.decode("utf-8", errors="replace")


class ReplayApp:
    """WSGI app of the replay origin."""

    def __init__(self, archive: ReviewArchive, guard: Guard,
                 ui_origin: Callable[[str], str]) -> None:
        self.archive = archive
        self.guard = guard
        self.ui_origin = ui_origin  # host name the browser used -> origin of the UI

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self.dispatch(request)
        except Exception:  # a broken record must not take the listener down
            logger.exception("replay of %s failed", request.path)
            response = self._message(500, "This capture could not be read from the archive.")
        for name, value in replay_headers(self.ui_origin(request.host)):
            response.headers[name] = value
        return response(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        if not self.guard.host_allowed(request.host):
            return self._message(421, "Unknown host name.")
        if request.method not in ("GET", "HEAD"):
            return self._message(405, "Replay is read-only.")
        raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
        raw = raw or quote(request.path) + (f"?{request.query_string.decode()}"
                                            if request.query_string else "")
        m = _PATH.match(raw)
        if not m or not self.guard.replay_key_ok(m.group("key")):
            return self._message(404, "Not a replay address.")
        ts, url = m.group("ts"), _normalize_scheme(m.group("url"))
        capture = self.archive.closest(url, ts)
        if capture is None:
            return self._message(404, "Not archived", url)
        try:
            payload = self.archive.payload(capture)
        except RestoreError as exc:  # a revisit whose original is not in the catalog
            logger.warning("replay of %s: %s", url, exc)
            return self._message(404, "Not archived", url)
        rewriter = UrlRewriter(
            capture.url, lambda u: replay_path(m.group("key"), capture.timestamp, u))
        response = self._serve(payload, rewriter)
        # when this was captured (RFC 7089); for a revisit its own time, not its original's
        response.headers["Memento-Datetime"] = http_date(capture.datetime)
        return response

    def _serve(self, payload: Payload, rewriter: UrlRewriter) -> Response:
        location = payload.header("Location")
        if 300 <= payload.status < 400 and location:
            return Response(status=302, headers={"Location": rewriter.url(location)})
        mime = payload.mime
        if mime in _HTML_TYPES:
            text = _decode(payload.body, payload.charset, _META_CHARSET)
            return Response(rewrite_html(text, rewriter), status=payload.status,
                            content_type="text/html; charset=utf-8")
        if mime == "text/css":
            text = _decode(payload.body, payload.charset, _CSS_CHARSET)
            return Response(rewrite_css(text, rewriter), status=payload.status,
                            content_type="text/css; charset=utf-8")
        return Response(payload.body, status=payload.status, content_type=payload.content_type)

    @staticmethod
    def _message(status: int, message: str, url: str | None = None) -> Response:
        detail = (f"<p><code>{html.escape(url)}</code> is not in the archive, so it is not "
                  "shown: replay never loads anything from the live web.</p>") if url else ""
        body = (f"<!doctype html><meta charset=utf-8><title>{status} {html.escape(message)}"
                "</title><style>body{font:15px/1.5 system-ui,sans-serif;margin:3rem auto;"
                "max-width:36rem;color:#333;padding:0 1rem}code{word-break:break-all}</style>"
                f"<h1>{html.escape(message)}</h1>{detail}")
        return Response(body, status=status, content_type="text/html; charset=utf-8")


def _normalize_scheme(url: str) -> str:
    """Some clients collapse ``http://`` in a path to ``http:/``; put the slash back."""
    return re.sub(r"^(https?):/(?!/)", r"\1://", url, flags=re.I)
