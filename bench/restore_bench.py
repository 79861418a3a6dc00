"""Restore benchmark: one ranged read vs downloading and scanning the whole WARC.

Builds a WARC set of at least ``--size-gb`` (random, incompressible bodies, one
WARC per ``--warc-gb``), stores it in moto's S3 server on 127.0.0.1 with
S3Store, indexes it (streamed once), then restores one page from the middle of
a WARC two ways and prints both times and their ratio. Then fills a SQLite
catalog with ``--captures`` rows and times lookups.

    python bench/restore_bench.py                   # 1 GB set, 1 million captures
    python bench/restore_bench.py --size-gb 0.2 --captures 100000   # quick run
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from warcio.archiveiterator import ArchiveIterator  # noqa: E402

from storage.catalog import Catalog  # noqa: E402
from storage.indexer import index_stored  # noqa: E402
from storage.restore import as_html, read_capture  # noqa: E402
from storage.s3 import S3Store, make_client  # noqa: E402
from storage.warc import WarcRotatingWriter  # noqa: E402

BASE = "http://bench.example"


def build_warcs(spool: Path, size: int, per_warc: int, body_size: int) -> tuple[list[Path], str]:
    """Random-bodied exchanges until ``size`` bytes; returns files and a target URL."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    count = max(1, size // (body_size + 600))
    target_index = min(count - 1, (per_warc // (body_size + 600)) // 2)
    clock_t = [start]
    with WarcRotatingWriter(spool, "bench", rotate_size=per_warc, warcinfo={"run-id": "bench"},
                            clock=lambda: clock_t[0]) as writer:
        for i in range(count):
            clock_t[0] = start + timedelta(seconds=i)
            url = f"{BASE}/news/{i}.html"
            body = os.urandom(body_size)
            headers = [("Content-Type", "text/html"), ("Content-Length", str(body_size))]
            writer.write_exchange(
                writer.make_request_record(url, "GET", f"/news/{i}.html", []),
                writer.make_response_record(url, "HTTP/1.1 200 OK", headers, body))
        files = writer.close()
    return files, f"{BASE}/news/{target_index}.html"


def scan_whole(store: S3Store, key: str, url: str, tmp: Path) -> bytes:
    """The naive way: download the whole WARC, then scan it for the URL."""
    local = tmp / "download.warc.gz"
    with store.open(key) as src, local.open("wb") as dst:
        while chunk := src.read(8 * 1024 * 1024):
            dst.write(chunk)
    with local.open("rb") as fh:
        for record in ArchiveIterator(fh):
            if record.rec_type == "response" and \
                    record.rec_headers.get_header("WARC-Target-URI") == url:
                return bytes(record.content_stream().read())
    raise SystemExit(f"{url} not found in {key}")


def bench_restore(args: argparse.Namespace, tmp: Path) -> None:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one log line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update({"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "x",
                       "AWS_SECRET_ACCESS_KEY": "x", "AWS_DEFAULT_REGION": "us-east-1"})
    try:
        client = make_client()
        client.create_bucket(Bucket="bench")
        store = S3Store("bench", "warc", client=client)
        t = time.perf_counter()
        files, url = build_warcs(tmp / "spool", int(args.size_gb * 1e9), int(args.warc_gb * 1e9),
                                 args.body_kb * 1024)
        total = sum(f.stat().st_size for f in files)
        print(f"built {len(files)} WARC(s), {total / 1e9:.2f} GB, "
              f"in {time.perf_counter() - t:.1f}s")
        keys = []
        t = time.perf_counter()
        for f in files:
            key = f.relative_to(tmp / "spool").as_posix()
            store.put(f, key)
            keys.append(key)
            f.unlink()
        print(f"uploaded to moto S3 in {time.perf_counter() - t:.1f}s")
        catalog = Catalog(f"sqlite:///{tmp / 'restore.db'}")
        t = time.perf_counter()
        report = index_stored(store, catalog, keys, site="bench", run_id="bench")
        took = time.perf_counter() - t
        print(f"indexed {report.captures} captures from S3 in {took:.1f}s "
              f"({total / 1e6 / took:.0f} MB/s, CDXJ stored beside each WARC)")

        ranged = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            capture = catalog.closest(url)
            body = as_html(read_capture(store, capture))
            ranged.append(time.perf_counter() - t)
        floor = []
        for _ in range(5):
            t = time.perf_counter()
            store.open_range(capture.filename, 0, 1)
            floor.append(time.perf_counter() - t)
        warc_size = client.head_object(Bucket="bench", Key=f"warc/{capture.filename}")[
            "ContentLength"]
        t = time.perf_counter()
        whole = scan_whole(store, capture.filename, url, tmp)
        scanned = time.perf_counter() - t
        if whole != body:
            raise SystemExit("ranged and scanned bodies differ")
        best = min(ranged)
        print(f"restore {url} from {capture.filename} (record {capture.length} bytes "
              f"at offset {capture.offset})")
        print(f"  ranged read (catalog lookup + one Range GET): best {best * 1000:.1f} ms, "
              f"median {statistics.median(ranged) * 1000:.1f} ms of {args.repeat}")
        print(f"  download whole WARC + scan:                   {scanned:.2f} s")
        print(f"  ratio: {scanned / best:.0f}x faster by ranged read; bytes transferred "
              f"{capture.length} vs {warc_size} ({warc_size / capture.length:.0f}x fewer)")
        print(f"  (moto answers even a 1-byte Range GET of this {warc_size / 1e6:.0f} MB object "
              f"in {min(floor) * 1000:.0f} ms: it copies the object server-side, so with moto "
              "the ranged time grows with WARC size; a real S3 server's does not)")
    finally:
        server.stop()


def bench_catalog(args: argparse.Namespace, tmp: Path) -> None:
    n = args.captures
    hosts = max(1, n // 1000)
    rng = random.Random(5)
    catalog = Catalog(f"sqlite:///{tmp / 'catalog.db'}")

    def rows():
        for i in range(n):
            yield {"url": f"https://www.site{i % hosts}.example/news/{i // hosts}.html",
                   "timestamp": f"2026{1 + i % 12:02d}{1 + i % 28:02d}{i % 24:02d}0000",
                   "status": 200, "mime": "text/html", "digest": f"sha1:{i:032d}",
                   "length": 5000, "offset": i * 5000, "filename": f"w/{i // 100000}.warc.gz",
                   "site": f"site{i % 50}", "run_id": "bench"}

    t = time.perf_counter()
    added = catalog.add_captures(rows())
    print(f"catalog: {added} captures inserted in {time.perf_counter() - t:.1f}s (SQLite)")
    urls = [f"http://site{rng.randrange(hosts)}.example/news/{rng.randrange(n // hosts)}.html"
            for _ in range(args.lookups)]

    def timed(label: str, call) -> None:
        times = []
        for u in urls:
            t = time.perf_counter()
            call(u)
            times.append(time.perf_counter() - t)
        times.sort()
        print(f"  {label:<34} median {statistics.median(times) * 1000:.2f} ms   "
              f"p95 {times[int(len(times) * 0.95)] * 1000:.2f} ms   ({len(times)} lookups)")

    timed("captures(url)", catalog.captures)
    timed("closest(url, at)", lambda u: catalog.closest(u, "20260615"))
    timed("captures(host, match=prefix)",
          lambda u: catalog.captures(u.split("/news/")[0] + "/news/1", match="prefix"))
    timed("search(site=, limit=50)", lambda u: catalog.search(site="site7", limit=50))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gb", type=float, default=1.05, help="WARC set size")
    parser.add_argument("--warc-gb", type=float, default=0.5, help="rotate WARCs at this size")
    parser.add_argument("--body-kb", type=int, default=100, help="body size of each page")
    parser.add_argument("--repeat", type=int, default=20, help="ranged restores to time")
    parser.add_argument("--captures", type=int, default=1_000_000, help="catalog rows")
    parser.add_argument("--lookups", type=int, default=1000)
    parser.add_argument("--skip-restore", action="store_true")
    parser.add_argument("--skip-catalog", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="warcwire-restore-bench-") as tmp:
        if not args.skip_restore:
            bench_restore(args, Path(tmp))
        if not args.skip_catalog:
            bench_catalog(args, Path(tmp))


if __name__ == "__main__":
    main()
