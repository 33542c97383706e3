"""Bulk re-validation on the `bulk` queue: the `bulk_check` actor and its Redis keys.

`courtdoc revalidate --queue` stores each content to check in the blob store (by sha256), puts
the policy's TOML in Redis under its sha256, and sends `bulk_check(run, ticket, sha256, name,
policy_sha256, lang)`. A worker started with `courtdoc worker --queues bulk` checks the blob
with `pipeline.validate_file` (through a recording pool, so the command can replay the result
for every copy of the same bytes) and appends the report to the run's Redis stream, which the
command reads back and writes to its report. No check logic lives here.

Every message gets an answer, so the command never waits for a file forever:
  * a check that raises (a defect, bad data in Redis) is answered at once with an `error`
    field, `check failed: <type>: <message>`, as a local run writes it;
  * a Redis or OS error is retried (up to `MAX_RETRIES` times, with backoff); when Dramatiq
    gives up on a message — retries exhausted, or the actor's time limit hit — it sends
    `bulk_gave_up`, which answers the ticket with the last error;
  * a message that disappears altogether (Redis lost it, the queue was purged) is found by the
    command, which sends it again. The command knows the Redis id it sent each ticket's message
    with; a retry, its return from the delay queue and `bulk_gave_up` enqueue the message again
    under a new id, which `MessageTracker` records per run for the command to look up.

A redelivered message (its worker was killed) is checked again and appended again; the
command keeps the first answer for a ticket and drops the others. The `bulk` queue is only
consumed by processes started for it, and such a process lowers its CPU priority when it boots
(`BULK_NICE`), so on a machine that also runs intake workers, intake's checks get the cores
first; its sandbox children inherit the priority.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

import dramatiq
import redis

from .. import replay
from ..core import logs
from ..core.policy import Policy, PolicyError, parse_policy
from ..engine.sandbox import shared_pool
from .broker import BULK
from .keys import messages_key, policy_key, results_key

if TYPE_CHECKING:
    from .runtime import Runtime

log = logs.get(__name__)

#: How much a process that consumes only `bulk` lowers its CPU priority (os.nice increment);
#: `COURTDOC_BULK_NICE` overrides it (0: same priority as intake, e.g. on machines of their own).
BULK_NICE = 10
#: Result streams and stored policies expire after this long without use (seconds).
BULK_TTL_S = 7 * 86400
#: Redis or OS errors a message may meet before Dramatiq gives up on it.
MAX_RETRIES = 20
ACTOR = "bulk_check"
GAVE_UP_ACTOR = "bulk_gave_up"




def _retryable(retries: int, exc: BaseException) -> bool:
    return retries < MAX_RETRIES and isinstance(exc, redis.RedisError | OSError)


def run_and_ticket(message: dramatiq.Message[Any]) -> tuple[str, str] | None:
    """The (run, ticket) a `bulk_check` or `bulk_gave_up` message is about, else None."""
    args: Any = message.args
    if message.actor_name == GAVE_UP_ACTOR and args and isinstance(args[0], dict):
        args = args[0].get("args")
    elif message.actor_name != ACTOR:
        return None
    if isinstance(args, list | tuple) and len(args) >= 2 and all(isinstance(a, str) for a in args[:2]):
        return args[0], args[1]
    return None


class MessageTracker(dramatiq.Middleware):
    """Records, for each ticket, the Redis id of the message that now carries it.

    Dramatiq's Redis broker stores every enqueue under a fresh id: besides the command's send,
    each retry (on the delay queue), its return to the queue when due, and the `bulk_gave_up`
    message, all enqueued by workers. The command looks these ids up to tell a message still
    waiting somewhere from one that is gone."""

    def __init__(self, client: redis.Redis, namespace: str) -> None:
        self.client = client
        self.namespace = namespace

    def after_enqueue(
        self, broker: dramatiq.Broker, message: dramatiq.Message[Any], delay: int | None
    ) -> None:
        found = run_and_ticket(message)
        redis_id = message.options.get("redis_message_id")
        if found is None or not redis_id:
            return
        key = messages_key(self.namespace, found[0])
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.hset(key, found[1], redis_id)
            pipe.expire(key, BULK_TTL_S)
            pipe.execute()
        except redis.RedisError as exc:  # the command may then send this ticket once more: harmless
            log.warning("bulk.track_failed", run=found[0], ticket=found[1], error=str(exc))


class BulkPriority(dramatiq.Middleware):
    """Lowers the CPU priority of a worker process that consumes the `bulk` queue alone."""

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        queues = set(getattr(worker, "consumer_whitelist", None) or ())
        increment = int(os.environ.get("COURTDOC_BULK_NICE", BULK_NICE))
        if queues == {BULK} and increment > 0:
            try:
                os.nice(increment)
            except OSError as exc:
                log.warning("bulk.nice_failed", error=str(exc))
            else:
                log.info("bulk.nice", increment=increment)


def failure_text(exc_type: str, message: str) -> str:
    """An error answer as a local run words it: `check failed: <type>: <message>`."""
    return (f"check failed: {exc_type}: {message}" if message else f"check failed: {exc_type}")[:500]


def _last_error(traceback_text: str) -> tuple[str, str]:
    """(exception type without its module, message) from the last line of a traceback."""
    lines = [line for line in traceback_text.splitlines() if line.strip() and not line.startswith(" ")]
    last = lines[-1] if lines else "unknown error"
    kind, _, text = last.partition(": ")
    return kind.rsplit(".", 1)[-1], text


def declare(rt: Runtime) -> dict[str, Any]:
    policies: dict[str, Policy] = {}
    namespace = rt.keys.namespace

    def load(policy_sha256: str) -> Policy | None:
        policy = policies.get(policy_sha256)
        if policy is None:
            raw = rt.redis.get(policy_key(namespace, policy_sha256))
            if raw is None:
                return None
            data = raw.encode("utf-8") if isinstance(raw, str) else bytes(raw)
            policy = parse_policy(data, f"bulk policy {policy_sha256[:12]}")
            if policy.sha256 != policy_sha256:
                raise PolicyError("the stored bulk policy does not match its sha256")
            policies[policy_sha256] = policy
        return policy

    def check(ticket: str, sha256: str, name: str, policy_sha256: str, lang: str) -> dict[str, str]:
        """The answer's fields; Redis and OS errors propagate (the message is retried)."""
        try:
            policy = load(policy_sha256)
        except PolicyError as exc:
            return {"ticket": ticket, "error": f"policy: {exc}"}
        if policy is None:
            return {"ticket": ticket, "error": "the run's policy is no longer in Redis"}
        path = rt.blobs.path(sha256)
        if not path.is_file():
            return {"ticket": ticket, "error": "the file is not in the blob store"}
        bounds = policy.sandbox
        pool = shared_pool(bounds.memory_limit_mb, bounds.recycle_rss_mb)
        report, record, runs = replay.check_file(path, name, policy, lang, pool, sha256)
        return {
            "ticket": ticket,
            "report": json.dumps(report, ensure_ascii=False),
            "record": record or "",
            "checks": str(runs),
        }

    def answer(run: str, fields: dict[str, str]) -> None:
        key = results_key(namespace, run)
        pipe = rt.redis.pipeline(transaction=False)
        pipe.xadd(key, fields)  # type: ignore[arg-type]
        pipe.expire(key, BULK_TTL_S)
        pipe.execute()

    def bulk_check(run: str, ticket: str, sha256: str, name: str, policy_sha256: str, lang: str) -> None:
        try:
            fields = check(ticket, sha256, name, policy_sha256, lang)
        except (redis.RedisError, OSError):
            raise
        except Exception as exc:  # a defect in a check: this file's line says it, the run goes on
            log.exception("bulk.check_failed", run=run, ticket=ticket, sha256=sha256, name=name)
            fields = {"ticket": ticket, "error": failure_text(type(exc).__name__, str(exc))}
        answer(run, fields)

    def bulk_gave_up(message: dict[str, Any], info: dict[str, Any]) -> None:
        """Dramatiq gave up on a `bulk_check` message: answer its ticket with the last error."""
        args = message.get("args") or []
        if len(args) < 2:
            log.error("bulk.gave_up_unknown", message_id=message.get("message_id"))
            return
        run, ticket = str(args[0]), str(args[1])
        kind, text = _last_error(str((message.get("options") or {}).get("traceback") or ""))
        retries = int(info.get("retries") or 0)
        error = failure_text(kind, text)
        if retries:
            error = f"{error} (after {retries} retries)"[:500]
        log.error("bulk.gave_up", run=run, ticket=ticket, retries=retries, error=error)
        answer(run, {"ticket": ticket, "error": error})

    rt.broker.add_middleware(BulkPriority())
    rt.broker.add_middleware(MessageTracker(rt.redis, namespace))
    gave_up = dramatiq.actor(
        broker=rt.broker,
        actor_name=GAVE_UP_ACTOR,
        queue_name=BULK,
        priority=100,
        retry_when=_retryable,
    )(bulk_gave_up)
    actor = dramatiq.actor(
        broker=rt.broker,
        actor_name=ACTOR,
        queue_name=BULK,
        priority=100,
        retry_when=_retryable,
        on_retry_exhausted=GAVE_UP_ACTOR,
        time_limit=1_800_000,  # the run's policy bounds each parse; this only catches a stuck worker
    )(bulk_check)
    return {ACTOR: actor, GAVE_UP_ACTOR: gave_up}
