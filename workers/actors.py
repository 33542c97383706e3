"""The intake actors: check a file, finalize a filing, deliver its callback.

No check logic lives here: `check_file` calls `pipeline.validate_file` (which bounds the parse
in time and memory, so a hostile file becomes a finding, never a dead worker) and
`finalize_filing` calls `pipeline.validate_filing` with the stored file reports. Dramatiq retries
a message only for transient errors (Redis, the network, the file system); a file that is simply
bad produces a report like any other.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from typing import TYPE_CHECKING, Any

import dramatiq
import redis
import structlog
from dramatiq.middleware import CurrentMessage

from .. import pipeline
from ..core import logs
from ..core.report import FilingReport
from ..infra import webhooks
from ..infra.reportlinks import report_links
from .broker import CALLBACKS, INTAKE
from .filings import iso
from .outbox import now_ms

if TYPE_CHECKING:
    from .runtime import Runtime

log = logs.get(__name__)

TRANSIENT = (redis.RedisError, OSError, TimeoutError)
MAX_TRANSIENT_RETRIES = 20


def transient(retries: int, exc: BaseException) -> bool:
    """Retry Redis/network/file-system failures; anything else is a bug to see, not to repeat."""
    return retries < MAX_TRANSIENT_RETRIES and isinstance(exc, TRANSIENT)


def _message_id() -> str:
    message = CurrentMessage.get_current_message()
    return message.message_id if message is not None else uuid.uuid4().hex


def _findings(report: FilingReport) -> list[tuple[str, str]]:
    out = [(f.rule, f.severity) for f in report.findings]
    for file in report.files:
        out += [(f.rule, f.severity) for f in file.findings]
    return out


def declare(rt: Runtime) -> dict[str, Any]:
    faults = rt.settings.faults()

    def fault(point: str, fid: str) -> None:
        """Failure injection for recovery tests (COURTDOC_FAULT_PAUSE); pauses once per filing."""
        seconds = faults.get(point)
        if seconds and rt.redis.set(rt.keys.fault(point, fid), "1", nx=True, ex=3600):
            log.warning("fault.pause", point=point, seconds=seconds, pid=os.getpid())
            time.sleep(seconds)

    def check_file(filing_id: str, index: int) -> None:
        with structlog.contextvars.bound_contextvars(filing_id=filing_id, file_index=index):
            meta = rt.filings.meta(filing_id)
            if meta is None:
                log.warning("check.unknown_filing")
                return
            entry = json.loads(meta["files"])[index]
            with structlog.contextvars.bound_contextvars(sha256=entry["sha256"]):
                report_json = ""
                if rt.filings.has_report(filing_id, index):
                    # Redelivered after the report was stored: only the barrier is left to do.
                    log.info("check.already_stored")
                else:
                    rt.filings.mark_started(filing_id)
                    log.info("check.start", size=entry["size"])  # the sha256 is bound above; never the name
                    fault("check", filing_id)
                    t0 = time.perf_counter()
                    report = pipeline.validate_file(
                        rt.blobs.path(entry["sha256"]), rt.policy, name=entry["name"], lang=meta["lang"]
                    )
                    seconds = time.perf_counter() - t0
                    fmt = report.format or "unknown"
                    rt.metrics.check(fmt, seconds, report.verdict)
                    log.info(
                        "check.done",
                        format=fmt,
                        verdict=report.verdict,
                        rules=sorted({f.rule for f in report.findings}),
                        duration_ms=round(seconds * 1000, 1),
                    )
                    report_json = json.dumps(report.to_dict(), ensure_ascii=False)
                result = rt.filings.store_report(filing_id, index, report_json, _message_id())
                log.info(
                    "barrier.stored",
                    added=result.added,
                    stored=result.count,
                    files=int(meta["nfiles"]),
                    completes=result.won,
                    redelivered=result.again,
                )
                if result.won:
                    fault("stored", filing_id)
                    finalize.send(filing_id)

    def finalize_filing(filing_id: str) -> None:
        with structlog.contextvars.bound_contextvars(filing_id=filing_id):
            t0 = time.perf_counter()
            meta = rt.filings.meta(filing_id)
            if meta is None:
                log.warning("finalize.unknown_filing")
                return
            files = json.loads(meta["files"])
            stored = rt.filings.reports(filing_id)
            if len(stored) < len(files):
                raise RuntimeError(f"finalize with {len(stored)} of {len(files)} file reports")
            reports = [stored[i] for i in range(len(files))]
            metadata = json.loads(meta.get("metadata") or "{}")
            filing = pipeline.validate_filing(
                [rt.blobs.path(f["sha256"]) for f in files],
                rt.policy,
                names=[f["name"] for f in files],
                lang=meta["lang"],
                reports=reports,
                filing_id=filing_id,
                # The portal's metadata as given (declared documents, roles, proceeding, dates):
                # the same dictionary `courtdoc check --filing` reads from filing.json.
                metadata=metadata,
                # Time limits count to the day the filing was received, not the day it was checked.
                today=rt.local_date(float(meta["created_at"])),
            )
            report = filing.to_dict()
            finished = time.time()
            rt.write_report_file(
                filing_id,
                {
                    "id": filing_id,
                    "client": meta["client"],
                    "external_id": meta.get("external_id"),
                    "created_at": iso(meta.get("created_at")),
                    "finished_at": iso(finished),
                    "files": files,
                    "report": report,
                },
            )
            body = json.dumps(
                {
                    "type": webhooks.EVENT_TYPE,
                    "timestamp": iso(finished),
                    "data": {
                        "id": filing_id,
                        "external_id": meta.get("external_id"),
                        "status_url": rt.status_url(filing_id),
                        "report": report,
                        "report_url": report_links(rt.settings).url(filing_id),
                    },
                },
                ensure_ascii=False,
            )
            first, token = rt.filings.finish(
                filing_id,
                json.dumps(report, ensure_ascii=False),
                filing.verdict,
                f"msg_{filing_id}",
                body,
                now_ms() + rt.outbox.lease_ms,
            )
            if first:
                findings = _findings(filing)
                rt.metrics.filing(filing.verdict, findings)
                log.info(
                    "filing.done",
                    verdict=filing.verdict,
                    rules=sorted({rule for rule, _ in findings}),
                    files=len(files),
                    since_created_ms=round((finished - float(meta["created_at"])) * 1000, 1),
                    duration_ms=round((time.perf_counter() - t0) * 1000, 1),
                )
            else:
                log.info("finalize.repeated")
            if token is not None:
                deliver.send(filing_id, token)
            elif not meta.get("callback_url"):
                rt.close_filing(filing_id)

    def _record_attempt(
        filing_id: str, token: int, attempt: webhooks.Attempt, state: str, next_at: int
    ) -> bool:
        """Record the attempt in the outbox. After a delivery the record is retried while Redis
        is away (up to the claim's lease): giving up would redeliver a callback the portal has."""
        deadline = time.monotonic() + (rt.outbox.lease_ms / 1000 if attempt.delivered else 0)
        while True:
            try:
                return rt.outbox.complete(filing_id, token, attempt.to_dict(), state, next_at)
            except redis.RedisError:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)

    def deliver_callback(filing_id: str, token: int) -> None:
        with structlog.contextvars.bound_contextvars(filing_id=filing_id):
            renewed = rt.outbox.begin(filing_id, token)
            if renewed is None:
                log.info("callback.stale_claim")
                return
            token = renewed
            meta = rt.filings.meta(filing_id) or {}
            body: str | None = rt.redis.get(rt.keys.callback_body(filing_id))  # type: ignore[assignment]
            number = int(meta.get("cb_attempts", "0")) + 1
            client = rt.clients.get(meta.get("client", ""))
            if client is None or body is None or not meta.get("callback_url"):
                attempt = webhooks.Attempt(
                    number, time.time(), 0, "not_deliverable", error="portal or body unknown"
                )
            else:
                attempt = webhooks.post(
                    rt.http, meta["callback_url"], client.callback_secret, meta["webhook_id"], body, number
                )
            if attempt.delivered:
                state, next_at = "delivered", 0
            else:
                delay = webhooks.next_delay(
                    rt.settings.callback_schedule_s,
                    number,
                    rt.settings.callback_jitter,
                    attempt.retry_after_s,
                )
                if delay is None or attempt.outcome == "not_deliverable":
                    state, next_at = "failed", 0
                else:
                    state, next_at = "pending", now_ms() + int(delay * 1000)
            current = _record_attempt(filing_id, token, attempt, state, next_at)
            rt.metrics.callback(attempt.outcome, gave_up=current and state == "failed")
            log.info(
                "callback.attempt",
                attempt=number,
                outcome=attempt.outcome,
                status=attempt.status,
                duration_ms=attempt.duration_ms,
                webhook_id=meta.get("webhook_id"),
                state=state,
                next_attempt_at=iso(next_at / 1000) if next_at else None,
                claim_current=current,
            )
            if current and state in ("delivered", "failed"):
                rt.close_filing(filing_id)

    time_limit_check = int((rt.policy.sandbox.time_limit_seconds + 120) * 1000)
    check = dramatiq.actor(
        broker=rt.broker,
        actor_name="check_file",
        queue_name=INTAKE,
        priority=10,
        retry_when=transient,
        time_limit=time_limit_check,
    )(check_file)
    finalize = dramatiq.actor(
        broker=rt.broker,
        actor_name="finalize_filing",
        queue_name=INTAKE,
        priority=0,
        retry_when=transient,
        time_limit=120_000,
    )(finalize_filing)
    deliver = dramatiq.actor(
        broker=rt.broker,
        actor_name="deliver_callback",
        queue_name=CALLBACKS,
        # Finish what has started before starting more: finalize, then deliver, then check.
        priority=5,
        retry_when=transient,
        time_limit=int((rt.settings.callback_timeout_s * 4 + 60) * 1000),
    )(deliver_callback)
    return {"check_file": check, "finalize_filing": finalize, "deliver_callback": deliver}
