"""A retried POST answers with the first filing: one filing, one callback, whatever the retries.

The key is the `Idempotency-Key` header, or else the metadata's `external_id`, per portal. The
real app on uvicorn, real Redis; the slow service a client gives up on is Redis made to sleep
(`DEBUG SLEEP`) on a private server.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from courtdoc.service.idempotency import Idempotency, fingerprint
from courtdoc.workers.keys import Keys
from courtdoc.workers.runner import start_worker
from courtdoc.workers.runtime import Runtime
from service_harness import Receiver, running_api, service_settings, wait_until, write_clients

PDF = b"%PDF-1.4 a filing that is only a few bytes\n"


def _other_key(clients: Path) -> str:
    return next(line.split('"')[1] for line in clients.read_text().splitlines() if "other-key-" in line)


def _post(
    url: str,
    key: str,
    metadata: dict[str, Any],
    files: list[tuple[str, bytes]],
    idem: str | None = None,
    timeout: float | httpx.Timeout = 30,
) -> httpx.Response:
    parts: list[tuple[str, Any]] = [
        ("metadata", (None, json.dumps(metadata, ensure_ascii=False).encode(), "application/json"))
    ]
    parts += [("files", (name, data, "application/pdf")) for name, data in files]
    headers = {"Authorization": f"Bearer {key}"}
    if idem is not None:
        headers["Idempotency-Key"] = idem
    return httpx.post(f"{url}/v1/filings", files=parts, headers=headers, timeout=timeout)


def _filings(rt: Runtime) -> list[str]:
    prefix = f"{rt.keys.namespace}:filing:"
    return sorted(k[len(prefix) :] for k in rt.redis.scan_iter(f"{prefix}*") if k.count(":") == 2)


def test_retry_after_a_client_timeout_gets_the_same_filing_and_one_callback(
    tmp_path: Path, private_redis
) -> None:
    portal = write_clients(tmp_path / "clients.toml")
    settings = service_settings(tmp_path, private_redis.url, "idem", tmp_path / "clients.toml")
    receiver = Receiver()
    metadata = {"external_id": "RETRY-1", "callback_url": receiver.url}
    files = [("Исковое заявление.pdf", PDF)]
    try:
        with running_api(settings) as (rt, api):
            # Redis stalls for 2 s: the API cannot record the filing in time, the client gives up.
            sleeper = threading.Thread(target=lambda: rt.redis.execute_command("DEBUG", "SLEEP", "2"))
            sleeper.start()
            time.sleep(0.2)
            with pytest.raises(httpx.ReadTimeout):
                _post(api.url, portal.key, metadata, files, "portal-retry-1", httpx.Timeout(10, read=0.5))
            sleeper.join()
            # ... and retries, with the same key and body: the first request's filing
            wait_until(lambda: _filings(rt), 10, "the first request to be recorded after all")
            r = _post(api.url, portal.key, metadata, files, "portal-retry-1")
            assert r.status_code == 202, r.text
            assert r.headers["idempotent-replayed"] == "true"
            assert _filings(rt) == [r.json()["id"]]
            assert r.headers["location"] == r.json()["status_url"]
            worker = start_worker(rt, settings.queues, 2)
            try:
                wait_until(lambda: receiver.successes(), 60, "the callback")
                time.sleep(1.0)  # a second callback, were there one, would come now
            finally:
                worker.stop(timeout=10_000)
            assert len(receiver.requests) == 1
            payload = json.loads(receiver.requests[0].body)
            assert payload["data"]["id"] == r.json()["id"]
            assert _filings(rt) == [r.json()["id"]]
    finally:
        receiver.close()


def test_concurrent_identical_posts_make_one_filing(
    tmp_path: Path, redis_server, redis_namespace: str
) -> None:
    portal = write_clients(tmp_path / "clients.toml")
    settings = service_settings(
        tmp_path, redis_server.url, redis_namespace, tmp_path / "clients.toml", max_uploads_per_key=20
    )
    metadata = {"external_id": "RACE-1"}
    files = [("Исковое заявление.pdf", PDF), ("Доверенность.pdf", PDF + b"2")]
    with running_api(settings) as (rt, api):
        start = threading.Barrier(8)
        answers: list[httpx.Response] = []

        def post() -> None:
            start.wait()
            answers.append(_post(api.url, portal.key, metadata, files, "race-key"))

        threads = [threading.Thread(target=post) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert [a.status_code for a in answers] == [202] * 8, [a.text for a in answers]
        ids = {a.json()["id"] for a in answers}
        assert len(ids) == 1
        assert _filings(rt) == sorted(ids)
        assert sum(1 for a in answers if "idempotent-replayed" not in a.headers) == 1
        assert rt.blobs.staging_files() == []


def test_same_key_with_another_body_is_409_and_records_nothing(
    tmp_path: Path, redis_server, redis_namespace: str
) -> None:
    portal = write_clients(tmp_path / "clients.toml")
    settings = service_settings(tmp_path, redis_server.url, redis_namespace, tmp_path / "clients.toml")
    with running_api(settings) as (rt, api):
        first = _post(api.url, portal.key, {"external_id": "K-1"}, [("Иск.pdf", PDF)], "key-1")
        assert first.status_code == 202
        for metadata, files in [
            ({"external_id": "K-1"}, [("Иск.pdf", PDF + b"changed")]),  # other bytes
            ({"external_id": "K-1"}, [("Иск (2).pdf", PDF)]),  # other name
            ({"external_id": "K-1", "lang": "ru"}, [("Иск.pdf", PDF)]),  # other metadata
        ]:
            r = _post(api.url, portal.key, metadata, files, "key-1")
            assert r.status_code == 409, r.text
            err = r.json()["error"]
            assert err["code"] == "idempotency_conflict" and err["detail"]["id"] == first.json()["id"]
        # the same body with its metadata keys reordered and spaced differently is the same body
        parts: list[tuple[str, Any]] = [
            ("metadata", (None, b'{ "external_id" : "K-1" }', "application/json")),
            ("files", ("Иск.pdf", PDF, "application/pdf")),
        ]
        same = httpx.post(
            f"{api.url}/v1/filings",
            files=parts,
            headers={"Authorization": f"Bearer {portal.key}", "Idempotency-Key": "key-1"},
        )
        assert same.status_code == 202 and same.json() == first.json()
        assert _filings(rt) == [first.json()["id"]]
        assert rt.blobs.staging_files() == []
        bad = _post(api.url, portal.key, {"external_id": "K-2"}, [("Иск.pdf", PDF)], "a key with spaces")
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_idempotency_key"


def test_external_id_is_the_key_without_a_header(tmp_path: Path, redis_server, redis_namespace: str) -> None:
    portal = write_clients(tmp_path / "clients.toml")
    other = _other_key(tmp_path / "clients.toml")
    settings = service_settings(tmp_path, redis_server.url, redis_namespace, tmp_path / "clients.toml")
    with running_api(settings) as (rt, api):
        files = [("Исковое заявление.pdf", PDF)]
        first = _post(api.url, portal.key, {"external_id": "2-1234/2026"}, files)
        again = _post(api.url, portal.key, {"external_id": "2-1234/2026"}, files)
        assert first.status_code == again.status_code == 202
        assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
        changed = _post(
            api.url, portal.key, {"external_id": "2-1234/2026"}, [("Исковое заявление.pdf", b"%PDF x")]
        )
        assert changed.status_code == 409 and changed.json()["error"]["code"] == "idempotency_conflict"
        # keys are per portal: another portal's filing of the same external_id is its own
        theirs = _post(api.url, other, {"external_id": "2-1234/2026"}, files)
        assert theirs.status_code == 202 and theirs.json()["id"] != first.json()["id"]
        # a header replaces external_id as the key: a corrected filing is posted under a new key
        fixed = _post(
            api.url,
            portal.key,
            {"external_id": "2-1234/2026"},
            [("Исковое заявление.pdf", b"%PDF x")],
            "fix-1",
        )
        assert fixed.status_code == 202 and "idempotent-replayed" not in fixed.headers
        assert len(_filings(rt)) == 3


def test_a_pending_key_whose_holder_died_is_taken_over_after_its_lease(
    redis_server, redis_namespace: str
) -> None:
    client = redis_server.client()
    recorded: set[str] = set()
    idem = Idempotency(client, Keys(redis_namespace), 60, recorded.__contains__, lease_s=1.0, wait_s=5.0)
    key = idem.key("portal-test", "header", "k-1")
    fp = fingerprint({"external_id": "P-1"}, [("Иск.pdf", "a" * 64)])
    assert idem.claim(key, fp, "first", "/v1/filings/first").kind == "won"
    # the first request died before recording its filing, and could not release the key
    t0 = time.monotonic()
    outcome = idem.claim(key, fp, "second", "/v1/filings/second")
    waited = time.monotonic() - t0
    assert (outcome.kind, outcome.fid) == ("won", "second")
    assert 0.5 <= waited <= 2.5, waited
    assert not idem.extend(key, "first")  # the first holder, were it alive, learns it lost the key
    client.close()


def test_a_pending_key_whose_filing_was_recorded_is_replayed(redis_server, redis_namespace: str) -> None:
    client = redis_server.client()
    recorded: set[str] = set()
    idem = Idempotency(client, Keys(redis_namespace), 60, recorded.__contains__, lease_s=30.0, wait_s=5.0)
    key = idem.key("portal-test", "external_id", "P-2")
    fp = fingerprint({"external_id": "P-2"}, [("Иск.pdf", "a" * 64)])
    assert idem.claim(key, fp, "first", "/v1/filings/first").kind == "won"
    # the filing was journaled, then Redis went away before the key could be marked done
    recorded.add("first")
    t0 = time.monotonic()
    outcome = idem.claim(key, fp, "second", "/v1/filings/second")
    assert (outcome.kind, outcome.fid, outcome.status_url) == ("replay", "first", "/v1/filings/first")
    assert time.monotonic() - t0 < 1.0
    assert json.loads(client.get(key))["state"] == "done"
    assert idem.claim(key, fingerprint({}, []), "third", "").kind == "conflict"
    client.close()
