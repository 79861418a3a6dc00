"""Restore one capture: one ranged read of its WARC record (two for a revisit), then a format.

:func:`read_capture` fetches the record's bytes with ``store.open_range`` (an S3
``Range`` GET or a file seek), never the whole WARC. The bytes are one gzip
member, which is a valid one-record ``.warc.gz`` on its own. From them:

* :func:`as_warc` - the record as stored;
* :func:`as_http` - the HTTP response as archived: status line, headers, raw
  body (still gzip if the server sent gzip; chunking was never stored);
* :func:`as_html` - the body with Content-Encoding undone (any type, not only HTML);
* :func:`as_text` - the normalized article text from the catalog.

A revisit record holds an HTTP head only; its payload is in the capture it
refers to, the *original*, which :func:`load` finds through the catalog and
reads with one more ranged read. A revisit restores as its own status line,
headers and date with the original's body: ``http`` is the revisit's head plus
the original's body, ``html`` that body decoded per the revisit's headers,
``warc`` both records (a self-contained WARC), ``text`` the original's article.

:func:`page_with_resources` restores the images and stylesheets a page uses
(the captures closest in time) and rewrites the page to use local copies, so it
opens offline. :func:`write_files` writes results and refuses paths outside the
target folder and existing files unless ``force``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import quote, urldefrag, urljoin, urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.timeutils import iso_date_to_timestamp

from storage.base import Store
from storage.catalog import Capture, Catalog
from warcwire.exceptions import (
    CaptureNotFound,
    OutputExists,
    RestoreError,
    UnsafeOutputPath,
)

FORMATS = ("html", "http", "warc", "text")
# what a person reads for each revisit profile (WARC-Profile URIs of WARC/1.0 and 1.1)
REVISIT_LABELS = {"server-not-modified": "revisit: not modified",
                  "identical-payload-digest": "revisit: identical payload"}
_SUFFIX = {"http": ".http", "warc": ".warc.gz", "text": ".txt"}
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]*?)\1\s*\)|@import\s+(['"])([^'"]+)\3""")
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*['"]?([A-Za-z0-9_.:-]+)""", re.I)
_MIME_EXT = {"text/css": ".css", "image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif",
             "image/webp": ".webp", "image/svg+xml": ".svg", "text/html": ".html",
             "image/x-icon": ".ico", "font/woff2": ".woff2", "font/woff": ".woff"}


@dataclass(frozen=True)
class RevisitRef:
    """What a revisit record says about the capture that holds its payload."""

    uri: str  # WARC-Refers-To-Target-URI, else the revisit's own URI
    timestamp: str | None  # WARC-Refers-To-Date as 14 digits, if given
    digest: str | None  # WARC-Payload-Digest: the original's payload digest
    profile: str | None  # a key of REVISIT_LABELS, None for another profile

    @property
    def label(self) -> str:
        return REVISIT_LABELS.get(self.profile or "", "revisit")

    @classmethod
    def of(cls, record: ArcWarcRecord) -> RevisitRef | None:
        """The reference of a revisit record; None for any other record."""
        if record.rec_type != "revisit":
            return None
        headers = record.rec_headers
        uri = headers.get_header("WARC-Refers-To-Target-URI") or \
            headers.get_header("WARC-Target-URI") or ""
        date = headers.get_header("WARC-Refers-To-Date")
        try:
            timestamp = iso_date_to_timestamp(date) if date else None
        except ValueError:
            timestamp = None
        profile = (headers.get_header("WARC-Profile") or "").rstrip("/").rsplit("/", 1)[-1]
        return cls(uri, timestamp, headers.get_header("WARC-Payload-Digest"),
                   profile if profile in REVISIT_LABELS else None)


@dataclass(frozen=True)
class Loaded:
    """A capture's WARC record and, for a revisit, the original record with its payload."""

    capture: Capture
    data: bytes
    revisit: RevisitRef | None = None
    original: Capture | None = None
    original_data: bytes | None = None

    @property
    def mime(self) -> str | None:
        """The payload's mime type (a revisit's CDXJ mime is ``warc/revisit``)."""
        return (self.original or self.capture).mime


def read_capture(store: Store, capture: Capture) -> bytes:
    """The capture's WARC record bytes, in one ranged read."""
    return store.open_range(capture.filename, capture.offset, capture.length)


def revisit_ref(data: bytes) -> RevisitRef | None:
    """What the record in ``data`` refers to, if it is a revisit."""
    return RevisitRef.of(_first(data, parse_http=False))


def find_original(catalog: Catalog, capture: Capture, ref: RevisitRef) -> Capture:
    """The capture whose payload revisit ``capture`` repeats; RestoreError if not catalogued."""
    digest = ref.digest or capture.digest
    original = catalog.original(ref.uri, ref.timestamp, digest) if digest else None
    if original is None:
        when = f" captured {ref.timestamp}" if ref.timestamp else ""
        raise RestoreError(
            f"The original of the revisit of {capture.url} at {capture.timestamp} ({ref.uri}"
            f"{when}, {digest or 'no digest'}) is not in the catalog; run 'warcwire reindex'")
    return original


def load(store: Store, catalog: Catalog, capture: Capture) -> Loaded:
    """The capture's record, and its original's for a revisit (one more ranged read)."""
    data = read_capture(store, capture)
    ref = revisit_ref(data)
    if ref is None:
        return Loaded(capture, data)
    original = find_original(catalog, capture, ref)
    return Loaded(capture, data, ref, original, read_capture(store, original))


def _first(data: bytes, *, parse_http: bool = True) -> ArcWarcRecord:
    it = iter(ArchiveIterator(io.BytesIO(data), no_record_parse=not parse_http))
    try:
        return next(it)
    except StopIteration:
        raise RestoreError("The byte range read holds no WARC record; the catalog is out "
                           "of date with storage: run 'warcwire reindex'") from None


def _record(data: bytes, *, parse_http: bool = True) -> ArcWarcRecord:
    """The response (or resource) record in ``data``."""
    return _capture_record(_first(data, parse_http=parse_http))


def _capture_record(record: ArcWarcRecord) -> ArcWarcRecord:
    if record.rec_type == "revisit":
        target = record.rec_headers.get_header("WARC-Refers-To-Target-URI") or "the original"
        raise RestoreError(f"This capture is a revisit record without a body; its payload is "
                           f"in an earlier capture of {target} (storage.restore.load reads both)")
    if record.rec_type not in ("response", "resource"):
        raise RestoreError(f"The record is a '{record.rec_type}' record, not a capture")
    return record


def _head_and_body(data: bytes, original: bytes | None, *, parse_http: bool = True
                   ) -> tuple[ArcWarcRecord, ArcWarcRecord]:
    """The record giving the HTTP head, and the one giving the payload: the same one
    unless ``data`` is a revisit and ``original`` the record it refers to."""
    head = _first(data, parse_http=parse_http)
    if head.rec_type == "revisit" and original is not None:
        return head, _record(original)
    return head, _capture_record(head)


def as_warc(data: bytes, original: bytes | None = None) -> bytes:
    """The record exactly as stored: a WARC(.gz); a revisit is followed by its original."""
    head, body = _head_and_body(data, original)
    return data + original if head is not body and original else data


def as_http(data: bytes, original: bytes | None = None) -> bytes:
    """Status line, headers and body as archived (a revisit's head, its original's body)."""
    head, body = _head_and_body(data, original, parse_http=False)
    return bytes(head.raw_stream.read()) + (b"" if head is body else
                                            bytes(body.raw_stream.read()))


def as_html(data: bytes, original: bytes | None = None) -> bytes:
    """The body as the browser saw it: Content-Encoding undone (per a revisit's own head)."""
    return response_parts(data, original)[2]


def response_parts(data: bytes, original: bytes | None = None
                   ) -> tuple[int | None, list[tuple[str, str]], bytes]:
    """Status (None without an HTTP head), headers and decoded body of the response."""
    head, body = _head_and_body(data, original)
    if head.http_headers is None:
        return None, [], bytes(body.raw_stream.read())
    body.http_headers = head.http_headers  # decode as the head says (what replay does)
    code = head.http_headers.get_statuscode()
    return (int(code) if code and code.isdigit() else None, list(head.http_headers.headers),
            bytes(body.content_stream().read()))


def as_text(catalog: Catalog, capture: Capture, original: Capture | None = None) -> bytes:
    """The normalized article text extracted from this capture (or from the original it
    revisits)."""
    article = catalog.article(capture.id)
    if article is None and original is not None:
        article = catalog.article(original.id)
    if article is None:
        raise RestoreError(f"No extracted article text for {capture.url} at "
                           f"{capture.timestamp}; use --as html for the page itself")
    return (str(article.get("text") or "") + "\n").encode("utf-8")


def restore_loaded(catalog: Catalog, loaded: Loaded, fmt: str) -> bytes:
    """``loaded`` in format ``fmt`` (one of FORMATS)."""
    if fmt == "text":
        return as_text(catalog, loaded.capture, loaded.original)
    convert = {"html": as_html, "http": as_http, "warc": as_warc}
    if fmt not in convert:
        raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
    return convert[fmt](loaded.data, loaded.original_data)


def restore_capture(store: Store, catalog: Catalog, capture: Capture, fmt: str) -> bytes:
    """``capture`` in format ``fmt`` (one of FORMATS)."""
    if fmt != "text":
        return restore_loaded(catalog, load(store, catalog, capture), fmt)
    original = None
    if capture.revisit and catalog.article(capture.id) is None:
        ref = revisit_ref(read_capture(store, capture))  # what it refers to, not its body
        original = None if ref is None else find_original(catalog, capture, ref)
    return as_text(catalog, capture, original)


def response_charset(data: bytes) -> str | None:
    """The charset the response's (or revisit's) Content-Type names, if any."""
    record = _first(data)
    ctype = record.http_headers.get_header("Content-Type") if record.http_headers else None
    match = re.search(r"charset\s*=\s*['\"]?([A-Za-z0-9_.:-]+)", ctype or "", re.I)
    return match.group(1) if match else None


# -- file names and writing ------------------------------------------------------

def safe_name(url: str, fmt: str = "html", mime: str | None = None) -> str:
    """A plain file name for ``url``: its last path segment, cleaned, with a suffix."""
    path = PurePosixPath(urlsplit(url).path)
    name = _SAFE.sub("_", path.name).strip("._")[:80] or "index"
    stem, dot, ext = name.rpartition(".")
    if not dot:
        stem, ext = name, ""
    if fmt in _SUFFIX:
        return (stem or name) + _SUFFIX[fmt]
    if not ext:
        name += _MIME_EXT.get(mime or "", ".html" if mime is None else "")
    return name


def safe_path(folder: Path, name: str) -> Path:
    """``folder/name`` resolved, refused if it lands anywhere outside ``folder``."""
    root = Path(folder).resolve()
    target = (root / name).resolve()
    if target == root or not target.is_relative_to(root):
        raise UnsafeOutputPath(str(root / name), str(root))
    return target


def write_files(folder: Path, files: dict[str, bytes], *, force: bool = False) -> list[Path]:
    """Write every ``name -> bytes`` under ``folder``; check all names before writing any."""
    targets = {safe_path(folder, name): body for name, body in files.items()}
    if not force:
        for target in targets:
            if target.exists() or target.is_symlink():
                raise OutputExists(str(target))
    written = []
    for target, body in targets.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "wb" if force else "xb") as fh:
            fh.write(body)
        written.append(target)
    return written


# -- page resources ---------------------------------------------------------------

@dataclass
class PageBundle:
    """A page rewritten to local resources, and the resources, by relative name."""

    files: dict[str, bytes] = field(default_factory=dict)
    restored: dict[str, str] = field(default_factory=dict)  # url -> relative name
    missing: list[str] = field(default_factory=list)  # urls not in the archive


class _Resources:
    def __init__(self, store: Store, catalog: Catalog, at: str, folder: str) -> None:
        self.store, self.catalog, self.at, self.folder = store, catalog, at, folder
        self.bundle = PageBundle()

    def local(self, url: str, depth: int = 0) -> str | None:
        """Restore ``url`` (closest to the page's time); its name under the folder."""
        url = urldefrag(url)[0]
        if not url.startswith(("http://", "https://")):
            return None
        if url in self.bundle.restored:
            return self.bundle.restored[url]
        if url in self.bundle.missing:
            return None
        try:
            capture: Capture | None = self.catalog.closest(url, self.at)
        except CaptureNotFound:
            capture = None
        loaded = None
        if capture is not None and capture.status is not None and 200 <= capture.status < 300:
            with contextlib.suppress(RestoreError):  # a revisit whose original is not catalogued
                loaded = load(self.store, self.catalog, capture)
        if loaded is None:
            self.bundle.missing.append(url)
            return None
        body = as_html(loaded.data, loaded.original_data)
        digest = hashlib.sha1(url.encode()).hexdigest()[:8]
        name = f"{self.folder}/{digest}-{safe_name(url, 'html', loaded.mime)}"
        self.bundle.restored[url] = name
        if (loaded.mime or "").startswith("text/css") and depth < 3:
            body = self.rewrite_css(body.decode("utf-8", "replace"), url, depth + 1,
                                    same_folder=True).encode("utf-8")
        self.bundle.files[name] = body
        return name

    def rewrite_css(self, css: str, base: str, depth: int, *, same_folder: bool) -> str:
        def replace(match: re.Match[str]) -> str:
            ref = match.group(2) if match.group(2) is not None else match.group(4)
            if not ref or ref.startswith("data:"):
                return match.group(0)
            name = self.local(urljoin(base, ref), depth)
            if name is None:
                return match.group(0)
            href = quote(name.rsplit("/", 1)[1] if same_folder else name)
            return f'url("{href}")' if match.group(2) is not None else f'@import "{href}"'
        return _CSS_URL.sub(replace, css)


def page_with_resources(store: Store, catalog: Catalog, capture: Capture, page_name: str,
                        loaded: Loaded | None = None) -> PageBundle:
    """The page (as ``page_name``) plus its archived images and stylesheets, rewritten.

    Resources go into ``<page stem>_files/`` beside the page, named from a hash of
    their URL plus their cleaned file name, so no URL can choose where they land.
    Revisits (of the page or a resource) restore their original's payload.
    """
    import lxml.html

    loaded = loaded or load(store, catalog, capture)
    body = as_html(loaded.data, loaded.original_data)
    head = _META_CHARSET.search(body[:4096])
    charset = response_charset(loaded.data) or (head.group(1).decode() if head else "utf-8")
    try:
        text = body.decode(charset, "replace")
    except LookupError:
        charset, text = "utf-8", body.decode("utf-8", "replace")
    doc = lxml.html.document_fromstring(text)
    base = capture.url
    for element in list(doc.iter("base")):
        if element.get("href"):
            base = urljoin(base, element.get("href"))
        element.drop_tree()
    res = _Resources(store, catalog, capture.timestamp,
                     PurePosixPath(page_name).stem + "_files")

    def link(value: str | None) -> str | None:
        name = res.local(urljoin(base, value.strip())) if value and value.strip() else None
        return quote(name) if name else None

    for img in doc.iter("img", "source"):
        if (href := link(img.get("src"))) is not None:
            img.set("src", href)
        if img.get("srcset"):
            parts = []
            for candidate in img.get("srcset", "").split(","):
                url, _, size = candidate.strip().partition(" ")
                href = link(url)
                parts.append(f"{href or url} {size}".strip())
            img.set("srcset", ", ".join(parts))
    for el in doc.iter("link"):
        rels = (el.get("rel") or "").lower().split()
        if ("stylesheet" in rels or "icon" in rels) and (href := link(el.get("href"))):
            el.set("href", href)
    for el in doc.iter("style"):
        if el.text:
            el.text = res.rewrite_css(el.text, base, 1, same_folder=False)
    for el in doc.xpath("//*[@style]"):
        el.set("style", res.rewrite_css(el.get("style"), base, 1, same_folder=False))
    doctype = doc.getroottree().docinfo.doctype
    out = lxml.html.tostring(doc, encoding="unicode", doctype=doctype or None)
    res.bundle.files = {page_name: out.encode(charset, "xmlcharrefreplace"),
                        **res.bundle.files}
    return res.bundle
