"""`courtdoc worker`: worker processes consuming the queues, kept running by a small supervisor.

Each worker process runs one Dramatiq `Worker` (threads fetching from the chosen queues). The
supervisor starts `--processes` of them and restarts one that dies — Dramatiq's own CLI instead
stops every process when one dies, leaving the restart to an outside supervisor; here a worker
killed by the kernel's OOM killer or a SIGKILL is replaced within a second while the others go
on, and its unacknowledged messages come back through the broker's heartbeat (see broker.py).
Run `--queues bulk` in processes of their own so re-validation never takes intake's threads.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from ..core import logs

log = logs.get("courtdoc.worker")

DEFAULT_QUEUES = "intake,callbacks"


def warm_sandbox(rt: Any) -> None:
    """Start the checking child processes now, so the first file does not wait for them."""
    from ..engine.sandbox import shared_pool

    bounds = rt.policy.sandbox
    shared_pool(bounds.memory_limit_mb, bounds.recycle_rss_mb).warm()


def start_worker(rt: Any, queues: Sequence[str], threads: int) -> Any:
    """Start a Dramatiq worker for `queues` on the runtime's broker (threads in this process)."""
    import dramatiq

    from .broker import INTAKE

    if INTAKE in queues:
        warm_sandbox(rt)

    worker = dramatiq.Worker(
        rt.broker, queues=set(queues), worker_threads=threads, worker_timeout=rt.settings.worker_poll_ms
    )
    # Dramatiq's default prefetch (2 x threads) is kept: with prefetch = threads the consumer
    # stops fetching while every thread is busy and backs off (up to worker_poll_ms) before it
    # looks again, which cost a third of the queue's throughput in bench/bench_service.py.
    worker.start()
    return worker


def run_worker_process(queues: Sequence[str], threads: int) -> int:
    from ..infra.settings import Settings
    from .runtime import build_runtime

    settings = Settings()
    logs.configure(settings.log_level, settings.log_format)
    rt = build_runtime(settings)
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker = start_worker(rt, queues, threads)
    log.info("worker.ready", pid=os.getpid(), queues=list(queues), threads=threads)
    while not stop.wait(1.0):
        pass
    log.info("worker.stopping", pid=os.getpid())
    worker.stop(timeout=30_000)
    rt.close()
    return 0


def _child_command(queues: Sequence[str], threads: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "courtdoc.workers.runner",
        "--queues",
        ",".join(queues),
        "--threads",
        str(threads),
    ]


def supervise(processes: int, queues: Sequence[str], threads: int) -> int:
    from ..infra.redisserver import die_with_parent

    command = _child_command(queues, threads)
    stopping = threading.Event()
    children: dict[int, tuple[subprocess.Popen[bytes], float]] = {}
    restart_at: dict[int, float] = {}
    backoff: dict[int, float] = {}

    def spawn(slot: int) -> None:
        proc = subprocess.Popen(command, preexec_fn=die_with_parent)
        children[slot] = (proc, time.monotonic())
        log.info("supervisor.started", slot=slot, pid=proc.pid)

    def on_signal(signum: int, frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for slot in range(processes):
        spawn(slot)
    while not stopping.is_set():
        now = time.monotonic()
        for slot, (proc, started) in list(children.items()):
            code = proc.poll()
            if code is None:
                continue
            del children[slot]
            ran = now - started
            delay = 1.0 if ran > 30 else min(30.0, backoff.get(slot, 0.5) * 2)
            backoff[slot] = delay
            restart_at[slot] = now + delay
            log.warning("supervisor.worker_exited", slot=slot, pid=proc.pid, code=code, restart_in_s=delay)
        for slot, when in list(restart_at.items()):
            if now >= when:
                del restart_at[slot]
                spawn(slot)
        stopping.wait(0.2)
    log.info("supervisor.stopping", workers=len(children))
    for proc, _ in children.values():
        proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 40
    for proc, _ in children.values():
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return 0


def register(sub: Any) -> None:
    """Add `courtdoc worker` to the CLI's subcommands."""
    p = sub.add_parser("worker", help="run worker processes (checks, filing verdicts, callbacks)")
    p.add_argument(
        "--processes", type=int, default=None, help="worker processes (COURTDOC_WORKER_PROCESSES, 2)"
    )
    p.add_argument(
        "--threads", type=int, default=None, help="threads per process (COURTDOC_WORKER_THREADS, 8)"
    )
    p.add_argument(
        "--queues", default=None, help=f"comma-separated queues (COURTDOC_QUEUES, {DEFAULT_QUEUES})"
    )
    p.set_defaults(run=main)


def check_config(settings: Any) -> str | None:
    """What stops a worker from starting, said once here rather than by restarting children."""
    from ..core.policy import PolicyError, load_policy
    from ..infra.clients import ClientsError, load_clients
    from .runtime import clients_path

    if not settings.redis_url:
        return "no Redis: set COURTDOC_REDIS_URL (or REDIS_URL) to the Redis the API uses"
    try:
        load_policy(settings.policy)
        load_clients(clients_path(settings))
    except (PolicyError, ClientsError) as exc:
        return str(exc)
    return None


def warn_cannot_run(settings: Any) -> None:
    """A warning in the log for each check the policy turns on that cannot run on this machine
    (what `courtdoc doctor` shows), said once by the supervisor."""
    from ..core.policy import load_policy
    from ..engine.capabilities import capabilities, missing_summary

    for missing in missing_summary(capabilities(load_policy(settings.policy))):
        log.warning("worker.check_cannot_run", **missing, see="courtdoc doctor")


def main(args: argparse.Namespace) -> int:
    from ..infra.settings import Settings

    settings = Settings()
    logs.configure(settings.log_level, settings.log_format)
    problem = check_config(settings)
    if problem:
        print(f"courtdoc: error: {problem}", file=sys.stderr)
        return 2
    warn_cannot_run(settings)
    queues = args.queues.split(",") if args.queues else settings.queues
    threads = args.threads or settings.worker_threads
    processes = args.processes if args.processes is not None else settings.worker_processes
    return supervise(max(1, processes), [q.strip() for q in queues if q.strip()], threads)


def _child_main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="courtdoc-worker-process")
    parser.add_argument("--queues", default=DEFAULT_QUEUES)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    return run_worker_process([q for q in args.queues.split(",") if q], args.threads)


if __name__ == "__main__":
    sys.exit(_child_main())
