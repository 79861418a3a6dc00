"""Two listeners in one process: the UI, and the replay origin on the next port.

Different ports are different origins to a browser, so an archived page
replayed in the UI's iframe cannot reach the UI's DOM, storage or API.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from warcwire.exceptions import WarcwireError
from warcwire.review.archive import ReviewArchive
from warcwire.review.replay import ReplayApp
from warcwire.review.security import Guard, hostname, resolve_token
from warcwire.review.ui import ReviewUI

logger = logging.getLogger(__name__)


class ListenError(WarcwireError):
    exit_code = 2

    def __init__(self, host: str, port: int, reason: str, flag: str) -> None:
        super().__init__(f"Cannot listen on {host}:{port}: {reason} (choose another with {flag})")


def _origin(name: str, port: int) -> str:
    host = f"[{name}]" if ":" in name else name
    return f"http://{host}:{port}"


class ReviewServer:
    """The review UI and its replay origin; use as a context manager or ``serve_forever``."""

    def __init__(self, archive: ReviewArchive, host: str = "127.0.0.1", port: int = 8750,
                 replay_port: int | None = None, token: str | None = None) -> None:
        self.host = host
        self.guard = Guard(host, resolve_token(host, token))
        self.ui_app = ReviewUI(archive, self.guard, self.replay_origin)
        self.replay_app = ReplayApp(archive, self.guard, self.ui_origin)
        self._ui = self._listen(port, self.ui_app, "--port")
        if replay_port is None:
            replay_port = self._ui.server_port + 1 if port else 0
        try:
            self._replay = self._listen(replay_port, self.replay_app, "--replay-port")
        except ListenError:
            self._ui.server_close()
            raise
        self._threads: list[threading.Thread] = []

    def _listen(self, port: int, app: Any, flag: str) -> BaseWSGIServer:
        try:
            server = make_server(self.host, port, app, threaded=True)
        except (OSError, SystemExit) as exc:  # werkzeug exits on "address in use"
            raise ListenError(self.host, port, getattr(exc, "strerror", None) or
                              "address in use", flag) from None
        return server

    @property
    def port(self) -> int:
        return int(self._ui.server_port)

    @property
    def replay_port(self) -> int:
        return int(self._replay.server_port)

    def ui_origin(self, host_header: str) -> str:
        return _origin(hostname(host_header) or self.host, self.port)

    def replay_origin(self, host_header: str) -> str:
        return _origin(hostname(host_header) or self.host, self.replay_port)

    @property
    def url(self) -> str:
        return _origin(self.host, self.port) + "/"

    def start(self) -> ReviewServer:
        for name, server in (("review-ui", self._ui), ("review-replay", self._replay)):
            thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in (self._ui, self._replay):
            if self._threads:
                server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads.clear()

    def serve_forever(self) -> None:
        self.start()
        try:
            while any(t.is_alive() for t in self._threads):
                for t in self._threads:
                    t.join(timeout=0.5)
        finally:
            self.stop()

    def __enter__(self) -> ReviewServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
