"""Idempotent POST /v1/filings: a retried request answers with the filing the first one made.

A filing's idempotency key is the `Idempotency-Key` header, or — when there is none — its
`external_id`; keys are per portal. The first request to reach Redis with a key wins it with
`SET NX` (never check-then-set: two identical requests at once make one filing) and records its
filing id as `pending`; when the filing is recorded the entry becomes `done`. A later request
with the same key compares fingerprints — the metadata JSON (parsed, key order and spacing
aside) and each file's name and sha256, in order — and either replays the first answer (same
fingerprint) or is refused with 409 `idempotency_conflict` (different). A request that finds
the first still `pending` waits for it a few seconds. A winner that fails before recording its
filing deletes its entry, so a retry starts afresh. Entries expire after the retention period.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any, Literal

import redis

from .workers.keys import Keys

Scope = Literal["header", "external_id"]

_RELEASE = """
local v = redis.call('GET', KEYS[1])
if v and cjson.decode(v)['id'] == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
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
    `pending`: the first request has not finished recording its filing yet."""

    kind: Literal["won", "replay", "conflict", "pending"]
    fid: str
    status_url: str = ""


class Idempotency:
    def __init__(self, client: redis.Redis, keys: Keys, ttl_s: float, wait_s: float = 10.0) -> None:
        self.r = client
        self.keys = keys
        self.ttl_ms = max(1000, int(ttl_s * 1000))
        self.wait_s = wait_s
        self._release = client.register_script(_RELEASE)

    def key(self, client: str, scope: Scope, value: str) -> str:
        return self.keys.idempotency(client, scope, hashlib.sha256(value.encode("utf-8")).hexdigest())

    def claim(self, key: str, fprint: str, fid: str) -> Outcome:
        """Win the key for `fid`, or learn which filing has it (waiting while it is pending)."""
        mine = json.dumps({"state": "pending", "fingerprint": fprint, "id": fid})
        deadline = time.monotonic() + self.wait_s
        while True:
            if self.r.set(key, mine, nx=True, px=self.ttl_ms):
                return Outcome("won", fid)
            current = self.r.get(key)
            if current is None:  # the holder gave up (or it expired) between SET and GET
                continue
            held = json.loads(str(current))
            if held["fingerprint"] != fprint:
                return Outcome("conflict", held["id"])
            if held["state"] == "done":
                return Outcome("replay", held["id"], held.get("status_url", ""))
            if time.monotonic() > deadline:
                return Outcome("pending", held["id"])
            time.sleep(0.05)

    def done(self, key: str, fprint: str, fid: str, status_url: str) -> None:
        value = {"state": "done", "fingerprint": fprint, "id": fid, "status_url": status_url}
        self.r.set(key, json.dumps(value), px=self.ttl_ms)

    def release(self, key: str, fid: str) -> None:
        """Drop the key if `fid` still holds it (its filing was not recorded)."""
        self._release(keys=[key], args=[fid])
