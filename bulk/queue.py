"""The queue backend of `courtdoc revalidate --queue`: checks run by `bulk` workers anywhere.

For each content to check the command first tries the check here with a pool that refuses to
parse: a file the name, size or claimed type already decide (empty, too large, a forbidden
extension) is answered on the spot and never copied. Any other content is put in the blob
store under its sha256 and sent as one `bulk_check` message to the Dramatiq `bulk` queue (by
a few sender threads, so the blob store's fsyncs overlap); the
workers append their answers to the run's Redis stream, read here with XREAD and deleted once
read. At most `capacity` messages of a run are outstanding, so neither Redis nor this process
holds more than that, whatever the size of the archive.

Every file gets a line. The workers answer a check that fails with an `error` field (see
workers/bulk.py), and a message that vanishes is sent again: every `probe_every_s` seconds,
once the stream has been read up to its end, the command asks Redis whether a worker can still
get the message of each ticket waiting for its answer — on the `bulk` queue or its delay queue,
or fetched by a worker — under the id it was sent with, or the one the workers'
`MessageTracker` recorded when they moved it (a retry). A ticket
whose message is missing in two probes in a row, with the stream read to its end in between (a worker acknowledges a message
only after it wrote its answer), is lost: it is sent again, up to `max_sends` messages in all,
then its file gets the line "no answer from the bulk workers after N attempts". A message that
simply waits — a deep queue, a slow file, no worker running yet, a retry after a Redis error —
is never taken for lost, so a slow run gets no false error line; the command warns every
minute while no answer comes. A Redis restart does not end the run: the command reads on and
sends on once Redis answers again (a send waits up to `REDIS_PATIENCE_S` before its file's line
says it could not be sent), and the workers' retries wait for Redis the same way.

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
from ..core.policy import DEFAULT_POLICY_PATH, Policy
from ..engine.sandbox import RunStats, SandboxPool
from ..infra.blobstore import BlobStore
from ..infra.settings import Settings
from ..workers.broker import BULK, build_broker
from ..workers.bulk import ACTOR, BULK_TTL_S
from ..workers.keys import Keys, messages_key, policy_key, results_key
from .runner import BackendUnavailable, Job, Outcome

_READ_BATCH = 500
_SENDERS = 4  # blob copies and enqueues at once
_QUIET_WARN_S = 60.0
#: How often the command looks for lost messages; a loss is found within two such periods.
PROBE_EVERY_S = 15.0
#: Messages sent for one file, the first included, before its line says none was answered.
MAX_SENDS = 3
#: How long a send waits for Redis to come back before the file's line says it could not be sent.
REDIS_PATIENCE_S = 300.0
#: The tickets whose message no worker can get any more. A message can be got while its id is on
#: the queue's or the delay queue's list, or in the set of messages a worker has fetched but not
#: acknowledged (Dramatiq's Redis broker requeues those of a dead worker), and its body is in a
#: `.msgs` hash. KEYS: the run's ticket -> Redis id hash kept by the workers, Dramatiq's heartbeats
#: (every worker that may hold messages); ARGV: Dramatiq's namespace, the queue, then each ticket
#: followed by the Redis id the command sent it with (used when no worker recorded another).
_PROBE_LUA = """
local prefix, queue = ARGV[1] .. ":", ARGV[2]
local queues = {queue, queue .. ".DQ"}
local held = {}
for _, name in ipairs(queues) do
    for _, id in ipairs(redis.call("lrange", prefix .. name, 0, -1)) do
        held[id] = true
    end
end
for _, worker in ipairs(redis.call("zrange", KEYS[2], 0, -1)) do
    for _, name in ipairs(queues) do
        for _, id in ipairs(redis.call("smembers", prefix .. "__acks__." .. worker .. "." .. name)) do
            held[id] = true
        end
    end
end
local missing = {}
for i = 3, #ARGV, 2 do
    local id = redis.call("hget", KEYS[1], ARGV[i]) or ARGV[i + 1]
    local stored = id and (redis.call("hexists", prefix .. queues[1] .. ".msgs", id) == 1
        or redis.call("hexists", prefix .. queues[2] .. ".msgs", id) == 1)
    if not (stored and held[id]) then
        table.insert(missing, ARGV[i])
    end
end
return missing
"""
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
    from ..core.policy import parse_policy

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
        *,
        probe_every_s: float = PROBE_EVERY_S,
        max_sends: int = MAX_SENDS,
    ) -> None:
        self.policy = policy
        self.lang = lang
        self.capacity = capacity
        self.blobs = blobs
        self.probe_every_s = probe_every_s
        self.max_sends = max_sends
        keys = Keys(settings.namespace)
        self.namespace = settings.namespace
        self.redis = redis.Redis.from_url(redis_url, decode_responses=True)
        self.run = uuid.uuid4().hex
        self.stream = results_key(self.namespace, self.run)
        self.messages = messages_key(self.namespace, self.run)
        self.broker = build_broker(settings, redis_url, keys.dramatiq)
        self.heartbeats = keys.heartbeats
        self.broker.declare_queue(BULK)
        self._probe_script = self.redis.register_script(_PROBE_LUA)
        self._last_id = "0-0"
        self._pending: dict[str, Job] = {}
        self._ready: list[tuple[Job, Outcome]] = []
        self._tickets = 0
        self._sends: dict[str, int] = {}  # ticket -> messages sent for it
        self._queued: dict[str, str] = {}  # ticket -> Redis id of its latest message, once sent
        self._suspects: set[str] = set()  # tickets whose message the last probe did not find
        self._next_probe = time.monotonic() + probe_every_s
        self._lock = threading.Lock()
        self._senders = ThreadPoolExecutor(max_workers=_SENDERS, thread_name_prefix="bulk-send")
        self._last_answer = time.monotonic()
        self._redis_away = False
        self.sent = 0
        self.resent = 0  # messages sent again because the previous one was lost
        self.unanswered = 0  # files whose every message was lost
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
        if self.blobs.keep(job.mat.sha256):  # refreshes its retention clock
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
                self._ready.append((job, Outcome(report.to_dict(), None, "[]", 0)))
            return
        self._tickets += 1
        ticket = str(self._tickets)
        with self._lock:
            self._pending[ticket] = job
            self._sends[ticket] = 0
        self._senders.submit(self._send, ticket, job)

    def _enqueue(self, ticket: str, job: Job, again: bool) -> dramatiq.Message[Any]:
        """Enqueue the ticket's message; while Redis is away (a restart), wait for it, up to
        `REDIS_PATIENCE_S`, rather than give the file an error line it does not deserve."""
        waited = 0.0
        while True:
            try:
                if again:  # where the workers last saw the lost message no longer counts
                    self.redis.hdel(self.messages, ticket)
                return self.broker.enqueue(
                    dramatiq.Message(
                        queue_name=BULK,
                        actor_name=ACTOR,
                        args=(self.run, ticket, job.mat.sha256, job.item.name, self.policy.sha256, self.lang),
                        kwargs={},
                        options={},
                    )
                )
            except (redis.ConnectionError, redis.TimeoutError):
                if waited >= REDIS_PATIENCE_S:
                    raise
                time.sleep(0.5)
                waited += 0.5

    def _send(self, ticket: str, job: Job, again: bool = False) -> None:
        """Store the blob and enqueue the message (threads: the blob store's fsyncs overlap)."""
        try:
            self._store_blob(job)
            message = self._enqueue(ticket, job, again)
        except Exception as exc:  # this file could not be sent: its line says why, the run goes on
            with self._lock:
                if self._pending.pop(ticket, None) is not None:
                    self._sends.pop(ticket, None)
                    self._ready.append((job, Outcome(None, f"cannot send to the queue: {exc}"[:500])))
            return
        with self._lock:
            self.sent += 1
            if ticket in self._pending:
                self._sends[ticket] += 1
                self._queued[ticket] = message.options["redis_message_id"]

    def completed(self, timeout: float) -> list[tuple[Job, Outcome]]:
        with self._lock:
            ready, self._ready = self._ready, []
        if ready:
            return ready
        if not self.pending():
            return []
        try:
            return self._read_answers(timeout)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            # Redis restarting: the answers wait in its stream (AOF) and the messages in its
            # queues; read on once it is back. Workers' retries outlive the outage too.
            if not self._redis_away:
                log.warning("bulk.redis_unavailable", error=str(exc))
            self._redis_away = True
            time.sleep(min(timeout, 1.0))
            return []

    def _read_answers(self, timeout: float) -> list[tuple[Job, Outcome]]:
        answer: Any = self.redis.xread(
            {self.stream: self._last_id}, count=_READ_BATCH, block=max(1, int(timeout * 1000))
        )
        if self._redis_away:
            log.info("bulk.redis_back")
            self._redis_away = False
        out: list[tuple[Job, Outcome]] = []
        seen: list[str] = []
        answered: list[str] = []
        for _stream, entries in answer or []:
            for entry_id, fields in entries:
                seen.append(entry_id)
                self._last_id = entry_id
                ticket = fields.get("ticket", "")
                with self._lock:
                    job = self._pending.pop(ticket, None)
                    if job is not None:
                        self._forget(ticket)
                if job is None:
                    continue  # a redelivered message answered twice: the first answer counts
                answered.append(ticket)
                if "error" in fields:
                    out.append((job, Outcome(None, f"worker: {fields['error']}")))
                    continue
                record = fields.get("record") or None
                out.append(
                    (job, Outcome(json.loads(fields["report"]), None, record, int(fields.get("checks", 0))))
                )
        if seen:
            pipe = self.redis.pipeline(transaction=False)
            pipe.xdel(self.stream, *seen)
            if answered:
                pipe.hdel(self.messages, *answered)
            pipe.execute()
            self._last_answer = time.monotonic()
        elif time.monotonic() - self._last_answer > _QUIET_WARN_S:
            self._last_answer = time.monotonic()
            log.warning(
                "bulk.no_answers",
                outstanding=len(self._pending),
                queue=BULK,
                hint="are `courtdoc worker --queues bulk` processes running?",
            )
        # Only once the stream is read to its end: an answer is written before its message is
        # acknowledged, so a message gone at the probe has its answer read by the next probe.
        if len(seen) < _READ_BATCH and time.monotonic() >= self._next_probe:
            out.extend(self._probe())
        return out

    def _forget(self, ticket: str) -> None:
        """Under the lock: the ticket is answered (or given up), nothing more to watch."""
        self._sends.pop(ticket, None)
        self._queued.pop(ticket, None)
        self._suspects.discard(ticket)

    def _probe(self) -> list[tuple[Job, Outcome]]:
        """Send again the tickets whose message is gone; a file's last loss gives its error line."""
        self._next_probe = time.monotonic() + self.probe_every_s
        with self._lock:
            queued = sorted(self._queued.items())
        if not queued:
            self._suspects = set()
            return []
        missing = set(
            self._probe_script(
                keys=[self.messages, self.heartbeats],
                args=[self.broker.namespace, BULK, *(part for pair in queued for part in pair)],
            )
        )
        lost, self._suspects = missing & self._suspects, missing - self._suspects
        out: list[tuple[Job, Outcome]] = []
        for ticket in sorted(lost, key=int):
            with self._lock:
                job = self._pending.get(ticket)
                sends = self._sends.get(ticket, 0)
                if job is None:
                    continue
                self._queued.pop(ticket, None)
                if sends >= self.max_sends:
                    del self._pending[ticket]
                    self._forget(ticket)
            if sends >= self.max_sends:
                self.unanswered += 1
                log.error("bulk.unanswered", ticket=ticket, path=job.item.path, messages=sends)
                error = f"no answer from the bulk workers after {sends} attempts (each message was lost)"
                out.append((job, Outcome(None, error)))
                continue
            self.resent += 1
            log.warning("bulk.lost", ticket=ticket, path=job.item.path, messages=sends, sending_again=True)
            self._senders.submit(self._send, ticket, job, True)
        return out

    def close(self) -> None:
        self._senders.shutdown(wait=True, cancel_futures=True)
        try:
            if not self._pending:
                self.redis.delete(self.stream)
            self.redis.delete(self.messages)
        finally:
            self.broker.close()
            self.redis.close()
