"""The bounds on parsing: hostile files end as findings within the policy's time and memory,
the pool of child processes stays warm, reuses children and replaces killed ones, and children
die quietly with the process that owns them."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from courtdoc.core.policy import Policy, load_policy, parse_policy
from courtdoc.engine.sandbox import SandboxMemory, SandboxPool
from courtdoc.pipeline import inspect, validate_file
from file_cases import policy_text

pytest_plugins = ["file_fixtures"]

HOSTILE_MEMORY = "Решение суда (поток 4 ГиБ).pdf"
HOSTILE_HANG = "Решение суда (поток 200 МиБ).pdf"
GOOD = "Заявление о пересмотре.pdf"


def _rules(report: object) -> list[str]:
    return [f.rule for f in report.findings]  # type: ignore[attr-defined]


def test_a_stream_inflating_to_gigabytes_is_stopped_by_the_memory_bound(
    generated: dict[str, Path], one_child_pool: SandboxPool
) -> None:
    """The page's content stream inflates to 4 GiB; PDFium gives up at the child's address-space
    limit, the child dies, and the file gets a finding — well within the time limit."""
    policy = load_policy()
    limit = policy.sandbox.memory_limit_mb * 1_048_576
    parent_peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    started = time.monotonic()
    report = validate_file(generated[HOSTILE_MEMORY], policy, pool=one_child_pool)
    elapsed = time.monotonic() - started
    assert _rules(report) == ["file.check_memory"]
    assert report.verdict == "reject"
    assert "1536" in report.findings[0].message
    assert elapsed < policy.sandbox.time_limit_seconds
    stats = one_child_pool.recent[-1]
    # The child really tried (it grew past half its limit) and never went beyond the bound.
    assert limit / 2 < stats.peak_vm <= limit
    assert stats.peak_rss <= limit
    # The parent did not take the load: its own peak grew by far less than the file inflates to.
    parent_peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert parent_peak_after - parent_peak_before < 200 * 1_048_576


def test_a_page_that_takes_too_long_is_stopped_by_the_time_bound(
    generated: dict[str, Path], one_child_pool: SandboxPool
) -> None:
    """200 MiB of page operators keep PDFium busy for seconds; a policy allowing 2 s stops it."""
    policy = parse_policy(policy_text(time_limit_seconds="2.0").encode(), "2-second policy")
    started = time.monotonic()
    report = validate_file(generated[HOSTILE_HANG], policy, pool=one_child_pool)
    elapsed = time.monotonic() - started
    assert _rules(report) == ["file.check_timeout"]
    assert "2 s" in report.findings[0].message
    assert 2.0 <= elapsed < 3.0
    stats = one_child_pool.recent[-1]
    assert stats.peak_rss <= policy.sandbox.memory_limit_mb * 1_048_576


def test_the_pool_stays_warm_and_replaces_killed_children(
    generated: dict[str, Path], one_child_pool: SandboxPool
) -> None:
    policy = parse_policy(policy_text(time_limit_seconds="1.0").encode(), "1-second policy")
    assert one_child_pool.started == 1
    bounded = {"file.check_failed", "file.check_timeout", "file.check_memory"}
    first = validate_file(generated[GOOD], policy, pool=one_child_pool)
    second = validate_file(generated["Заявление о пересмотре.docx"], policy, pool=one_child_pool)
    assert not bounded & {*_rules(first), *_rules(second)}
    assert one_child_pool.started == 1, "a second file must not start a new child"
    assert one_child_pool.recent[-1].pid == one_child_pool.recent[-2].pid

    killed = validate_file(generated[HOSTILE_HANG], policy, pool=one_child_pool)
    assert _rules(killed) == ["file.check_timeout"]
    after = validate_file(generated[GOOD], policy, pool=one_child_pool)
    assert "file.check_timeout" not in _rules(after)
    assert one_child_pool.started == 2
    assert one_child_pool.recent[-1].pid != one_child_pool.recent[-3].pid


def test_a_checker_that_dies_becomes_a_finding_not_a_crash(
    generated: dict[str, Path], one_child_pool: SandboxPool
) -> None:
    """A child killed by a signal while parsing (as a crashing native parser would be) gives
    file.check_failed on that file; the next file is checked by a fresh child."""
    policy = load_policy()
    (pid,) = one_child_pool.idle_pids()
    timer = threading.Timer(0.3, os.kill, (pid, signal.SIGSEGV))
    timer.start()
    try:
        report = validate_file(generated[HOSTILE_HANG], policy, pool=one_child_pool)
    finally:
        timer.cancel()
    assert _rules(report) == ["file.check_failed"]
    assert "exit code -11" in report.findings[0].observed
    assert "file.check_failed" not in _rules(validate_file(generated[GOOD], policy, pool=one_child_pool))
    assert one_child_pool.started == 2


def test_bounded_run_costs_a_few_milliseconds(
    generated: dict[str, Path], one_child_pool: SandboxPool
) -> None:
    """What the pool adds to a file (pickling the job and policy, the pipe, waking up, /proc
    sampling), measured on a file whose own check is nearly free (a program named .pdf)."""
    policy = load_policy()
    path = generated["Решение суда.pdf"]
    inspect(path, "pdf", policy)
    one_child_pool.run(inspect, (path, "pdf", policy), 10)

    def best(fn: Callable[[], object], runs: int = 15) -> float:
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return min(times)

    direct = best(lambda: inspect(path, "pdf", policy))
    pooled = best(lambda: one_child_pool.run(inspect, (path, "pdf", policy), 10))
    assert pooled - direct < 0.005, (direct, pooled)


def test_memory_error_in_python_code_is_reported_as_memory() -> None:
    pool = SandboxPool(1, 768, 600)
    try:
        with pytest.raises(SandboxMemory):
            pool.run(bytearray, (1 << 30,), 10)
        assert pool.run(len, ("abc",), 10) == 3  # a fresh child answers
        assert pool.started == 2
    finally:
        pool.close()


def test_policy_limits_reach_the_child(one_child_pool: SandboxPool) -> None:
    policy: Policy = load_policy()
    soft, hard = one_child_pool.run(resource.getrlimit, (resource.RLIMIT_AS,), 10)
    assert soft == hard == policy.sandbox.memory_limit_mb * 1_048_576


# A process that owns a pool and is checking a slow file when it is SIGKILLed (a worker or
# `courtdoc revalidate` killed by the supervisor or the OOM killer).
_OWNER = """
import sys
from pathlib import Path
from courtdoc.pipeline import validate_file
from courtdoc.core.policy import load_policy
from courtdoc.engine.sandbox import SandboxPool

if __name__ == "__main__":
    policy = load_policy()
    pool = SandboxPool(1, policy.sandbox.memory_limit_mb, policy.sandbox.recycle_rss_mb)
    pool.warm()
    print(*pool.idle_pids(), flush=True)
    validate_file(Path(sys.argv[1]), policy, pool=pool)
    print("finished", flush=True)
"""


def _gone(pid: int) -> bool:
    """Exited: no process, or a zombie nobody has reaped yet (PID 1 of a container may not)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return True
    return stat[stat.rfind(b")") + 2 :].split()[0] in (b"Z", b"X")


def test_children_of_a_killed_owner_exit_at_once_and_quietly(
    generated: dict[str, Path], tmp_path: Path
) -> None:
    """SIGKILL the owner while its child parses a page that takes seconds: the forkserver and the
    child exit within a second (the stderr they share closes), and nothing prints a traceback."""
    script = tmp_path / "owner.py"
    script.write_text(_OWNER, encoding="utf-8")
    owner = subprocess.Popen(
        [sys.executable, str(script), str(generated[HOSTILE_HANG])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert owner.stdout is not None
        child = int(owner.stdout.readline())
        time.sleep(1.0)  # the child is inside PDFium, on a page that takes several seconds
        assert not _gone(child)
        owner.kill()
        killed = time.monotonic()
        _, err = owner.communicate(timeout=30)  # EOF on stderr: every process holding it is gone
        closed = time.monotonic() - killed
    finally:
        owner.kill()
    deadline = time.monotonic() + 5
    while not _gone(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(child)
    assert closed < 3.0, f"the children lived {closed:.1f} s after their owner"
    assert "Traceback" not in err and "Error" not in err, err[-2000:]


_LONE_CHILD = """
import multiprocessing, sys, time
from courtdoc.engine import sandbox

def lone_child(parent_conn, child_conn):
    parent_conn.close()  # a forked child holds both ends; the pool's children only their own
    sandbox._child_main(child_conn, 1 << 34, 1 << 34)

ctx = multiprocessing.get_context("fork")
parent_conn, child_conn = ctx.Pipe()
process = ctx.Process(target=lone_child, args=(parent_conn, child_conn), daemon=True)
process.start()
child_conn.close()
parent_conn.send((time.sleep, (0.5,)))
parent_conn.close()  # the parent's end is gone before the answer is ready
process.join(20)
print("exitcode", process.exitcode)
"""


def test_a_child_whose_answer_finds_no_reader_exits_quietly() -> None:
    """Without the death signal (not Linux) a child learns of its parent's end from the pipe:
    an answer that cannot be sent ends the child with exit code 0, without a traceback.

    Forked from a fresh single-threaded interpreter, as the pool's forkserver forks its
    children: a fork of the test process, which runs other tests' threads, may inherit a lock
    one of them held."""
    done = subprocess.run(
        [sys.executable, "-c", _LONE_CHILD], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "exitcode 0" in done.stdout
    assert "Traceback" not in done.stderr
