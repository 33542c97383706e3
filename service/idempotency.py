"""Idempotent POST /v1/filings: a retried request answers with the filing the first one made.

A filing's idempotency key is the `Idempotency-Key` header, or — when there is none — its
`external_id`; keys are per portal. The first request to reach Redis with a key wins it with
`SET NX` (never check-then-set: two identical requests at once make one filing) and holds it as
`pending` for a short lease; when its filing is recorded the entry becomes `done` for the
retention period. A later request with the same key compares fingerprints — the metadata JSON
(parsed, key order and spacing aside) and each file's name and sha256, in order — and replays
the first answer (same fingerprint) or is refused with 409 `idempotency_conflict` (different).

A request that finds the key `pending` waits: for the entry to become `done`, for the pending
filing to turn out recorded after all (journaled — the first request failed after that, e.g.
Redis went away before it could mark the key done — then it is replayed), or for the lease to
run out (the first request died or could not release the key), when it takes the key itself.
A winner extends its lease just before it records its filing, and gives up the filing if the
key is no longer its own by then.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import redis

from ..workers.keys import Keys

Scope = Literal["header", "external_id"]

#: How long a `pending` entry holds its key without its holder extending it.
LEASE_S = 30.0

_IF_MINE = """
local v = redis.call('GET', KEYS[1])
if not v or cjson.decode(v)['id'] ~= ARGV[1] then return 0 end
if ARGV[2] == 'release' then return redis.call('DEL', KEYS[1]) end
if ARGV[2] == 'extend' then return redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[3])
return 1
"""


def fingerprint(metadata: dict[str, Any], files: list[tuple[str, str]]) -> str:
    """The sha256 of what makes two requests the same filing (metadata and named contents)."""
    canonical = json.dumps(
        {"metadata": metadata, "files": [[name, sha] for name, sha in files]},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Outcome:
    """`won`: make the filing; `replay`: answer with `fid`; `conflict`: another body has the key;
    `pending`: the first request is still recording its filing."""

    kind: Literal["won", "replay", "conflict", "pending"]
    fid: str
    status_url: str = ""


class Idempotency:
    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        ttl_s: float,
        recorded: Callable[[str], bool],
        lease_s: float = LEASE_S,
        wait_s: float = LEASE_S + 5.0,
    ) -> None:
        self.r = client
        self.keys = keys
        self.ttl_ms = max(1000, int(ttl_s * 1000))
        self.lease_ms = max(100, int(lease_s * 1000))
        self.wait_s = wait_s
        self.recorded = recorded
        self._if_mine = client.register_script(_IF_MINE)

    def key(self, client: str, scope: Scope, value: str) -> str:
        return self.keys.idempotency(client, scope, hashlib.sha256(value.encode("utf-8")).hexdigest())

    def claim(self, key: str, fprint: str, fid: str, status_url: str) -> Outcome:
        """Win the key for `fid`, or learn which filing has it (waiting while it is pending)."""
        mine = json.dumps({"state": "pending", "fingerprint": fprint, "id": fid, "status_url": status_url})
        deadline = time.monotonic() + self.wait_s
        while True:
            if self.r.set(key, mine, nx=True, px=self.lease_ms):
                return Outcome("won", fid)
            current = self.r.get(key)
            if current is None:  # released or expired between SET and GET
                continue
            held = json.loads(str(current))
            if held["fingerprint"] != fprint:
                return Outcome("conflict", held["id"])
            if held["state"] == "done":
                return Outcome("replay", held["id"], held.get("status_url", ""))
            if self.recorded(held["id"]):
                self.done(key, fprint, held["id"], held.get("status_url", ""))
                return Outcome("replay", held["id"], held.get("status_url", ""))
            if time.monotonic() > deadline:
                return Outcome("pending", held["id"])
            time.sleep(0.05)

    def extend(self, key: str, fid: str) -> bool:
        """Renew the lease just before recording the filing; False: the key is no longer ours."""
        return bool(self._if_mine(keys=[key], args=[fid, "extend", self.lease_ms, ""]))

    def done(self, key: str, fprint: str, fid: str, status_url: str) -> None:
        value = json.dumps({"state": "done", "fingerprint": fprint, "id": fid, "status_url": status_url})
        self._if_mine(keys=[key], args=[fid, "done", self.ttl_ms, value])

    def release(self, key: str, fid: str) -> None:
        """Drop the key if `fid` still holds it (its filing was not recorded)."""
        self._if_mine(keys=[key], args=[fid, "release", 0, ""])
