"""Talking to a running ``warcwire serve`` from the CLI (status, trigger, reload)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from warcwire.config import SchedulerSettings
from warcwire.exceptions import ServiceRefused, ServiceUnavailable

TIMEOUT = 30.0


def service_address(config_path: str, listen: str | None = None) -> str:
    """host:port to reach the service: --listen, else the config's scheduler.listen.

    Read leniently: after a bad edit, ``warcwire reload`` must still find the
    service so the service can refuse the config and say why.
    """
    if not listen:
        try:
            raw = yaml.safe_load(Path(config_path).read_text(encoding="utf-8"))
            listen = raw["scheduler"]["listen"]
        except (OSError, yaml.YAMLError, KeyError, TypeError):
            listen = None
        if not isinstance(listen, str):
            listen = str(SchedulerSettings.model_fields["listen"].default)
    host, _, port = listen.rpartition(":")
    if host in ("0.0.0.0", "", "::", "[::]"):  # listening everywhere: ask locally
        host = "127.0.0.1"
    return f"{host}:{port}"


def call(address: str, method: str, path: str, *, timeout: float = TIMEOUT
         ) -> tuple[int, Any]:
    """(HTTP status, decoded body); ServiceUnavailable if nothing answers."""
    req = urllib.request.Request(f"http://{address}{path}", method=method,
                                 data=b"" if method == "POST" else None)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            status, body, ctype = resp.status, resp.read(), resp.headers.get_content_type()
    except urllib.error.HTTPError as exc:
        status, body, ctype = exc.code, exc.read(), exc.headers.get_content_type()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ServiceUnavailable(address, str(getattr(reason, "strerror", None) or reason)
                                 ) from None
    if ctype == "application/json":
        return status, json.loads(body)
    return status, body.decode("utf-8", "replace")


def call_ok(address: str, method: str, path: str) -> Any:
    """The body of a successful call; the service's error as ServiceRefused otherwise."""
    status, body = call(address, method, path)
    if status >= 400:
        message = body.get("error") if isinstance(body, dict) else str(body)
        raise ServiceRefused(message or f"HTTP {status}",
                             exit_code=2 if status in (404, 422) else 1)
    return body
