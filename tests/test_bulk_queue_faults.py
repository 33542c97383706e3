"""`revalidate --queue` when Dramatiq gives up on a message or loses it: every file still gets a line.

Real pieces only: a private redis-server, `courtdoc worker --queues bulk` processes, and the
bulk driver with its queue backend in this process (so a test can shorten how often it looks
for lost messages). Faults are made the way they happen: bad bytes or a wrong key type in Redis,
a message on its last retry, and the queue's keys deleted from Redis.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dramatiq
import pytest
from bulk_fixtures import lines, load_generator, run_here
from courtdoc.bulk.queue import QueueBackend
from courtdoc.bulk.runner import Stats, revalidate
from courtdoc.core.policy import load_policy
from courtdoc.infra.blobstore import BlobStore
from courtdoc.infra.settings import Settings
from courtdoc.workers.broker import BULK, build_broker
from courtdoc.workers.bulk import ACTOR, MAX_RETRIES
from courtdoc.workers.keys import Keys, messages_key, policy_key, results_key
from redis_server import RedisHandle
from service_harness import WorkerProcess, service_settings, wait_until, write_clients

FILES = 40


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return load_generator().generate(tmp_path / "archive", FILES, seed=23)  # type: ignore[no-any-return]


@pytest.fixture
def reference(archive: Path, bulk_policy: Path, bulk_pool: Any, tmp_path: Path) -> Path:
    """The same archive checked locally: what a queued run must write."""
    out = tmp_path / "local"
    run_here([archive], out, bulk_policy, bulk_pool)
    return out


@pytest.fixture
def settings(redis_server: RedisHandle, redis_namespace: str, tmp_path: Path) -> Settings:
    write_clients(tmp_path / "clients.toml")
    return service_settings(tmp_path, redis_server.url, redis_namespace, tmp_path / "clients.toml")


class QueuedRun:
    """`revalidate --queue` of one source on a thread of the test, with its backend at hand."""

    def __init__(
        self, source: Path, out: Path, policy_path: Path, settings: Settings, **backend: Any
    ) -> None:
        self.policy = load_policy(policy_path)
        self.settings = settings
        self.backends: list[QueueBackend] = []
        assert settings.redis_url is not None

        def make() -> QueueBackend:
            assert settings.redis_url is not None
            made = QueueBackend(
                self.policy, "en", settings, settings.redis_url, BlobStore(settings.blob_dir), **backend
            )
            self.backends.append(made)
            return made

        self._pool = ThreadPoolExecutor(max_workers=1)
        self.future: Future[tuple[Stats, dict[str, Any]]] = self._pool.submit(
            revalidate, [str(source)], self.policy, out, make_backend=make, mode="queue"
        )

    @property
    def backend(self) -> QueueBackend:
        wait_until(lambda: self.backends, 30, "the queue backend")
        return self.backends[0]

    def result(self, timeout: float) -> tuple[Stats, dict[str, Any]]:
        try:
            return self.future.result(timeout)
        finally:
            self._pool.shutdown(wait=False)


@contextmanager
def bulk_workers(settings: Settings) -> Iterator[WorkerProcess]:
    workers = WorkerProcess(settings, processes=1, threads=2, COURTDOC_QUEUES=BULK)
    try:
        workers.wait_for("worker.ready", timeout=90)
        yield workers
    finally:
        workers.stop()


def _queue_tables(settings: Settings) -> tuple[str, str, str]:
    """Dramatiq's Redis keys of the `bulk` queue: its list of ids, its messages, delayed messages."""
    prefix = f"{Keys(settings.namespace).dramatiq}:{BULK}"
    return prefix, f"{prefix}.msgs", f"{prefix}.DQ.msgs"


def _by_path(out: Path) -> dict[str, dict[str, Any]]:
    found = {}
    for text in lines(out):
        line = json.loads(text)
        found[line["path"]] = line
    return found


def _summary(out: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    return data


def test_a_check_that_raises_is_answered_at_once_with_an_error_line(
    archive: Path,
    reference: Path,
    bulk_policy: Path,
    settings: Settings,
    redis_server: RedisHandle,
    tmp_path: Path,
) -> None:
    out = tmp_path / "queued"
    client = redis_server.client(decode=False)
    run = QueuedRun(archive, out, bulk_policy, settings)
    backend = run.backend
    key = policy_key(settings.namespace, backend.policy.sha256)
    # Before any worker reads it, the stored policy becomes bytes that are not UTF-8: loading it
    # raises UnicodeDecodeError, which no retry can cure.
    client.set(key, b"\xff\xfe not a policy")
    with bulk_workers(settings):
        run.result(timeout=120)
    got, want = _by_path(out), _by_path(reference)
    assert set(got) == set(want), "every file has its line"
    failed = {p for p, line in got.items() if line != want[p]}
    assert failed, "the files sent to the workers got error lines"
    for path in failed:
        assert got[path]["error"].startswith("worker: check failed: UnicodeDecodeError: 'utf-8' codec"), got[
            path
        ]
    # One message per failed file (a copy parked behind a failure is checked afresh), each
    # answered by its worker: nothing was sent again or given up.
    assert backend.sent == len(failed)
    assert backend.resent == 0 and backend.unanswered == 0
    # Answered by the actor itself: Dramatiq did not have to give up on any message.
    assert client.hlen(f"{Keys(settings.namespace).dramatiq}:{BULK}.XQ.msgs") == 0
    assert _summary(out)["verdicts"]["error"] == _summary(reference)["verdicts"]["error"] + len(failed)


def test_a_message_whose_retries_run_out_is_answered_with_its_last_error(
    settings: Settings, redis_server: RedisHandle, tmp_path: Path
) -> None:
    client = redis_server.client()
    namespace = settings.namespace
    run, policy_sha = "last-retry", "0" * 64
    client.hset(policy_key(namespace, policy_sha), "not", "a string")  # every GET fails: WRONGTYPE
    broker = build_broker(settings, redis_server.url, Keys(namespace).dramatiq)
    broker.declare_queue(BULK)
    # A message that has already met MAX_RETRIES - 1 errors: one retry (kept short), then Dramatiq
    # gives up on it.
    broker.enqueue(
        dramatiq.Message(
            queue_name=BULK,
            actor_name=ACTOR,
            args=(run, "7", "f" * 64, "a.pdf", policy_sha, "en"),
            kwargs={},
            options={"retries": MAX_RETRIES - 1, "min_backoff": 10, "max_backoff": 50},
        )
    )
    broker.close()
    stream = results_key(namespace, run)
    with bulk_workers(settings) as workers:
        wait_until(lambda: client.xlen(stream) >= 1, 60, "the answer")
        workers.wait_for("bulk.gave_up", timeout=10)
    [(_id, fields)] = client.xrange(stream)
    assert fields["ticket"] == "7"
    assert fields["error"].startswith("check failed: ResponseError: WRONGTYPE"), fields
    assert fields["error"].endswith(f"(after {MAX_RETRIES} retries)"), fields
    _, _, delayed = _queue_tables(settings)
    assert client.hlen(f"{Keys(namespace).dramatiq}:{BULK}.XQ.msgs") == 1, "Dramatiq dead-lettered it"
    assert client.hlen(delayed) == 0
    # The workers recorded where the ticket's message went after each enqueue.
    assert client.hget(messages_key(namespace, run), "7")


def _drop_queue(client: Any, settings: Settings, *, bodies: bool = True) -> int:
    """Delete the `bulk` queue's list of ids (and, with `bodies`, the messages themselves), as a
    Redis that lost them would; returns how many messages were lost."""
    ids, stored, _ = _queue_tables(settings)
    pipe = client.pipeline(transaction=True)
    pipe.llen(ids)
    pipe.delete(*([ids, stored] if bodies else [ids]))
    lost, _deleted = pipe.execute()
    return int(lost)


def test_lost_messages_are_sent_again_and_waiting_ones_are_not(
    archive: Path,
    reference: Path,
    bulk_policy: Path,
    settings: Settings,
    redis_server: RedisHandle,
    tmp_path: Path,
) -> None:
    out = tmp_path / "queued"
    client = redis_server.client()
    ids, _, _ = _queue_tables(settings)
    run = QueuedRun(archive, out, bulk_policy, settings, probe_every_s=0.3)
    backend = run.backend
    # No worker yet: the run sends what it can and waits. Wait for its sends to settle.
    counts: list[int] = []

    def settled() -> bool:
        counts.append(backend.sent)
        return len(counts) > 10 and counts[-1] > 0 and counts[-1] == counts[-10]

    wait_until(settled, 60, "the sends", interval=0.1)
    # The ids leave the queue's list; the bodies stay in Redis, but no worker can get them now.
    lost = _drop_queue(client, settings, bodies=False)
    assert lost == backend.sent
    wait_until(lambda: backend.resent == lost, 10, "the lost messages sent again")
    # The messages sent again now wait with no worker to take them: a wait is not a loss.
    time.sleep(10 * backend.probe_every_s)
    assert backend.resent == lost and backend.unanswered == 0
    assert client.llen(ids) == lost
    with bulk_workers(settings):
        run.result(timeout=120)
    assert backend.resent == lost and backend.unanswered == 0
    assert lines(out) == lines(reference)
    assert (out / "summary.json").read_bytes() == (reference / "summary.json").read_bytes()


def test_a_message_waiting_to_be_retried_is_not_taken_for_lost(
    archive: Path,
    reference: Path,
    bulk_policy: Path,
    settings: Settings,
    redis_server: RedisHandle,
    tmp_path: Path,
) -> None:
    out = tmp_path / "queued"
    client = redis_server.client(decode=False)
    _, _, delayed = _queue_tables(settings)
    run = QueuedRun(archive, out, bulk_policy, settings, probe_every_s=0.3)
    backend = run.backend
    key = policy_key(settings.namespace, backend.policy.sha256)
    toml = client.get(key)
    assert toml is not None
    client.delete(key)
    client.hset(key, "not", "a string")  # the workers' GET fails (WRONGTYPE): retried after 1 s, 2 s, 4 s…
    with bulk_workers(settings):
        wait_until(lambda: client.hlen(delayed) > 0, 60, "messages waiting for their retry")
        started = time.monotonic()
        # Messages move between the delay queue and the queue under new ids while the run probes.
        wait_until(lambda: time.monotonic() - started > 4 and client.hlen(delayed) > 0, 30, "retries")
        client.delete(key)
        client.set(key, toml)
        run.result(timeout=120)
    assert backend.resent == 0 and backend.unanswered == 0
    assert lines(out) == lines(reference)
    assert (out / "summary.json").read_bytes() == (reference / "summary.json").read_bytes()


def _keep_dropping(client: Any, settings: Settings, until: Callable[[], bool]) -> threading.Thread:
    def loop() -> None:
        while not until():
            _drop_queue(client, settings)
            time.sleep(0.05)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def test_a_file_whose_every_message_is_lost_gets_an_error_line_and_the_run_ends(
    archive: Path,
    reference: Path,
    bulk_policy: Path,
    settings: Settings,
    redis_server: RedisHandle,
    tmp_path: Path,
) -> None:
    out = tmp_path / "queued"
    client = redis_server.client()
    run = QueuedRun(archive, out, bulk_policy, settings, probe_every_s=0.2, max_sends=2)
    backend = run.backend
    dropper = _keep_dropping(client, settings, run.future.done)
    run.result(timeout=120)  # no worker at all: only the command can end the run
    dropper.join(5)
    got, want = _by_path(out), _by_path(reference)
    assert set(got) == set(want), "every file has its line"
    unanswered = {p for p, line in got.items() if line != want[p]}
    for path in unanswered:
        assert (
            got[path]["error"] == "no answer from the bulk workers after 2 attempts (each message was lost)"
        )
    assert len(unanswered) == backend.unanswered > 0
    assert backend.sent == 2 * backend.unanswered and backend.resent == backend.unanswered
    summary = _summary(out)
    assert summary["verdicts"]["error"] == _summary(reference)["verdicts"]["error"] + len(unanswered)
    assert summary["files"] == FILES
    # Run again on the same --out: like a local run's failed checks, these lines are done.
    before = (out / "results.jsonl").read_bytes()
    again = QueuedRun(archive, out, bulk_policy, settings, probe_every_s=0.2, max_sends=2)
    stats, _totals = again.result(timeout=60)
    assert stats.already_done == FILES and again.backend.sent == 0
    assert (out / "results.jsonl").read_bytes() == before
    assert _summary(out) == summary
    # Nothing of the run is left in Redis.
    assert not client.exists(
        results_key(settings.namespace, backend.run), messages_key(settings.namespace, backend.run)
    )


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_a_redis_restart_in_the_middle_of_a_run_costs_no_line(
    archive: Path, reference: Path, bulk_policy: Path, private_redis: Any, tmp_path: Path, how: str
) -> None:
    """Redis SIGKILLed (or stopped) while the workers check and the command reads, started again
    2 s later from its AOF: the run ends with exactly the local run's lines, none an error."""
    write_clients(tmp_path / "clients.toml")
    settings = service_settings(tmp_path, private_redis.url, "bulkrestart", tmp_path / "clients.toml")
    out = tmp_path / "queued"
    with bulk_workers(settings) as workers:
        run = QueuedRun(archive, out, bulk_policy, settings, probe_every_s=0.5)
        backend = run.backend
        wait_until(lambda: backend.sent >= FILES // 4, 60, "a quarter of the files sent")
        getattr(private_redis, how)()
        time.sleep(2.0)
        private_redis.start()
        run.result(timeout=180)
        waited = workers.find("retry.enqueue_waiting")
    got, want = _by_path(out), _by_path(reference)
    assert got == want, sorted(p for p in want if got.get(p) != want[p])
    assert (out / "summary.json").read_bytes() == (reference / "summary.json").read_bytes()
    assert backend.unanswered == 0
    print(f"\n{how}: {backend.sent} messages sent, {backend.resent} sent again; retries held: {len(waited)}")
