"""The service's control API: a few JSON endpoints and Prometheus metrics over HTTP.

Standard library only (``ThreadingHTTPServer``); it listens on 127.0.0.1 by
default and has no authentication, so it must not be exposed beyond the
machine (or pod) without a proxy in front. Requests carrying an ``Origin``
header are refused, so a web page in a local browser cannot trigger crawls.

    GET  /health          {"status": "ok"}  (503 while stopping)
    GET  /status          service and per-site state: last run, next run, running now
    GET  /metrics         Prometheus text exposition
    POST /trigger/<site>  crawl now (202); 404 unknown site; 409 already running
    POST /reload          re-read the config (200); 422 and the error if it is invalid
"""

from __future__ import annotations

import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from warcwire.exceptions import AlreadyRunning, ConfigError, ListenError, UnknownSite, WarcwireError

if TYPE_CHECKING:
    from jobs.service import Service

logger = logging.getLogger(__name__)

METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "warcwire"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        logger.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload, indent=1).encode() + b"\n",
                   "application/json")

    def _refuse_browsers(self) -> bool:
        if self.headers.get("Origin") is not None:
            self._json(HTTPStatus.FORBIDDEN, {"error": "requests from web pages are refused"})
            return True
        return False

    def do_GET(self) -> None:  # noqa: N802
        if self._refuse_browsers():
            return
        service = self.server.service
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path == "/health":
            stopping = service.stopping.is_set()
            self._json(HTTPStatus.SERVICE_UNAVAILABLE if stopping else HTTPStatus.OK,
                       {"status": "stopping" if stopping else "ok"})
        elif path == "/status":
            self._json(HTTPStatus.OK, service.status())
        elif path == "/metrics":
            self._send(HTTPStatus.OK, service.metrics_text().encode(), METRICS_TYPE)
        elif path in ("/reload",) or path.startswith("/trigger/"):
            self._json(HTTPStatus.METHOD_NOT_ALLOWED, {"error": "use POST"})
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: {path}"})

    do_HEAD = do_GET

    def do_POST(self) -> None:  # noqa: N802
        if self._refuse_browsers():
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 65536))
        service = self.server.service
        path = self.path.split("?", 1)[0].rstrip("/")
        try:
            if path.startswith("/trigger/"):
                site = path[len("/trigger/"):]
                service.trigger(site)
                self._json(HTTPStatus.ACCEPTED, {"site": site, "status": "started"})
            elif path == "/reload":
                self._json(HTTPStatus.OK, {"status": "reloaded", "message": service.reload()})
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such endpoint: {path}"})
        except UnknownSite as exc:
            self._json(HTTPStatus.NOT_FOUND, {"error": str(exc)})
        except AlreadyRunning as exc:
            self._json(HTTPStatus.CONFLICT, {"error": str(exc)})
        except ConfigError as exc:
            self._json(HTTPStatus.UNPROCESSABLE_ENTITY,
                       {"error": f"Config not reloaded, the current one stays in force: {exc}"})
        except WarcwireError as exc:
            self._json(HTTPStatus.SERVICE_UNAVAILABLE, {"error": str(exc)})
        except Exception as exc:  # report, keep serving
            logger.exception("Control API request %s failed", path)
            self._json(HTTPStatus.INTERNAL_SERVER_ERROR, {"error": f"internal error: {exc}"})


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], service: Service) -> None:
        self.service = service
        super().__init__(address, _Handler)


class ControlAPI:
    """Serves the API in a background thread until :meth:`stop`."""

    def __init__(self, service: Service, listen: str) -> None:
        self.listen = listen
        try:
            self.server = _Server(split_listen(listen), service)
        except OSError as exc:
            raise ListenError(listen, exc.strerror or str(exc)) from None
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={
            "poll_interval": 0.5}, name="warcwire-api", daemon=True)

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host.decode() if isinstance(host, bytes) else host}:{port}"

    def start(self) -> None:
        self.thread.start()
        logger.info("Control API on http://%s/ (health, status, metrics, trigger, reload)",
                    self.address)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
