"""Bulk re-validation on the `bulk` queue: the `bulk_check` actor and its Redis keys.

`courtdoc revalidate --queue` stores each content to check in the blob store (by sha256), puts
the policy's TOML in Redis under its sha256, and sends `bulk_check(run, ticket, sha256, name,
policy_sha256, lang)`. A worker started with `courtdoc worker --queues bulk` checks the blob
with `pipeline.validate_file` (through a recording pool, so the command can replay the result
for every copy of the same bytes) and appends the report to the run's Redis stream, which the
command reads back and writes to its report. No check logic lives here.

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

from .. import logs
from ..bulk import replay
from ..policy import Policy, PolicyError, parse_policy
from ..sandbox import shared_pool
from .broker import BULK

if TYPE_CHECKING:
    from .runtime import Runtime

log = logs.get(__name__)

#: How much a process that consumes only `bulk` lowers its CPU priority (os.nice increment);
#: `COURTDOC_BULK_NICE` overrides it (0: same priority as intake, e.g. on machines of their own).
BULK_NICE = 10
#: Result streams and stored policies expire after this long without use (seconds).
BULK_TTL_S = 7 * 86400
ACTOR = "bulk_check"


def policy_key(namespace: str, policy_sha256: str) -> str:
    """String: the TOML bytes of a policy a bulk run uses."""
    return f"{namespace}:bulk:policy:{policy_sha256}"


def results_key(namespace: str, run: str) -> str:
    """Stream: one entry per checked content of a bulk run (ticket, report, record | error)."""
    return f"{namespace}:bulk:run:{run}:results"


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

    def bulk_check(run: str, ticket: str, sha256: str, name: str, policy_sha256: str, lang: str) -> None:
        fields: dict[str, str]
        try:
            policy = load(policy_sha256)
        except PolicyError as exc:
            policy, fields = None, {"ticket": ticket, "error": f"policy: {exc}"}
        else:
            fields = {"ticket": ticket, "error": "the run's policy is no longer in Redis"}
        if policy is not None:
            path = rt.blobs.path(sha256)
            if not path.is_file():
                fields = {"ticket": ticket, "error": "the file is not in the blob store"}
            else:
                bounds = policy.sandbox
                pool = shared_pool(bounds.memory_limit_mb, bounds.recycle_rss_mb)
                report, record, runs = replay.check_file(path, name, policy, lang, pool)
                fields = {
                    "ticket": ticket,
                    "report": json.dumps(report, ensure_ascii=False),
                    "record": replay.dumps(record) if record is not None else "",
                    "checks": str(runs),
                }
        key = results_key(namespace, run)
        pipe = rt.redis.pipeline(transaction=False)
        pipe.xadd(key, fields)  # type: ignore[arg-type]
        pipe.expire(key, BULK_TTL_S)
        pipe.execute()

    rt.broker.add_middleware(BulkPriority())
    actor = dramatiq.actor(
        broker=rt.broker,
        actor_name=ACTOR,
        queue_name=BULK,
        priority=100,
        retry_when=lambda retries, exc: retries < 20 and isinstance(exc, redis.RedisError | OSError),
        time_limit=1_800_000,  # the run's policy bounds each parse; this only catches a stuck worker
    )(bulk_check)
    return {ACTOR: actor}
