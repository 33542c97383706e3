"""Bounded parsing: a warm pool of child processes, each limited in address space and wall time.

Parsers of hostile files can hang or allocate without end. Every file is parsed in a child
process with RLIMIT_AS set; the parent waits at most the policy's time limit and kills the
child otherwise. Children are forked from a forkserver that has already imported the checkers,
so a fresh child costs a few milliseconds, and a child is reused until it is killed, fails,
or has grown beyond the recycle threshold — the bound costs little per file.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import resource
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# Native libraries must not start thread pools in every child (2 cores, many children).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

PRELOAD_MODULES = ["courtdoc.pipeline"]


class SandboxError(Exception):
    """The child could not finish the job."""


class SandboxTimeout(SandboxError):
    pass


class SandboxMemory(SandboxError):
    pass


class SandboxCrash(SandboxError):
    pass


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * resource.getpagesize()


def _child_main(conn: multiprocessing.connection.Connection, memory_limit: int, recycle_rss: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        fn, args = job
        retire = False
        try:
            outcome: tuple[str, Any] = ("ok", fn(*args))
        except MemoryError:
            outcome, retire = ("memory", None), True
        except Exception as exc:
            outcome, retire = ("error", f"{type(exc).__name__}: {exc}"[:500]), True
        retire = retire or _rss_bytes() > recycle_rss
        try:
            conn.send((outcome, retire))
        except MemoryError:
            conn.send((("memory", None), True))
            return
        if retire:
            return


@dataclass
class _Child:
    process: multiprocessing.process.BaseProcess
    conn: multiprocessing.connection.Connection

    def kill(self) -> None:
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
        self.started = 0  # children ever started, for tests and metrics

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
        with self._lock:
            while self._idle:
                child = self._idle.pop()
                if child.process.is_alive():
                    return child
                child.kill()
        return self._spawn()

    def warm(self) -> None:
        """Start every child now, so the first files do not pay for it."""
        with self._slots:
            pass
        children = [self._spawn() for _ in range(self.size - len(self._idle))]
        with self._lock:
            self._idle.extend(children)

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], timeout: float) -> Any:
        with self._slots:
            child = self._acquire()
            try:
                child.conn.send((fn, args))
                if not child.conn.poll(timeout):
                    child.kill()
                    raise SandboxTimeout(f"no result within {timeout:g} s")
                (status, value), retire = child.conn.recv()
            except (EOFError, OSError, BrokenPipeError) as exc:
                child.kill()
                code = child.process.exitcode
                if code == -9:
                    raise SandboxMemory("the checker was killed (out of memory)") from exc
                raise SandboxCrash(f"the checker stopped unexpectedly (exit code {code})") from exc
            if retire:  # the child exits by itself after answering
                child.process.join(1)
                child.kill()
            else:
                with self._lock:
                    self._idle.append(child)
        if status == "memory":
            raise SandboxMemory("the checker ran out of memory")
        if status == "error":
            raise SandboxCrash(value)
        return value

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
