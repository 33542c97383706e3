"""Callback delivery: signed, retried on a (compressed) schedule, Retry-After, connect-time refusal."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest
from courtdoc.infra.netguard import AddressPolicy
from courtdoc.infra.webhooks import next_delay, parse_retry_after
from courtdoc.workers.runner import start_worker
from service_harness import (
    Receiver,
    corpus_files,
    get_filing,
    post_filing,
    running_api,
    service_settings,
    wait_until,
    write_clients,
)
from standardwebhooks import Webhook


def test_receiver_down_then_up_same_webhook_id_every_attempt_logged(
    tmp_path: Path, redis_server, redis_namespace: str
) -> None:
    files = corpus_files(tmp_path / "in")
    portal = write_clients(tmp_path / "clients.toml")
    settings = service_settings(tmp_path, redis_server.url, redis_namespace, tmp_path / "clients.toml")
    # 307, 500, then 503 asking to wait 1 s, then two answers slower than the 1 s timeout, then 200.
    receiver = Receiver(
        script=[
            # A redirect is neither followed (a followed 307 would POST here again) nor success.
            ("status", 307, {"Location": "/hook"}),
            500,
            ("status", 503, {"Retry-After": "1"}),
            ("hang", 2.5),
            ("hang", 2.5),
        ]
    )
    try:
        with running_api(settings) as (rt, api):
            worker = start_worker(rt, settings.queues, 4)
            try:
                r = post_filing(
                    api.url, portal.key, files, {"external_id": "CB-1", "callback_url": receiver.url}
                )
                assert r.status_code == 202, r.text
                fid = r.json()["id"]
                wait_until(lambda: receiver.successes(), 30, "a successful callback")
                state = wait_until(
                    lambda: (
                        (s := get_filing(api.url, portal.key, fid))["callback"]["state"] == "delivered" and s
                    ),
                    5,
                    "the delivery to be recorded",
                )
            finally:
                worker.stop(timeout=10_000)
    finally:
        receiver.close()

    hits = receiver.requests
    assert [h.answered for h in hits] == [
        "('status', 307, {'Location': '/hook'})",
        "500",
        "('status', 503, {'Retry-After': '1'})",
        "('hang', 2.5)",
        "('hang', 2.5)",
        "200",
    ]
    ids = {h.headers["webhook-id"] for h in hits}
    assert ids == {f"msg_{fid}"}
    bodies = {h.body for h in hits}
    assert len(bodies) == 1  # the same payload every time
    for h in hits:
        Webhook(portal.secret).verify(h.body, h.headers)  # raises when the signature is wrong
    # Retry-After: 1 pushed the fourth attempt at least a second after the third (schedule: 0.2 s).
    assert hits[3].at - hits[2].at >= 1.0
    attempts = state["callback"]["attempts"]
    assert [a["outcome"] for a in attempts] == [
        "http_307",
        "http_500",
        "http_503",
        "timeout",
        "timeout",
        "delivered",
    ]
    assert [a["attempt"] for a in attempts] == [1, 2, 3, 4, 5, 6]
    assert attempts[2]["retry_after_s"] == 1.0
    assert state["callback"]["webhook_id"] == f"msg_{fid}"
    assert state["status"] == "done"


def test_private_address_refused_at_connect_time_and_schedule_ends(
    tmp_path: Path, redis_server, redis_namespace: str
) -> None:
    """`localhost` passes the submission check (a name, allowed for the portal) but resolves to
    127.0.0.1, which this service is not allowed to reach: every attempt is refused on connect."""
    files = corpus_files(tmp_path / "in")
    portal = write_clients(tmp_path / "clients.toml", hosts=["localhost"])
    settings = service_settings(
        tmp_path,
        redis_server.url,
        redis_namespace,
        tmp_path / "clients.toml",
        callback_allow_networks=[],
        callback_schedule_s=[0, 0.1, 0.1],
    )
    receiver = Receiver()
    url = receiver.url.replace("127.0.0.1", "localhost")
    try:
        with running_api(settings) as (rt, api):
            worker = start_worker(rt, settings.queues, 4)
            try:
                r = post_filing(api.url, portal.key, files, {"external_id": "CB-2", "callback_url": url})
                assert r.status_code == 202, r.text
                fid = r.json()["id"]
                state = wait_until(
                    lambda: (
                        (s := get_filing(api.url, portal.key, fid))["callback"]
                        and s["callback"]["state"] == "failed"
                        and s
                    ),
                    30,
                    "the delivery to give up",
                )
            finally:
                worker.stop(timeout=10_000)
    finally:
        receiver.close()
    assert receiver.requests == []  # nothing ever reached the receiver
    outcomes = [a["outcome"] for a in state["callback"]["attempts"]]
    assert outcomes == ["refused", "refused", "refused"]
    assert "127.0.0.1" in state["callback"]["attempts"][0]["error"]


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("10.0.0.1", False),
        ("192.168.1.10", False),
        ("172.16.5.4", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("::1", False),
        ("fe80::1", False),
        ("fd00::1", False),
        ("::ffff:10.0.0.1", False),
        ("224.0.0.1", False),
        ("8.8.8.8", True),
        ("2a00:1450:4001:80b::200e", True),
    ],
)
def test_address_policy(address: str, allowed: bool) -> None:
    assert AddressPolicy().allowed(ipaddress.ip_address(address)) is allowed


def test_address_policy_allow_list() -> None:
    policy = AddressPolicy(["127.0.0.1/32"])
    assert policy.allowed(ipaddress.ip_address("127.0.0.1"))
    assert not policy.allowed(ipaddress.ip_address("127.0.0.2"))
    assert policy.literal_refused("10.0.0.1") and not policy.literal_refused("127.0.0.1")
    assert not policy.literal_refused("portal.example.kz")


def test_schedule_jitter_and_retry_after() -> None:
    schedule = [0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    for made in range(1, 10):
        delay = next_delay(schedule, made, 0.1)
        assert delay is not None and schedule[made] <= delay <= schedule[made] * 1.1
    assert next_delay(schedule, 10, 0.1) is None  # ten attempts, then it gives up
    assert next_delay(schedule, 1, 0.0, retry_after=120) == 120  # Retry-After asks for longer
    assert next_delay(schedule, 3, 0.0, retry_after=1) == 1800  # ... never for shorter
    assert next_delay(schedule, 1, 0.0, retry_after=10**9) == 86400  # capped at 24 h
    assert parse_retry_after("17", 0) == 17
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470) == 10
    assert parse_retry_after("soon", 0) is None


def test_a_claim_is_renewed_when_its_attempt_begins(redis_server, redis_namespace: str) -> None:
    """A delivery message that waited in a busy queue for most of its claim's lease must not see
    the claim expire under it (another worker would then deliver the same callback again)."""
    import time

    from courtdoc.workers.keys import Keys
    from courtdoc.workers.outbox import Outbox, now_ms

    keys = Keys(redis_namespace)
    r = redis_server.client()
    outbox = Outbox(r, keys, lease_s=0.4)
    token = now_ms() + 400
    r.zadd(keys.outbox, {"f1": token})  # claimed when the filing was finalized
    time.sleep(0.3)  # the message waited in the queue
    renewed = outbox.begin("f1", token)
    assert renewed is not None and renewed > token
    time.sleep(0.2)  # the first claim would have expired by now ...
    assert outbox.claim_due() == []  # ... but the renewed one holds: nobody else takes it
    assert outbox.begin("f1", token) is None  # the old token is stale
    assert outbox.complete("f1", renewed, {"attempt": 1}, "delivered")
    assert r.zscore(keys.outbox, "f1") is None
