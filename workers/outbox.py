"""The durable callback outbox: a Redis sorted set of filing id -> next attempt time (ms).

Retries wait hours (the Standard Webhooks schedule reaches 24 h), so they are not Dramatiq
delayed messages — a delayed message sits in one worker's memory until its time, and the
schedule would be lost with that worker's restart. Instead:

  * a pending delivery is a member of the outbox scored with its next attempt time;
  * every worker process serving the `callbacks` queue polls for due members and *claims* them
    (score moved to now + lease) in one Lua script, then enqueues `deliver_callback(id, token)`,
    where the token is the claim's score;
  * `deliver_callback` makes one attempt and, in another script, records it and either removes
    the member (delivered, or the schedule is exhausted) or scores it with the next attempt time
    — only if the member still carries its token, so a stale duplicate message cannot reschedule
    a delivery someone else now owns;
  * an attempt starts by renewing the claim's lease (and token) from the current time;
  * a claim whose worker died simply expires: the member becomes due again after the lease.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import redis

from ..core import logs
from .keys import Keys
from .periodic import Periodic

log = logs.get(__name__)

_CLAIM_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], member)
end
return due
"""

_BEGIN = """
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return tonumber(ARGV[3])
"""

_COMPLETE = """
redis.call('RPUSH', KEYS[3], ARGV[3])
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
redis.call('HINCRBY', KEYS[2], 'cb_attempts', 1)
redis.call('HSET', KEYS[2], 'cb_state', ARGV[4])
if ARGV[4] == 'pending' then
  redis.call('ZADD', KEYS[1], ARGV[5], ARGV[1])
  redis.call('HSET', KEYS[2], 'cb_next_at', ARGV[5])
else
  redis.call('ZREM', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], 'cb_next_at')
end
return 1
"""


_RESTORE = """
if redis.call('HGET', KEYS[2], 'cb_state') ~= 'pending' then return 0 end
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
"""


def now_ms() -> int:
    return int(time.time() * 1000)


class Outbox:
    def __init__(self, client: redis.Redis, keys: Keys, lease_s: float) -> None:
        self.r = client
        self.keys = keys
        self.lease_ms = int(lease_s * 1000)
        self._claim_due = client.register_script(_CLAIM_DUE)
        self._begin = client.register_script(_BEGIN)
        self._complete = client.register_script(_COMPLETE)
        self._restore = client.register_script(_RESTORE)

    def claim_due(self, limit: int = 100) -> list[tuple[str, int]]:
        now = now_ms()
        token = now + self.lease_ms
        due: list[str] = self._claim_due(keys=[self.keys.outbox], args=[now, token, limit])
        return [(fid, token) for fid in due]

    def begin(self, fid: str, token: int) -> int | None:
        """Start an attempt under a claim: renew its lease from now and return the new token, or
        None when the claim is no longer ours (a stale message). The lease counts from the start
        of the attempt, not from the claim: a delivery message may wait in a busy queue for longer
        than the lease, and the claim must not expire under an attempt that has just begun."""
        renewed = int(self._begin(keys=[self.keys.outbox], args=[fid, token, now_ms() + self.lease_ms]))
        return renewed or None

    def complete(
        self, fid: str, token: int, attempt: dict[str, Any], state: str, next_at_ms: int = 0
    ) -> bool:
        """Record an attempt; move the delivery on if the claim is still ours."""
        done = self._complete(
            keys=[self.keys.outbox, self.keys.filing(fid), self.keys.attempts(fid)],
            args=[fid, token, json.dumps(attempt), state, next_at_ms],
        )
        return bool(done)

    def restore(self, fid: str) -> bool:
        """Put a pending callback that is missing from the outbox back in it, due now. One
        script: a delivery that completes meanwhile (state no longer pending) is left alone."""
        return bool(self._restore(keys=[self.keys.outbox, self.keys.filing(fid)], args=[fid, now_ms()]))

    def pending(self) -> int:
        return int(self.r.zcard(self.keys.outbox))


class OutboxPoller:
    """A thread claiming due deliveries and handing each to `send(filing_id, token)`; it polls
    again at once while it finds some (more may be due)."""

    def __init__(self, outbox: Outbox, send: Callable[[str, int], Any], interval_s: float) -> None:
        self.outbox = outbox
        self.send = send
        self._periodic = Periodic("outbox.poll", interval_s, lambda: self.poll_once() > 0)

    def start(self) -> None:
        self._periodic.start()

    def stop(self) -> None:
        self._periodic.stop()

    def poll_once(self) -> int:
        claimed = self.outbox.claim_due()
        for fid, token in claimed:
            self.send(fid, token)
        return len(claimed)
