"""The reconciler: finds filings that stopped moving and sends exactly their missing messages.

Every step of a filing is carried by a queue message (a file's check, the finalize) or by the
callback outbox. Messages can still vanish in ways no acknowledgement protocol covers: Redis
losing its last writes (an `everysec` fsync window, a Redis started without its files), an
operator purging a queue, a defect. The journal (`journal.py`) knows every filing the API
answered 202; the reconciler, run by every intake worker process every
`COURTDOC_RECONCILE_INTERVAL_S` (one process at a time, under a Redis lock), looks at each entry
older than `COURTDOC_RECONCILE_AFTER_S` and:

  * a filing Redis no longer knows is recorded again from its entry and all its files are
    checked again (same bytes, same policy: the same verdict; the callback keeps its webhook id);
  * a file without a report and without a `check_file` message for it is sent again;
  * a filing whose reports are all stored, with no report of its own and no intake message for
    it, gets its `finalize_filing` again;
  * a decided filing whose pending callback fell out of the outbox is put back in it, due now;
  * an entry whose filing needs nothing more (callback delivered or given up, or no callback)
    is removed.

A message a worker fetched but never received — Redis ran the fetch and died before its answer
arrived — sits in that live worker's list of unacknowledged messages for good: the heartbeat
cannot requeue it, since its worker is alive. So a filing that has not moved for
`COURTDOC_RECONCILE_STUCK_S` (longer than any check or retry backoff may take) trusts only
messages still waiting on a queue, and the fetched ones are sent again.

"No message for it" is read from one atomic snapshot of the intake queue's message hashes
(queued, fetched by a worker, or waiting in the delay queue), taken before the filings' state,
so a message that moves — a retry, a delayed message coming due — is seen in one place or the
other, and a message acknowledged after the snapshot has stored its result before its ack. Every
message it sends is one the barrier already absorbs twice, so a re-send that races with a slow
worker costs a repeated check, never a second verdict or callback.

Time to recovery: a stranded filing is sent again within `RECONCILE_AFTER_S` of its intake and
`RECONCILE_INTERVAL_S` of Redis answering again, whichever is later, plus the time to check it.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core import logs
from .broker import INTAKE
from .periodic import Periodic

if TYPE_CHECKING:
    from .runtime import Runtime

log = logs.get(__name__)

FINAL_CALLBACK_STATES = ("delivered", "failed")
#: Messages the reconciler sends for one filing before it stops and says so: a filing whose
#: finalize fails on a defect would otherwise be sent again every interval for ever.
MAX_RESENDS = 20


@dataclass
class Pass:
    """What one pass found and did (counts; filing ids only, never names)."""

    open: int = 0
    recreated: list[str] = field(default_factory=list)
    checks_sent: list[tuple[str, int]] = field(default_factory=list)
    finalized: list[str] = field(default_factory=list)
    callbacks_requeued: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    skipped: bool = False  # another process held the lock

    @property
    def acted(self) -> bool:
        return bool(self.recreated or self.checks_sent or self.finalized or self.callbacks_requeued)


class Reconciler:
    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.after_s = rt.settings.reconcile_after_s
        self.interval_s = rt.settings.reconcile_interval_s
        self.stuck_s = rt.settings.reconcile_stuck_s

    def _in_flight(self) -> dict[tuple[str, tuple[Any, ...]], bool]:
        """(actor, args) of every intake message Redis holds -> whether a copy still waits on a
        queue (True) or all were fetched by workers (False); from one MULTI snapshot."""
        queue = self.rt.keys.queue(INTAKE)
        pipe = self.rt.redis.pipeline(transaction=True)
        pipe.hgetall(queue.messages)
        pipe.hgetall(queue.delayed_messages)
        pipe.lrange(queue.ready, 0, -1)
        pipe.lrange(queue.delayed, 0, -1)
        msgs, delayed, waiting, waiting_delayed = pipe.execute()
        queued = set(waiting) | set(waiting_delayed)
        out: dict[tuple[str, tuple[Any, ...]], bool] = {}
        for redis_id, raw in [*msgs.items(), *delayed.items()]:
            try:
                message = json.loads(raw)
                key = (message["actor_name"], tuple(message["args"]))
            except (ValueError, KeyError, TypeError):
                continue
            out[key] = out.get(key, False) or redis_id in queued
        return out

    def _lock(self) -> bool:
        # Held for most of an interval and never released: the next pass, wherever it runs,
        # starts after it. Passes are safe to overlap; the lock only saves repeated work.
        ttl_ms = max(100, int(self.interval_s * 900))
        return bool(self.rt.redis.set(self.rt.keys.reconcile_lock, uuid.uuid4().hex, nx=True, px=ttl_ms))

    def run_once(self, force: bool = False) -> Pass:
        result = Pass()
        if not force and not self._lock():
            result.skipped = True
            return result
        entries = list(self.rt.journal.entries(older_than_s=self.after_s))
        result.open = len(entries)
        if not entries:
            return result
        in_flight = self._in_flight()
        actors = self.rt.actors
        for entry in entries:
            fid = entry.fid
            # The report before the state: finalize writes the report and the callback state in
            # one script, so state read after a report is found is never older than it.
            decided = self.rt.filings.final_report(fid) is not None
            meta = self.rt.filings.meta(fid)
            if meta is not None and int(meta.get("reconciled", "0")) >= MAX_RESENDS:
                continue  # given up (logged once, when the limit was reached)
            if meta is None:
                self.rt.filings.create(fid, entry.record)
                for index in range(int(entry.record["nfiles"])):
                    actors["check_file"].send(fid, index)
                result.recreated.append(fid)
                continue
            if decided:
                self._decided(fid, meta, result)
                continue
            nfiles = int(meta["nfiles"])
            stored = self.rt.filings.stored_indexes(fid)
            moved_at = max(float(meta.get("created_at") or 0), float(meta.get("progress_at") or 0))
            stalled = time.time() - moved_at > self.stuck_s
            # A stalled filing trusts only messages still waiting on a queue (module docstring).
            held = {
                key for key, waiting in in_flight.items() if key[1][:1] == (fid,) and (waiting or not stalled)
            }
            checks_in_flight = {int(args[1]) for name, args in held if name == "check_file"}
            missing = [i for i in range(nfiles) if i not in stored and i not in checks_in_flight]
            finalize = (
                len(stored) >= nfiles
                and not checks_in_flight
                and ("finalize_filing", (fid,)) not in held
            )
            if (missing or finalize) and not self._count_resend(fid):
                continue
            for index in missing:
                actors["check_file"].send(fid, index)
                result.checks_sent.append((fid, index))
            if finalize:
                actors["finalize_filing"].send(fid)
                result.finalized.append(fid)
        return result

    def _count_resend(self, fid: str) -> bool:
        """Count one more resend for the filing; False once it has had `MAX_RESENDS`."""
        count = int(self.rt.redis.hincrby(self.rt.keys.filing(fid), "reconciled", 1))
        if count >= MAX_RESENDS:
            log.error("reconcile.gave_up", filing_id=fid, resends=count - 1)
            return False
        return True

    def _decided(self, fid: str, meta: dict[str, str], result: Pass) -> None:
        state = meta.get("cb_state")
        if not meta.get("callback_url") or state in FINAL_CALLBACK_STATES:
            self.rt.journal.remove(fid)
            result.closed.append(fid)
        elif state is None:
            # Decided, but the callback never reached the outbox: finalize puts it there once.
            if self._count_resend(fid):
                self.rt.actors["finalize_filing"].send(fid)
                result.finalized.append(fid)
        elif self.rt.outbox.restore(fid):
            result.callbacks_requeued.append(fid)


class ReconcilerThread:
    """Runs `Reconciler.run_once` every interval until stopped; survives Redis outages."""

    def __init__(self, reconciler: Reconciler) -> None:
        self.reconciler = reconciler
        self._periodic = Periodic(
            "reconcile", reconciler.interval_s, self._pass, first_wait_s=reconciler.interval_s
        )

    def start(self) -> None:
        self._periodic.start()

    def stop(self) -> None:
        self._periodic.stop()

    def _pass(self) -> None:
        t0 = time.perf_counter()
        done = self.reconciler.run_once()
        if not done.acted:
            return
        metrics = self.reconciler.rt.metrics
        metrics.reconciled("recreated", len(done.recreated))
        metrics.reconciled("check", len(done.checks_sent))
        metrics.reconciled("finalize", len(done.finalized))
        metrics.reconciled("callback", len(done.callbacks_requeued))
        log.warning(
            "reconcile.resent",
            open=done.open,
            recreated=done.recreated,
            checks=[f"{fid}/{index}" for fid, index in done.checks_sent],
            finalized=done.finalized,
            callbacks=done.callbacks_requeued,
            duration_ms=round((time.perf_counter() - t0) * 1000, 1),
        )
