"""Serve a folder on 127.0.0.1 with nginx, pre-gzipped files first.

nginx runs in the foreground as our child with its own config, pid, logs and
temp paths inside a private folder, and is stopped when the ``with`` block
ends. If nginx is missing and we are root, Debian's nginx-light is installed;
if that fails too, a threaded Python server (serve_python.py) stands in, and
``Server.kind`` says so.

    python bench/serve_nginx.py SITE_DIR --port 8080   # serve until Ctrl-C
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"
_CONF = """\
daemon off;
master_process on;
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
{user}
events {{ worker_connections 1024; }}
http {{
    types {{
        text/html html;
        application/xml xml;
        application/rss+xml rss;
        text/plain txt;
    }}
    default_type application/octet-stream;
    # "text/html; charset=utf-8", as news sites send it. Without a charset Scrapy guesses
    # one (charset_normalizer) for every page, on the still-gzipped body.
    charset utf-8;
    charset_types text/html application/xml application/rss+xml text/plain;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    gzip on;
    gzip_static on;
    gzip_vary on;
    gzip_types application/xml application/rss+xml text/plain;
    server {{
        listen {host}:{port};
        root {root};
        index index.html;
        location / {{ try_files $uri $uri/ =404; }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def find_nginx(install: bool = True) -> str | None:
    """The nginx binary; with ``install`` and root, apt-get installs it when missing."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None)
    if found or not install or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "install", "-y", "-q", "nginx-light"],
                ["apt-get", "update", "-q"],
                ["apt-get", "install", "-y", "-q", "nginx-light"]):
        print("bench: nginx missing, running", " ".join(cmd), file=sys.stderr)
        try:
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=300, check=False)
        except subprocess.TimeoutExpired:
            break
        if shutil.which("nginx") or os.access("/usr/sbin/nginx", os.X_OK):
            return shutil.which("nginx") or "/usr/sbin/nginx"
    return None


class Server:
    """nginx (or the Python fallback) serving ``root`` on 127.0.0.1:``port``."""

    def __init__(self, root: Path, port: int, *, allow_fallback: bool = True) -> None:
        self.root = root.resolve()
        self.port = port
        self.allow_fallback = allow_fallback
        self.kind = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        nginx = find_nginx()
        if nginx is not None and self._start_nginx(nginx):
            return
        if not self.allow_fallback:
            raise RuntimeError("nginx could not be started")
        print("bench: WARNING nginx unavailable; serving with the threaded Python server, "
              "which may be a bottleneck", file=sys.stderr)
        script = Path(__file__).with_name("serve_python.py")
        self.proc = subprocess.Popen([sys.executable, str(script), str(self.root),
                                      "--port", str(self.port)])
        if not wait_listening(self.port, self.proc):
            self.stop()
            raise RuntimeError("the fallback Python server did not start")
        self.kind = "python-threaded (fallback)"

    def _start_nginx(self, nginx: str) -> bool:
        self._tmp = tempfile.TemporaryDirectory(prefix="warcwire-bench-nginx-")
        tmp = Path(self._tmp.name)
        # As root, workers would switch to nobody, who cannot read a private temp folder.
        user = "user root root;" if os.geteuid() == 0 else ""
        conf = tmp / "nginx.conf"
        conf.write_text(_CONF.format(tmp=tmp, user=user, host=HOST, port=self.port,
                                     root=self.root))
        version = subprocess.run([nginx, "-v"], capture_output=True, text=True)
        self.proc = subprocess.Popen([nginx, "-p", str(tmp), "-c", str(conf), "-e",
                                      str(tmp / "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if wait_listening(self.port, self.proc):
            self.kind = (version.stderr.strip().split(":", 1)[-1].strip() or "nginx") + \
                " (gzip_static)"
            return True
        err = self.proc.stderr.read().decode(errors="replace") if self.proc.poll() is not None \
            else ""
        print(f"bench: nginx did not start: {err.strip()[:500]}", file=sys.stderr)
        self.stop()
        return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()  # nginx: SIGTERM = fast shutdown of master and workers
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if proc is not None and proc.stderr is not None:
            proc.stderr.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve a generated site with nginx.")
    parser.add_argument("root", type=Path)
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    args = parser.parse_args(argv)
    with Server(args.root, args.port or free_port()) as server:
        print(f"Serving {args.root} at {server.base_url} with {server.kind}; Ctrl-C stops")
        try:
            while server.proc is not None and server.proc.poll() is None:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
