"""Bounded parsing: a warm pool of child processes, each limited in address space and wall time.

Parsers of hostile files can hang or allocate without end. Every file is parsed in a child
process with RLIMIT_AS set; the parent waits at most the policy's time limit and kills the
child otherwise. Children are forked from a forkserver that has already imported the checkers,
so a fresh child costs a few milliseconds, and a child is reused until it is killed, fails,
or has grown beyond the recycle threshold — the bound costs little per file.

While it waits, the parent samples the child's memory from /proc, so every run reports the
child's peak resident memory, and a child that dies from a signal while holding more than three
quarters of its address-space limit is reported as out of memory: native libraries (PDFium) abort when
an allocation fails under RLIMIT_AS instead of raising MemoryError.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import multiprocessing.forkserver
import os
import resource
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Native libraries must not start thread pools in every child (2 cores, many children).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

# Imported once in the forkserver, so every child starts with them loaded (copy-on-write):
# the checkers, and the heavy libraries format checkers may import lazily. A module that is
# not installed is skipped by the forkserver.
PRELOAD_MODULES = [
    "courtdoc.pipeline",
    "courtdoc.engine.inspection",
    "numpy",
    "cv2",
    "pypdfium2",
    "PIL.Image",
]
# Libraries that log recoverable damage ("incorrect startxref pointer") to stderr; the
# damage that matters becomes a finding, so their chatter is silenced in the children.
_QUIET_LOGGERS = ("pypdf", "pdfminer", "PIL")
# Parent-side sampling of the child's /proc: first after 20 ms, then every 50 ms at most. Most
# checks answer sooner and cost no sample (each is a /proc read in the parent); a child that
# fills its address space needs longer than that, and reports its own peak when it answers.
_FIRST_SAMPLE_S = 0.02
_MAX_SAMPLE_S = 0.05
# A child killed by a signal while its address space was above this share of the limit ran out
# of memory (an idle child with the preloaded libraries maps about a quarter of the default limit).
_MEMORY_DEATH_SHARE = 0.75


@dataclass
class RunStats:
    """What one job cost in its child: wall time seen by the parent, peak resident memory."""

    seconds: float = 0.0
    peak_rss: int = 0  # bytes (VmHWM of the child during this job, or its highest sample)
    peak_vm: int = 0  # bytes (highest address-space size sampled by the parent)
    pid: int = 0


class SandboxError(Exception):
    """The child could not finish the job."""

    def __init__(self, message: str, stats: RunStats | None = None) -> None:
        super().__init__(message)
        self.stats = stats or RunStats()


class SandboxTimeout(SandboxError):
    pass


class SandboxMemory(SandboxError):
    pass


class SandboxCrash(SandboxError):
    pass


def _proc_status(pid: int | str) -> dict[str, int]:
    """VmSize, VmHWM and VmRSS of a process in bytes; empty when it is gone or a zombie."""
    out: dict[str, int] = {}
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith((b"VmSize:", b"VmHWM:", b"VmRSS:")):
                    key, value = line.split(b":", 1)
                    out[key.decode()] = int(value.split()[0]) * 1024
    except (OSError, ValueError):
        return {}
    return out


def _reset_peak() -> None:
    """Reset this process's VmHWM so the next job's peak is its own (Linux >= 4.0)."""
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "wb") as fh:
        fh.write(b"5")


def _one_thread_for_opencv() -> None:
    """OpenCV runs its own thread pool (not governed by OMP_NUM_THREADS): one thread per child,
    since the pool runs as many children as there are cores."""
    try:
        import cv2
    except ImportError:
        return
    cv2.setNumThreads(1)


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent() -> None:
    """Linux: be sent SIGTERM when the forkserver exits, which it does as soon as the process
    that owns the pool is gone (even SIGKILLed). SIGTERM keeps its default action here, so the
    child ends at once and silently even inside a long native call; a checker that runs a
    helper takes it down on that signal (`doc_convert.helpers_die_with_child`)."""
    # The forkserver lives while any process holds its "alive" pipe, and it hands one to every
    # child: children that keep it would keep it alive, and so themselves, after the owner died.
    server = getattr(multiprocessing.forkserver, "_forkserver", None)
    alive = getattr(server, "_forkserver_alive_fd", None)
    if isinstance(alive, int):
        with contextlib.suppress(OSError):
            os.close(alive)
        server._forkserver_alive_fd = None  # type: ignore[union-attr]
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: a gone parent is met as a broken pipe instead
        return
    if os.getppid() != parent:  # the forkserver went before the signal was asked for
        os._exit(0)


def _answer(conn: multiprocessing.connection.Connection, message: tuple[Any, ...]) -> bool:
    """Send the answer; False when nobody is listening any more (the parent was killed)."""
    try:
        conn.send(message)
    except (BrokenPipeError, ConnectionResetError, EOFError):
        return False
    return True


def _child_main(conn: multiprocessing.connection.Connection, memory_limit: int, recycle_rss: int) -> None:
    # Own process group: helpers a checker starts (LibreOffice for .doc) die with the child.
    with contextlib.suppress(OSError):
        os.setpgid(0, 0)
    _die_with_parent()
    resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for name in _QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    _one_thread_for_opencv()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        fn, args = job
        retire = False
        _reset_peak()
        try:
            outcome: tuple[str, Any] = ("ok", fn(*args))
        except MemoryError:
            outcome, retire = ("memory", None), True
        except Exception as exc:
            outcome, retire = ("error", f"{type(exc).__name__}: {exc}"[:500]), True
        status = _proc_status("self")
        retire = retire or status.get("VmRSS", 0) > recycle_rss
        peak = status.get("VmHWM", 0)
        try:
            sent = _answer(conn, (outcome, retire, peak))
        except MemoryError:
            _answer(conn, (("memory", None), True, peak))
            return
        except Exception as exc:  # a result that cannot be sent back is this job's failure
            _answer(conn, (("error", f"{type(exc).__name__}: {exc}"[:500]), True, peak))
            return
        if retire or not sent:  # a child whose parent is gone leaves quietly
            return


@dataclass
class _Child:
    process: multiprocessing.process.BaseProcess
    conn: multiprocessing.connection.Connection

    def kill(self) -> None:
        """Kill the child and its process group (subprocesses a checker started)."""
        pid = self.process.pid
        if pid is not None and self.process.exitcode is None:  # not yet reaped: the group is its own
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGKILL)
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self.conn.close()


class SandboxPool:
    """Runs module-level functions in bounded child processes; safe to call from many threads."""

    def __init__(self, size: int, memory_limit_mb: int, recycle_rss_mb: int) -> None:
        self.size = max(1, size)
        self.memory_limit = memory_limit_mb * 1_048_576
        self.recycle_rss = recycle_rss_mb * 1_048_576
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(PRELOAD_MODULES)
        self._slots = threading.BoundedSemaphore(self.size)
        self._idle: list[_Child] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)  # a warming child joined the idle list
        self._warming = 0
        self.started = 0  # children ever started, for tests and metrics
        self.recent: deque[RunStats] = deque(maxlen=256)  # the last runs' costs, newest last

    def _spawn(self) -> _Child:
        parent_conn, child_conn = self._ctx.Pipe()
        process = self._ctx.Process(
            target=_child_main, args=(child_conn, self.memory_limit, self.recycle_rss), daemon=True
        )
        process.start()
        child_conn.close()
        with self._lock:
            self.started += 1
        return _Child(process, parent_conn)

    def _acquire(self) -> _Child:
        with self._arrived:
            while True:
                while self._idle:
                    child = self._idle.pop()
                    if child.process.is_alive():
                        return child
                    child.kill()
                if not self._warming:
                    break
                self._arrived.wait()  # a child being warmed is nearly there: take it
        return self._spawn()

    def warm(self) -> None:
        """Start every child now, so the first files do not pay for it (safe on another thread:
        a file that arrives meanwhile waits for a warming child instead of starting one more)."""
        with self._lock:
            missing = max(0, self.size - len(self._idle) - self._warming)
            self._warming += missing
        for _ in range(missing):
            child = None
            try:
                child = self._spawn()
            finally:
                with self._arrived:
                    self._warming -= 1
                    if child is not None:
                        self._idle.append(child)
                    self._arrived.notify_all()

    def idle_pids(self) -> list[int]:
        with self._lock:
            return [c.process.pid for c in self._idle if c.process.pid is not None]

    def _wait(self, child: _Child, timeout: float, stats: RunStats) -> bool:
        """Wait for the answer, sampling the child's memory; False when the time is up."""
        deadline = time.monotonic() + timeout
        interval = _FIRST_SAMPLE_S
        pid = child.process.pid or 0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if child.conn.poll(min(interval, left)):
                return True
            status = _proc_status(pid)
            stats.peak_rss = max(stats.peak_rss, status.get("VmHWM", 0))
            stats.peak_vm = max(stats.peak_vm, status.get("VmSize", 0))
            interval = min(interval * 2, _MAX_SAMPLE_S)

    def run_measured(
        self, fn: Callable[..., Any], args: tuple[Any, ...], timeout: float
    ) -> tuple[Any, RunStats]:
        """Run `fn(*args)` in a child; returns its result and what the run cost."""
        stats = RunStats()
        with self._slots:
            child = self._acquire()
            stats.pid = child.process.pid or 0
            started = time.monotonic()
            try:
                child.conn.send((fn, args))
                if not self._wait(child, timeout, stats):
                    last = _proc_status(stats.pid)
                    stats.peak_rss = max(stats.peak_rss, last.get("VmHWM", 0))
                    stats.peak_vm = max(stats.peak_vm, last.get("VmSize", 0))
                    child.kill()
                    stats.seconds = time.monotonic() - started
                    raise SandboxTimeout(f"no result within {timeout:g} s", stats)
                (status, value), retire, peak = child.conn.recv()
                stats.peak_rss = max(stats.peak_rss, peak)
            except (EOFError, OSError) as exc:
                child.kill()
                stats.seconds = time.monotonic() - started
                code = child.process.exitcode
                if code == -9 or (
                    code is not None and code < 0 and stats.peak_vm > _MEMORY_DEATH_SHARE * self.memory_limit
                ):
                    raise SandboxMemory(
                        f"the checker was killed (out of memory, signal {-code})", stats
                    ) from exc
                raise SandboxCrash(f"the checker stopped unexpectedly (exit code {code})", stats) from exc
            except BaseException:
                child.kill()  # e.g. the job could not be pickled: the child's state is unknown
                raise
            finally:
                self.recent.append(stats)
            stats.seconds = time.monotonic() - started
            if retire:  # the child exits by itself after answering
                child.process.join(1)
                child.kill()
            else:
                with self._lock:
                    self._idle.append(child)
        if status == "memory":
            raise SandboxMemory("the checker ran out of memory", stats)
        if status == "error":
            raise SandboxCrash(value, stats)
        return value, stats

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], timeout: float) -> Any:
        return self.run_measured(fn, args, timeout)[0]

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            with contextlib.suppress(OSError):
                child.conn.send(None)
            child.kill()


_pools: dict[tuple[int, int, int], SandboxPool] = {}
_pools_lock = threading.Lock()


def shared_pool(memory_limit_mb: int, recycle_rss_mb: int, size: int | None = None) -> SandboxPool:
    """One pool per process and per limits; sized to the cores unless told otherwise."""
    size = size or os.cpu_count() or 1
    key = (memory_limit_mb, recycle_rss_mb, size)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = SandboxPool(size, memory_limit_mb, recycle_rss_mb)
        return pool
