"""Article text and metadata from one HTML page.

:func:`extract_article` is a pure, top-level function on plain values so the
crawler can run it in a ``ProcessPoolExecutor`` and a re-run can call it on
archived payloads: same bytes in, same :class:`Extracted` out.
"""

from __future__ import annotations

import codecs
import functools
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from lxml.html import HtmlElement

from normalizer import metadata

logger = logging.getLogger(__name__)

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)""", re.I)
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"),
         (codecs.BOM_UTF16_BE, "utf-16"))
_BLOCKS = frozenset({"address", "article", "aside", "blockquote", "dd", "div", "dl", "dt",
                     "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5",
                     "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
                     "table", "td", "th", "tr", "ul"})
_SKIP = frozenset({"script", "style", "noscript", "template", "button", "select"})


@dataclass(frozen=True)
class Extracted:
    """What one page yields before normalisation; plain types, so it pickles."""

    text: str  # paragraphs separated by "\n\n", as extracted (not yet normalised)
    title: str | None = None
    authors: tuple[str, ...] = ()
    published: str | None = None  # ISO 8601
    language: str | None = None  # ISO 639-1
    canonical_url: str | None = None
    section: tuple[str, ...] = ()  # breadcrumb parts, e.g. ("News", "Turkey")
    description: str | None = None
    captions: tuple[str, ...] = ()
    extractor: str = field(default="")  # "trafilatura/<version>" or "selectors"


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        logger.debug("unknown charset %r", name)
        return None


def decode_html(data: bytes, encoding: str | None = None) -> str:
    """Text of an HTML payload; a wrong or unknown charset degrades, never raises.

    Order: BOM, the caller's (HTTP) charset, <meta charset>, UTF-8, then
    cp1252 (what browsers assume for undeclared Western pages).
    """
    for bom, bom_codec in _BOMS:
        if data.startswith(bom):
            return data.decode(bom_codec, errors="replace")
    match = _META_CHARSET.search(data[:4096])
    declared = [_codec(encoding), _codec(match.group(1).decode("ascii")) if match else None]
    for name in [*declared, "utf-8"]:
        if name is not None:
            try:
                return data.decode(name)
            except UnicodeDecodeError:
                continue
    fallback = next((n for n in declared if n), "cp1252")
    return data.decode(fallback, errors="replace")


def _looks_binary(data: bytes) -> bool:
    head = data[:2048]
    return b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))


def _select(tree: HtmlElement, spec: str) -> list[Any]:
    from parsel import Selector

    kind, _, expr = spec.partition(":")
    sel = Selector(root=tree, type="html")
    return list(sel.css(expr) if kind == "css" else sel.xpath(expr))


def _string(node: Any) -> str:
    """Text of a parsel result: an element's string value, or a text/attribute node."""
    if isinstance(node.root, str):
        return str(node.root)
    return str(node.xpath("string()").get() or "")


def _clean(text: str) -> str:
    return " ".join(text.split())


def _selected_text(tree: HtmlElement, spec: str) -> str | None:
    texts = [_clean(_string(n)) for n in _select(tree, spec)]
    return next((t for t in texts if t), None)


def _paragraphs(root: HtmlElement) -> list[str]:
    """Text of ``root`` cut at block-level elements, as a browser would lay it out."""
    out: list[str] = []
    buf: list[str] = []

    def flush() -> None:
        text = _clean("".join(buf))
        buf.clear()
        if text:
            out.append(text)

    def walk(el: HtmlElement) -> None:
        if not isinstance(el.tag, str) or el.tag in _SKIP:
            return  # comments, scripts: their tail is handled by the parent
        block = el.tag in _BLOCKS
        if block:
            flush()
        buf.append(el.text or "")
        for child in el:
            walk(child)
            buf.append(child.tail or "")
        if block or el.tag == "br":
            flush()

    walk(root)
    flush()
    return out


def _selected_body(tree: HtmlElement, spec: str) -> str:
    """Paragraphs of all matched elements (text or attribute matches count as one each)."""
    paragraphs: list[str] = []
    for node in _select(tree, spec):
        if isinstance(node.root, str):
            paragraphs.append(_clean(node.root))
        else:
            paragraphs.extend(_paragraphs(node.root))
    return "\n\n".join(p for p in paragraphs if p)


@functools.cache
def _trafilatura_version() -> str:
    from importlib.metadata import version

    return f"trafilatura/{version('trafilatura')}"


def extract_article(html: bytes | str, url: str, selectors: dict[str, str | None] | None = None,
                    encoding: str | None = None) -> Extracted | None:
    """Extract one article; None for binary payloads, non-articles and empty text.

    ``selectors`` ({"title"|"body"|"date": "css:..."|"xpath:..."}) override
    trafilatura for sites where its guess is wrong; a selector that matches
    nothing falls back to the automatic result. ``encoding`` is the HTTP
    charset, when the response had one.
    """
    from trafilatura import bare_extraction
    from trafilatura.settings import Document
    from trafilatura.utils import load_html

    if isinstance(html, bytes):
        if not html.strip() or _looks_binary(html):
            return None
        html = decode_html(html, encoding)
    tree = load_html(html)
    if tree is None:
        return None
    nodes = metadata.jsonld_nodes(tree)
    if metadata.declares_non_article(tree, nodes):
        return None
    chosen: dict[str, str] = {k: v for k, v in (selectors or {}).items() if v}

    # read everything trafilatura would prune before handing it the tree
    sel_title = _selected_text(tree, chosen["title"]) if "title" in chosen else None
    sel_body = _selected_body(tree, chosen["body"]) if "body" in chosen else ""
    sel_date = None
    if "date" in chosen and (raw_date := _selected_text(tree, chosen["date"])):
        sel_date = metadata.parse_date(raw_date)
        if sel_date is None:
            logger.debug("date selector gave unparsable %r on %s", raw_date, url)
    lang = metadata.language(tree)
    canonical = metadata.canonical_url(tree, url)
    published = metadata.published(tree, nodes)
    ld_authors = metadata.jsonld_authors(nodes)
    captions = metadata.captions(tree)

    meta = _trafilatura_metadata(tree)
    # without trafilatura's metadata pass: what it gives that we use is read just above
    result = bare_extraction(tree, url=url, with_metadata=False, include_comments=False,
                             include_tables=True, favor_precision=True, deduplicate=False,
                             fast=True)
    doc = result if isinstance(result, Document) else Document()
    title = sel_title or meta.title
    if sel_body:
        text, extractor = sel_body, "selectors"
    else:
        lines = (doc.text or "").splitlines()
        text = "\n\n".join(line.strip() for line in lines if line.strip())
        extractor = _trafilatura_version()
    if not text:
        return None
    authors = [a.strip() for a in (meta.author or "").split(";") if a.strip()]
    return Extracted(
        text=text,
        title=title,
        authors=tuple(authors or ld_authors),
        published=sel_date or published or _htmldate(tree, url),
        language=lang or meta.language,
        canonical_url=canonical,
        section=tuple(metadata.section(tree, nodes, title)
                      or _trafilatura_categories(tree)),
        description=meta.description,
        captions=tuple(captions),
        extractor=extractor,
    )


def _trafilatura_metadata(tree: HtmlElement) -> Any:
    """Title, author, description and language as trafilatura's metadata pass finds them.

    Its ``extract_metadata`` also looks for dates (htmldate, on a deep copy of the
    page), license, tags, categories, site name and URL: a third of the extraction
    time, spent mostly on fields we read from JSON-LD and <meta> ourselves. These
    are its steps for the fields we use, in its order; the date and categories are
    asked for only when the page's own metadata has none.
    """
    from trafilatura.metadata import (
        examine_meta,
        extract_author,
        extract_meta_json,
        extract_title,
    )

    doc = examine_meta(tree)
    if doc.author and " " not in doc.author:  # as extract_metadata: one word is no byline
        doc.author = None
    try:
        doc = extract_meta_json(tree, doc)
    except Exception as exc:  # noqa: BLE001 - trafilatura's JSON-LD reader has bugs of its own
        logger.debug("trafilatura could not read the JSON-LD: %s", exc)
    if not doc.title:
        doc.title = extract_title(tree)
    if not doc.author:
        doc.author = extract_author(tree)
    return doc


def _htmldate(tree: HtmlElement, url: str) -> str | None:
    """The publication date htmldate finds, with trafilatura's settings."""
    from htmldate import find_date
    from trafilatura.settings import DEFAULT_CONFIG, set_date_params

    params = set_date_params(DEFAULT_CONFIG.getboolean("DEFAULT", "EXTENSIVE_DATE_SEARCH"))
    return find_date(tree, url=url, **params)


def _trafilatura_categories(tree: HtmlElement) -> list[str]:
    from trafilatura.metadata import extract_catstags

    return list(extract_catstags("category", tree))
