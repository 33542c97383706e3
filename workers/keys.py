"""The Redis key layout of the service, in one place (every key starts with the namespace)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DramatiqQueue:
    """The keys Dramatiq's Redis broker keeps for one queue under its namespace.

    `ready` lists the Redis ids of messages waiting to be fetched, `messages` maps every id the
    queue holds (waiting or being worked on) to the message; `.DQ` is the delay queue (retries
    with a backoff, `eta` messages), `.XQ` the dead-letter queue (a sorted set of ids by time).
    """

    base: str

    @property
    def ready(self) -> str:
        """List: ids of the messages waiting for a worker."""
        return self.base

    @property
    def messages(self) -> str:
        """Hash: id -> message JSON of every message of the queue not yet acknowledged."""
        return f"{self.base}.msgs"

    @property
    def delayed(self) -> str:
        """List: ids of the delay queue's messages whose time has come."""
        return f"{self.base}.DQ"

    @property
    def delayed_messages(self) -> str:
        return f"{self.base}.DQ.msgs"

    @property
    def dead(self) -> str:
        """Sorted set: ids of dead-lettered messages by the time they died."""
        return f"{self.base}.XQ"

    @property
    def dead_messages(self) -> str:
        return f"{self.base}.XQ.msgs"


@dataclass(frozen=True)
class Keys:
    namespace: str

    @property
    def dramatiq(self) -> str:
        """Namespace of Dramatiq's own keys (queues, acks, heartbeats)."""
        return f"{self.namespace}:dq"

    def queue(self, name: str) -> DramatiqQueue:
        """The keys of Dramatiq queue `name` (e.g. `intake`)."""
        return DramatiqQueue(f"{self.dramatiq}:{name}")

    @property
    def heartbeats(self) -> str:
        """Sorted set: Dramatiq worker id -> time of its last heartbeat."""
        return f"{self.dramatiq}:__heartbeats__"

    @property
    def outbox(self) -> str:
        """Sorted set: filing id -> time (ms) of its callback's next attempt or claim expiry."""
        return f"{self.namespace}:outbox"

    @property
    def reconcile_lock(self) -> str:
        """String with a TTL: held by the process running the reconciler's current pass."""
        return f"{self.namespace}:reconcile:lock"

    @property
    def metrics(self) -> str:
        return f"{self.namespace}:metrics"

    def rate(self, client_digest: str) -> str:
        """Counter with a one-minute TTL: a client address's pre-checks this minute (its sha256)."""
        return f"{self.namespace}:rate:{client_digest}"

    @property
    def every_key(self) -> str:
        """SCAN pattern of every key under this namespace (pre-checks: their keys must expire)."""
        return f"{self.namespace}:*"

    @property
    def filing_prefix(self) -> str:
        """Prefix of every filing's keys; `filing(fid)` is the hash that lists its files."""
        return f"{self.namespace}:filing:"

    @property
    def collector_lock(self) -> str:
        """String (with a TTL of one collector interval): a blob collector run is under way or
        has just run; spares the other worker processes the same run, nothing else."""
        return f"{self.namespace}:collector:lock"

    def filing(self, fid: str) -> str:
        """Hash: the filing's metadata, progress counters and callback state."""
        return f"{self.namespace}:filing:{fid}"

    def reports(self, fid: str) -> str:
        """Hash: file position -> FileReport JSON, each written once (HSETNX)."""
        return f"{self.namespace}:filing:{fid}:reports"

    def final(self, fid: str) -> str:
        """String: id of the check_file message that completed the barrier."""
        return f"{self.namespace}:filing:{fid}:final"

    def report(self, fid: str) -> str:
        """String: the FilingReport JSON."""
        return f"{self.namespace}:filing:{fid}:report"

    def callback_body(self, fid: str) -> str:
        return f"{self.namespace}:filing:{fid}:callback"

    def attempts(self, fid: str) -> str:
        """List: one JSON object per callback attempt."""
        return f"{self.namespace}:filing:{fid}:attempts"

    def idempotency(self, client: str, scope: str, key_sha256: str) -> str:
        """String: JSON {state, fingerprint, id, status_url} of the filing an idempotency key
        (scope `header` or `external_id`, the key itself as its sha256) made, SET NX."""
        return f"{self.namespace}:idem:{client}:{scope}:{key_sha256}"

    def fault(self, point: str, fid: str) -> str:
        return f"{self.namespace}:fault:{point}:{fid}"

    def all_for(self, fid: str) -> list[str]:
        return [
            self.filing(fid),
            self.reports(fid),
            self.final(fid),
            self.report(fid),
            self.callback_body(fid),
            self.attempts(fid),
        ]


# --- bulk re-validation on the queue (workers/bulk.py, bulk/queue.py) ---------------------------
def policy_key(namespace: str, policy_sha256: str) -> str:
    """String: the TOML bytes of a policy a bulk run uses."""
    return f"{namespace}:bulk:policy:{policy_sha256}"


def results_key(namespace: str, run: str) -> str:
    """Stream: one entry per checked content of a bulk run (ticket, report, record | error)."""
    return f"{namespace}:bulk:run:{run}:results"


def messages_key(namespace: str, run: str) -> str:
    """Hash: ticket -> the Redis id a worker last enqueued its message under (MessageTracker)."""
    return f"{namespace}:bulk:run:{run}:messages"
