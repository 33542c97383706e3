"""The intake HTTP API (FastAPI): portals post filings and read their status; ops read health.

    POST /v1/filings        multipart: files (one part per file) + metadata (JSON) -> 202 {id, status_url}
    GET  /v1/filings/{id}   status, the filing report when done, the callback delivery log
    GET  /v1/rules          the policy's rules and severities
    GET  /healthz, /readyz  process up; Redis reachable
    GET  /metrics           Prometheus
    GET  /openapi.json      the schema, including the report and the callback payload

Thin by design: parse and authenticate, store the files (`uploads`), hand the filing to the
workers (`Runtime.submit`), read state back. Every client error is JSON:
`{"error": {"code", "message", "detail"}}`.
"""

import json
import re
import time
import uuid
from typing import Annotated, Any

import redis
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__, logs
from .api_models import (
    CallbackEnvelope,
    ErrorResponse,
    FilingAccepted,
    FilingMetadata,
    FilingStatus,
    Lang,
    RulesResponse,
)
from .checks.filing.metadata import MetadataError, parse_metadata
from .clients import Client
from .netguard import host_of
from .render import rules_table
from .uploads import Received, RequestError, receive
from .workers.filings import iso
from .workers.metrics import RedisCollector
from .workers.runtime import Runtime

log = logs.get(__name__)

_FILING_ID = re.compile(r"^[0-9a-f]{32}$")

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in {
        400: "Malformed request: not multipart, missing or bad metadata, no files, a bad file name",
        401: "No API key, or an unknown one",
        413: "A file (or the metadata, or the declared request length) is too large",
        422: "Too many files, or metadata that is JSON but not valid (callback not allowed, …)",
        503: "Redis is not reachable; nothing was recorded",
    }.items()
}

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["files", "metadata"],
                    "properties": {
                        "files": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "one part per file; the part's filename is the document's name",
                        },
                        "metadata": {"$ref": "#/components/schemas/FilingMetadata"},
                    },
                },
                "encoding": {"metadata": {"contentType": "application/json"}},
            }
        },
    }
}


def _error(status: int, code: str, message: str, detail: dict[str, Any] | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(
        {"error": {"code": code, "message": message, "detail": detail or {}}},
        status_code=status,
        headers=headers,
    )


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
    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector(rt.redis, rt.keys))
    policy = rt.policy
    max_file_bytes = policy.limits.max_file_bytes

    @app.exception_handler(RequestError)
    async def _request_error(request: Request, exc: RequestError) -> JSONResponse:
        return _error(exc.status, exc.code, exc.message, exc.detail)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}.get(
            exc.status_code, "http_error"
        )
        return _error(exc.status_code, code, str(exc.detail))

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
        try:
            data = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RequestError(400, "bad_metadata", f"the metadata part is not JSON: {exc}") from None
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
                    f"callback_url points to {host}, a loopback/private/link-local address",
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

    @app.post(
        "/v1/filings",
        status_code=202,
        response_model=FilingAccepted,
        responses=_ERRORS,
        openapi_extra=_UPLOAD_BODY,
        summary="Submit a filing (its files and metadata) for checking",
    )
    async def post_filing(request: Request, client: Annotated[Client, Depends(authenticate)]) -> JSONResponse:
        t0 = time.perf_counter()
        received: Received = await receive(
            request,
            rt.blobs,
            max_file_bytes=max_file_bytes,
            max_files=rt.settings.max_files,
            max_metadata_bytes=rt.settings.max_metadata_bytes,
        )
        try:
            meta, metadata = read_metadata(received.metadata, client)
            if not received.files:
                raise RequestError(400, "empty_filing", "a filing needs at least one file in 'files'")
            stored = await run_in_threadpool(
                lambda: [(f.name, f.blob.commit(), f.blob) for f in received.files]
            )
        except BaseException:
            received.abort()
            raise
        fid = uuid.uuid4().hex
        record = {
            "client": client.name,
            "external_id": meta.external_id,
            "callback_url": meta.callback_url or "",
            "lang": meta.lang or rt.settings.default_lang,
            "metadata": metadata,
            "files": [{"name": name, "sha256": blob.sha256, "size": blob.size} for name, _, blob in stored],
            "nfiles": str(len(stored)),
            "created_at": repr(time.time()),
            "policy_sha256": policy.sha256,
        }
        await run_in_threadpool(rt.submit, fid, record)
        log.info(
            "filing.received",
            filing_id=fid,
            client=client.name,
            external_id=meta.external_id,
            files=[{"sha256": blob.sha256, "size": blob.size} for _, _, blob in stored],
            duration_ms=round((time.perf_counter() - t0) * 1000, 1),
        )
        url = rt.status_url(fid)
        return JSONResponse({"id": fid, "status_url": url}, status_code=202, headers={"Location": url})

    @app.get(
        "/v1/filings/{filing_id}",
        response_model=FilingStatus,
        responses={
            401: _ERRORS[401],
            404: {"model": ErrorResponse, "description": "No such filing for this key"},
        },
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
                }
            )
        if meta.get("client") != client.name:
            raise not_found
        return JSONResponse(rt.filings.view(filing_id, meta))

    @app.get(
        "/v1/rules", response_model=RulesResponse, summary="The rules the policy applies, with severities"
    )
    def get_rules(lang: Lang = "en") -> dict[str, Any]:
        return {"policy": policy.summary(), "rules": rules_table(policy, lang)}

    @app.get("/healthz", summary="The API process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="Redis is reachable", responses={503: _ERRORS[503]})
    def readyz() -> JSONResponse:
        rt.redis.ping()
        return JSONResponse({"status": "ready", "checked_at": iso(time.time())})

    @app.get("/metrics", summary="Prometheus metrics (queue depth, check durations, verdicts, callbacks)")
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.webhooks.post("filing.checked")
    def filing_checked(body: CallbackEnvelope) -> None:
        """POSTed to the filing's `callback_url` when its verdict is decided, signed per Standard
        Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>`
        over `id.timestamp.body` with the portal's `whsec_…` secret). Answer 2xx; anything else is
        retried on the Standard Webhooks schedule with the same `webhook-id`."""

    return app
