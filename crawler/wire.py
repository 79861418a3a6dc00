"""What Scrapy's request and response were on the wire, as an :class:`Exchange` to archive.

What cannot be recovered from Scrapy's response: Twisted de-chunks the body and
keeps Content-Length, Transfer-Encoding, Connection and Keep-Alive out of the
response headers, header-name case is normalised, and lines of different names
are regrouped by name (repeats of one name keep their order). The archived
Content-Length is therefore the stored body length.

Credentials are not archived: the values of the header names in ``redact`` are
stored as ``[redacted]`` and the exchange lists the names replaced.
"""

from __future__ import annotations

import re
from datetime import datetime
from http import HTTPStatus
from urllib.parse import urldefrag

from scrapy import Request
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.abstract import isIPv6Address
from twisted.web.client import URI
from twisted.web.http_headers import Headers as TxHeaders

from storage.warc.exchange import Exchange, Original

_HTTP_VERSION = re.compile(r"^HTTP/\d\.\d$")
# Sent to a proxy only; an operator credential, never archived.
PROXY_CREDENTIALS = frozenset({b"proxy-authorization"})
# The site's credentials; archived only when the site opts in.
SITE_CREDENTIALS = frozenset({b"authorization", b"cookie"})
REDACTED = "[redacted]"


def build_exchange(request: Request, response: Response, *, sent: datetime,
                   truncated: str | None, max_body_size: int,
                   redact: frozenset[bytes], previous: Original | None = None) -> Exchange:
    """The exchange to archive; a body cut for length is cut to ``max_body_size``."""
    body = response.body
    if truncated == "length" and max_body_size:
        body = body[:max_body_size]
    url = urldefrag(request.url)[0]
    protocol = response.protocol or "HTTP/1.1"
    is_http1 = bool(_HTTP_VERSION.match(protocol))
    headers, redacted = _redact(_request_headers(request, url), redact)
    return Exchange(
        url=url,
        method=request.method,
        target=_request_target(request, url),
        request_headers=headers,
        request_body=request.body,
        status_line=_status_line(protocol if is_http1 else "HTTP/1.1", response.status),
        response_headers=_response_headers(response, len(body)),
        body=body,
        sent=sent,
        ip=str(response.ip_address) if response.ip_address is not None else None,
        warc_protocol=None if is_http1 else protocol,
        truncated=truncated,
        redacted=tuple(redacted),
        previous=previous,
    )


def _status_line(http_version: str, status: int) -> str:
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:  # Scrapy does not keep the server's reason phrase
        reason = ""
    return f"{http_version} {status} {reason}".rstrip()


def _request_target(request: Request, url: str) -> str:
    """Origin form as Twisted sends it; absolute form through a plain HTTP proxy."""
    if request.meta.get("proxy") and urlparse_cached(request).scheme == "http":
        return url
    return URI.fromBytes(url.encode("ascii")).originForm.decode("ascii")


def _request_headers(request: Request, url: str) -> list[tuple[str, str]]:
    """Header lines in the order Twisted's HTTP/1.1 client writes them."""
    lines: list[tuple[bytes, bytes]] = []
    if request.body or request.method in ("POST", "PUT"):
        lines.append((b"Content-Length", str(len(request.body)).encode()))
    headers = TxHeaders(request.headers)
    for name, values in headers.getAllRawHeaders():
        lines.extend((name, value) for value in values)
    if not headers.hasHeader(b"Host"):
        uri = URI.fromBytes(url.encode("ascii"))
        host = b"[" + uri.host + b"]" if isIPv6Address(uri.host.decode()) else uri.host
        if (uri.scheme, uri.port) not in ((b"http", 80), (b"https", 443)):
            host += b":%d" % uri.port
        lines.append((b"Host", host))
    return [(n.decode("latin-1"), v.decode("latin-1")) for n, v in lines]


def _redact(lines: list[tuple[str, str]], names: frozenset[bytes]
            ) -> tuple[list[tuple[str, str]], list[str]]:
    """Header lines with credential values replaced, and the names replaced."""
    out: list[tuple[str, str]] = []
    redacted: list[str] = []
    for name, value in lines:
        if name.lower().encode("latin-1") in names:
            value = REDACTED
            if name not in redacted:
                redacted.append(name)
        out.append((name, value))
    return out, redacted


def _response_headers(response: Response, body_length: int) -> list[tuple[str, str]]:
    """Received headers with one Content-Length that matches the stored body."""
    lines: list[tuple[str, str]] = []
    length_written = False
    for name, values in TxHeaders(response.headers).getAllRawHeaders():
        lname = name.lower()
        if lname == b"transfer-encoding":
            continue  # the body is stored de-chunked
        if lname == b"content-length":
            if not length_written:
                lines.append(("Content-Length", str(body_length)))
                length_written = True
            continue
        lines.extend((name.decode("latin-1"), v.decode("latin-1")) for v in values)
    if not length_written:
        lines.append(("Content-Length", str(body_length)))
    return lines
