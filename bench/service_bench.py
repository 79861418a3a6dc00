"""The scheduler service's own overhead.

1. Start-up cost of one crawl: from spawning the crawl child (``python -m jobs.child``,
   exactly as ``warcwire serve`` does) to its first request arriving at a local site,
   median of N runs.
2. The idle service: ``warcwire serve`` with 200 configured sites (none due during the
   measurement), its CPU seconds and resident memory over ~30 s.

    python bench/service_bench.py [--runs 5] [--idle 30] [--sites 200]

Everything runs on 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jobs import child as crawl_child  # noqa: E402

PAGE = b"<html><head><title>t</title></head><body><p>one page</p></body></html>"


class _FirstRequest(BaseHTTPRequestHandler):
    first: float | None = None

    def do_GET(self) -> None:  # noqa: N802
        if type(self).first is None:
            type(self).first = time.monotonic()
        body = b"User-agent: *\nAllow: /\n" if self.path == "/robots.txt" else PAGE
        self.send_response(200)
        self.send_header("Content-Type", "text/plain" if self.path == "/robots.txt"
                         else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def crawl_startup(tmp: Path, runs: int) -> list[float]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FirstRequest)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    config = tmp / "startup.yaml"
    config.write_text(yaml.safe_dump({
        "storage": str(tmp / "archive"), "spool_dir": str(tmp / "spool"),
        "data_dir": str(tmp / "state"),
        "sites": [{"name": "one", "start_urls": [url], "follow_depth": 0, "max_pages": 1,
                   "politeness": {"delay": 0, "autothrottle": False},
                   "allow_addresses": ["127.0.0.1"]}]}))
    times = []
    try:
        for i in range(runs):
            _FirstRequest.first = None
            cmd = crawl_child.command("one", str(config), f"bench-{i}", tmp / f"s{i}.json")
            t0 = time.monotonic()
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                    cwd=ROOT)
            proc.wait(timeout=120)
            if _FirstRequest.first is None:
                raise SystemExit(f"crawl child exited {proc.returncode} without a request")
            times.append(_FirstRequest.first - t0)
    finally:
        server.shutdown()
    return times


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def idle_service(tmp: Path, n_sites: int, seconds: float) -> dict[str, float]:
    listen = f"127.0.0.1:{_free_port()}"
    now = datetime.now(UTC)
    sites = []
    for i in range(n_sites):
        # daily, between 2 and 20 hours from now: none is due while we measure
        at = now + timedelta(hours=2) + timedelta(minutes=(i * 7) % (18 * 60))
        sites.append({"name": f"site-{i:03d}", "start_urls": [f"https://site{i}.invalid/"],
                      "schedule": f"{at.minute} {at.hour} * * *"})
    config = tmp / "idle.yaml"
    config.write_text(yaml.safe_dump({
        "storage": str(tmp / "archive"), "spool_dir": str(tmp / "spool"),
        "data_dir": str(tmp / "state-idle"), "scheduler": {"listen": listen},
        "sites": sites}))
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "warcwire.cli", "serve", "--config",
                             str(config)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://{listen}/health", timeout=2):
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("service did not come up") from None
                time.sleep(0.1)
        ready = time.monotonic() - t0
        time.sleep(2)  # let start-up work settle before measuring idle
        cpu0, w0 = _cpu_seconds(proc.pid), time.monotonic()
        time.sleep(seconds)
        cpu1, w1 = _cpu_seconds(proc.pid), time.monotonic()
        return {"ready_s": ready, "idle_window_s": w1 - w0, "cpu_s": cpu1 - cpu0,
                "cpu_pct": 100 * (cpu1 - cpu0) / (w1 - w0), "rss_mb": _rss_mb(proc.pid)}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="crawl start-ups to time")
    parser.add_argument("--idle", type=float, default=30.0, help="idle seconds to measure")
    parser.add_argument("--sites", type=int, default=200, help="configured sites when idle")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="warcwire-bench-") as d:
        tmp = Path(d)
        times = crawl_startup(tmp, args.runs)
        print(f"crawl child start-up (spawn -> first request), {len(times)} runs: "
              f"median {statistics.median(times):.2f}s, min {min(times):.2f}s, "
              f"max {max(times):.2f}s")
        idle = idle_service(tmp, args.sites, args.idle)
        print(f"warcwire serve with {args.sites} sites: ready in {idle['ready_s']:.2f}s; "
              f"idle over {idle['idle_window_s']:.1f}s: CPU {idle['cpu_s']:.3f}s "
              f"({idle['cpu_pct']:.2f}% of one core), RSS {idle['rss_mb']:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
