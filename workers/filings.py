"""A filing's state in Redis, and the idempotent barrier that decides when all its files are checked.

Why not Dramatiq's group completion callback: its counter is decremented each time a member
message finishes, so a message redelivered after its worker was killed (having done its work but
not acknowledged it) counts twice and the group fires early — or never, when the kill came
before the count. Our barrier counts *reports*, not messages:

  * each file's report is stored under the filing with `HSETNX` on the file's position, so a
    redelivered message cannot store or count a file twice;
  * in the same Lua script the number of stored reports is compared with the filing's file
    count, and the first caller to see them equal sets the `final` key with `NX`, recording its
    own message id. Only that message enqueues `finalize_filing`. If its worker dies after the
    Lua script and before the enqueue, the message is redelivered with the same id, finds the
    `final` key holding its id, and enqueues finalize again; other messages never do.
  * `finalize_filing` may therefore run more than once (never concurrently by design, but it
    would be harmless): the report is stored with `SET NX`, and the callback is put in the
    outbox only if the filing has no callback state yet (`HSETNX`), in the same script.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import redis

from ..core.report import FileReport
from .keys import Keys

_BARRIER = """
local total = tonumber(redis.call('HGET', KEYS[1], 'nfiles'))
if not total then return {-1, 0, 0} end
local added = redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[1], 'barrier_calls', 1)
if added == 1 then
  redis.call('HINCRBY', KEYS[1], 'barrier_added', 1)
  redis.call('HSET', KEYS[1], 'progress_at', ARGV[4])
end
local count = redis.call('HLEN', KEYS[2])
local won = 0
if count >= total then
  if redis.call('SET', KEYS[3], ARGV[3], 'NX') then
    won = 1
  elseif redis.call('GET', KEYS[3]) == ARGV[3] then
    won = 2
  end
end
return {added, count, won}
"""

_FINISH = """
local first = 0
if redis.call('SET', KEYS[2], ARGV[1], 'NX') then
  first = 1
  redis.call('HSET', KEYS[1], 'finished_at', ARGV[2], 'verdict', ARGV[3])
end
redis.call('HINCRBY', KEYS[1], 'finalize_runs', 1)
local url = redis.call('HGET', KEYS[1], 'callback_url')
if url and url ~= '' then
  if redis.call('HSETNX', KEYS[1], 'cb_state', 'pending') == 1 then
    redis.call('HSET', KEYS[1], 'webhook_id', ARGV[4], 'cb_next_at', ARGV[8])
    redis.call('SET', KEYS[4], ARGV[5])
    redis.call('ZADD', KEYS[3], ARGV[6], ARGV[7])
    return {first, tonumber(ARGV[6])}
  end
end
return {first, 0}
"""


@dataclass(frozen=True)
class BarrierResult:
    added: bool  # this call stored the file's report (False: it was there already)
    count: int  # reports stored so far
    won: bool  # this message completed the filing and must enqueue finalize
    again: bool  # ... and it had done so before (a redelivery)
    missing: bool = False  # the filing is unknown (expired or never created)


def iso(ts: str | float | None) -> str | None:
    if ts in (None, ""):
        return None
    return datetime.fromtimestamp(float(ts), tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class FilingStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys
        self._barrier = client.register_script(_BARRIER)
        self._finish = client.register_script(_FINISH)

    # --- intake --------------------------------------------------------------------------------

    def create(self, fid: str, record: dict[str, Any]) -> None:
        fields: dict[Any, Any] = {
            k: (v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)) for k, v in record.items()
        }
        self.r.hset(self.keys.filing(fid), mapping=fields)

    # --- workers -------------------------------------------------------------------------------

    def meta(self, fid: str) -> dict[str, str] | None:
        data: dict[str, str] = self.r.hgetall(self.keys.filing(fid))  # type: ignore[assignment]
        return data or None

    def has_report(self, fid: str, index: int) -> bool:
        return bool(self.r.hexists(self.keys.reports(fid), str(index)))

    def stored_indexes(self, fid: str) -> set[int]:
        """Positions of the files whose report is stored."""
        return {int(k) for k in self.r.hkeys(self.keys.reports(fid))}

    def mark_started(self, fid: str) -> None:
        self.r.hsetnx(self.keys.filing(fid), "started_at", repr(time.time()))

    def store_report(self, fid: str, index: int, report_json: str, message_id: str) -> BarrierResult:
        added, count, won = self._barrier(
            keys=[self.keys.filing(fid), self.keys.reports(fid), self.keys.final(fid)],
            args=[str(index), report_json, message_id, repr(time.time())],
        )
        if added == -1:
            return BarrierResult(False, 0, False, False, missing=True)
        return BarrierResult(bool(added), int(count), won > 0, won == 2)

    def reports(self, fid: str) -> dict[int, FileReport]:
        raw: dict[str, str] = self.r.hgetall(self.keys.reports(fid))  # type: ignore[assignment]
        return {int(k): FileReport.from_dict(json.loads(v)) for k, v in raw.items()}

    def finish(
        self, fid: str, report_json: str, verdict: str, webhook_id: str, body: str, claim_until_ms: int
    ) -> tuple[bool, int | None]:
        """Store the filing report once; put its callback in the outbox once, claimed for us."""
        first, token = self._finish(
            keys=[
                self.keys.filing(fid),
                self.keys.report(fid),
                self.keys.outbox,
                self.keys.callback_body(fid),
            ],
            args=[
                report_json,
                repr(time.time()),
                verdict,
                webhook_id,
                body,
                str(claim_until_ms),
                fid,
                str(int(time.time() * 1000)),
            ],
        )
        return bool(first), (int(token) or None)

    def expire(self, fid: str, seconds: float) -> None:
        pipe = self.r.pipeline(transaction=False)
        for key in self.keys.all_for(fid):
            pipe.expire(key, max(1, int(seconds)))
        pipe.execute()

    # --- reading -------------------------------------------------------------------------------

    def final_report(self, fid: str) -> str | None:
        value: str | None = self.r.get(self.keys.report(fid))  # type: ignore[assignment]
        return value

    def attempts(self, fid: str) -> list[dict[str, Any]]:
        raw: list[str] = self.r.lrange(self.keys.attempts(fid), 0, -1)  # type: ignore[assignment]
        return [json.loads(a) for a in raw]

    def view(self, fid: str, meta: dict[str, str]) -> dict[str, Any]:
        """The public status of a filing (GET /v1/filings/{id})."""
        report = self.final_report(fid)
        checked = set(self.r.hkeys(self.keys.reports(fid)))
        files = json.loads(meta.get("files", "[]"))
        if report is not None:
            status = "done"
        elif checked or meta.get("started_at"):
            status = "checking"
        else:
            status = "queued"
        callback: dict[str, Any] | None = None
        if meta.get("callback_url"):
            attempts = self.attempts(fid)
            for a in attempts:
                a["at"] = iso(a.get("at"))
            callback = {
                "url": meta["callback_url"],
                "webhook_id": meta.get("webhook_id"),
                "state": meta.get("cb_state", "waiting"),
                "next_attempt_at": iso(float(meta["cb_next_at"]) / 1000) if meta.get("cb_next_at") else None,
                "attempts": attempts,
            }
        return {
            "id": fid,
            "external_id": meta.get("external_id"),
            "status": status,
            "created_at": iso(meta.get("created_at")),
            "finished_at": iso(meta.get("finished_at")),
            "verdict": meta.get("verdict"),
            "files": [{**f, "index": i, "checked": str(i) in checked} for i, f in enumerate(files)],
            "report": json.loads(report) if report is not None else None,
            "callback": callback,
        }
