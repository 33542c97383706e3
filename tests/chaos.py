"""Seeded faults for the service: Redis and worker processes killed and restarted at random moments.

Used by the chaos test (tests/test_service_chaos.py) and bench/bench_chaos.py. A `FaultPlan` is
drawn from a seed — the same seed, the same faults at the same moments — and a `FaultInjector`
carries it out on a thread against a real `RedisServer` (AOF on) and a real `courtdoc worker`
supervisor, recording when each fault started and ended. `run_scenario` is one whole run: a
private Redis, the real API on uvicorn, `courtdoc worker --processes 2 --threads 4` and a callback
receiver, filings posted by a few threads while the plan runs, then every callback collected.
Everything runs on 127.0.0.1.

Faults:
  * `redis-kill`  — SIGKILL Redis (a crash), restart it from its AOF after `down_s`;
  * `redis-term`  — SIGTERM Redis (an orderly restart), start it again after `down_s`;
  * `worker-kill` — SIGKILL one worker process (the supervisor starts a replacement);
  * `worker-term` — SIGTERM the whole `courtdoc worker` (it stops gracefully), start it again
    after `down_s`.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from courtdoc.infra.redisserver import RedisServer
from service_harness import (
    Receiver,
    WorkerProcess,
    post_filing,
    running_api,
    service_settings,
    wait_until,
    write_clients,
)
from standardwebhooks import Webhook

KINDS = ("redis-kill", "redis-term", "worker-kill", "worker-term")


@dataclass(frozen=True)
class Fault:
    at_s: float  # from the start of the run
    kind: str
    down_s: float  # how long Redis or the workers stay down (0 for worker-kill)


@dataclass
class FaultPlan:
    seed: int
    faults: list[Fault]

    @classmethod
    def draw(cls, seed: int, duration_s: float, count: int, max_down_s: float = 4.0) -> FaultPlan:
        """`count` faults at random moments of `duration_s`, never overlapping: each starts after
        the previous one has ended, so every fault meets a service that was whole again."""
        rng = random.Random(seed)
        kinds = [KINDS[i % len(KINDS)] for i in range(count)]
        rng.shuffle(kinds)
        moments = sorted(rng.uniform(0.3, duration_s) for _ in range(count))
        faults: list[Fault] = []
        free_at = 0.0
        for at, kind in zip(moments, kinds, strict=True):
            at = max(at, free_at)
            down = 0.0 if kind == "worker-kill" else round(rng.uniform(0.5, max_down_s), 2)
            faults.append(Fault(round(at, 2), kind, down))
            free_at = at + down + 1.0
        return cls(seed, faults)


def child_pids(pid: int) -> list[int]:
    """Direct children of a process, from /proc."""
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except (OSError, ValueError):
            continue
    return out


@dataclass
class Applied:
    fault: Fault
    started: float  # wall-clock times
    ended: float
    detail: str = ""


@dataclass
class FaultInjector:
    """Carries out a plan. `redis` has stop/kill/start; `workers` is a factory of a started
    `courtdoc worker` handle with `.proc` (a Popen) and `.stop()`; `current_workers` holds the
    handle in use, replaced after a `worker-term`."""

    plan: FaultPlan
    redis: object
    start_workers: Callable[[], object]
    current_workers: list[object]
    applied: list[Applied] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._thread = threading.Thread(target=self._run, name="faults", daemon=True)
        self._stop = threading.Event()
        self.rng = random.Random(self.plan.seed + 1)

    def start(self) -> FaultInjector:
        self.t0 = time.monotonic()
        self.t0_wall = time.time()
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def last_recovered(self) -> float:
        """Wall-clock time when the last fault's component was back (its start for a kill), or
        when the run started if there was no fault."""
        return max((a.ended for a in self.applied), default=self.t0_wall)

    def _run(self) -> None:
        for fault in self.plan.faults:
            wait = self.t0 + fault.at_s - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                return
            started = time.time()
            try:
                detail = self._apply(fault)
            except Exception as exc:  # recorded, so the test shows what went wrong
                self.errors.append(f"{fault}: {type(exc).__name__}: {exc}")
                detail = "error"
            self.applied.append(Applied(fault, started, time.time(), detail))

    def _apply(self, fault: Fault) -> str:
        redis = self.redis
        if fault.kind in ("redis-kill", "redis-term"):
            (redis.kill if fault.kind == "redis-kill" else redis.stop)()  # type: ignore[attr-defined]
            time.sleep(fault.down_s)
            redis.start()  # type: ignore[attr-defined]
            return "restarted"
        workers = self.current_workers[-1]
        supervisor = workers.proc  # type: ignore[attr-defined]
        if fault.kind == "worker-kill":
            victims = child_pids(supervisor.pid)
            if not victims:
                return "no worker process to kill"
            victim = self.rng.choice(sorted(victims))
            os.kill(victim, signal.SIGKILL)
            return f"killed {victim}"
        supervisor.send_signal(signal.SIGTERM)
        supervisor.wait(60)
        time.sleep(fault.down_s)
        self.current_workers.append(self.start_workers())
        return "restarted"


# --- one whole run ---------------------------------------------------------------------------------


@dataclass
class ScenarioResult:
    plan: FaultPlan
    applied: list[Applied]
    accepted: dict[str, float]  # filing id -> wall-clock time of its 202
    callbacks: dict[str, list[dict[str, Any]]]  # filing id -> verified payloads, as delivered
    recovery_s: float  # last callback after the last fault ended
    slowest_s: float  # longest 202 -> first callback
    worker_events: dict[str, int]  # counts of the recovery events the workers logged
    missing: list[str]  # accepted filings without a callback when the wait ended
    worker_log: list[str] = field(default_factory=list)  # every line the workers wrote

    @property
    def duplicates(self) -> dict[str, int]:
        return {fid: len(got) for fid, got in self.callbacks.items() if len(got) > 1}

    def summary(self) -> str:
        faults = ", ".join(f"{a.fault.kind}@{a.fault.at_s}s(down {a.fault.down_s}s)" for a in self.applied)
        return (
            f"seed {self.plan.seed}: {len(self.accepted)} filings accepted, {len(self.missing)} without "
            f"a callback, {len(self.duplicates)} with more than one; faults {faults}; last callback "
            f"{self.recovery_s:.2f} s after the last fault ended; slowest 202→callback "
            f"{self.slowest_s:.2f} s; workers logged {self.worker_events}"
        )


def _post_until_accepted(api_url: str, key: str, files: list[Path], meta: dict[str, Any]) -> tuple[str, float]:
    """Post as a portal would: a 503 (Redis away, nothing recorded) or a dropped connection is
    posted again after a pause."""
    deadline = time.monotonic() + 60
    while True:
        try:
            r = post_filing(api_url, key, files, meta, timeout=20)
            if r.status_code == 202:
                return r.json()["id"], time.time()
            if r.status_code != 503:
                raise AssertionError(f"POST answered {r.status_code}: {r.text[:300]}")
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"no 202 for {meta['external_id']} in 60 s")
        time.sleep(0.3)


RECOVERY_EVENTS = ("reconcile.resent", "retry.enqueue_waiting", "retry.enqueued", "callback.attempt")


def run_scenario(
    tmp: Path,
    files: list[Path],
    plan: FaultPlan,
    *,
    posters: int = 3,
    posts_each: int = 6,
    posting_s: float = 6.0,
    wait_s: float = 60.0,
    **settings_over: Any,
) -> ScenarioResult:
    tmp.mkdir(parents=True, exist_ok=True)
    portal = write_clients(tmp / "clients.toml")
    # Not tied to its parent thread: the fault thread restarts it and then ends (a death signal
    # set with PR_SET_PDEATHSIG fires when the thread that forked the server exits).
    redis = RedisServer(tmp / "redis", appendfsync="always", tied_to_parent=False).start()
    values: dict[str, Any] = {
        "reconcile_after_s": 2.0,
        "reconcile_interval_s": 0.5,
        "callback_lease_s": 5.0,
        **settings_over,
    }
    settings = service_settings(tmp, redis.url, f"chaos{plan.seed}", tmp / "clients.toml", **values)
    receiver = Receiver()
    accepted: dict[str, float] = {}
    failures: list[str] = []
    lock = threading.Lock()
    workers: list[Any] = []

    def delivered() -> dict[str, list[tuple[float, dict[str, Any]]]]:
        out: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        for hit in receiver.successes():
            payload = Webhook(portal.secret).verify(hit.body, hit.headers)
            assert hit.headers["webhook-id"] == f"msg_{payload['data']['id']}"
            out.setdefault(payload["data"]["id"], []).append((hit.at, payload))
        return out

    try:
        with running_api(settings) as (_rt, api):
            workers.append(WorkerProcess(settings, processes=2, threads=4))
            injector = FaultInjector(
                plan, redis, lambda: WorkerProcess(settings, processes=2, threads=4), workers
            ).start()

            def poster(n: int) -> None:
                try:
                    for i in range(posts_each):
                        meta = {"external_id": f"CH-{plan.seed}-{n}-{i}", "callback_url": receiver.url}
                        fid, at = _post_until_accepted(api.url, portal.key, files, meta)
                        with lock:
                            accepted[fid] = at
                        time.sleep(posting_s / posts_each)
                except AssertionError as exc:
                    failures.append(str(exc))

            threads = [threading.Thread(target=poster, args=(n,)) for n in range(posters)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(180)
            injector.join(180)
            assert not injector.errors, injector.errors
            assert not failures, failures
            with contextlib.suppress(AssertionError):  # reported as `missing`
                wait_until(lambda: set(accepted) <= set(delivered()), wait_s, "a callback for every 202")
            time.sleep(2.0)  # a duplicate would have arrived by now
            got = delivered()
    finally:
        for w in workers:
            w.stop()
        receiver.close()
        redis.stop()
    events: dict[str, int] = {}
    for w in workers:
        for name in RECOVERY_EVENTS:
            events[name] = events.get(name, 0) + len(w.find(name))
    firsts = [min(at for at, _ in got[fid]) - t for fid, t in accepted.items() if fid in got]
    last = max((at for hits in got.values() for at, _ in hits), default=injector.last_recovered)
    return ScenarioResult(
        plan=plan,
        applied=injector.applied,
        accepted=accepted,
        callbacks={fid: [p for _, p in hits] for fid, hits in got.items()},
        recovery_s=last - injector.last_recovered,
        slowest_s=max(firsts, default=0.0),
        worker_events=events,
        missing=sorted(set(accepted) - set(got)),
        worker_log=[line for w in workers for line in w.raw],
    )
