"""Real pieces for the service tests: uvicorn on 127.0.0.1, a callback receiver, worker processes.

Nothing here stands in for the service: the API is the real app on a real uvicorn server, the
receiver is an HTTP server that records what arrives and answers as a test scripts it, workers
are `courtdoc worker` subprocesses (or the same Worker threads `courtdoc serve` runs).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from courtdoc.infra.clients import new_secret
from courtdoc.infra.redisserver import free_port
from courtdoc.infra.settings import Settings
from courtdoc.service.api import create_app
from courtdoc.workers.runtime import Runtime, build_runtime

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"

#: A small mixed filing from the corpus (quick to check): name given by the filer -> corpus file.
MIXED_FILING = {
    "Исковое заявление.docx": "normcontrol-document-parser/bold.docx",
    "Доверенность представителя.pdf": "py-pdf-sample-files/002-trivial-libre-office-writer.pdf",
    "Квитанция об оплате госпошлины.jpg": "python-docx/court-exif.jpg",
}


def corpus_files(tmp: Path, mapping: dict[str, str] = MIXED_FILING) -> list[Path]:
    """Copies of corpus files under the names a filer gave them (skips when the corpus is absent)."""
    import pytest

    if not CORPUS.is_dir():
        pytest.skip(f"the document corpus is not at {CORPUS}")
    out = []
    tmp.mkdir(parents=True, exist_ok=True)
    for name, rel in mapping.items():
        src = CORPUS / rel
        if not src.is_file():
            pytest.skip(f"corpus file {rel} is missing")
        dst = tmp / name
        shutil.copyfile(src, dst)
        out.append(dst)
    return out


def wait_until(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


# --- clients and settings -----------------------------------------------------------------------


@dataclass
class Portal:
    name: str
    key: str
    secret: str


def write_clients(path: Path, hosts: Iterable[str] = ("127.0.0.1", "localhost")) -> Portal:
    portal = Portal("portal-test", "test-key-" + os.urandom(12).hex(), new_secret())
    other = "other-key-" + os.urandom(12).hex()
    host_list = ", ".join(json.dumps(h) for h in hosts)
    path.write_text(
        f'[clients.{portal.name}]\napi_key = "{portal.key}"\ncallback_secret = "{portal.secret}"\n'
        f"callback_hosts = [{host_list}]\n\n"
        f'[clients.other-portal]\napi_key = "{other}"\ncallback_secret = "{new_secret()}"\n'
        'callback_hosts = ["*"]\n',
        encoding="utf-8",
    )
    return portal


def service_settings(tmp: Path, redis_url: str, namespace: str, clients_file: Path, **over: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp / "data",
        "redis_url": redis_url,
        "namespace": namespace,
        "clients_file": clients_file,
        "callback_allow_networks": ["127.0.0.1/32"],
        "callback_schedule_s": [0, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2],
        "callback_timeout_s": 1.0,
        "callback_jitter": 0.1,
        "outbox_poll_s": 0.1,
        "callback_lease_s": 10.0,
        "heartbeat_interval_s": 0.5,
        "heartbeat_timeout_s": 2.0,
        "worker_poll_ms": 50,
        "log_level": "info",
    }
    values.update(over)
    return Settings(**values)


def settings_env(settings: Settings) -> dict[str, str]:
    """The same settings as COURTDOC_* variables, for a worker subprocess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURTDOC_") and k != "REDIS_URL"}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        env[f"COURTDOC_{name.upper()}"] = json.dumps(value) if isinstance(value, list) else str(value)
    env["PYTHONUNBUFFERED"] = "1"
    return env


# --- the API on uvicorn ---------------------------------------------------------------------------


class ApiServer:
    """The real app on a real uvicorn server, in a thread of the test process."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.port = free_port()
        config = uvicorn.Config(
            create_app(rt),
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ApiServer:
        self.thread.start()
        wait_until(lambda: self.server.started, 10, "uvicorn to start")
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@contextlib.contextmanager
def running_api(settings: Settings) -> Iterator[tuple[Runtime, ApiServer]]:
    rt = build_runtime(settings)
    api = ApiServer(rt).start()
    try:
        yield rt, api
    finally:
        api.stop()
        rt.close()


def post_filing(
    api_url: str,
    key: str,
    files: list[Path],
    metadata: dict[str, Any],
    names: list[str] | None = None,
    timeout: float = 30,
) -> httpx.Response:
    names = names or [p.name for p in files]
    parts: list[tuple[str, Any]] = [
        ("metadata", (None, json.dumps(metadata, ensure_ascii=False).encode(), "application/json"))
    ]
    parts += [
        ("files", (n, p.read_bytes(), "application/octet-stream")) for n, p in zip(names, files, strict=True)
    ]
    return httpx.post(
        f"{api_url}/v1/filings", files=parts, headers={"Authorization": f"Bearer {key}"}, timeout=timeout
    )


def get_filing(api_url: str, key: str, fid: str) -> dict[str, Any]:
    r = httpx.get(f"{api_url}/v1/filings/{fid}", headers={"Authorization": f"Bearer {key}"}, timeout=10)
    r.raise_for_status()
    data: dict[str, Any] = r.json()
    return data


# --- the callback receiver --------------------------------------------------------------------------


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes
    answered: str


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 recording every request; `script` says how to answer each:
    an int status, ("status", code, headers) or ("hang", seconds); then 200 for the rest."""

    script: list[Any] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                with receiver._lock:
                    action = receiver.script.pop(0) if receiver.script else 200
                    receiver.requests.append(
                        Received(
                            time.time(),
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            str(action),
                        )
                    )
                if isinstance(action, tuple) and action[0] == "hang":
                    time.sleep(action[1])
                    with contextlib.suppress(OSError):
                        self.send_response(200)
                        self.end_headers()
                    return
                code, headers = (action, {}) if isinstance(action, int) else (action[1], action[2])
                self.send_response(code)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def successes(self) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.answered.startswith("2")]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --- worker subprocesses ------------------------------------------------------------------------------


class WorkerProcess:
    """`courtdoc worker` (supervisor and its worker processes) with its JSON log lines collected."""

    def __init__(self, settings: Settings, processes: int = 1, threads: int = 2, **env: str) -> None:
        full_env = settings_env(settings)
        full_env.update(env)
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "courtdoc.cli.main",
                "worker",
                "--processes",
                str(processes),
                "--threads",
                str(threads),
            ],
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.events: list[dict[str, Any]] = []
        self.raw: list[str] = []
        self._new: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            text = line.decode("utf-8", "replace").rstrip()
            self.raw.append(text)
            try:
                event = json.loads(text)
            except ValueError:
                continue
            if isinstance(event, dict):
                event["_seen"] = time.time()
                self.events.append(event)

    def find(self, event: str, **match: Any) -> list[dict[str, Any]]:
        return [
            e
            for e in list(self.events)
            if e.get("event") == event and all(e.get(k) == v for k, v in match.items())
        ]

    def wait_for(self, event: str, timeout: float = 30, count: int = 1, **match: Any) -> dict[str, Any]:
        found = wait_until(
            lambda: len(self.find(event, **match)) >= count and self.find(event, **match),
            timeout,
            f"worker log event {event} {match}",
        )
        return found[count - 1]  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def cli_check(files: list[Path], lang: str = "en", declared_file: Path | None = None) -> dict[str, Any]:
    """`courtdoc check --format json` on the files, as a person would run it."""
    import io
    from contextlib import redirect_stdout

    from courtdoc.cli.main import main

    args = ["check", "--format", "json", "--lang", lang]
    if declared_file is not None:
        args += ["--declared", str(declared_file)]
    out = io.StringIO()
    with redirect_stdout(out):
        code = main([*args, *map(str, files)])
    assert code in (0, 1), out.getvalue()
    data: dict[str, Any] = json.loads(out.getvalue())
    return data


def report_diff(got: dict[str, Any], want: dict[str, Any], path: str = "") -> list[str]:
    """Where two reports differ (for assertion messages)."""
    if isinstance(got, dict) and isinstance(want, dict):
        out: list[str] = []
        for k in sorted(set(got) | set(want)):
            out += report_diff(got.get(k), want.get(k), f"{path}.{k}")
        return out
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [
            d
            for i, (g, w) in enumerate(zip(got, want, strict=True))
            for d in report_diff(g, w, f"{path}[{i}]")
        ]
    return [] if got == want else [f"{path}: {got!r} != {want!r}"]
