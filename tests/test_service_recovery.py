"""Nothing accepted is lost: a worker SIGKILLed mid-check or between storing a report and acking
it, and Redis killed (AOF, appendfsync always) and restarted between the POST and the check.

Workers are a real `courtdoc worker --processes 2`; the kill lands on the process that announces
it has reached the point (COURTDOC_FAULT_PAUSE holds it there, once per filing). The killed
process's message goes back on the queue once its heartbeat is older than `heartbeat_timeout_s`
(2 s here) and the surviving process finishes the filing; the supervisor starts a replacement.
Each test prints the time from the kill to the callback.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
from courtdoc.workers.runner import start_worker
from courtdoc.workers.runtime import Runtime
from service_harness import (
    Receiver,
    WorkerProcess,
    cli_check,
    corpus_files,
    get_filing,
    post_filing,
    report_diff,
    running_api,
    service_settings,
    wait_until,
    write_clients,
)
from standardwebhooks import Webhook

#: Kill-to-callback must stay within this: heartbeat timeout (2 s) + keep-alive interval (0.5 s)
#: + the surviving worker's poll, the check, finalize and the callback, with room for a busy machine.
RECOVERY_BOUND_S = 15.0


def _only_callback(receiver: Receiver, secret: str) -> dict[str, Any]:
    time.sleep(1.0)  # a duplicate would have arrived by now
    assert len(receiver.requests) == 1, [r.answered for r in receiver.requests]
    hit = receiver.requests[0]
    payload: dict[str, Any] = Webhook(secret).verify(hit.body, hit.headers)
    return payload


def _barrier(rt: Runtime, fid: str) -> dict[str, int]:
    meta = rt.filings.meta(fid) or {}
    return {
        "reports": int(rt.redis.hlen(rt.keys.reports(fid))),
        "added": int(meta.get("barrier_added", 0)),
        "calls": int(meta.get("barrier_calls", 0)),
        "finalize_runs": int(meta.get("finalize_runs", 0)),
    }


def _kill_at(point: str, tmp_path: Path, redis_url: str, namespace: str) -> dict[str, Any]:
    files = corpus_files(tmp_path / "in")
    portal = write_clients(tmp_path / "clients.toml")
    settings = service_settings(
        tmp_path, redis_url, namespace, tmp_path / "clients.toml", fault_pause=f"{point}=60"
    )
    receiver = Receiver()
    # Two worker processes, as in a deployment: the survivor takes the killed one's message back.
    workers = WorkerProcess(settings, processes=2, threads=2)
    try:
        expected = cli_check(files)  # while the workers start
        with running_api(settings) as (rt, api):
            ready = [workers.wait_for("worker.ready", timeout=90, count=n) for n in (1, 2)]
            r = post_filing(
                api.url, portal.key, files, {"external_id": f"KILL-{point}", "callback_url": receiver.url}
            )
            assert r.status_code == 202, r.text
            fid = r.json()["id"]
            victim = workers.wait_for("fault.pause", point=point, timeout=60)["pid"]
            before = _barrier(rt, fid)
            killed_at = time.time()
            os.kill(victim, signal.SIGKILL)
            wait_until(receiver.successes, 90, "the callback after the kill")
            recovered_at = receiver.successes()[0].at
            payload = _only_callback(receiver, portal.secret)
            exited = workers.wait_for("supervisor.worker_exited", timeout=5)
            replacement = workers.wait_for("supervisor.started", count=3, timeout=10)
            status = get_filing(api.url, portal.key, fid)
            after = _barrier(rt, fid)
    finally:
        workers.stop()
        receiver.close()
    recovery = recovered_at - killed_at
    print(
        f"\nkill at {point}: callback {recovery:.2f} s after SIGKILL; replacement worker started "
        f"{replacement['_seen'] - killed_at:.2f} s after; barrier before {before}, after {after}"
    )
    assert exited["code"] == -signal.SIGKILL and exited["pid"] == victim
    assert victim in {e["pid"] for e in ready} and replacement["pid"] != victim
    report = payload["data"]["report"]
    assert report["verdict"] == expected["verdict"]
    got = {k: v for k, v in report.items() if k != "id"}
    assert got == expected, report_diff(got, expected)
    assert status["status"] == "done" and status["callback"]["state"] == "delivered"
    assert len(status["callback"]["attempts"]) == 1
    assert recovery < RECOVERY_BOUND_S
    return {"before": before, "after": after, "workers": workers, "recovery": recovery, "fid": fid}


def test_worker_killed_in_the_middle_of_a_check(tmp_path: Path, redis_server, redis_namespace: str) -> None:
    out = _kill_at("check", tmp_path, redis_server.url, redis_namespace)
    assert out["before"]["reports"] < 3  # the killed check had not stored its report
    assert out["after"] == {"reports": 3, "added": 3, "calls": 3, "finalize_runs": 1}


def test_worker_killed_between_storing_the_last_report_and_acking(
    tmp_path: Path, redis_server, redis_namespace: str
) -> None:
    """The nastiest window: the barrier has stored the last report and set the `final` key, but
    finalize was not enqueued and the message not acknowledged. The redelivered message must
    neither count its file again nor lose the finalize."""
    out = _kill_at("stored", tmp_path, redis_server.url, redis_namespace)
    assert out["before"] == {"reports": 3, "added": 3, "calls": 3, "finalize_runs": 0}
    # One more barrier call (the redelivery) that added nothing; finalize ran once.
    assert out["after"] == {"reports": 3, "added": 3, "calls": 4, "finalize_runs": 1}
    redelivered = out["workers"].find("barrier.stored", filing_id=out["fid"], redelivered=True)
    assert len(redelivered) == 1 and redelivered[0]["added"] is False
    assert out["workers"].find("check.already_stored", filing_id=out["fid"])


def test_redis_killed_and_restarted_between_post_and_check(tmp_path: Path, private_redis) -> None:
    files = corpus_files(tmp_path / "in")
    expected = cli_check(files)
    portal = write_clients(tmp_path / "clients.toml")
    settings = service_settings(tmp_path, private_redis.url, "restart", tmp_path / "clients.toml")
    receiver = Receiver()
    try:
        with running_api(settings) as (rt, api):
            r = post_filing(
                api.url, portal.key, files, {"external_id": "AOF-1", "callback_url": receiver.url}
            )
            assert r.status_code == 202, r.text
            fid = r.json()["id"]
            queue_key = f"{rt.keys.dramatiq}:intake"
            assert rt.redis.llen(queue_key) == 3
            private_redis.kill()  # a crash: Redis gets no chance to write anything more
            down = httpx.get(f"{api.url}/readyz", timeout=30)
            assert down.status_code == 503 and down.json()["error"]["code"] == "unavailable"
            private_redis.start()
            # Everything acknowledged with the 202 came back from the append-only file.
            assert rt.redis.llen(queue_key) == 3
            assert json.loads((rt.filings.meta(fid) or {})["files"])[0]["name"] == files[0].name
            assert get_filing(api.url, portal.key, fid)["status"] == "queued"
            worker = start_worker(rt, settings.queues, 2)
            try:
                wait_until(receiver.successes, 60, "the callback after the Redis restart")
                payload = _only_callback(receiver, portal.secret)
            finally:
                worker.stop(timeout=10_000)
    finally:
        receiver.close()
    got = {k: v for k, v in payload["data"]["report"].items() if k != "id"}
    assert got == expected, report_diff(got, expected)


def test_keep_alive_requeues_a_dead_workers_messages(
    tmp_path: Path, redis_server, redis_namespace: str
) -> None:
    """The mechanism alone: a message fetched by a worker that then stopped beating comes back
    on the next keep-alive of any other worker once the heartbeat timeout has passed."""
    import dramatiq
    from courtdoc.workers.broker import build_broker
    from courtdoc.workers.keys import Keys

    settings = service_settings(
        tmp_path, redis_server.url, redis_namespace, tmp_path / "clients.toml", heartbeat_timeout_s=0.5
    )
    namespace = Keys(redis_namespace).dramatiq
    brokers = [build_broker(settings, redis_server.url, namespace) for _ in range(2)]
    actors = [
        dramatiq.actor(broker=b, actor_name="probe", queue_name="intake")(lambda: None) for b in brokers
    ]
    actors[0].send()
    queue = f"{namespace}:intake"
    r = redis_server.client()
    consumer = brokers[0].consume("intake", prefetch=1, timeout=100)
    assert next(consumer) is not None  # fetched, unacknowledged: now in worker 0's acks set
    assert r.llen(queue) == 0
    brokers[1].keep_alive()  # worker 0 beat moments ago: not dead yet
    assert r.llen(queue) == 0
    time.sleep(0.7)  # worker 0 goes silent past the heartbeat timeout (as if SIGKILLed)
    brokers[1].keep_alive()
    assert r.llen(queue) == 1
    for b in brokers:
        b.close()
