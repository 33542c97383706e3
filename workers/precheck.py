"""Pre-checks: a person's files checked before filing, on the `precheck` queue, kept for minutes.

A pre-check is a filing nobody filed. It goes through the same pipeline as intake —
`pipeline.validate_file` per file, `pipeline.validate_filing` once every file has its report —
and the same idempotent barrier (`FilingStore`, under its own key prefix `<ns>:precheck:`), but:

  * its messages are on the `precheck` queue, and its parses run in sandbox children of their
    own: `courtdoc serve` gives the queue its own worker threads, a deployment its own worker
    processes, so a crowd of people checking files never holds up a portal's filing;
  * its files live in `<data dir>/precheck/<id>/` (a blob store of their own, never the shared
    one), and every Redis key it makes expires `COURTDOC_PRECHECK_TTL_S` after it was made;
    `PrecheckSweeper` deletes the directory of every pre-check whose keys are gone, and puts
    an expiry on any of its keys that lost one;
  * nothing goes to the audit reports, the intake journal, the metrics or a callback, and its
    log lines carry sha256s, never names.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

import dramatiq
import redis
import structlog
from dramatiq.middleware import CurrentMessage

from .. import pipeline
from ..core import logs
from ..engine.sandbox import SandboxPool
from ..infra.blobstore import BlobStore, private_dir
from .actors import transient
from .broker import PRECHECK
from .filings import FilingStore
from .keys import Keys
from .periodic import Periodic

if TYPE_CHECKING:
    from .runtime import Runtime

log = logs.get(__name__)

PRECHECK_ID = re.compile(r"^[0-9a-f]{32}$")

_pools: dict[tuple[int, int, int], SandboxPool] = {}
_pools_lock = threading.Lock()


class Prechecks:
    """Where pre-checks live (Redis keys with an expiry, a directory each) and how they start."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.keys = Keys(f"{rt.settings.namespace}:precheck")
        self.store = FilingStore(rt.redis, self.keys)
        self.root = rt.settings.precheck_dir
        self.ttl_s = rt.settings.precheck_ttl_s

    # --- the API side ----------------------------------------------------------------------------

    def new_id(self) -> str:
        return uuid.uuid4().hex

    def open(self, pid: str, lang: str) -> BlobStore:
        """Record a pre-check that is receiving its files (the record first, then the directory:
        the sweeper never finds a directory without a record while an upload is under way)."""
        now = time.time()
        self.store.create(pid, {"state": "receiving", "lang": lang, "created_at": repr(now)})
        self.rt.redis.expire(self.keys.filing(pid), max(1, int(self.ttl_s)))
        private_dir(self.root)
        return BlobStore(self.root / pid)

    def blobs(self, pid: str) -> BlobStore:
        return BlobStore(self.root / pid)

    def start(self, pid: str, files: list[dict[str, Any]], declared: list[dict[str, Any]] | None) -> bool:
        """Record the received files and queue their checks; False when the pre-check has
        expired meanwhile (an upload slower than its lifetime)."""
        meta = self.store.meta(pid)
        if meta is None:
            return False
        metadata = {"declared": declared} if declared else {}
        self.store.create(
            pid,
            {
                "state": "checking",
                "files": files,
                "nfiles": str(len(files)),
                "metadata": metadata,
            },
        )
        self.refresh_expiry(pid, float(meta["created_at"]))
        check = self.rt.actors["precheck_file"]
        for index in range(len(files)):
            check.send(pid, index)
        log.info(
            "precheck.received",
            precheck_id=pid,
            files=[{"sha256": f["sha256"], "size": f["size"]} for f in files],
        )
        return True

    def discard(self, pid: str) -> None:
        """Forget a pre-check at once (its upload failed)."""
        with contextlib.suppress(redis.RedisError):
            self.rt.redis.delete(*self.keys.all_for(pid))
        shutil.rmtree(self.root / pid, ignore_errors=True)

    # --- both sides --------------------------------------------------------------------------------

    def refresh_expiry(self, pid: str, created_at: float) -> None:
        """Every key of the pre-check expires at its creation time plus the lifetime (keys made
        since the last call, such as the barrier's, get their expiry here)."""
        at = int(created_at + self.ttl_s) + 1
        pipe = self.rt.redis.pipeline(transaction=False)
        for key in self.keys.all_for(pid):
            pipe.expireat(key, at)
        pipe.execute()

    def pool(self) -> SandboxPool:
        """Sandbox children for pre-checks only (one pool per process and limits), as many as
        the precheck threads: intake's children are never busy with a pre-check."""
        bounds = self.rt.policy.sandbox
        key = (bounds.memory_limit_mb, bounds.recycle_rss_mb, max(1, self.rt.settings.precheck_worker_threads))
        with _pools_lock:
            pool = _pools.get(key)
            if pool is None:
                pool = _pools[key] = SandboxPool(key[2], key[0], key[1])
            return pool

    # --- the sweeper ---------------------------------------------------------------------------------

    def sweep(self) -> int:
        """Delete the directory of every pre-check whose record has expired; give an expiry to
        any pre-check key without one. Returns the number of directories deleted."""
        removed = 0
        if self.root.is_dir():
            for path in self.root.iterdir():
                if not PRECHECK_ID.match(path.name):
                    continue
                if self.rt.redis.exists(self.keys.filing(path.name)):
                    continue
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
                log.info("precheck.swept", precheck_id=path.name)
        for key in self.rt.redis.scan_iter(match=self.keys.every_key, count=1000):
            if self.rt.redis.ttl(key) == -1:
                self.rt.redis.expire(key, max(1, int(self.ttl_s)))
        return removed


class PrecheckSweeper:
    """`Prechecks.sweep` on a thread of every worker that serves the `precheck` queue."""

    def __init__(self, prechecks: Prechecks) -> None:
        interval = min(60.0, max(0.5, prechecks.ttl_s / 4))
        self._periodic = Periodic("precheck_sweeper", interval, prechecks.sweep)

    def start(self) -> None:
        self._periodic.start()

    def stop(self) -> None:
        self._periodic.stop(timeout=5)


def _message_id() -> str:
    message = CurrentMessage.get_current_message()
    return message.message_id if message is not None else uuid.uuid4().hex


def declare(rt: Runtime) -> dict[str, Any]:
    from .runtime import QueueBackground

    pc = prechecks(rt)
    rt.broker.add_middleware(QueueBackground(PRECHECK, lambda: PrecheckSweeper(pc)))

    def precheck_file(pid: str, index: int) -> None:
        with structlog.contextvars.bound_contextvars(precheck_id=pid, file_index=index):
            meta = pc.store.meta(pid)
            if meta is None or "files" not in meta:
                log.info("precheck.expired")
                return
            entry = json.loads(meta["files"])[index]
            with structlog.contextvars.bound_contextvars(sha256=entry["sha256"]):
                report_json = ""
                if not pc.store.has_report(pid, index):
                    t0 = time.perf_counter()
                    report = pipeline.validate_file(
                        pc.blobs(pid).path(entry["sha256"]),
                        rt.policy,
                        name=entry["name"],
                        lang=meta["lang"],
                        pool=pc.pool(),
                        sha256=entry["sha256"],
                    )
                    log.info(
                        "precheck.file_done",
                        format=report.format or "unknown",
                        verdict=report.verdict,
                        rules=sorted({f.rule for f in report.findings}),
                        duration_ms=round((time.perf_counter() - t0) * 1000, 1),
                    )
                    report_json = json.dumps(report.to_dict(), ensure_ascii=False)
                result = pc.store.store_report(pid, index, report_json, _message_id())
                pc.refresh_expiry(pid, float(meta["created_at"]))
                if result.won:
                    finalize.send(pid)

    def precheck_finalize(pid: str) -> None:
        with structlog.contextvars.bound_contextvars(precheck_id=pid):
            meta = pc.store.meta(pid)
            if meta is None or "files" not in meta:
                log.info("precheck.expired")
                return
            files = json.loads(meta["files"])
            stored = pc.store.reports(pid)
            if len(stored) < len(files):
                raise RuntimeError(f"finalize with {len(stored)} of {len(files)} file reports")
            blobs = pc.blobs(pid)
            filing = pipeline.validate_filing(
                [blobs.path(f["sha256"]) for f in files],
                rt.policy,
                names=[f["name"] for f in files],
                lang=meta["lang"],
                reports=[stored[i] for i in range(len(files))],
                metadata=json.loads(meta.get("metadata") or "{}"),
                today=rt.local_date(float(meta["created_at"])),
            )
            # No callback URL: `finish` only stores the report and the verdict, once.
            pc.store.finish(pid, json.dumps(filing.to_dict(), ensure_ascii=False), filing.verdict, "", "", 0)
            pc.refresh_expiry(pid, float(meta["created_at"]))
            log.info("precheck.done", verdict=filing.verdict, files=len(files))

    time_limit = int((rt.policy.sandbox.time_limit_seconds + 120) * 1000)
    finalize = dramatiq.actor(
        broker=rt.broker,
        actor_name="precheck_finalize",
        queue_name=PRECHECK,
        priority=0,
        retry_when=transient,
        time_limit=120_000,
    )(precheck_finalize)
    check = dramatiq.actor(
        broker=rt.broker,
        actor_name="precheck_file",
        queue_name=PRECHECK,
        priority=10,
        retry_when=transient,
        time_limit=time_limit,
    )(precheck_file)
    return {"precheck_file": check, "precheck_finalize": finalize}


def prechecks(rt: Runtime) -> Prechecks:
    """The pre-checks of a runtime (one per runtime, made on first use)."""
    found: Prechecks | None = getattr(rt, "_prechecks", None)
    if found is None:
        found = Prechecks(rt)
        setattr(rt, "_prechecks", found)  # noqa: B010 — not a field of the dataclass
    return found

