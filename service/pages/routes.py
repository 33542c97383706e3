"""The pages' routes: the pre-check page and its results, and a filing's report behind a signed link.

    GET  /                              the pre-check page (404 when COURTDOC_PRECHECK=off)
    POST /precheck?lang=                multipart: `files` parts and a `metadata` part
                                        ({"declared": [titles]}) -> 202 {id, page_url, fragment_url}
    GET  /precheck/{id}                 the pre-check's results page (while it lasts)
    GET  /r/{filing_id}/{expires}/{sig} a filing's report page, no API key (404 tampered, 410 expired)
    GET  …/fragment                     {done, status, html}: what the page polls while files are checked
    GET  …/pictures/{file}/{page}.png?w= a page of a checked file drawn (w: 240 or 1200 pixels)
    GET  …/evidence/{file}/{finding}.json a finding's page and the boxes to draw over it
    GET  …/evidence/{file}/page-{page}.json a page opened from the strip (see present.py)
    GET  /static/…                      the pages' CSS and JavaScript (no other origin is used)

Errors of POST /precheck are JSON like the API's, with the message in the reader's language.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import redis
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment
from starlette.concurrency import run_in_threadpool

from ...checks.filing.metadata import MetadataError, parse_declared
from ...core.report import FileReport
from ...engine.pictures import NoPicture, render_page
from ...engine.sandbox import SandboxPool
from ...infra.reportlinks import report_links
from ...workers.precheck import PRECHECK_ID, prechecks
from ...workers.runtime import Runtime
from ..uploads import RequestError, UploadPace, receive
from . import present, views
from .strings import pick_lang, t

HERE = Path(__file__).parent
STATIC = HERE / "static"
_FILING_ID = PRECHECK_ID  # both are uuid4 hex
MAX_DECLARED = 200

#: Every page: nothing from another origin, no framing, no referrer (a report link is a
#: credential), nothing cached (results are personal), nothing indexed.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex, nofollow",
}


def _static_url(name: str) -> str:
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]
    return f"/static/{name}?v={digest}"


def templates() -> Environment:
    statics = {name: _static_url(name) for name in ("pages.css", "pages.js", "favicon.svg")}
    return present.environment(statics.__getitem__)


def mount_pages(app: FastAPI, rt: Runtime) -> None:
    """Add the pages and their static files to the API's app."""
    app.include_router(pages_router(rt))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")


def pages_router(rt: Runtime) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    env = templates()
    settings = rt.settings
    links = report_links(settings)
    pc = prechecks(rt)
    max_file_bytes = rt.policy.limits.max_file_bytes
    max_mb = max(1, max_file_bytes // 1_048_576)
    minutes = max(1, round(settings.precheck_ttl_s / 60))
    pace = UploadPace(
        idle_s=settings.upload_idle_timeout_s,
        min_bytes_per_s=settings.upload_min_bytes_per_s,
        window_s=settings.upload_rate_window_s,
    )

    def mode() -> str:
        return settings.precheck or "key"

    def lang_of(request: Request, default: str | None = None) -> str:
        query = request.query_params.get("lang")
        if default is not None:  # a report's own language beats the browser's
            return pick_lang(query, None, default)
        return pick_lang(query, request.headers.get("accept-language"), settings.default_lang)

    def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
        html = env.get_template(name).render(**context)
        return HTMLResponse(html, status_code=status, headers=PAGE_HEADERS)

    def message_page(lang: str, status: int, title: str, text: str) -> HTMLResponse:
        return page("message.html", status, lang=lang, title=title, text=text)

    def not_found(lang: str, text: str | None = None) -> HTMLResponse:
        return message_page(lang, 404, t("not_found_title", lang), text or t("not_found_text", lang))

    def unavailable(lang: str) -> HTMLResponse:
        return message_page(lang, 503, t("error_unavailable", lang), t("error_unavailable", lang))

    def error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
        return JSONResponse(
            {"error": {"code": code, "message": message, "detail": {}}},
            status_code=status,
            headers={**PAGE_HEADERS, **headers},
        )

    def fragment(progress: views.Progress, pictures: present.PictureLinks) -> JSONResponse:
        html = env.get_template("_progress.html").render(progress=progress, pictures=pictures)
        return JSONResponse(
            {"done": progress.done, "status": progress.status(t), "html": html}, headers=PAGE_HEADERS
        )

    # --- pictures and evidence ---------------------------------------------------------------------

    filing_pictures = settings.data_dir / "pictures"
    picture_headers = {**PAGE_HEADERS, "Cache-Control": "private, max-age=600"}

    def picture(
        progress: views.Progress,
        path_of: Any,
        cache_dir: Path,
        index: int,
        page: int,
        width: int,
        lang: str,
        pool: SandboxPool | None = None,
    ) -> Response:
        """A page of a checked file as PNG; 404 (with the reason as text) when there is none."""
        file = progress.file(index)
        if file is None or width not in present.WIDTHS or not present.picturable(file):
            return error(404, "not_found", t("not_found_text", lang))
        drawn = render_page(path_of(file), file.format or "", page, width, rt.policy, cache_dir, pool,
                            sha256=file.sha256)  # fmt: skip
        if isinstance(drawn, NoPicture):
            return error(404, "no_picture", drawn.text(lang))
        return Response(drawn.data, media_type=drawn.media_type, headers=picture_headers)

    def shown(
        progress: views.Progress,
        path_of: Any,
        cache_dir: Path,
        links: present.PictureLinks,
        index: int,
        which: str,
        lang: str,
        pool: SandboxPool | None = None,
    ) -> JSONResponse:
        """A finding's evidence (`which` is its index) or a page of the strip (`page-N`)."""
        file = progress.file(index)
        missing = error(404, "not_found", t("not_found_text", lang))
        if file is None:
            return missing
        path = path_of(file)
        if which.startswith("page-") and which[5:].isdigit():
            page = int(which[5:])
            drawn = render_page(path, file.format or "", page, present.LARGE_WIDTH, rt.policy, cache_dir, pool,
                                sha256=file.sha256)  # fmt: skip
            data = present.page_evidence(file, page, drawn, lang, links.large(index, page))
        elif which.isdigit() and int(which) < len(file.findings):
            finding = file.findings[int(which)]
            if not present.shows_on_page(file, finding):
                return missing
            data = present.evidence(
                file, finding, path, rt.policy, cache_dir, lang, lambda drawn: links.large(index, drawn.page), pool
            )
        else:
            return missing
        return JSONResponse(data, headers=PAGE_HEADERS)

    # --- the pre-check page ------------------------------------------------------------------------

    @router.get("/", response_class=HTMLResponse)
    def precheck_page(request: Request) -> HTMLResponse:
        lang = lang_of(request)
        if mode() == "off":
            return not_found(lang, t("precheck_off_text", lang))
        return page(
            "precheck.html",
            lang=lang,
            title=t("precheck_title", lang),
            minutes=minutes,
            max_files=settings.max_files,
            max_bytes=max_file_bytes,
            max_mb=max_mb,
            need_key=mode() == "key",
        )

    def rate_limited(address: str) -> int:
        """Seconds to wait when this address has used up its pre-checks for the minute, else 0."""
        digest = hashlib.sha256(address.encode()).hexdigest()[:32]
        key = pc.keys.rate(digest)
        count = int(rt.redis.incr(key))
        if count == 1:
            rt.redis.expire(key, 60)
        if count <= settings.precheck_per_minute:
            return 0
        ttl = int(rt.redis.ttl(key))
        return ttl if ttl > 0 else 60

    def upload_error(exc: RequestError, lang: str) -> JSONResponse:
        texts = {
            "file_too_large": lambda: t(
                "error_file_too_large", lang, name=exc.detail.get("file", ""), max_mb=max_mb
            ),
            "too_many_files": lambda: t("error_too_many_files", lang, max_files=settings.max_files),
            "bad_filename": lambda: t("error_bad_name", lang),
            "upload_too_slow": lambda: t("error_too_slow", lang),
        }
        text = texts.get(exc.code, lambda: t("error_upload", lang))()
        return error(exc.status, exc.code, text)

    def declared_of(raw: bytes | None) -> list[dict[str, Any]] | None:
        if not raw:
            return None
        data = json.loads(raw.decode("utf-8"))
        titles = data.get("declared") if isinstance(data, dict) else None
        if not titles:
            return None
        if not isinstance(titles, list) or len(titles) > MAX_DECLARED:
            raise MetadataError("declared: expected a list of titles")
        return parse_declared(titles)

    @router.post("/precheck")
    async def post_precheck(request: Request) -> JSONResponse:
        lang = lang_of(request)
        if mode() == "off":
            return error(404, "not_found", t("precheck_off_text", lang))
        if mode() == "key":
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or rt.clients.authenticate(token.strip()) is None:
                return error(401, "unauthorized", t("error_unauthorized", lang), **{"WWW-Authenticate": "Bearer"})
        address = request.client.host if request.client else "unknown"
        try:
            wait = await run_in_threadpool(rate_limited, address)
            if wait:
                return error(429, "too_many_prechecks", t("error_rate_limited", lang), **{"Retry-After": str(wait)})
            pid = pc.new_id()
            blobs = await run_in_threadpool(pc.open, pid, lang)
        except redis.RedisError:
            return error(503, "unavailable", t("error_unavailable", lang))
        try:
            received = await receive(
                request,
                blobs,
                max_file_bytes=max_file_bytes,
                max_files=settings.max_files,
                max_metadata_bytes=settings.max_metadata_bytes,
                pace=pace,
            )
        except RequestError as exc:
            await run_in_threadpool(pc.discard, pid)
            return upload_error(exc, lang)
        except BaseException:
            await run_in_threadpool(pc.discard, pid)
            raise
        try:
            try:
                declared = declared_of(received.metadata)
            except (ValueError, UnicodeDecodeError):
                received.abort()
                await run_in_threadpool(pc.discard, pid)
                return error(422, "invalid_metadata", t("error_declared", lang))
            if not received.files:
                await run_in_threadpool(pc.discard, pid)
                return error(400, "empty_filing", t("error_no_files", lang))
            stored = await run_in_threadpool(lambda: [(f.name, f.blob.commit(), f.blob) for f in received.files])
            files = [{"name": name, "sha256": blob.sha256, "size": blob.size} for name, _, blob in stored]
            started = await run_in_threadpool(pc.start, pid, files, declared)
        except redis.RedisError:
            received.abort()
            await run_in_threadpool(pc.discard, pid)
            return error(503, "unavailable", t("error_unavailable", lang))
        except BaseException:
            received.abort()
            await run_in_threadpool(pc.discard, pid)
            raise
        if not started:
            await run_in_threadpool(pc.discard, pid)
            return error(410, "precheck_expired", t("error_expired", lang))
        page_url = f"/precheck/{pid}?lang={lang}"
        return JSONResponse(
            {"id": pid, "page_url": page_url, "fragment_url": f"/precheck/{pid}/fragment?lang={lang}"},
            status_code=202,
            headers={**PAGE_HEADERS, "Location": page_url},
        )

    def precheck_progress(pid: str) -> views.Progress | None:
        if not PRECHECK_ID.match(pid):
            return None
        meta = pc.store.meta(pid)
        if meta is None or "files" not in meta:
            return None
        return views.from_store(pc.store, pid, meta)

    @router.get("/precheck/{pid}", response_class=HTMLResponse)
    def precheck_results(pid: str, request: Request) -> HTMLResponse:
        try:
            progress = precheck_progress(pid)
        except redis.RedisError:
            return unavailable(lang_of(request))
        if progress is None:
            lang = lang_of(request)
            return not_found(lang, t("precheck_gone_text", lang, minutes=minutes))
        lang = lang_of(request, progress.lang)
        return page(
            "results.html",
            lang=lang,
            title=t("precheck_title", lang),
            progress=progress,
            pictures=present.PictureLinks(f"/precheck/{pid}", lang),
            poll_url=f"/precheck/{pid}/fragment",
            note=t("precheck_kept", lang, minutes=minutes),
            again=True,
        )

    @router.get("/precheck/{pid}/fragment")
    def precheck_fragment(pid: str, request: Request) -> JSONResponse:
        lang = lang_of(request)
        try:
            progress = precheck_progress(pid)
        except redis.RedisError:
            return error(503, "unavailable", t("error_unavailable", lang))
        if progress is None:
            return error(404, "not_found", t("precheck_gone_text", lang, minutes=minutes))
        return fragment(progress, present.PictureLinks(f"/precheck/{pid}", lang_of(request, progress.lang)))

    def precheck_files(pid: str) -> tuple[Any, Path]:
        """Where a pre-check's files are, and its picture cache (swept with the pre-check)."""
        blobs = pc.blobs(pid)
        return (lambda file: blobs.path(file.sha256)), pc.root / pid / "pictures"

    @router.get("/precheck/{pid}/pictures/{index}/{page}.png")
    def precheck_picture(pid: str, index: int, page: int, request: Request, w: int = present.THUMB_WIDTH) -> Response:
        lang = lang_of(request)
        try:
            progress = precheck_progress(pid)
        except redis.RedisError:
            return error(503, "unavailable", t("error_unavailable", lang))
        if progress is None:
            return error(404, "not_found", t("precheck_gone_text", lang, minutes=minutes))
        path_of, cache_dir = precheck_files(pid)
        # Drawn by the pre-checks' own sandbox children: a crowd's pictures never wait on, nor
        # hold up, a filing's checks.
        return picture(progress, path_of, cache_dir, index, page, w, lang, pc.pool())

    @router.get("/precheck/{pid}/evidence/{index}/{which}.json")
    def precheck_evidence(pid: str, index: int, which: str, request: Request) -> JSONResponse:
        lang = lang_of(request)
        try:
            progress = precheck_progress(pid)
        except redis.RedisError:
            return error(503, "unavailable", t("error_unavailable", lang))
        if progress is None:
            return error(404, "not_found", t("precheck_gone_text", lang, minutes=minutes))
        lang = lang_of(request, progress.lang)
        path_of, cache_dir = precheck_files(pid)
        links = present.PictureLinks(f"/precheck/{pid}", lang)
        return shown(progress, path_of, cache_dir, links, index, which, lang, pc.pool())

    # --- a filing's report behind a signed link ------------------------------------------------------

    def linked(fid: str, expires: str, sig: str, request: Request) -> views.Progress | HTMLResponse:
        lang = lang_of(request)
        verdict = links.verify(fid, expires, sig) if _FILING_ID.match(fid) else "invalid"
        if verdict == "invalid":
            return not_found(lang)
        if verdict == "expired":
            date = rt.local_date(int(expires)).isoformat()
            return message_page(lang, 410, t("expired_title", lang), t("expired_text", lang, date=date))
        try:
            progress = views.filing_progress(rt, fid)
        except redis.RedisError:
            return unavailable(lang)
        return progress if progress is not None else not_found(lang)

    @router.get("/r/{fid}/{expires}/{sig}", response_class=HTMLResponse)
    def report_page(fid: str, expires: str, sig: str, request: Request) -> HTMLResponse:
        found = linked(fid, expires, sig, request)
        if isinstance(found, HTMLResponse):
            return found
        lang = lang_of(request, found.lang)
        return page(
            "results.html",
            lang=lang,
            title=t("report_title", lang),
            intro=t("report_intro", lang) if found.done else t("report_checking", lang),
            progress=found,
            pictures=present.PictureLinks(f"/r/{fid}/{expires}/{sig}", lang),
            poll_url=f"/r/{fid}/{expires}/{sig}/fragment",
        )

    @router.get("/r/{fid}/{expires}/{sig}/fragment")
    def report_fragment(fid: str, expires: str, sig: str, request: Request) -> JSONResponse:
        found = linked(fid, expires, sig, request)
        if isinstance(found, HTMLResponse):
            lang = lang_of(request)
            return error(found.status_code, "not_found", t("not_found_text", lang))
        return fragment(found, present.PictureLinks(f"/r/{fid}/{expires}/{sig}", lang_of(request, found.lang)))

    def filing_file(file: FileReport) -> Path:
        return rt.blobs.path(file.sha256)

    # The signature that opens the report opens its pictures: the same path, one level down.
    @router.get("/r/{fid}/{expires}/{sig}/pictures/{index}/{page}.png")
    def report_picture(
        fid: str, expires: str, sig: str, index: int, page: int, request: Request, w: int = present.THUMB_WIDTH
    ) -> Response:
        found = linked(fid, expires, sig, request)
        lang = lang_of(request)
        if isinstance(found, HTMLResponse):
            return error(found.status_code, "not_found", t("not_found_text", lang))
        return picture(found, filing_file, filing_pictures, index, page, w, lang)

    @router.get("/r/{fid}/{expires}/{sig}/evidence/{index}/{which}.json")
    def report_evidence(fid: str, expires: str, sig: str, index: int, which: str, request: Request) -> JSONResponse:
        found = linked(fid, expires, sig, request)
        if isinstance(found, HTMLResponse):
            return error(found.status_code, "not_found", t("not_found_text", lang_of(request)))
        lang = lang_of(request, found.lang)
        links = present.PictureLinks(f"/r/{fid}/{expires}/{sig}", lang)
        return shown(found, filing_file, filing_pictures, links, index, which, lang)

    return router
