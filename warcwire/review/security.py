"""Who may use the review page, and what the browser may do with what it serves.

* Bound to a loopback address, the page is open to the local user, but only
  under a loopback Host name (a web page that DNS-rebinds its name to
  127.0.0.1 cannot read it).
* Bound to anything else, it needs a token: given once as ``?token=``, then
  kept in an HttpOnly, SameSite=Strict cookie (or sent as a Bearer header).
* Archived pages are replayed from a second listener, another origin, inside a
  sandboxed iframe, under a Content-Security-Policy that forbids scripts,
  connections and anything not served by the replay origin itself. Replay
  URLs carry a key derived from the token, so the replay origin is no way
  around it.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os

from warcwire.exceptions import WarcwireError

TOKEN_ENV = "WARCWIRE_REVIEW_TOKEN"
COOKIE = "warcwire_review"
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


class TokenRequired(WarcwireError):
    exit_code = 2

    def __init__(self, host: str) -> None:
        super().__init__(
            f"Refusing to serve the review page on {host} without a token: pass --token T "
            f"or set {TOKEN_ENV} (or bind 127.0.0.1)")


def is_loopback(host: str) -> bool:
    name = host.strip("[]").lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def resolve_token(host: str, token: str | None) -> str | None:
    """The token to require, or None on loopback without one; refuse otherwise."""
    token = token or os.environ.get(TOKEN_ENV) or None
    if token is None and not is_loopback(host):
        raise TokenRequired(host)
    return token


class Guard:
    """Checks a request's Host and credentials; one per server, shared by both listeners."""

    def __init__(self, host: str, token: str | None) -> None:
        self.token = token
        self.loopback_only = is_loopback(host)
        secret = (token or "").encode()
        self.session = _derive(secret, b"session") if token else ""
        # replay paths start with this key; without a token there is nothing to protect
        self.replay_key = _derive(secret, b"replay")[:24] if token else "r"

    def host_allowed(self, host_header: str | None) -> bool:
        if not self.loopback_only:
            return True
        name = hostname(host_header or "")
        return name in LOOPBACK_NAMES

    def token_ok(self, candidate: str | None) -> bool:
        return bool(self.token) and candidate is not None and hmac.compare_digest(
            candidate.encode(), (self.token or "").encode())

    def session_ok(self, cookie: str | None, authorization: str | None) -> bool:
        if not self.token:
            return True
        if cookie and hmac.compare_digest(cookie.encode(), self.session.encode()):
            return True
        scheme, _, value = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and self.token_ok(value.strip())

    def replay_key_ok(self, key: str) -> bool:
        return hmac.compare_digest(key.encode(), self.replay_key.encode())


def _derive(secret: bytes, purpose: bytes) -> str:
    return hmac.new(secret, purpose, hashlib.sha256).hexdigest()


def hostname(host_header: str) -> str:
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def ui_headers(replay_origin: str) -> list[tuple[str, str]]:
    """The UI runs no script at all; it may frame only the replay origin."""
    csp = ("default-src 'none'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
           f"frame-src {replay_origin}; form-action 'self'; base-uri 'none'; "
           "frame-ancestors 'none'; script-src 'none'")
    return [
        ("Content-Security-Policy", csp),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        ("Cross-Origin-Opener-Policy", "same-origin"),
        ("Cross-Origin-Resource-Policy", "same-origin"),
    ]


def replay_headers(ui_origin: str) -> list[tuple[str, str]]:
    """Archived bytes may load only from the replay origin, never run, never call out.

    ``sandbox`` repeats the iframe's sandbox, so a replay URL opened on its own
    is just as confined.
    """
    csp = ("default-src 'self' data: blob:; script-src 'none'; connect-src 'none'; "
           "object-src 'none'; worker-src 'none'; manifest-src 'none'; "
           "style-src 'self' 'unsafe-inline' data:; base-uri 'self'; form-action 'self'; "
           f"frame-ancestors {ui_origin} 'self'; sandbox")
    return [
        ("Content-Security-Policy", csp),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        # no Cross-Origin-Resource-Policy: the sandboxed page has an opaque origin, so
        # to the browser its own images are cross-origin loads
        ("Cache-Control", "private, no-cache"),
    ]
