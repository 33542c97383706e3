"""Bulk re-validation through the `bulk` queue: the same report as the local run, and intake is
not starved by a deep bulk queue.

Real pieces only: a private redis-server, `courtdoc worker` processes (the service's supervisor),
the intake API on uvicorn, and `courtdoc revalidate --queue` as a command.
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import dramatiq
from bulk_fixtures import courtdoc, lines, load_generator
from courtdoc.core.policy import load_policy
from courtdoc.infra.blobstore import BlobStore
from courtdoc.workers.broker import BULK, build_broker
from courtdoc.workers.bulk import ACTOR, BULK_TTL_S
from courtdoc.workers.keys import Keys, policy_key
from redis_server import RedisHandle
from service_harness import (
    WorkerProcess,
    get_filing,
    post_filing,
    running_api,
    service_settings,
    settings_env,
    wait_until,
    write_clients,
)

FLOOD = 10_000


def test_queue_run_with_two_workers_gives_the_local_report(
    bulk_archive: Path,
    bulk_reference: Path,
    bulk_policy: Path,
    redis_server: RedisHandle,
    redis_namespace: str,
    tmp_path: Path,
) -> None:
    write_clients(tmp_path / "clients.toml")
    settings = service_settings(tmp_path, redis_server.url, redis_namespace, tmp_path / "clients.toml")
    workers = WorkerProcess(settings, processes=2, threads=1, COURTDOC_QUEUES=BULK)
    out = tmp_path / "queued"
    try:
        done = courtdoc(
            "revalidate",
            str(bulk_archive),
            "--policy",
            str(bulk_policy),
            "--out",
            str(out),
            "--queue",
            env=settings_env(settings),
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        pids = {e["pid"] for e in workers.find("worker.ready")}
        niced = {e.get("pid") for e in workers.find("bulk.nice")}
    finally:
        workers.stop()
    assert len(pids) == 2, "two worker processes took the bulk queue"
    assert len(niced) == 2 or len(workers.find("bulk.nice")) == 2
    assert lines(out) == lines(bulk_reference)
    assert (out / "summary.json").read_bytes() == (bulk_reference / "summary.json").read_bytes()
    assert (out / "summary.csv").read_bytes() == (bulk_reference / "summary.csv").read_bytes()


def _filing_seconds(api_url: str, key: str, files: list[Path], label: str) -> float:
    started = time.monotonic()
    r = post_filing(api_url, key, files, {"external_id": label})
    assert r.status_code == 202, r.text
    fid = r.json()["id"]
    wait_until(
        lambda: get_filing(api_url, key, fid)["status"] == "done", 120, f"filing {label}", interval=0.02
    )
    return time.monotonic() - started


def test_intake_is_not_starved_by_ten_thousand_waiting_bulk_messages(
    bulk_policy: Path, redis_server: RedisHandle, redis_namespace: str, tmp_path: Path
) -> None:
    gen = load_generator()
    files = []
    for i, (_, name, data) in enumerate(gen.files(12, seed=5)):
        if name.endswith((".pdf", ".docx", ".jpg")) and data and len(files) < 3:
            path = tmp_path / "in" / f"{i}-{name}"
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(data)
            files.append(path)
    assert len(files) == 3
    portal = write_clients(tmp_path / "clients.toml")
    settings = service_settings(tmp_path, redis_server.url, redis_namespace, tmp_path / "clients.toml")
    intake = WorkerProcess(settings, processes=1, threads=2)
    bulk: WorkerProcess | None = None
    client = redis_server.client()
    queue_key = f"{Keys(redis_namespace).dramatiq}:{BULK}"
    try:
        with running_api(settings) as (_rt, api):
            intake.wait_for("worker.ready", timeout=90)
            alone = [_filing_seconds(api.url, portal.key, files, f"alone-{i}") for i in range(3)]

            # 10,000 bulk checks of a real stored file, as `revalidate --queue` sends them.
            policy = load_policy(bulk_policy)
            client.set(policy_key(redis_namespace, policy.sha256), bulk_policy.read_bytes(), ex=BULK_TTL_S)
            blobs = BlobStore(settings.blob_dir)
            staged = blobs.stage(1 << 20)
            staged.write(files[0].read_bytes())
            sha = staged.finish()
            staged.commit()
            broker = build_broker(settings, redis_server.url, Keys(redis_namespace).dramatiq)
            broker.declare_queue(BULK)
            memory_before = int(client.info("memory")["used_memory"])
            for i in range(FLOOD):
                broker.enqueue(
                    dramatiq.Message(
                        queue_name=BULK,
                        actor_name=ACTOR,
                        args=("flood", str(i), sha, files[0].name, policy.sha256, "en"),
                        kwargs={},
                        options={},
                    )
                )
            per_message = (int(client.info("memory")["used_memory"]) - memory_before) / FLOOD
            broker.close()
            # The bulk worker starts now, on the same machine, and is kept busy by the queue.
            bulk = WorkerProcess(settings, processes=1, threads=2, COURTDOC_QUEUES=BULK)
            wait_until(lambda: client.exists(f"{redis_namespace}:bulk:run:flood:results"), 90, "bulk at work")
            waiting_before = int(client.llen(queue_key))
            busy = [_filing_seconds(api.url, portal.key, files, f"busy-{i}") for i in range(3)]
            waiting = int(client.llen(queue_key))
    finally:
        if bulk is not None:
            bulk.stop()
        intake.stop()
    base, loaded = statistics.median(alone), statistics.median(busy)
    print(
        f"\nintake filing of 3 files: {base:.2f} s alone (runs {alone}), {loaded:.2f} s with "
        f"{waiting_before}..{waiting} bulk messages waiting (runs {busy}); "
        f"Redis memory {per_message:.0f} bytes per queued bulk message"
    )
    assert waiting_before > FLOOD - 500 and waiting > 0, "the bulk queue was deep while the filings ran"
    assert loaded <= max(3 * base, base + 3.0), (alone, busy)


def test_a_queued_run_killed_and_resumed_gives_the_local_report(
    small_archive: Path,
    small_reference: Path,
    bulk_policy: Path,
    redis_server: RedisHandle,
    redis_namespace: str,
    tmp_path: Path,
) -> None:
    write_clients(tmp_path / "clients.toml")
    settings = service_settings(tmp_path, redis_server.url, redis_namespace, tmp_path / "clients.toml")
    env = settings_env(settings)
    workers = WorkerProcess(settings, processes=2, threads=1, COURTDOC_QUEUES=BULK)
    out = tmp_path / "queued"
    results = out / "results.jsonl"
    command = [
        sys.executable,
        "-m",
        "courtdoc.cli.main",
        "revalidate",
        str(small_archive),
        "--policy",
        str(bulk_policy),
    ]
    try:
        with open(tmp_path / "first.log", "wb") as log:
            first = subprocess.Popen(
                [*command, "--out", str(out), "--queue"], env=env, stderr=log, start_new_session=True
            )
            kill_after = random.randint(20, 300)
            wait_until(
                lambda: (
                    first.poll() is not None
                    or (results.exists() and results.read_bytes().count(b"\n") >= kill_after)
                ),
                240,
                "lines before the kill",
            )
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
        assert first.returncode == -signal.SIGKILL
        second = courtdoc(
            "revalidate",
            str(small_archive),
            "--policy",
            str(bulk_policy),
            "--out",
            str(out),
            "--queue",
            env=env,
            timeout=600,
        )
        assert second.returncode == 0, second.stderr[-3000:]
    finally:
        workers.stop()
    assert lines(out) == lines(small_reference)
    assert (out / "summary.json").read_bytes() == (small_reference / "summary.json").read_bytes()
