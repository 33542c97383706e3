"""End to end through `courtdoc serve` as shipped: one command, its own Redis, in-process workers.

A portal posts a 3-file filing; exactly one callback arrives, its Standard Webhooks signature
verifies with the portal's secret, and the report it carries is the report `courtdoc check`
gives for the same files.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import httpx
import redis
from courtdoc.infra.redisserver import free_port
from service_harness import Receiver, cli_check, corpus_files, listening, post_filing, report_diff, wait_until
from standardwebhooks import Webhook


def test_serve_one_command_round_trip(tmp_path: Path) -> None:
    files = corpus_files(tmp_path / "in")
    data_dir = tmp_path / "data"
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURTDOC_") and k != "REDIS_URL"}
    env.update(
        COURTDOC_DATA_DIR=str(data_dir),
        COURTDOC_PORT=str(port),
        COURTDOC_CALLBACK_ALLOW_NETWORKS="127.0.0.1/32",
        COURTDOC_OUTBOX_POLL_S="0.2",
        PYTHONUNBUFFERED="1",
    )
    log = (tmp_path / "serve.log").open("wb")
    serve = subprocess.Popen([sys.executable, "-m", "courtdoc.cli.main", "serve"], env=env, stderr=log, stdout=log)
    receiver = Receiver()
    api = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: serve.poll() is not None or listening(port), 60, "courtdoc serve to listen")
        assert serve.poll() is None, (tmp_path / "serve.log").read_text()
        assert httpx.get(f"{api}/readyz", timeout=5).status_code == 200

        clients = tomllib.loads((data_dir / "clients.toml").read_text())["clients"]["local"]
        declared = [{"title": p.stem, "filename": p.name} for p in files]
        metadata = {"external_id": "E2E-1", "callback_url": receiver.url, "lang": "ru", "declared": declared}
        t0 = time.monotonic()
        r = post_filing(api, clients["api_key"], files, metadata)
        assert r.status_code == 202, r.text
        fid = r.json()["id"]
        assert r.json()["status_url"] == f"/v1/filings/{fid}"
        wait_until(receiver.successes, 60, "the callback")
        latency = time.monotonic() - t0
        time.sleep(1.0)  # a duplicate would arrive now
        assert len(receiver.requests) == 1
        hit = receiver.requests[0]
        payload = Webhook(clients["callback_secret"]).verify(hit.body, hit.headers)
        assert hit.headers["webhook-id"] == f"msg_{fid}"
        assert hit.headers["webhook-signature"].startswith("v1,")
        assert payload["type"] == "filing.checked"
        assert payload["data"]["id"] == fid and payload["data"]["external_id"] == "E2E-1"
        report = payload["data"]["report"]
        assert report["id"] == fid

        (tmp_path / "declared.json").write_text(json.dumps(declared, ensure_ascii=False), encoding="utf-8")
        expected = cli_check(files, "ru", tmp_path / "declared.json")
        got = {k: v for k, v in report.items() if k != "id"}
        assert got == expected, report_diff(got, expected)

        status = httpx.get(
            f"{api}/v1/filings/{fid}", headers={"Authorization": f"Bearer {clients['api_key']}"}, timeout=10
        ).json()
        assert status["status"] == "done" and status["verdict"] == expected["verdict"]
        assert status["report"] == report
        assert status["callback"]["state"] == "delivered"
        assert [a["outcome"] for a in status["callback"]["attempts"]] == ["delivered"]
        assert all(f["checked"] for f in status["files"])

        audit = json.loads((data_dir / "reports" / fid[:2] / f"{fid}.json").read_text(encoding="utf-8"))
        assert audit["report"] == report and audit["client"] == "local" and audit["external_id"] == "E2E-1"

        metrics = httpx.get(f"{api}/metrics", timeout=10).text
        assert f'courtdoc_filings_checked_total{{verdict="{expected["verdict"]}"}} 1.0' in metrics
        assert 'courtdoc_callback_attempts_total{outcome="delivered"} 1.0' in metrics
        assert "courtdoc_filings_received_total 1.0" in metrics
        assert re.search(r'courtdoc_check_duration_seconds_count\{format="docx"\} 1\.0', metrics)
        assert 'courtdoc_queue_messages{queue="intake",state="ready"} 0.0' in metrics

        openapi = httpx.get(f"{api}/openapi.json", timeout=10).json()
        assert "FilingReportModel" in openapi["components"]["schemas"]
        assert "filing.checked" in openapi["webhooks"]
        rules = httpx.get(f"{api}/v1/rules?lang=kk", timeout=10).json()
        assert any(row["rule"] == "file.too_large" for row in rules["rules"])

        # The embedded Redis keeps the queue in an fsync'd append-only file in the data directory.
        conf = (data_dir / "redis" / "redis.conf").read_text()
        password = re.search(r"^requirepass (\S+)$", conf, re.M)
        redis_port = re.search(r"^port (\d+)$", conf, re.M)
        assert password and redis_port
        with redis.Redis(port=int(redis_port.group(1)), password=password.group(1)) as r:
            assert r.config_get("appendfsync") == {"appendfsync": "always"}
            assert r.config_get("appendonly") == {"appendonly": "yes"}
        assert (data_dir / "redis" / "appendonly.aof").stat().st_size > 0
        print(f"serve round trip: POST -> verified callback in {latency:.2f} s")
    finally:
        receiver.close()
        if serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
            try:
                serve.wait(40)
            except subprocess.TimeoutExpired:
                serve.kill()
                serve.wait()
        log.close()
    assert serve.returncode == 0, (tmp_path / "serve.log").read_text()[-3000:]
    assert not listening(int(redis_port.group(1)))  # the embedded Redis went with it
