"""The review UI: search, a capture page with its replay beside the text, diffs, downloads.

Plain WSGI on Werkzeug with Jinja2 templates (autoescaped); no JavaScript at
all, so its Content-Security-Policy can say ``script-src 'none'``.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from storage.catalog import Capture
from warcwire.exceptions import WarcwireError
from warcwire.review import views
from warcwire.review.archive import ReviewArchive
from warcwire.review.diff import diff_texts
from warcwire.review.replay import replay_path
from warcwire.review.security import COOKIE, Guard, ui_headers

logger = logging.getLogger(__name__)

PAGE_SIZE = 50
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}

ROUTES = Map([
    Rule("/", endpoint="search"),
    Rule("/capture/<int:capture_id>", endpoint="capture"),
    Rule("/capture/<int:capture_id>/record.warc.gz", endpoint="download"),
    Rule("/diff", endpoint="diff"),
    Rule("/api/search", endpoint="api_search"),
    Rule("/api/captures/<int:capture_id>", endpoint="api_capture"),
    Rule("/static/<name>", endpoint="static"),
], strict_slashes=False)


class NotFoundPage(Exception):
    """A record reference that leads nowhere; shown as a 404 page."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class ReviewUI:
    """WSGI app of the UI origin."""

    def __init__(self, archive: ReviewArchive, guard: Guard,
                 replay_origin: Callable[[str], str]) -> None:
        self.archive = archive
        self.guard = guard
        self.replay_origin = replay_origin  # host name the browser used -> replay origin
        self.env = Environment(loader=PackageLoader("warcwire.review", "templates"),
                               autoescape=select_autoescape(default=True),
                               trim_blocks=True, lstrip_blocks=True)
        self.env.filters.update(views.FILTERS)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        request = Request(environ)
        response = self.handle(request)
        for name, value in ui_headers(self.replay_origin(request.host)):
            response.headers.setdefault(name, value)
        response.headers.setdefault("Cache-Control", "no-store")
        return response(environ, start_response)

    # -- gatekeeping -----------------------------------------------------

    def handle(self, request: Request) -> Response:
        if not self.guard.host_allowed(request.host):
            return Response("Unknown host name.\n", status=421, mimetype="text/plain")
        if self.guard.token:
            offered = request.args.get("token")
            if offered is not None:
                if not self.guard.token_ok(offered):
                    return self._page("error.html", 401, request, title="Wrong token",
                                      message="That token is not the one this review "
                                              "page was started with.")
                args = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
                target = request.path + ("?" + urlencode(args) if args else "")
                response = Response(status=303, headers={"Location": target})
                response.set_cookie(COOKIE, self.guard.session, httponly=True,
                                    samesite="Strict", path="/")
                return response
            if not self.guard.session_ok(request.cookies.get(COOKIE),
                                         request.headers.get("Authorization")):
                if request.path.startswith("/api/"):
                    return _json({"error": "token required"}, 401)
                return self._page("error.html", 401, request, title="Token required",
                                  message="This review page needs its token: open it once "
                                          "as /?token=YOUR-TOKEN.")
        if request.method not in ("GET", "HEAD"):
            return Response("Read-only.\n", status=405, mimetype="text/plain")
        try:
            endpoint, values = ROUTES.bind_to_environ(request.environ).match()
            return getattr(self, f"on_{endpoint}")(request, **values)
        except NotFound:
            return self._page("error.html", 404, request, title="Not found",
                              message=f"There is no page at {request.path}.")
        except NotFoundPage as exc:
            if request.path.startswith("/api/"):
                return _json({"error": exc.what}, 404)
            return self._page("error.html", 404, request, title="Not found",
                              message=exc.what)
        except HTTPException as exc:
            return exc.get_response(request.environ)
        except WarcwireError as exc:
            logger.warning("review: %s", exc)
            return self._page("error.html", 500, request, title="Archive unavailable",
                              message=str(exc))
        except Exception:
            logger.exception("review: %s failed", request.path)
            return self._page("error.html", 500, request, title="Something went wrong",
                              message="The server log has the details.")

    def _page(self, template: str, status: int, request: Request, **context: Any) -> Response:
        context.setdefault("query", {})
        body = self.env.get_template(template).render(request=request, status_code=status,
                                                      **context)
        return Response(body, status=status, content_type="text/html; charset=utf-8")

    def _capture(self, capture_id: int | str | None) -> Capture:
        try:
            capture = self.archive.capture(int(capture_id or ""))
        except ValueError:
            capture = None
        if capture is None:
            raise NotFoundPage(f"There is no capture with id {capture_id} in the catalog. "
                               "It may have been removed by a reindex; search again.")
        return capture

    def _replay_src(self, request: Request, capture: Capture) -> str:
        origin = self.replay_origin(request.host)
        return origin + replay_path(self.guard.replay_key, capture.timestamp, capture.url)

    # -- pages -----------------------------------------------------------

    def on_search(self, request: Request) -> Response:
        form = views.SearchForm.from_args(request.args)
        hits: list[Any] = []
        error = None
        try:
            hits = self.archive.search(**form.filters(), limit=PAGE_SIZE + 1,
                                       offset=form.offset)
        except ValueError as exc:
            error = str(exc)
        more = len(hits) > PAGE_SIZE
        hits = hits[:PAGE_SIZE]
        revisits = self.archive.revisits([h.capture for h in hits])
        titles = {cid: (self.archive.article(r.original.id) or {}).get("title")
                  for cid, r in revisits.items() if r.original is not None}
        return self._page("search.html", 200, request, form=form, hits=hits, revisits=revisits,
                          titles=titles,
                          more=more, error=error, sites=self.archive.sites(),
                          next_url=form.page_url(form.offset + PAGE_SIZE) if more else None,
                          prev_url=form.page_url(max(0, form.offset - PAGE_SIZE))
                          if form.offset else None, query=form.args())

    def on_capture(self, request: Request, capture_id: int) -> Response:
        capture = self._capture(capture_id)
        revisit = self.archive.revisit(capture)
        source = self.archive.text_source(capture)  # a revisit shows its original's text
        article = self.archive.article(source.id)
        captures = self.archive.captures(capture.url)
        versions = self.archive.versions(capture.url)
        return self._page("capture.html", 200, request, capture=capture, article=article,
                          source=source, revisit=revisit, paragraphs=views.paragraphs(article),
                          captures=captures, revisits=self.archive.revisits(captures),
                          article_versions=self.archive.article_versions(capture.url),
                          previous=views.previous_version(versions, source),
                          replay_src=self._replay_src(request, capture))

    def on_diff(self, request: Request) -> Response:
        a = self._capture(request.args.get("a"))
        b = self._capture(request.args.get("b"))
        if a.timestamp > b.timestamp:
            a, b = b, a
        a_text, b_text = self.archive.text_source(a), self.archive.text_source(b)
        old, new = self.archive.article(a_text.id), self.archive.article(b_text.id)
        diff = diff_texts((old or {}).get("text", ""), (new or {}).get("text", ""))
        versions = self.archive.versions(b.url)
        earlier, later = views.neighbours(versions, a_text, b_text)
        choices = sorted({c.id: c for c in [*versions, a, b]}.values(),
                         key=lambda c: (c.timestamp, c.id))
        return self._page("diff.html", 200, request, a=a, b=b, old=old, new=new, diff=diff,
                          same_url=a.surt == b.surt, choices=choices,
                          revisits=self.archive.revisits(choices),
                          article_versions=self.archive.article_versions(b.url),
                          earlier=earlier, later=later, blocks=views.collapse(diff.blocks))

    def on_download(self, request: Request, capture_id: int) -> Response:
        capture = self._capture(capture_id)
        data = self.archive.warc_bytes(capture)
        name = f"{capture.site}-{capture.timestamp}-{capture.id}.warc.gz"
        return Response(data, content_type="application/warc", headers={
            "Content-Disposition": f'attachment; filename="{name}"'})

    def on_static(self, request: Request, name: str) -> Response:
        suffix = name[name.rfind("."):] if "." in name else ""
        if suffix not in _STATIC_TYPES or not re.fullmatch(r"[a-z0-9\-]+\.[a-z]+", name):
            raise NotFoundPage(f"No static file {name}.")
        try:
            data = (resources.files("warcwire.review") / "static" / name).read_bytes()
        except FileNotFoundError:
            raise NotFoundPage(f"No static file {name}.") from None
        response = Response(data, content_type=_STATIC_TYPES[suffix])
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response

    # -- JSON ------------------------------------------------------------

    def on_api_search(self, request: Request) -> Response:
        form = views.SearchForm.from_args(request.args)
        try:
            hits = self.archive.search(**form.filters(), limit=PAGE_SIZE, offset=form.offset)
        except ValueError as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"hits": [views.capture_json(h.capture) | {
            "title": h.title, "snippet": h.snippet_text} for h in hits]})

    def on_api_capture(self, request: Request, capture_id: int) -> Response:
        capture = self._capture(capture_id)
        revisit = self.archive.revisit(capture)
        source = self.archive.text_source(capture)
        return _json(views.capture_json(capture) | {
            "article": self.archive.article(source.id),
            "revisit": None if revisit is None else {
                "profile": revisit.ref.profile, "label": revisit.label,
                "original": None if revisit.original is None else revisit.original.id}})


def _json(value: Any, status: int = 200) -> Response:
    return Response(json.dumps(value, ensure_ascii=False), status=status,
                    content_type="application/json")
