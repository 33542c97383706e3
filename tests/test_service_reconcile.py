"""No filing stranded: the reconciler and the retries that outlive a Redis outage.

Each test loses something on purpose — a queue message, a filing's whole Redis state, the
finalize message, the callback's place in the outbox — on a real Redis, with the real API and
real worker threads, and checks that the filing still ends with exactly one callback carrying
the verdict `courtdoc check` gives. The retry test stops Redis while a check is running (the
check's worker is held at a fault point) and proves the retry is not acknowledged away.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from courtdoc.workers.reconciler import Reconciler
from courtdoc.workers.runner import start_worker
from courtdoc.workers.runtime import Runtime
from service_harness import (
    Receiver,
    cli_check,
    corpus_files,
    post_filing,
    report_diff,
    running_api,
    service_settings,
    wait_until,
    write_clients,
)
from standardwebhooks import Webhook


def _callbacks_of(receiver: Receiver, secret: str, fid: str) -> list[dict[str, Any]]:
    out = []
    for hit in receiver.successes():
        payload: dict[str, Any] = Webhook(secret).verify(hit.body, hit.headers)
        if payload["data"]["id"] == fid:
            out.append(payload)
    return out


def _post(api_url: str, key: str, files: list[Path], receiver: Receiver, external_id: str) -> str:
    r = post_filing(api_url, key, files, {"external_id": external_id, "callback_url": receiver.url})
    assert r.status_code == 202, r.text
    fid: str = r.json()["id"]
    return fid


def _drop_intake_messages(rt: Runtime) -> int:
    """Delete every intake message from Redis, as a Redis that lost its last writes would."""
    base = f"{rt.keys.dramatiq}:intake"
    keys = [base, f"{base}.msgs", f"{base}.DQ", f"{base}.DQ.msgs"]
    n = int(rt.redis.hlen(f"{base}.msgs"))
    rt.redis.delete(*keys)
    return n


def _one_callback_like_check(receiver: Receiver, secret: str, fid: str, expected: dict[str, Any]) -> None:
    wait_until(lambda: _callbacks_of(receiver, secret, fid), 60, f"the callback of {fid}")
    time.sleep(1.0)  # a duplicate would have arrived by now
    got = _callbacks_of(receiver, secret, fid)
    assert len(got) == 1, f"{len(got)} callbacks for {fid}"
    report = {k: v for k, v in got[0]["data"]["report"].items() if k != "id"}
    assert report == expected, report_diff(report, expected)


def test_lost_check_messages_are_sent_again(tmp_path: Path, redis_server, redis_namespace: str) -> None:
    files = corpus_files(tmp_path / "in")
    expected = cli_check(files)
    portal = write_clients(tmp_path / "clients.toml")
    settings = service_settings(
        tmp_path,
        redis_server.url,
        redis_namespace,
        tmp_path / "clients.toml",
        reconcile_after_s=0.5,
        reconcile_interval_s=0.2,
    )
    receiver = Receiver()
    try:
        with running_api(settings) as (rt, api):
            fid = _post(api.url, portal.key, files, receiver, "LOST-1")
            assert fid in rt.journal
            assert _drop_intake_messages(rt) == 3
            worker = start_worker(rt, settings.queues, 2)
            try:
                _one_callback_like_check(receiver, portal.secret, fid, expected)
                wait_until(lambda: fid not in rt.journal, 10, "the journal entry to be closed")
            finally:
                worker.stop(timeout=10_000)
            assert int((rt.filings.meta(fid) or {})["reconciled"]) == 1  # one pass sent all three
            assert rt.redis.hget(rt.keys.metrics, "reconciled|action=check") == "3"
    finally:
        receiver.close()


def test_a_filing_redis_forgot_is_recorded_again_from_the_journal(
    tmp_path: Path, redis_server, redis_namespace: str
) -> None:
    files = corpus_files(tmp_path / "in")
    expected = cli_check(files)
    portal = write_clients(tmp_path / "clients.toml")
    settings = service_settings(
        tmp_path, redis_server.url, redis_namespace, tmp_path / "clients.toml", reconcile_after_s=0.5
    )
    receiver = Receiver()
    try:
        with running_api(settings) as (rt, api):
            fid = _post(api.url, portal.key, files, receiver, "FORGOT-1")
            _drop_intake_messages(rt)
            rt.redis.delete(*rt.keys.all_for(fid))
            time.sleep(0.6)
            done = Reconciler(rt).run_once(force=True)
            assert done.recreated == [fid] and done.checks_sent == []
            worker = start_worker(rt, settings.queues, 2)
            try:
                _one_callback_like_check(receiver, portal.secret, fid, expected)
            finally:
                worker.stop(timeout=10_000)
            meta = rt.filings.meta(fid) or {}
            assert meta["external_id"] == "FORGOT-1" and meta["webhook_id"] == f"msg_{fid}"
    finally:
        receiver.close()


def test_nothing_is_sent_for_messages_in_flight_or_young_filings(
    tmp_path: Path, redis_server, redis_namespace: str
) -> None:
    files = corpus_files(tmp_path / "in")
    portal = write_clients(tmp_path / "clients.toml")
    settings = service_settings(
        tmp_path, redis_server.url, redis_namespace, tmp_path / "clients.toml", reconcile_after_s=0.3
    )
    with running_api(settings) as (rt, api):
        fid = _post(api.url, portal.key, files, Receiver(), "QUEUED-1")
        young = Reconciler(rt).run_once(force=True)
        assert young.open == 0 and not young.acted  # received less than reconcile_after_s ago
        time.sleep(0.4)
        queued = Reconciler(rt).run_once(force=True)
        assert queued.open == 1 and not queued.acted  # its three checks wait on the queue
        assert int(rt.redis.hlen(f"{rt.keys.dramatiq}:intake.msgs")) == 3
        # One check lost: exactly that one is sent again.
        base = f"{rt.keys.dramatiq}:intake"
        victims = [
            mid for mid, raw in rt.redis.hgetall(f"{base}.msgs").items() if json.loads(raw)["args"] == [fid, 1]
        ]
        assert len(victims) == 1
        rt.redis.hdel(f"{base}.msgs", victims[0])
        rt.redis.lrem(base, 0, victims[0])
        again = Reconciler(rt).run_once(force=True)
        assert again.checks_sent == [(fid, 1)]
        assert Reconciler(rt).run_once(force=True).checks_sent == []  # now in flight again


def test_a_message_fetched_but_never_received_is_sent_again_once_the_filing_stalls(
    tmp_path: Path, redis_server, redis_namespace: str
) -> None:
    """Redis ran a worker's fetch and died before answering: the message sits in that live
    worker's unacknowledged set. Trusted while the filing is young; sent again once it stalls."""
    files = corpus_files(tmp_path / "in")
    portal = write_clients(tmp_path / "clients.toml")
    settings = service_settings(
        tmp_path,
        redis_server.url,
        redis_namespace,
        tmp_path / "clients.toml",
        reconcile_after_s=0.2,
        reconcile_stuck_s=1.5,
    )
    with running_api(settings) as (rt, api):
        fid = _post(api.url, portal.key, files, Receiver(), "STUCK-1")
        base = f"{rt.keys.dramatiq}:intake"
        fetched = [
            mid for mid, raw in rt.redis.hgetall(f"{base}.msgs").items() if json.loads(raw)["args"] == [fid, 2]
        ]
        rt.redis.lrem(base, 0, fetched[0])
        rt.redis.sadd(f"{rt.keys.dramatiq}:__acks__.a-live-worker.intake", fetched[0])
        time.sleep(0.3)
        assert not Reconciler(rt).run_once(force=True).acted  # fetched, not yet stalled
        time.sleep(1.4)
        assert Reconciler(rt).run_once(force=True).checks_sent == [(fid, 2)]
        # The other two still wait on the queue: never sent again, however long they wait.
        assert Reconciler(rt).run_once(force=True).checks_sent == []


def test_lost_finalize_and_lost_outbox_entry_are_restored(
    tmp_path: Path, redis_server, redis_namespace: str
) -> None:
    files = corpus_files(tmp_path / "in")
    expected = cli_check(files)
    portal = write_clients(tmp_path / "clients.toml")
    settings = service_settings(
        tmp_path, redis_server.url, redis_namespace, tmp_path / "clients.toml", reconcile_after_s=0.2
    )
    receiver = Receiver()
    try:
        with running_api(settings) as (rt, api):
            fid = _post(api.url, portal.key, files, receiver, "FINAL-1")
            # The three checks run here, as a worker would run them; the last one sends
            # finalize. Then every intake message is lost, finalize with them.
            for index in range(3):
                rt.actors["check_file"].fn(fid, index)
            assert rt.redis.get(rt.keys.final(fid))
            _drop_intake_messages(rt)
            time.sleep(0.3)
            done = Reconciler(rt).run_once(force=True)
            assert done.finalized == [fid] and done.checks_sent == [], done
            assert Reconciler(rt).run_once(force=True).finalized == []  # it is in flight now
            # Finalize runs and puts the callback in the outbox; the entry is then lost.
            _drop_intake_messages(rt)
            rt.actors["finalize_filing"].fn(fid)
            assert rt.redis.zscore(rt.keys.outbox, fid) is not None
            rt.redis.zrem(rt.keys.outbox, fid)
            done = Reconciler(rt).run_once(force=True)
            assert done.callbacks_requeued == [fid] and done.finalized == [], done
            worker = start_worker(rt, settings.queues, 2)
            try:
                _one_callback_like_check(receiver, portal.secret, fid, expected)
                wait_until(lambda: fid not in rt.journal, 10, "the journal entry to be closed")
            finally:
                worker.stop(timeout=10_000)
            assert int((rt.filings.meta(fid) or {})["finalize_runs"]) == 1
    finally:
        receiver.close()


def test_a_retry_during_a_redis_outage_is_not_acknowledged_away(tmp_path: Path, private_redis) -> None:
    """Redis stops while a check runs: the check fails storing its report, the retry cannot be
    enqueued until Redis is back, and the message must survive until it is (the reconciler is
    set far off, so only the retry can finish the filing)."""
    files = corpus_files(tmp_path / "in")
    expected = cli_check(files)
    portal = write_clients(tmp_path / "clients.toml")
    settings = service_settings(
        tmp_path,
        private_redis.url,
        "outage",
        tmp_path / "clients.toml",
        fault_pause="check=2",
        reconcile_after_s=3600,
    )
    receiver = Receiver()
    try:
        with running_api(settings) as (rt, api):
            fid = _post(api.url, portal.key, files, receiver, "OUTAGE-1")
            worker = start_worker(rt, settings.queues, 2)
            try:
                wait_until(lambda: (rt.filings.meta(fid) or {}).get("started_at"), 20, "a check to start")
                private_redis.stop()  # SIGTERM: the check pauses 2 s, then cannot store its report
                time.sleep(4.0)
                private_redis.start()
                _one_callback_like_check(receiver, portal.secret, fid, expected)
            finally:
                worker.stop(timeout=10_000)
            assert int((rt.filings.meta(fid) or {}).get("reconciled", "0")) == 0
    finally:
        receiver.close()
