"""Slow and hostile clients are cut off within their bounds, and a normal client is served meanwhile.

Real sockets on 127.0.0.1 against the real app on uvicorn with the service's own protocol
(`httpguard.server_config`): clients that dribble a request head, uploads at 1 byte/s or
silent, more concurrent uploads than one key may have, more waiting connections than the cap.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from courtdoc.infra.settings import Settings
from courtdoc.service.api import create_app
from courtdoc.service.httpguard import server_config
from courtdoc.workers.runtime import Runtime, build_runtime
from service_harness import ApiServer, Portal, service_settings, wait_until, write_clients

BOUNDARY = "slow-client-boundary-51c2"


class GuardedApiServer(ApiServer):
    """The harness's server thread, configured as `courtdoc serve` configures uvicorn."""

    def __init__(self, rt: Runtime) -> None:
        super().__init__(rt)
        config = server_config(create_app(rt), rt.settings, "127.0.0.1", self.port, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn", daemon=True)


@contextlib.contextmanager
def guarded_api(
    tmp_path: Path, redis_url: str, namespace: str, **over: Any
) -> Iterator[tuple[Runtime, GuardedApiServer, Portal, str]]:
    portal = write_clients(tmp_path / "clients.toml")
    other_key = next(
        line.split('"')[1]
        for line in (tmp_path / "clients.toml").read_text().splitlines()
        if "other-key-" in line
    )
    values: dict[str, Any] = {
        "header_timeout_s": 1.5,
        "max_pending_connections": 20,
        "upload_idle_timeout_s": 1.5,
        "upload_min_bytes_per_s": 200,
        "upload_rate_window_s": 3.0,
        "max_uploads_per_key": 3,
        **over,
    }
    settings: Settings = service_settings(tmp_path, redis_url, namespace, tmp_path / "clients.toml", **values)
    rt = build_runtime(settings)
    server = GuardedApiServer(rt).start()
    try:
        yield rt, server, portal, other_key
    finally:
        server.stop()
        rt.close()


def _head(port: int, key: str | None, length: int) -> bytes:
    lines = [
        "POST /v1/filings HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        f"Content-Length: {length}",
    ]
    if key:
        lines.append(f"Authorization: Bearer {key}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _body_start(name: str = "Исковое заявление.pdf") -> bytes:
    meta = json.dumps({"external_id": f"SLOW-{os.urandom(4).hex()}"})
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="metadata"\r\n'
        f"Content-Type: application/json\r\n\r\n{meta}\r\n"
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        "Content-Type: application/pdf\r\n\r\n%PDF-1.4\n"
    ).encode()


def _body_end() -> bytes:
    return f"\r\n--{BOUNDARY}--\r\n".encode()


def _connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.settimeout(30)
    return sock


def read_answer(sock: socket.socket, timeout: float = 30) -> tuple[int, dict[str, str], dict[str, Any]]:
    """Status, headers and JSON body of one HTTP/1.1 response with a Content-Length."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError(f"connection closed before an answer: {data!r}")
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    headers = {
        k.strip().lower(): v.strip()
        for k, _, v in (line.decode("latin-1").partition(":") for line in head.split(b"\r\n")[1:])
    }
    length = int(headers["content-length"])
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, json.loads(rest[:length])


def closed_by_server(sock: socket.socket, timeout: float) -> bool:
    """Whether the server closes the connection within `timeout` (whatever it sends first)."""
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except OSError:
        return True  # reset: closed too
    return True


def _healthz_in(url: str) -> float:
    t0 = time.monotonic()
    r = httpx.get(f"{url}/healthz", timeout=5)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    return time.monotonic() - t0


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_upload_at_one_byte_per_second_is_cut_off_and_leaves_no_staging_file(
    tmp_path: Path, redis_server, redis_namespace: str
) -> None:
    with guarded_api(tmp_path, redis_server.url, redis_namespace) as (rt, server, portal, _):
        sock = _connect(server.port)
        start = _body_start()
        sock.sendall(_head(server.port, portal.key, len(start) + 100_000) + start)
        wait_until(lambda: rt.blobs.staging_files(), 5, "the upload's staging file")
        t0 = time.monotonic()
        answer: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        reader = threading.Thread(target=lambda: answer.append(read_answer(sock)), daemon=True)
        reader.start()
        while reader.is_alive() and time.monotonic() - t0 < 15:
            with contextlib.suppress(OSError):
                sock.send(b"x")  # 1 byte a second
            reader.join(1.0)
            # meanwhile a normal client is served at once
            assert _healthz_in(server.url) < 1.0
        elapsed = time.monotonic() - t0
        assert answer, "the slow upload was never cut off"
        status, headers, body = answer[0]
        assert status == 408 and body["error"]["code"] == "upload_too_slow", body
        assert headers.get("connection") == "close"
        # the rate is judged per 3 s window: cut off at the first window's end
        assert 2.5 <= elapsed <= 3.0 + 1.5, elapsed
        assert closed_by_server(sock, 3)
        sock.close()
        assert rt.blobs.staging_files() == []
        assert list(rt.redis.scan_iter(f"{rt.keys.namespace}:filing:*")) == []


def test_silent_upload_is_cut_off_after_the_idle_timeout(
    tmp_path: Path, redis_server, redis_namespace: str
) -> None:
    with guarded_api(tmp_path, redis_server.url, redis_namespace, upload_rate_window_s=30) as (
        rt,
        server,
        portal,
        _,
    ):
        sock = _connect(server.port)
        start = _body_start()
        t0 = time.monotonic()
        sock.sendall(_head(server.port, portal.key, len(start) + 1000) + start)
        status, _, body = read_answer(sock, timeout=10)
        elapsed = time.monotonic() - t0
        assert status == 408 and body["error"]["code"] == "upload_too_slow"
        assert body["error"]["detail"]["idle_s"] == 1.5
        assert 1.4 <= elapsed <= 1.5 + 1.5, elapsed
        assert closed_by_server(sock, 3)
        sock.close()
        assert rt.blobs.staging_files() == []


def test_dribbled_request_head_is_closed(tmp_path: Path, redis_server, redis_namespace: str) -> None:
    with guarded_api(tmp_path, redis_server.url, redis_namespace) as (_, server, portal, _):
        socks = [_connect(server.port) for _ in range(10)]
        lines = [
            b"POST /v1/filings HTTP/1.1\r\n",
            f"Host: 127.0.0.1:{server.port}\r\n".encode(),
            f"Authorization: Bearer {portal.key}\r\n".encode(),
        ] + [f"X-Slow-{i}: {'a' * 10}\r\n".encode() for i in range(30)]
        t0 = time.monotonic()
        closed_at: dict[int, float] = {}
        for line in lines:
            for i, s in enumerate(socks):
                if i in closed_at:
                    continue
                try:
                    s.sendall(line)
                except OSError:
                    closed_at[i] = time.monotonic() - t0
            if len(closed_at) == len(socks):
                break
            assert _healthz_in(server.url) < 1.0
            time.sleep(0.5)
        answers = []
        for i, s in enumerate(socks):
            if i not in closed_at:
                status, _, body = read_answer(s, timeout=5)
                answers.append((status, body["error"]["code"]))
                assert closed_by_server(s, 3)
                closed_at[i] = time.monotonic() - t0
            s.close()
        assert max(closed_at.values()) <= 1.5 + 2.0, closed_at
        assert set(answers) <= {(408, "header_timeout")}


def test_waiting_connections_past_the_cap_close_the_oldest_and_serve_a_normal_client(
    tmp_path: Path, redis_server, redis_namespace: str
) -> None:
    with guarded_api(
        tmp_path, redis_server.url, redis_namespace, header_timeout_s=30, max_pending_connections=20
    ) as (_, server, _, _):
        idle = [_connect(server.port) for _ in range(20)]
        for s in idle:
            s.sendall(b"GET /healthz HTTP/1.1\r\n")  # a head begun, never finished
        time.sleep(0.3)
        assert not any(closed_by_server(s, 0.05) for s in idle)
        late = [_connect(server.port) for _ in range(5)]
        for s in late:
            s.sendall(b"GET /healthz HTTP/1.1\r\n")
        # the five that waited longest make room for the five new ones
        assert all(closed_by_server(s, 3) for s in idle[:5])
        assert not any(closed_by_server(s, 0.05) for s in idle[5:] + late)
        # a normal client takes a place too (the oldest waiting one gives it up) and is answered
        assert _healthz_in(server.url) < 1.0
        for s in idle + late:
            s.close()


def test_uploads_past_the_per_key_cap_get_429_while_others_are_served(
    tmp_path: Path, redis_server, redis_namespace: str
) -> None:
    with guarded_api(
        tmp_path,
        redis_server.url,
        redis_namespace,
        upload_idle_timeout_s=20,
        upload_min_bytes_per_s=0,
        max_uploads_per_key=3,
    ) as (rt, server, portal, other_key):
        start = _body_start()
        held = []
        for _ in range(3):
            s = _connect(server.port)
            s.sendall(_head(server.port, portal.key, len(start) + 8 + len(_body_end())) + start)
            held.append(s)
        wait_until(lambda: len(rt.blobs.staging_files()) == 3, 5, "three uploads in progress")
        extra = _connect(server.port)
        extra.sendall(_head(server.port, portal.key, len(start) + 8 + len(_body_end())) + start)
        status, headers, body = read_answer(extra, timeout=5)
        assert status == 429 and body["error"]["code"] == "too_many_uploads"
        assert body["error"]["detail"] == {"limit": 3} and headers["retry-after"] == "1"
        extra.close()
        # another portal's upload and a normal request are served meanwhile
        files = [("metadata", (None, b'{"external_id": "OTHER-1"}', "application/json"))]
        files.append(("files", ("Доверенность.pdf", b"%PDF-1.4 other", "application/pdf")))
        r = httpx.post(
            f"{server.url}/v1/filings", files=files, headers={"Authorization": f"Bearer {other_key}"}
        )
        assert r.status_code == 202, r.text
        assert _healthz_in(server.url) < 1.0
        # one upload ends: its place is free again
        held[0].sendall(b"pdf-tail" + _body_end())
        status, _, body = read_answer(held[0], timeout=10)
        assert status == 202, body
        again = _connect(server.port)
        again.sendall(_head(server.port, portal.key, len(start) + 8 + len(_body_end())) + start)
        again.sendall(b"pdf-tail" + _body_end())
        status, _, body = read_answer(again, timeout=10)
        assert status == 202, body
        for s in [*held, again]:
            s.close()


@pytest.mark.timeout(120)
def test_a_crowd_of_slow_clients_is_gone_within_the_bounds(
    tmp_path: Path, redis_server, redis_namespace: str
) -> None:
    """60 authenticated uploads at 1 byte/s and 60 heads sent a line a second: within the bounds
    every connection is closed, no staging file and no descriptor is left, and a normal client
    was answered throughout."""
    with guarded_api(tmp_path, redis_server.url, redis_namespace, max_pending_connections=100) as (
        rt,
        server,
        portal,
        _,
    ):
        fds_before = _open_fds()
        start = _body_start()
        uploads = [_connect(server.port) for _ in range(60)]
        for s in uploads:
            s.sendall(_head(server.port, portal.key, len(start) + 100_000) + start)
        heads = [_connect(server.port) for _ in range(60)]
        for s in heads:
            s.sendall(b"GET /v1/rules HTTP/1.1\r\n")
        t0 = time.monotonic()
        open_ = set(range(len(uploads) + len(heads)))
        everyone = uploads + heads
        while open_ and time.monotonic() - t0 < 20:
            for i in list(open_):
                try:
                    everyone[i].sendall(b"x" if i < len(uploads) else b"X-Slow: 1\r\n")
                except OSError:
                    open_.discard(i)
            assert _healthz_in(server.url) < 1.0
            time.sleep(1.0)
        for i in list(open_):
            if closed_by_server(everyone[i], 0.2):
                open_.discard(i)
        elapsed = time.monotonic() - t0
        for s in everyone:
            s.close()
        assert not open_, f"{len(open_)} connections still open after {elapsed:.0f} s"
        assert elapsed <= 3.0 + 3.0  # the longest bound (the 3 s rate window) and the send loop's pace
        wait_until(lambda: rt.blobs.staging_files() == [], 5, "staging files to be removed")
        wait_until(lambda: _open_fds() <= fds_before + 2, 5, "descriptors to be released")
