"""Restore by URL and time, from a local folder and from S3, with one ranged read."""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from storage.catalog import Catalog
from storage.indexer import index_stored, reindex
from storage.local import LocalStore
from storage.restore import (
    as_html,
    as_http,
    as_warc,
    page_with_resources,
    read_capture,
    restore_capture,
    safe_name,
    safe_path,
    write_files,
)
from storage.s3 import S3Store, make_client
from storage.warc import WarcRotatingWriter
from tests._crawled import Crawled, crawl_and_index, served_body
from tests.fixtures_s3 import S3Server
from tests.fixtures_site import run_cli
from warcwire.demo import sample_site_root
from warcwire.exceptions import OutputExists, UnsafeOutputPath

MANIFEST = json.loads((sample_site_root().parent / "manifest.json").read_text())
ARTICLE = "/news/turkey/istanbul-ferries-add-night-crossings.html"


class _CountingFile:
    """A file whose reads are counted by its store."""

    def __init__(self, fh: Any, store: CountingLocalStore) -> None:
        self._fh, self._store = fh, store

    def read(self, size: int = -1) -> bytes:
        data = self._fh.read(size)
        self._store.bytes_read += len(data)
        return bytes(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fh, name)

    def __enter__(self) -> _CountingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._fh.close()


class CountingLocalStore(LocalStore):
    """A LocalStore that counts the bytes read from it, to prove restore reads one range."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.bytes_read = 0
        self.ranges: list[tuple[str, int, int]] = []

    def open(self, key: str) -> Any:
        return _CountingFile(super().open(key), self)

    def open_range(self, key: str, offset: int, length: int) -> bytes:
        self.ranges.append((key, offset, length))
        return super().open_range(key, offset, length)


class RecordingS3Store(S3Store):
    """An S3Store that records the HTTP requests its client really sends."""

    def __init__(self, bucket: str) -> None:
        super().__init__(bucket, client=make_client())
        self.requests: list[tuple[str, str, str | None]] = []  # (method, url, Range)
        self.received: list[int] = []
        events = self._client.meta.events
        events.register("before-send.s3", self._on_send)
        events.register("after-call.s3", self._on_response)

    def _on_send(self, request: Any, **_: Any) -> None:
        byte_range = request.headers.get("Range")
        if isinstance(byte_range, bytes):
            byte_range = byte_range.decode()
        self.requests.append((request.method, request.url, byte_range))

    def _on_response(self, http_response: Any, **_: Any) -> None:
        self.received.append(int(http_response.headers.get("Content-Length") or 0))


@pytest.fixture(scope="module")
def crawled(news_site: str, tmp_path_factory: pytest.TempPathFactory) -> Crawled:
    return crawl_and_index(news_site, tmp_path_factory.mktemp("restore-crawl"))


@pytest.fixture
def catalog(crawled: Crawled) -> Catalog:
    return Catalog(crawled.database_url)


@pytest.fixture(params=["local", "s3"])
def backend(request: pytest.FixtureRequest, crawled: Crawled, tmp_path: Path,
            s3_env: Callable[..., None], fresh_bucket: Callable[[S3Server], str]
            ) -> tuple[Any, Catalog]:
    """The crawl's files in a store of each kind, indexed into a fresh catalog from it."""
    source = LocalStore(crawled.archive)
    if request.param == "local":
        store: Any = CountingLocalStore(tmp_path / "archive")
    else:
        server = request.getfixturevalue("seaweedfs")
        s3_env(server)
        store = RecordingS3Store(fresh_bucket(server))
    for number, key in enumerate(crawled.keys):
        upload = tmp_path / f"upload-{number}"  # put may hard-link: one file per key
        with source.open(key) as fh:
            upload.write_bytes(fh.read())
        store.put(upload, key)
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.db'}")
    report = index_stored(store, catalog, crawled.keys, site="sample-news", run_id="r")
    assert report.ok and report.captures > 0, report
    return store, catalog


def test_index_report_of_the_crawl(crawled: Crawled) -> None:
    assert crawled.report.ok, crawled.report.failed
    assert crawled.report.warcs == 1 and crawled.report.captures >= 16
    assert crawled.report.articles == len(MANIFEST["articles"])
    assert crawled.report.cdxj == [k + ".cdxj" for k in crawled.warc_keys]


@pytest.mark.parametrize("path", [a["path"] for a in MANIFEST["articles"]] + ["/"])
def test_restored_page_is_byte_for_byte_what_was_served(crawled: Crawled, catalog: Catalog,
                                                        path: str) -> None:
    store = LocalStore(crawled.archive)
    capture = catalog.closest(crawled.base + path)
    assert as_html(read_capture(store, capture)) == served_body(crawled.base, path)


def test_restore_from_both_backends_reads_one_range(backend: tuple[Any, Catalog],
                                                    crawled: Crawled) -> None:
    store, catalog = backend
    capture = catalog.closest(crawled.base + ARTICLE, capture_time(crawled))
    if isinstance(store, CountingLocalStore):
        store.bytes_read, store.ranges = 0, []
    else:
        store.requests.clear()
        store.received.clear()
    data = read_capture(store, capture)
    assert len(data) == capture.length
    assert as_html(data) == served_body(crawled.base, ARTICLE)
    if isinstance(store, CountingLocalStore):
        assert store.ranges == [(capture.filename, capture.offset, capture.length)]
        assert store.bytes_read == capture.length
    else:
        # exactly one HTTP request, a ranged GET, and only the record's bytes came back
        assert len(store.requests) == 1, store.requests
        method, url, byte_range = store.requests[0]
        assert method == "GET" and url.endswith(capture.filename)
        assert byte_range == f"bytes={capture.offset}-{capture.offset + capture.length - 1}"
        assert store.received == [capture.length]
        warc_size = (crawled.archive / capture.filename).stat().st_size
        assert capture.length < warc_size / 5


def capture_time(crawled: Crawled) -> str:
    return Catalog(crawled.database_url).captures(crawled.base + ARTICLE)[0].timestamp


def test_http_and_warc_outputs(crawled: Crawled, catalog: Catalog) -> None:
    store = LocalStore(crawled.archive)
    capture = catalog.closest(crawled.base + ARTICLE)
    data = read_capture(store, capture)
    # a one-record WARC.gz: exactly the gzip member at that offset in the stored file
    warc = as_warc(data)
    assert warc[:2] == b"\x1f\x8b"
    with open(crawled.archive / capture.filename, "rb") as fh:
        fh.seek(capture.offset)
        assert fh.read(capture.length) == warc
    records = list(ArchiveIterator(io.BytesIO(warc)))
    assert len(records) == 1 and records[0].rec_type == "response"
    # the HTTP response as archived: head, then the body exactly as it was on the wire
    http = as_http(data)
    head, _, body = http.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    headers = dict(line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
    assert b"Transfer-Encoding" not in headers
    expected = served_body(crawled.base, ARTICLE)
    if headers.get(b"Content-Encoding") == b"gzip":
        assert gzip.decompress(body) == expected
    else:
        assert body == expected
    assert int(headers[b"Content-Length"]) == len(body)


def test_text_output_is_the_article_text(crawled: Crawled, catalog: Catalog) -> None:
    capture = catalog.closest(crawled.base + ARTICLE)
    text = restore_capture(LocalStore(crawled.archive), catalog, capture, "text").decode()
    assert text.startswith("Istanbul") and "Bosphorus" in text and "<p>" not in text


def test_reindex_from_storage_alone_reproduces_the_catalog(crawled: Crawled,
                                                           tmp_path: Path) -> None:
    def rows(cat: Catalog) -> set[tuple]:
        return {(c.surt, c.timestamp, c.url, c.status, c.mime, c.digest, c.length, c.offset,
                 c.filename, c.site, c.run_id)
                for c in cat.captures(crawled.base + "/", match="prefix")}

    original = Catalog(crawled.database_url)
    rebuilt = Catalog(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    for cdxj in (crawled.archive).rglob("*.cdxj"):
        cdxj.unlink()
    report = reindex(LocalStore(crawled.archive), rebuilt)
    assert report.ok and report.warcs == 1
    assert rows(rebuilt) == rows(original)
    assert {r[-1] for r in rows(rebuilt)} != {"unknown"}  # run id came from warcinfo
    assert [h.capture.url for h in rebuilt.search(text="ferry")] == \
        [h.capture.url for h in original.search(text="ferry")]
    assert sorted(p.name for p in crawled.archive.rglob("*.cdxj")) == \
        sorted(k.rsplit("/", 1)[1] + ".cdxj" for k in crawled.warc_keys)
    # and once more: nothing new, the same rows
    again = reindex(LocalStore(crawled.archive), rebuilt)
    assert again.captures == report.captures and rows(rebuilt) == rows(original)


def test_path_escape_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    for name in ("../evil.html", "/etc/passwd", "a/../../evil.html", "."):
        with pytest.raises(UnsafeOutputPath, match="outside the target folder"):
            safe_path(folder, name)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (folder / "link").symlink_to(outside)
    with pytest.raises(UnsafeOutputPath):
        write_files(folder, {"link/page.html": b"x"}, force=True)
    assert not (outside / "page.html").exists()
    # names derived from URLs cannot climb out either
    for url in ("http://h/../../etc/passwd", "http://h/%2e%2e/%2e%2e/x", "http://h/a/..",
                "http://h/.hidden", "http://h/"):
        name = safe_name(url)
        assert "/" not in name and not name.startswith(".")
        assert safe_path(folder, name).parent == folder.resolve()


def test_overwrite_is_refused_without_force(tmp_path: Path) -> None:
    write_files(tmp_path, {"page.html": b"one"})
    with pytest.raises(OutputExists, match="pass --force"):
        write_files(tmp_path, {"new.html": b"x", "page.html": b"two"})
    assert not (tmp_path / "new.html").exists()  # nothing written when any name clashes
    write_files(tmp_path, {"page.html": b"two"}, force=True)
    assert (tmp_path / "page.html").read_bytes() == b"two"


# -- the CLI ---------------------------------------------------------------------

def test_cli_captures_lists_the_capture(crawled: Crawled) -> None:
    url = crawled.base.replace("http://", "HTTPS://") + ARTICLE  # canonicalised like CDX
    result = run_cli("captures", url, "--config", str(crawled.config))
    assert result.returncode == 0, result.stderr
    capture = Catalog(crawled.database_url).closest(crawled.base + ARTICLE)
    size, digest = str(capture.length), str(capture.digest)
    assert result.stdout.splitlines() == [
        "  ".join(["TIMESTAMP".ljust(14), "STATUS", "SIZE".ljust(len(size)),
                   "DIGEST".ljust(len(digest)), "MIME     ", "SITE       ", "VERSION"]),
        "  ".join([capture.timestamp, "200   ", size.ljust(4), digest, "text/html",
                   "sample-news", "v1"])]


def test_cli_restore_writes_file_and_refuses_overwrite(crawled: Crawled, tmp_path: Path
                                                       ) -> None:
    args = ["restore", crawled.base + ARTICLE, "--config", str(crawled.config),
            "--out", f"{tmp_path}/"]
    first = run_cli(*args)
    assert first.returncode == 0, first.stderr
    page = tmp_path / "istanbul-ferries-add-night-crossings.html"
    assert page.read_bytes() == served_body(crawled.base, ARTICLE)
    second = run_cli(*args)
    assert second.returncode == 2
    assert second.stderr.strip() == f"Error: {page} already exists; pass --force to overwrite it"
    assert run_cli(*args, "--force", "--at", "2026").returncode == 0


def test_cli_restore_to_stdout_as_warc(crawled: Crawled) -> None:
    result = run_cli("restore", crawled.base + ARTICLE, "--config", str(crawled.config),
                     "--as", "text", "--latest")
    assert result.returncode == 0 and "Bosphorus" in result.stdout


def test_cli_unknown_url_is_one_line_and_exit_1(crawled: Crawled) -> None:
    url = crawled.base + "/no/such/page.html"
    result = run_cli("restore", url, "--config", str(crawled.config), "--at", "2026")
    assert result.returncode == 1
    assert result.stderr == (f"Error: No capture of {url} at or near 2026 in the catalog; check "
                             "the URL, or run 'warcwire reindex' to rebuild the catalog\n")
    assert run_cli("captures", url, "--config", str(crawled.config)).returncode == 1


def test_cli_symlinked_out_outside_folder_is_refused(crawled: Crawled, tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "secret.html").write_text("keep")
    (tmp_path / "out" / "page.html").symlink_to(tmp_path / "secret.html")
    result = run_cli("restore", crawled.base + ARTICLE, "--config", str(crawled.config),
                     "--out", str(tmp_path / "out" / "page.html"), "--force")
    assert result.returncode == 2 and "outside the target folder" in result.stderr
    assert (tmp_path / "secret.html").read_text() == "keep"


# -- page resources ----------------------------------------------------------------

def _resources_archive(tmp_path: Path, base: str) -> tuple[LocalStore, Catalog]:
    """A WARC with a page, two captures of its stylesheet and its images."""
    root = sample_site_root()
    css_v1 = (root / "css" / "site.css").read_bytes()
    css_v2 = css_v1 + b"\n.hero { background: url('/images/s400-red-square.png'); }\n"
    page = served_body(base, ARTICLE).replace(
        b"</head>", b"<style>.x{background:url(../../images/logo.png)}</style></head>")
    day = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    exchanges = [
        (day.replace(hour=11, minute=30), "/css/site.css", "text/css", css_v1),
        (day.replace(hour=12), ARTICLE, "text/html; charset=utf-8", page),
        (day.replace(hour=13), "/css/site.css", "text/css", css_v2),
        (day.replace(hour=13), "/images/logo.png", "image/png",
         (root / "images" / "logo.png").read_bytes()),
        (day.replace(hour=13), "/images/s400-red-square.png", "image/png",
         (root / "images" / "s400-red-square.png").read_bytes()),
    ]
    spool = tmp_path / "spool"
    with WarcRotatingWriter(spool, "res", warcinfo={}, clock=lambda: day) as writer:
        for when, path, ctype, body in exchanges:
            headers = [("Content-Type", ctype), ("Content-Length", str(len(body)))]
            req = writer.make_request_record(base + path, "GET", path, [], date=when)
            resp = writer.make_response_record(base + path, "HTTP/1.1 200 OK", headers, body,
                                               date=when)
            writer.write_exchange(req, resp)
        (warc,) = writer.close()
    store = LocalStore(tmp_path / "archive")
    key = warc.relative_to(spool).as_posix()
    store.put(warc, key)
    catalog = Catalog(f"sqlite:///{tmp_path / 'res.db'}")
    index_stored(store, catalog, [key], site="res", run_id="r")
    return store, catalog


def test_with_resources_restores_images_and_css_and_links_them(tmp_path: Path,
                                                               news_site: str) -> None:
    store, catalog = _resources_archive(tmp_path, news_site)
    capture = catalog.closest(news_site + ARTICLE)
    bundle = page_with_resources(store, catalog, capture, "page.html")
    out = tmp_path / "out"
    write_files(out, bundle.files)
    html = (out / "page.html").read_text("utf-8")
    names = {url.rsplit("/", 1)[1]: name for url, name in bundle.restored.items()}
    assert set(names) == {"site.css", "logo.png"}, bundle.missing
    assert f'href="{names["site.css"]}"' in html and f'src="{names["logo.png"]}"' in html
    assert "/css/site.css" not in html and 'src="/images/logo.png"' not in html
    root = sample_site_root()
    assert (out / names["logo.png"]).read_bytes() == (root / "images/logo.png").read_bytes()
    # the stylesheet captured closest to the page (11:30 vs 13:00 for a 12:00 page)
    assert (out / names["site.css"]).read_bytes() == (root / "css/site.css").read_bytes()
    assert f'url("{names["logo.png"]}")' in html  # inline CSS, relative to the page
    for name in bundle.files:
        assert (out / name).resolve().is_relative_to(out.resolve())


def test_with_resources_css_urls_point_at_local_copies(tmp_path: Path, news_site: str) -> None:
    store, catalog = _resources_archive(tmp_path, news_site)
    capture = catalog.closest(news_site + ARTICLE)
    later = catalog.closest(news_site + "/css/site.css", "20261120130000")
    assert later.timestamp.endswith("130000")
    # a page restored as of the later stylesheet gets the image it references, locally
    bundle = page_with_resources(store, catalog, capture.__class__(
        **{**capture.__dict__, "timestamp": "20261120130000"}), "p.html")
    css_name = next(n for u, n in bundle.restored.items() if u.endswith("site.css"))
    css = bundle.files[css_name].decode()
    red = bundle.restored[news_site + "/images/s400-red-square.png"]
    assert f'url("{red.rsplit("/", 1)[1]}")' in css


def test_a_damaged_warc_is_reported_not_raised(crawled: Crawled, tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "archive")
    (tmp_path / "bad").write_bytes(b"\x1f\x8b\x08\x00" + b"junk" * 100)
    store.put(tmp_path / "bad", "s/bad.warc.gz")
    catalog = Catalog(f"sqlite:///{tmp_path / 'c.db'}")
    report = index_stored(store, catalog, ["s/bad.warc.gz", "s/missing.warc.gz"],
                          site="s", run_id="r")
    assert [key for key, _ in report.failed] == ["s/bad.warc.gz", "s/missing.warc.gz"]
    assert "No stored object 's/missing.warc.gz'" in report.failed[1][1]
    assert catalog.count() == 0
