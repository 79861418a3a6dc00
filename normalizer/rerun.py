"""Re-extract articles from archived WARCs, without fetching anything again.

When extraction improves (new trafilatura, new per-site selectors) the WARCs
already hold every byte the crawler saw; this turns their HTML responses back
into article records that point at the same WARC records.
"""

from __future__ import annotations

import logging
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator
from warcio.exceptions import ArchiveLoadFailed

from normalizer.extract import extract_article
from normalizer.jsonl import ARTICLES_SUFFIX, JsonlFile
from normalizer.record import ArticleRecord, WarcLocation, normalize, word_changes
from warcwire.exceptions import WarcwireError

logger = logging.getLogger(__name__)

_HTML_TYPES = ("text/html", "application/xhtml+xml")
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([^\s;\"']+)", re.I)
_PROGRESS_EVERY = 500


class WarcReadError(WarcwireError):
    """A file given as a WARC cannot be read as one."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"Cannot read WARC {path}: {reason}. Pass .warc or .warc.gz files")


def default_run_id() -> str:
    return "rerun-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def _html_charset(content_type: str) -> tuple[bool, str | None]:
    """(is HTML, charset or None) from a Content-Type header value."""
    mime = content_type.split(";", 1)[0].strip().lower()
    match = _CHARSET.search(content_type)
    return mime in _HTML_TYPES, (match.group(1) if match else None)


def storage_key(path: Path, site: str | None) -> str:
    """The key the crawl stored ``path`` under: ``<site>/<YYYY-MM-DD>/<name>`` when the file
    sits in such folders (as in a local archive or the spool), else its name."""
    day, site_dir = path.parent.name, path.parent.parent.name
    if site and site_dir == site and re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
        return f"{site}/{day}/{path.name}"
    return path.name


def _fetched_at(warc_date: str) -> str:
    """The crawl's format (ISO 8601, seconds, +00:00) from a WARC-Date."""
    try:
        when = datetime.fromisoformat(warc_date.replace("Z", "+00:00"))
    except ValueError:
        return warc_date
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC).isoformat(timespec="seconds")


def _warcinfo_site(record: object) -> str | None:
    from storage.cdxj import _warcinfo_fields

    return _warcinfo_fields(record).get("site") or None  # type: ignore[arg-type]


def records_from_warcs(
    paths: Iterable[Path], *, site: str | None = None, run_id: str | None = None,
    selectors: dict[str, str | None] | None = None,
    key_for: Callable[[Path], str] | None = None,
    selectors_for: Callable[[str], dict[str, str | None] | None] | None = None,
) -> Iterator[ArticleRecord]:
    """Article records for the HTML 200 responses in ``paths``, in archive order.

    Each record is what the crawl wrote for that response: ``site`` is the site
    named in the WARC's warcinfo record (else ``site``, else the URL's host), the
    ``warc`` key the storage key (``key_for``, default :func:`storage_key`),
    ``fetched_at`` the response record's date in the crawl's format, and per-site
    ``selectors_for(site)`` apply where given (else ``selectors``).
    As in a crawl, each article is emitted once per version (by canonical URL,
    else URL, in archive order); revisit records hold no payload of their own.
    """
    run = run_id or default_run_id()
    seen = 0
    versions: dict[str, tuple[int, str, bytes]] = {}  # key -> version, hash, zlib(text)
    for path in map(Path, paths):
        key: str | None = key_for(path) if key_for else None
        file_site, file_selectors = site, selectors
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed below; iteration is lazy
        except OSError as exc:
            raise WarcReadError(path, exc.strerror or str(exc)) from None
        with fh:
            iterator = ArchiveIterator(fh)
            try:
                for record in iterator:
                    if record.format != "warc":  # warcio reads any text line as ARC
                        raise WarcReadError(path, f"found a {record.format} record, not WARC")
                    if record.rec_type == "warcinfo" and site is None:
                        file_site = _warcinfo_site(record) or file_site
                        if file_site and selectors_for is not None:
                            file_selectors = selectors_for(file_site) or selectors
                        continue
                    if record.rec_type != "response" or record.http_headers is None:
                        continue
                    if record.http_headers.get_statuscode() != "200":
                        continue
                    is_html, charset = _html_charset(
                        record.http_headers.get_header("Content-Type") or "")
                    if not is_html:
                        continue
                    url = record.rec_headers.get_header("WARC-Target-URI") or ""
                    date = record.rec_headers.get_header("WARC-Date") or ""
                    payload = record.content_stream().read()
                    # only known once the record has been read to its end
                    location = WarcLocation(key=key or storage_key(path, file_site),
                                            offset=iterator.get_record_offset(),
                                            length=iterator.get_record_length())
                    seen += 1
                    if seen % _PROGRESS_EVERY == 0:
                        logger.info("re-extracted %d responses (now in %s)", seen, path.name)
                    extracted = extract_article(payload, url, file_selectors, charset)
                    if extracted is None:
                        logger.debug("no article in %s", url)
                        continue
                    record = normalize(extracted, url=url,
                                       site=file_site or urlsplit(url).hostname or "",
                                       run_id=run, fetched_at=_fetched_at(date),
                                       warc_location=location)
                    versioned = _next_version(record, versions)
                    if versioned is not None:
                        yield versioned
            except ArchiveLoadFailed as exc:
                raise WarcReadError(path, str(exc).strip().splitlines()[0]) from None


def _next_version(record: ArticleRecord, versions: dict[str, tuple[int, str, bytes]]
                  ) -> ArticleRecord | None:
    """``record`` numbered after the last version of its article; None if unchanged."""
    key = record.canonical_url or record.url
    previous = versions.get(key)
    if previous is not None and previous[1] == record.content_hash:
        return None
    versions[key] = ((previous[0] + 1) if previous else 1, record.content_hash,
                     zlib.compress(record.text.encode("utf-8"), 6))
    if previous is None:
        return record
    old_text = zlib.decompress(previous[2]).decode("utf-8")
    return replace(record, version=previous[0] + 1,
                   changes=word_changes(old_text, record.text, previous[1]))


def default_output_path(paths: list[Path], run_id: str | None = None) -> Path:
    """Named as the crawl names its articles file, with the re-run's id, beside the first
    WARC: ``<prefix>-<site>-<run id>.articles.v2.jsonl.gz`` (``<prefix>-<site>`` from the
    WARC's name as the crawl writes it; else the WARC's name without ``.warc.gz``)."""
    first = Path(paths[0])
    stem = re.sub(r"\.w?arc(\.gz)?$", "", first.name)
    crawl_name = re.fullmatch(r"(.+)-\d{17}-\d{5}-.+", stem)
    if crawl_name and run_id:
        stem = f"{crawl_name.group(1)}-{run_id}"
    return first.with_name(stem + ARTICLES_SUFFIX)


class OutputExists(WarcwireError):
    exit_code = 2

    def __init__(self, path: Path) -> None:
        super().__init__(f"{path} exists; pass --force to replace it")


def normalize_warcs_to(paths: Iterable[Path], out_path: Path | None = None, *,
                       site: str | None = None, run_id: str | None = None,
                       selectors: dict[str, str | None] | None = None,
                       selectors_for: Callable[[str], dict[str, str | None] | None]
                       | None = None, force: bool = False) -> int:
    """Write the re-extracted records of ``paths`` to a JSON Lines file; return how many.

    Backs ``warcwire normalize WARC... [--out PATH]``. The file is gzip when its
    name ends in ``.gz``, plain otherwise; an existing one is replaced only with
    ``force``. It is written even when no article is found, so the result is visible.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("no WARC files given")
    run_id = run_id or default_run_id()
    target = Path(out_path) if out_path else default_output_path(paths, run_id)
    if target.exists() and not force:
        raise OutputExists(target)
    out = JsonlFile(target, keep_empty=True, compress=target.name.endswith(".gz"))
    try:
        for record in records_from_warcs(paths, site=site, run_id=run_id, selectors=selectors,
                                         selectors_for=selectors_for):
            out.write(record)
    except BaseException:
        out.abort()
        raise
    out.close()
    return out.count
