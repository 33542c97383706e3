"""The intake HTTP API (FastAPI): portals post filings and read their status; ops read health.

    POST /v1/filings        multipart: files (one part per file) + metadata (JSON) -> 202 {id, status_url}
    GET  /v1/filings/{id}   status, the filing report when done, the callback delivery log
    GET  /v1/rules          the policy's rules and severities
    GET  /healthz, /readyz  process up; Redis reachable
    GET  /metrics           Prometheus (text)
    GET  /openapi.json      the schema, including the report and the callback payload
    GET  /, /precheck/…, /r/…  the people's pages (`pages/`): the pre-check, signed report links

Thin by design: parse and authenticate, store the files (`uploads`), hand the filing to the
workers (`Runtime.submit`), read state back. Every client error is JSON:
`{"error": {"code", "message", "detail"}}`. A POST is idempotent per `Idempotency-Key` (or
`external_id`, see `idempotency`); a portal has at most `max_uploads_per_key` uploads in
progress at once in this process (429 beyond).
"""

import contextlib
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Mapping
from typing import Annotated, Any

import redis
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from .. import __version__
from ..checks.filing.metadata import MetadataError, parse_metadata
from ..core import logs
from ..core.rules import rules_table
from ..engine.capabilities import cached_capabilities
from ..infra.clients import Client
from ..infra.netguard import host_of
from ..infra.reportlinks import report_links
from ..workers.filings import iso
from ..workers.metrics import RedisCollector
from ..workers.runtime import Runtime
from .api_models import (
    CallbackEnvelope,
    ErrorResponse,
    FilingAccepted,
    FilingMetadata,
    FilingStatus,
    Lang,
    RulesResponse,
)
from .idempotency import Idempotency, Outcome, Scope, fingerprint
from .pages.routes import mount_pages
from .uploads import Received, RequestError, UploadPace, receive

log = logs.get(__name__)

_FILING_ID = re.compile(r"^[0-9a-f]{32}$")
#: Visible ASCII, 1 to 255 characters (the IETF draft's key is an opaque string).
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
#: Deeper metadata is refused before anything walks it (it is a form, not a tree).
MAX_METADATA_DEPTH = 32

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        400: "Malformed request: not multipart, missing or bad metadata, no files, a bad file name",
        401: "No API key, or an unknown one",
        408: "The upload was too slow (idle, or under the minimum rate); nothing was recorded",
        409: "The idempotency key (or external_id) belongs to a filing with another body",
        413: "A file (or the metadata, or the declared request length) is too large",
        422: "Too many files, or metadata that is JSON but not valid (callback not allowed, …)",
        429: "Too many uploads of this API key in progress; retry after `Retry-After` seconds",
        503: "Redis is not reachable; nothing was recorded",
    }.items()
}

_UPLOAD_BODY = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "the same key with the same body answers the first filing (202, "
            "`Idempotent-Replayed: true`); with another body, 409 `idempotency_conflict`. "
            "Without it, the metadata's `external_id` is the key.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files", "metadata"],
                    "additionalProperties": False,
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "minItems": 1,
                            "description": "one part per file; the part's filename is the document's name",
                        },
                        "metadata": {"$ref": "#/components/schemas/FilingMetadata"},
                    },
                },
                "encoding": {"metadata": {"contentType": "application/json"}},
            }
        },
    },
}


#: Headers every error of a status carries: how to authenticate, when to retry, and that a
#: connection whose body was not read to the end is not reused.
_ERROR_HEADERS: dict[int, dict[str, str]] = {
    401: {"WWW-Authenticate": "Bearer"},
    408: {"Connection": "close"},
    429: {"Retry-After": "1"},
}


def _error(
    status: int,
    code: str,
    message: str,
    detail: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message, "detail": detail or {}}},
        status_code=status,
        headers={**_ERROR_HEADERS.get(status, {}), **(headers or {})} or None,
    )


def _depth(value: Any) -> int:
    """How deeply JSON containers nest (iterative: a hostile document cannot exhaust the stack)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level > MAX_METADATA_DEPTH:
                break
            stack.extend((v, level + 1) for v in (item.values() if isinstance(item, dict) else item))
    return deepest


def _openapi_extras(schema: dict[str, Any], max_files: int) -> dict[str, Any]:
    """What FastAPI does not derive: the multipart body's metadata schema (the route reads the
    raw request, so no model of it reaches the components) and the link from a new filing to
    its status, which lets a client — or a fuzzer — follow one to the other."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    meta = FilingMetadata.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(meta.pop("$defs", {}))
    components["FilingMetadata"] = meta
    schema["components"]["securitySchemes"] = {
        "apiKey": {"type": "http", "scheme": "bearer", "description": "the portal's API key"}
    }
    for path, method in [("/v1/filings", "post"), ("/v1/filings/{filing_id}", "get")]:
        schema["paths"][path][method]["security"] = [{"apiKey": []}]
    post = schema["paths"]["/v1/filings"]["post"]
    files = post["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"]["files"]
    files["maxItems"] = max_files
    accepted = post["responses"]["202"]
    accepted["links"] = {
        "GetFilingById": {
            "operationId": "get_filing",
            "parameters": {"filing_id": "$response.body#/id"},
            "description": "the filing's status, its report when done",
        }
    }
    accepted["headers"] = {
        "Idempotent-Replayed": {
            "description": "`true` when the answer is the one an earlier request with the same key got",
            "schema": {"type": "string", "enum": ["true"]},
        }
    }
    return schema


def _validation_detail(exc: ValidationError | RequestValidationError) -> dict[str, Any]:
    return {
        "errors": [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
    }


def create_app(rt: Runtime) -> FastAPI:
    app = FastAPI(
        title="courtdoc",
        version=__version__,
        description="Document-conformance checks for court e-filing: post a filing, get a signed verdict back.",
    )
    app.state.runtime = rt

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _openapi_extras(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    description=app.description,
                    routes=app.routes,
                    webhooks=app.webhooks.routes,
                ),
                rt.settings.max_files,
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    settings = rt.settings
    pace = UploadPace(
        idle_s=settings.upload_idle_timeout_s,
        min_bytes_per_s=settings.upload_min_bytes_per_s,
        window_s=settings.upload_rate_window_s,
    )
    idempotency = Idempotency(
        rt.redis,
        rt.keys,
        settings.idempotency_ttl_s if settings.idempotency_ttl_s is not None else rt.retention_s(),
        recorded=lambda fid: fid in rt.journal or rt.filings.final_report(fid) is not None,
    )
    uploading: Counter[str] = Counter()  # API key's portal -> uploads in progress (one event loop)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(rt.redis, rt.keys))
    policy = rt.policy
    max_file_bytes = policy.limits.max_file_bytes
    links = report_links(settings)  # makes the link secret on first start

    @app.exception_handler(RequestError)
    async def _request_error(request: Request, exc: RequestError) -> JSONResponse:
        headers = {"Retry-After": "1"} if exc.code == "idempotency_in_progress" else None
        return _error(exc.status, exc.code, exc.message, exc.detail, headers)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        return _error(exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _error(
            422, "invalid_request", "the request's parameters are not valid", _validation_detail(exc)
        )

    @app.exception_handler(redis.RedisError)
    async def _redis_error(request: Request, exc: redis.RedisError) -> JSONResponse:
        log.error("api.redis_unavailable", error=str(exc))
        return _error(503, "unavailable", "the service's store is not reachable; try again shortly")

    def authenticate(request: Request) -> Client:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        client = rt.clients.authenticate(token.strip()) if scheme.lower() == "bearer" else None
        if client is None:
            raise RequestError(401, "unauthorized", "send 'Authorization: Bearer <API key>' with a valid key")
        return client

    def read_metadata(raw: bytes | None, client: Client) -> tuple[FilingMetadata, dict[str, Any]]:
        if raw is None:
            raise RequestError(400, "missing_metadata", "the 'metadata' part (JSON) is missing")
        too_deep = RequestError(
            400,
            "bad_metadata",
            f"the metadata nests deeper than {MAX_METADATA_DEPTH} levels",
            limit=MAX_METADATA_DEPTH,
        )
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RequestError(400, "bad_metadata", f"the metadata part is not JSON: {exc}") from None
        except RecursionError:  # deeper than the decoder's own stack
            raise too_deep from None
        if _depth(data) > MAX_METADATA_DEPTH:
            raise too_deep
        if not isinstance(data, dict):
            raise RequestError(400, "bad_metadata", "the metadata part must be a JSON object")
        try:
            meta = FilingMetadata.model_validate(data)
            parse_metadata(data)  # the filing-level checks' own validation of their keys
        except ValidationError as exc:
            raise RequestError(
                422, "invalid_metadata", "the metadata is not valid", **_validation_detail(exc)
            ) from None
        except MetadataError as exc:
            raise RequestError(422, "invalid_metadata", f"the metadata is not valid: {exc}") from None
        if meta.callback_url:
            url = meta.callback_url
            host = host_of(url)
            if not url.lower().startswith(("http://", "https://")) or not host or "@" in url.split("/")[2]:
                raise RequestError(422, "bad_callback_url", "callback_url must be an http(s) URL with a host")
            if rt.address_policy.literal_refused(host):
                raise RequestError(
                    422,
                    "callback_private_address",
                    f"callback_url points to {host}, a loopback/private/link-local address; a "
                    "deployment whose portal lives on such a network lists it in "
                    "COURTDOC_CALLBACK_ALLOW_NETWORKS (for example 10.0.0.0/8)",
                    host=host,
                )
            if not client.allows_host(host):
                raise RequestError(
                    422,
                    "callback_host_not_allowed",
                    f"callbacks to {host} are not allowed for this API key",
                    host=host,
                    allowed=list(client.callback_hosts),
                )
        return meta, data

    def idempotency_key(request: Request, client: Client, meta: FilingMetadata) -> str:
        header = request.headers.get("idempotency-key")
        if header is None:
            scope: Scope = "external_id"
            value = meta.external_id
        elif _IDEMPOTENCY_KEY.match(header):
            scope, value = "header", header
        else:
            raise RequestError(
                400, "bad_idempotency_key", "Idempotency-Key must be 1 to 255 visible ASCII characters"
            )
        return idempotency.key(client.name, scope, value)

    def accepted(fid: str, url: str, created_at: float | None, replayed: bool = False) -> JSONResponse:
        headers = {"Location": url}
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        # Counted from the filing's creation, so that a replayed answer is the first one.
        body = {"id": fid, "status_url": url, "report_url": links.url(fid, now=created_at)}
        return JSONResponse(body, status_code=202, headers=headers)

    @app.post(
        "/v1/filings",
        status_code=202,
        response_model=FilingAccepted,
        responses=_ERRORS,
        openapi_extra=_UPLOAD_BODY,
        operation_id="post_filing",
        summary="Submit a filing (its files and metadata) for checking",
    )
    async def post_filing(request: Request, client: Annotated[Client, Depends(authenticate)]) -> JSONResponse:
        if uploading[client.name] >= settings.max_uploads_per_key:
            raise RequestError(
                429,
                "too_many_uploads",
                f"this API key already has {settings.max_uploads_per_key} uploads in progress",
                limit=settings.max_uploads_per_key,
            )
        uploading[client.name] += 1
        try:
            return await _post_filing(request, client)
        finally:
            uploading[client.name] -= 1
            if uploading[client.name] <= 0:
                del uploading[client.name]

    async def _post_filing(request: Request, client: Client) -> JSONResponse:
        t0 = time.perf_counter()
        received: Received = await receive(
            request,
            rt.blobs,
            max_file_bytes=max_file_bytes,
            max_files=settings.max_files,
            max_metadata_bytes=settings.max_metadata_bytes,
            pace=pace,
        )
        fid = uuid.uuid4().hex
        url = rt.status_url(fid)
        try:
            meta, metadata = read_metadata(received.metadata, client)
            if not received.files:
                raise RequestError(400, "empty_filing", "a filing needs at least one file in 'files'")
            key = idempotency_key(request, client, meta)
            digests = await run_in_threadpool(lambda: [f.blob.finish() for f in received.files])
            fprint = fingerprint(
                metadata, [(f.name, d) for f, d in zip(received.files, digests, strict=True)]
            )
            outcome: Outcome = await run_in_threadpool(idempotency.claim, key, fprint, fid, url)
            if outcome.kind != "won":
                received.abort()
                return await _not_new(outcome, client, meta)
        except BaseException:
            received.abort()
            raise
        try:
            stored = await run_in_threadpool(
                lambda: [(f.name, f.blob.commit(), f.blob) for f in received.files]
            )
            if not await run_in_threadpool(idempotency.extend, key, fid):
                # Storing outlasted the lease and another request took the key: answer as it does.
                outcome = await run_in_threadpool(idempotency.claim, key, fprint, fid, url)
                if outcome.kind != "won":
                    return await _not_new(outcome, client, meta)
            created_at = time.time()
            record = {
                "client": client.name,
                "external_id": meta.external_id,
                "callback_url": meta.callback_url or "",
                "lang": meta.lang or settings.default_lang,
                "metadata": metadata,
                "files": [
                    {"name": name, "sha256": blob.sha256, "size": blob.size} for name, _, blob in stored
                ],
                "nfiles": str(len(stored)),
                "created_at": repr(created_at),
                "policy_sha256": policy.sha256,
            }
            await run_in_threadpool(rt.submit, fid, record)
        except BaseException:
            received.abort()
            if fid not in rt.journal:  # not accepted: a retry may make the filing
                with contextlib.suppress(redis.RedisError):  # else its lease runs out
                    await run_in_threadpool(idempotency.release, key, fid)
            raise
        with contextlib.suppress(redis.RedisError):  # a retry finds the filing journaled anyway
            await run_in_threadpool(idempotency.done, key, fprint, fid, url)
        log.info(
            "filing.received",
            filing_id=fid,
            client=client.name,
            external_id=meta.external_id,
            files=[{"sha256": blob.sha256, "size": blob.size} for _, _, blob in stored],
            duration_ms=round((time.perf_counter() - t0) * 1000, 1),
        )
        return accepted(fid, url, created_at)

    async def _not_new(outcome: Outcome, client: Client, meta: FilingMetadata) -> JSONResponse:
        """The answer to a request whose idempotency key already has a filing."""
        log.info("filing.idempotent", outcome=outcome.kind, filing_id=outcome.fid, client=client.name)
        if outcome.kind == "replay":
            first = await run_in_threadpool(rt.filings.meta, outcome.fid)
            created = float(first["created_at"]) if first and first.get("created_at") else None
            url = outcome.status_url or rt.status_url(outcome.fid)
            return accepted(outcome.fid, url, created, replayed=True)
        if outcome.kind == "pending":
            raise RequestError(
                409,
                "idempotency_in_progress",
                "a request with this idempotency key is still being recorded; retry shortly",
                id=outcome.fid,
            )
        raise RequestError(
            409,
            "idempotency_conflict",
            "this idempotency key (the Idempotency-Key header, or else the external_id) already "
            "made a filing with a different body; use a new key for a new filing",
            id=outcome.fid,
            external_id=meta.external_id,
        )

    @app.get(
        "/v1/filings/{filing_id}",
        response_model=FilingStatus,
        responses={
            401: _ERRORS[401],
            404: {"model": ErrorResponse, "description": "No such filing for this key"},
        },
        operation_id="get_filing",
        summary="A filing's status, its report when done, and its callback deliveries",
    )
    def get_filing(filing_id: str, client: Annotated[Client, Depends(authenticate)]) -> JSONResponse:
        not_found = RequestError(404, "not_found", f"no filing {filing_id} for this API key")
        if not _FILING_ID.match(filing_id):
            raise not_found
        meta = rt.filings.meta(filing_id)
        if meta is None:
            archived = rt.read_report_file(filing_id)  # Redis retention has passed: the audit copy
            if archived is None or archived.get("client") != client.name:
                raise not_found
            return JSONResponse(
                {
                    "id": filing_id,
                    "external_id": archived.get("external_id"),
                    "status": "done",
                    "created_at": archived.get("created_at"),
                    "finished_at": archived.get("finished_at"),
                    "verdict": archived["report"]["verdict"],
                    "files": [
                        {**f, "index": i, "checked": True} for i, f in enumerate(archived.get("files", []))
                    ],
                    "report": archived["report"],
                    "callback": None,
                    "report_url": links.url(filing_id),
                }
            )
        if meta.get("client") != client.name:
            raise not_found
        return JSONResponse({**rt.filings.view(filing_id, meta), "report_url": links.url(filing_id)})

    @app.get(
        "/v1/rules",
        response_model=RulesResponse,
        summary="The rules the policy applies, with severities",
        description="Every rule of the registry with the policy's effective severity, the requirement "
        "it enforces and its message parameters; titles in the language asked for.",
    )
    def get_rules(lang: Lang = "en") -> dict[str, Any]:
        return {"policy": policy.summary(), "rules": rules_table(policy, lang)}

    @app.get("/healthz", summary="The API process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Redis is reachable", responses={503: _ERRORS[503]})
    def readyz() -> JSONResponse:
        """Ready when Redis answers. `capabilities` says which optional programs (LibreOffice,
        Tesseract) this process sees and which checks of the policy they let run, as
        `courtdoc doctor --format json`: a check that cannot run is reported, not a 503."""
        rt.redis.ping()
        caps = cached_capabilities(policy).as_dict()
        return JSONResponse({"status": "ready", "checked_at": iso(time.time()), "capabilities": caps})

    @app.get(
        "/metrics",
        response_class=PlainTextResponse,
        responses={
            200: {
                "description": "the Prometheus text exposition format",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
        summary="Prometheus metrics (queue depth, check durations, verdicts, callbacks)",
    )
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.webhooks.post("filing.checked")
    def filing_checked(body: CallbackEnvelope) -> None:
        """POSTed to the filing's `callback_url` when its verdict is decided, signed per Standard
        Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`
        over `id.timestamp.body` with the portal's `whsec_…` secret). Answer 2xx; anything else is
        retried on the Standard Webhooks schedule with the same `webhook-id`."""

    mount_pages(app, rt)
    return app
