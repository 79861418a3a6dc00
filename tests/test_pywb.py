"""A crawl's WARCs and our CDXJ replay in pywb as they are, revisits of both kinds included.

pywb cannot share a venv with Scrapy (it pins redis==2.10.6, installs brotlipy and
gevent-patches sockets), so it gets its own venv, cached under
``~/.cache/warcwire-test/pywb-<version>-py<X.Y>`` (or ``$WARCWIRE_PYWB_VENV``) and
reused while its version matches. ``wb-manager`` and ``wayback`` run as
subprocesses; ``wayback`` listens on 127.0.0.1 only.
"""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.http import http_date

from tests._crawled import Crawled, crawl_and_index, served_body
from tests.fixtures_review import CHANGED_ARTICLE, RevisitArchive
from tests.fixtures_s3 import free_port

PYWB_VERSION = "2.10.0"
INSTALL_TIMEOUT = 900
START_TIMEOUT = 60
ARTICLE = "/news/turkey/istanbul-ferries-add-night-crossings.html"


def _venv_dir() -> Path:
    if os.environ.get("WARCWIRE_PYWB_VENV"):
        return Path(os.environ["WARCWIRE_PYWB_VENV"])
    tag = f"pywb-{PYWB_VERSION}-py{sys.version_info.major}.{sys.version_info.minor}"
    return Path.home() / ".cache" / "warcwire-test" / tag


def pywb_venv() -> Path:
    """The cached pywb venv; built (in a temp dir, then renamed into place) if missing."""
    venv = _venv_dir()
    if (venv / ".complete").exists():
        return venv
    venv.parent.mkdir(parents=True, exist_ok=True)
    build = Path(tempfile.mkdtemp(prefix=venv.name + ".", dir=venv.parent))
    try:
        started = time.monotonic()
        subprocess.run([sys.executable, "-m", "venv", str(build)], check=True, timeout=120,
                       capture_output=True)
        result = subprocess.run(
            [str(build / "bin" / "python"), "-m", "pip", "install", "-q",
             f"pywb=={PYWB_VERSION}"],
            capture_output=True, text=True, timeout=INSTALL_TIMEOUT)
        if result.returncode != 0:
            pytest.fail(f"pip install pywb=={PYWB_VERSION} failed:\n{result.stderr[-3000:]}")
        (build / ".complete").write_text(f"installed in {time.monotonic() - started:.0f}s\n")
        try:
            build.rename(venv)
        except OSError:  # another session finished first: use theirs
            shutil.rmtree(build, ignore_errors=True)
        # venv scripts hard-code the build path in their shebang; call them via python
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    return venv


def _tool(venv: Path, name: str) -> list[str]:
    """Run a console script through the venv's python (the venv may have been renamed)."""
    return [str(venv / "bin" / "python"), str(venv / "bin" / name)]


@pytest.fixture(scope="module")
def crawled(news_site: str, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    return crawl_and_index(news_site, tmp_path_factory.mktemp("pywb-crawl"),
                           warc={"rotate_size": "30kB"})


@pytest.fixture(scope="module")
def venv() -> Path:
    return pywb_venv()


def _collection(venv: Path, root: Path, archive: Path, warc_keys: list[str], *,
                ours: bool) -> None:
    """Collection 'coll' in ``root``: our CDXJ as is, or pywb's own index via wb-manager add."""
    subprocess.run([*_tool(venv, "wb-manager"), "init", "coll"], cwd=root, check=True,
                   capture_output=True, timeout=120)
    coll = root / "collections" / "coll"
    if ours:
        for key in warc_keys:
            target = coll / "archive" / key
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(archive / key, target)
            shutil.copyfile(archive / (key + ".cdxj"),
                            coll / "indexes" / (Path(key).name + ".cdxj"))
    else:
        warcs = [str(archive / key) for key in warc_keys]
        subprocess.run([*_tool(venv, "wb-manager"), "add", "coll", *warcs], cwd=root,
                       check=True, capture_output=True, timeout=300)


@contextmanager
def _wayback(venv: Path, root: Path) -> Iterator[str]:
    """``wayback`` running over the collections in ``root``; yields its base URL."""
    port = free_port()
    log = root / "wayback.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen([*_tool(venv, "wayback"), "-b", "127.0.0.1", "-p", str(port)],
                                cwd=root, stdout=fh, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"wayback exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            try:
                urllib.request.urlopen(base + "/", timeout=2).read()
                break
            except (urllib.error.URLError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"wayback not answering after {START_TIMEOUT}s:\n"
                                f"{log.read_text()[-3000:]}")
                time.sleep(0.2)
        yield base
    finally:
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            if proc.poll() is not None:
                break
            os.killpg(proc.pid, sig)
            try:
                proc.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue


@pytest.fixture(params=["our-cdxj", "wb-manager-add"])
def wayback(request: pytest.FixtureRequest, venv: Path, crawled: Crawled, tmp_path: Path
            ) -> Iterator[str]:
    """A running ``wayback`` over a collection of the crawl; yields its base URL."""
    _collection(venv, tmp_path, crawled.archive, crawled.warc_keys,
                ours=request.param == "our-cdxj")
    with _wayback(venv, tmp_path) as base:
        yield base


@pytest.fixture(params=["our-cdxj", "wb-manager-add"])
def revisit_wayback(request: pytest.FixtureRequest, venv: Path,
                    revisit_archive: RevisitArchive, tmp_path: Path) -> Iterator[str]:
    """``wayback`` over three crawls: whole responses, 304 and identical-payload revisits."""
    keys = sorted(p.relative_to(revisit_archive.archive).as_posix()
                  for p in revisit_archive.archive.rglob("*.warc.gz"))
    _collection(venv, tmp_path, revisit_archive.archive, keys,
                ours=request.param == "our-cdxj")
    with _wayback(venv, tmp_path) as base:
        yield base


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as resp:
            status, headers, body = resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        status, headers, body = exc.code, dict(exc.headers), exc.read()
    if headers.get("Content-Encoding") == "gzip":
        body = gzip.decompress(body)
    return status, headers, body


def test_pywb_replays_archived_pages(wayback: str, crawled: Crawled) -> None:
    from storage.catalog import Catalog

    catalog = Catalog(crawled.database_url)
    pages = [ARTICLE, "/", "/news/business/coffee-futures-slide-on-bumper-crop.html"]
    for path in pages:
        capture = catalog.closest(crawled.base + path)
        # identity mode: the archived body exactly
        status, _, body = _get(f"{wayback}/coll/{capture.timestamp}id_/{capture.url}")
        assert status == 200, (path, body[:500])
        assert body == served_body(crawled.base, path), path
        # the replay page: pywb's frame around the capture, then the rewritten capture
        status, _, frame = _get(f"{wayback}/coll/{capture.timestamp}/{capture.url}")
        assert status == 200 and capture.url.encode() in frame and b"replay_iframe" in frame
        status, headers, body = _get(f"{wayback}/coll/{capture.timestamp}mp_/{capture.url}")
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        title = served_body(crawled.base, path).split(b"<title>")[1].split(b"</title>")[0]
        assert title in body
        assert f"/coll/{capture.timestamp}mp_/{crawled.base}/".encode() in body  # links rewritten
    # something never archived is a 404 from the archive, not a live fetch
    status, _, _ = _get(f"{wayback}/coll/2026id_/{crawled.base}/never-archived.html")
    assert status == 404


def test_pywb_cdx_api_agrees_with_catalog(wayback: str, crawled: Crawled) -> None:
    from storage.catalog import Catalog

    catalog = Catalog(crawled.database_url)
    url = crawled.base + ARTICLE
    status, _, body = _get(f"{wayback}/coll/cdx?url={url}&output=json")
    assert status == 200
    import json

    lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
    ours = catalog.captures(url)
    assert [(x["timestamp"], int(x["offset"]), int(x["length"])) for x in lines] == \
        [(c.timestamp, c.offset, c.length) for c in ours]


def test_pywb_replays_every_revisit_with_its_original_payload(
        revisit_wayback: str, revisit_archive: RevisitArchive) -> None:
    from storage.catalog import Catalog
    from storage.local import LocalStore
    from storage.restore import read_capture, revisit_ref

    catalog = Catalog(revisit_archive.database_url)
    store = LocalStore(revisit_archive.archive)
    revisits = [c for c in catalog.captures(revisit_archive.base + "/", match="prefix")
                if c.revisit]
    profiles = {c.id: getattr(revisit_ref(read_capture(store, c)), "profile", None)
                for c in revisits}
    catalog.close()
    counts = Counter(profiles.values())
    assert counts["server-not-modified"] > 10 and counts["identical-payload-digest"] > 10, \
        counts
    for capture in revisits:
        path = capture.url.removeprefix(revisit_archive.base)
        assert path != CHANGED_ARTICLE  # every edit was archived whole
        status, headers, body = _get(f"{revisit_wayback}/coll/{capture.timestamp}id_/"
                                     f"{capture.url}")
        assert status == 200, (capture, profiles[capture.id], body[:300])
        assert body == revisit_archive.served(path), (capture, profiles[capture.id])
        # the revisit itself was replayed (its time), not the original it refers to
        assert headers["Memento-Datetime"] == http_date(capture.datetime), capture
