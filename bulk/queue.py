"""The queue backend of `courtdoc revalidate --queue`: checks run by `bulk` workers anywhere.

For each content to check the command first tries the check here with a pool that refuses to
parse: a file the name, size or claimed type already decide (empty, too large, a forbidden
extension) is answered on the spot and never copied. Any other content is put in the blob
store under its sha256 and sent as one `bulk_check` message to the Dramatiq `bulk` queue (by
a few sender threads, so the blob store's fsyncs overlap); the
workers append their answers to the run's Redis stream, read here with XREAD and deleted once
read. At most `capacity` messages of a run are outstanding, so neither Redis nor this process
holds more than that, whatever the size of the archive.

The policy's TOML is stored in Redis under its sha256 for the workers; the command's own index
(SQLite in --out) stays the only record of what is done, so a resumed run re-sends what was in
flight and ignores stale answers.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, cast

import dramatiq
import redis
import structlog

from .. import pipeline
from ..blobstore import BlobStore
from ..policy import DEFAULT_POLICY_PATH, Policy
from ..sandbox import RunStats, SandboxPool
from ..settings import Settings
from ..workers.broker import BULK, build_broker
from ..workers.bulk import ACTOR, BULK_TTL_S, policy_key, results_key
from ..workers.keys import Keys
from . import replay
from .runner import BackendUnavailable, Job, Outcome

_READ_BATCH = 500
_SENDERS = 4  # blob copies and enqueues at once
_QUIET_WARN_S = 60.0
log = structlog.get_logger("courtdoc.bulk")


class _NeedsParsing(BaseException):
    """Raised by the probe pool: this file must go to a worker. Not an Exception on purpose, so
    the pipeline's handling of sandbox failures lets it through."""


class _ProbePool:
    def run_measured(self, fn: Any, args: Any, timeout: float) -> tuple[Any, RunStats]:
        raise _NeedsParsing

    def run(self, fn: Any, args: Any, timeout: float) -> Any:
        raise _NeedsParsing


def _policy_bytes(policy: Policy) -> bytes:
    path = Path(policy.source) if policy.source else DEFAULT_POLICY_PATH
    data = path.read_bytes()
    from ..policy import parse_policy

    if parse_policy(data, str(path)).sha256 != policy.sha256:
        raise RuntimeError(f"{path} changed since the run started")
    return data


class QueueBackend:
    """Sends checks to the `bulk` queue and collects the answers from the run's stream."""

    def __init__(
        self,
        policy: Policy,
        lang: str,
        settings: Settings,
        redis_url: str,
        blobs: BlobStore,
        capacity: int = 256,
    ) -> None:
        self.policy = policy
        self.lang = lang
        self.capacity = capacity
        self.blobs = blobs
        keys = Keys(settings.namespace)
        self.namespace = settings.namespace
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self.broker = build_broker(settings, redis_url, keys.dramatiq)
        self.broker.declare_queue(BULK)
        self.run = uuid.uuid4().hex
        self.stream = results_key(self.namespace, self.run)
        self._last_id = "0-0"
        self._pending: dict[str, Job] = {}
        self._ready: list[tuple[Job, Outcome]] = []
        self._tickets = 0
        self._lock = threading.Lock()
        self._senders = ThreadPoolExecutor(max_workers=_SENDERS, thread_name_prefix="bulk-send")
        self._last_answer = time.monotonic()
        self.sent = 0
        self.redis.set(policy_key(self.namespace, policy.sha256), _policy_bytes(policy), ex=BULK_TTL_S)

    @classmethod
    def from_settings(
        cls, policy: Policy, lang: str, redis_url: str | None = None, blob_dir: str | None = None
    ) -> QueueBackend:
        settings = Settings()
        url = redis_url or settings.redis_url
        if not url:
            raise BackendUnavailable("no Redis for --queue: pass --redis-url or set COURTDOC_REDIS_URL")
        try:
            return cls(
                policy, lang, settings, url, BlobStore(Path(blob_dir) if blob_dir else settings.blob_dir)
            )
        except (redis.RedisError, OSError) as exc:
            raise BackendUnavailable(f"cannot use the queue at {url.split('@')[-1]}: {exc}") from exc

    def pending(self) -> int:
        with self._lock:
            return len(self._pending) + len(self._ready)

    def _store_blob(self, job: Job) -> None:
        if self.blobs.exists(job.mat.sha256):
            return
        staged = self.blobs.stage(limit=max(job.mat.size, 1))
        try:
            with open(job.mat.path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    staged.write(chunk)
            if staged.finish() != job.mat.sha256:
                raise OSError(f"{job.item.path} changed while it was being stored")
            staged.commit()
        except BaseException:
            staged.abort()
            raise

    def submit(self, job: Job) -> None:
        try:
            report = pipeline.validate_file(
                job.mat.path,
                self.policy,
                name=job.item.name,
                lang=self.lang,
                pool=cast(SandboxPool, _ProbePool()),
            )
        except _NeedsParsing:
            pass
        else:  # decided by name, size or type alone: nothing to parse, nothing to send
            with self._lock:
                self._ready.append((job, Outcome(report.to_dict(), None, [], 0)))
            return
        self._tickets += 1
        ticket = str(self._tickets)
        with self._lock:
            self._pending[ticket] = job
        self._senders.submit(self._send, ticket, job)

    def _send(self, ticket: str, job: Job) -> None:
        """Store the blob and enqueue the message (threads: the blob store's fsyncs overlap)."""
        try:
            self._store_blob(job)
            self.broker.enqueue(
                dramatiq.Message(
                    queue_name=BULK,
                    actor_name=ACTOR,
                    args=(self.run, ticket, job.mat.sha256, job.item.name, self.policy.sha256, self.lang),
                    kwargs={},
                    options={},
                )
            )
        except Exception as exc:  # this file could not be sent: its line says why, the run goes on
            with self._lock:
                if self._pending.pop(ticket, None) is not None:
                    self._ready.append((job, Outcome(None, f"cannot send to the queue: {exc}"[:500])))
            return
        with self._lock:
            self.sent += 1

    def completed(self, timeout: float) -> list[tuple[Job, Outcome]]:
        with self._lock:
            ready, self._ready = self._ready, []
        if ready:
            return ready
        if not self.pending():
            return []
        answer: Any = self.redis.xread(
            {self.stream: self._last_id}, count=_READ_BATCH, block=max(1, int(timeout * 1000))
        )
        out: list[tuple[Job, Outcome]] = []
        seen: list[str] = []
        for _stream, entries in answer or []:
            for entry_id, fields in entries:
                seen.append(entry_id)
                self._last_id = entry_id
                with self._lock:
                    job = self._pending.pop(fields.get("ticket", ""), None)
                if job is None:
                    continue  # a redelivered message answered twice: the first answer counts
                if "error" in fields:
                    out.append((job, Outcome(None, f"worker: {fields['error']}")))
                    continue
                record = replay.loads(fields["record"]) if fields.get("record") else None
                out.append(
                    (job, Outcome(json.loads(fields["report"]), None, record, int(fields.get("checks", 0))))
                )
        if seen:
            self.redis.xdel(self.stream, *seen)
            self._last_answer = time.monotonic()
        elif time.monotonic() - self._last_answer > _QUIET_WARN_S:
            self._last_answer = time.monotonic()
            log.warning(
                "bulk.no_answers",
                outstanding=len(self._pending),
                queue=BULK,
                hint="are `courtdoc worker --queues bulk` processes running?",
            )
        return out

    def close(self) -> None:
        self._senders.shutdown(wait=True, cancel_futures=True)
        try:
            if not self._pending:
                self.redis.delete(self.stream)
        finally:
            self.broker.close()
            self.redis.close()
