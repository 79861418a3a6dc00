"""A tiny HTTP/1.1 server on 127.0.0.1 that writes exactly the bytes a test asks for.

http.server normalises framing and headers; tests of wire fidelity need to
send chunked bodies, repeated headers and short bodies byte-for-byte, and to
see the raw request bytes the client sent.
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RawRequest:
    method: str
    target: str
    head: bytes  # request line + header lines + blank line, as received
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


@dataclass
class Reply:
    head: bytes  # status line + header lines + blank line
    chunks: list[bytes] = field(default_factory=list)  # written one by one, already framed
    close: bool = False  # close the connection after writing
    pause: float = 0.0  # seconds between chunks


def reply(
    status_line: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    *,
    chunked: bool = False,
    chunk_size: int = 7,
    close: bool = False,
    pause: float = 0.0,
) -> Reply:
    """Frame ``body`` (chunked or as given) behind exactly these header lines."""
    head = (status_line + "\r\n" + "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n")
    if not chunked:
        return Reply(head.encode("latin-1"), [body] if body else [], close, pause)
    parts = [body[i:i + chunk_size] for i in range(0, len(body), chunk_size)]
    chunks = [b"%x\r\n%s\r\n" % (len(p), p) for p in parts] + [b"0\r\n\r\n"]
    return Reply(head.encode("latin-1"), chunks, close, pause)


Route = Callable[[RawRequest], Reply]


class RawHTTPServer:
    """Serve ``routes`` (path -> function) with keep-alive; ``received`` logs every request."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.received: list[RawRequest] = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while outer._serve_one(self.rfile, self.connection):
                    pass

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, target: str) -> str:
        return f"http://127.0.0.1:{self.port}{target}"

    def __enter__(self) -> RawHTTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _serve_one(self, rfile, conn: socket.socket) -> bool:  # noqa: ANN001
        lines = []
        while True:
            line = rfile.readline(65537)
            if not line:
                return False
            lines.append(line)
            if line in (b"\r\n", b"\n"):
                break
        head = b"".join(lines)
        method, target, _ = lines[0].decode("latin-1").split(" ", 2)
        length = 0
        for line in lines[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        body = rfile.read(length) if length else b""
        request = RawRequest(method, target, head, body)
        self.received.append(request)
        route = self.routes.get(request.path)
        answer = route(request) if route else reply(
            "HTTP/1.1 404 Not Found", [("Content-Length", "9")], b"not found"
        )
        try:
            conn.sendall(answer.head)
            for chunk in answer.chunks:
                conn.sendall(chunk)
                if answer.pause:
                    time.sleep(answer.pause)
        except OSError:  # the client stopped reading (e.g. a stopped download)
            return False
        if answer.close:
            conn.shutdown(socket.SHUT_WR)
            return False
        return True
