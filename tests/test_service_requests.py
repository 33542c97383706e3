"""Bad requests get the right 4xx and leave nothing behind: no blob, no staging file, no Redis key.

The oversized uploads are generated lazily (one reused 1 MiB buffer) and sent over a raw socket
by a thread while the test reads the answer, as a real client that keeps sending would.
"""

from __future__ import annotations

import json
import resource
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from courtdoc.workers.runtime import Runtime
from service_harness import ApiServer, Portal, running_api, service_settings, write_clients

MiB = 1 << 20
BOUNDARY = "courtdoc-test-boundary-7f3a"


def _part_header(name: str, filename: str | None = None, ctype: str = "application/octet-stream") -> bytes:
    disp = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
    return f"--{BOUNDARY}\r\nContent-Disposition: {disp}\r\nContent-Type: {ctype}\r\n\r\n".encode()


def multipart_stream(metadata: dict[str, Any], file_name: str, file_bytes: int) -> Iterator[bytes]:
    """A multipart body with one file of `file_bytes` zero bytes, produced lazily."""
    yield _part_header("metadata", ctype="application/json") + json.dumps(metadata).encode() + b"\r\n"
    yield _part_header("files", file_name)
    block = bytes(MiB)
    left = file_bytes
    while left > 0:
        n = min(left, MiB)
        yield block if n == MiB else block[:n]
        left -= n
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


def raw_post(
    api: ApiServer, key: str, body: Iterator[bytes], *, content_length: int | None
) -> tuple[int, dict[str, Any], int]:
    """POST while a thread keeps sending; returns (status, JSON body, bytes sent before the answer)."""
    sock = socket.create_connection(("127.0.0.1", api.port))
    head = [
        "POST /v1/filings HTTP/1.1",
        f"Host: 127.0.0.1:{api.port}",
        f"Authorization: Bearer {key}",
        f"Content-Type: multipart/form-data; boundary={BOUNDARY}",
        f"Content-Length: {content_length}" if content_length is not None else "Transfer-Encoding: chunked",
    ]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sent = [0]
    answered = threading.Event()

    def pump() -> None:
        try:
            for chunk in body:
                if answered.is_set():
                    return
                frame = chunk if content_length is not None else b"%x\r\n%s\r\n" % (len(chunk), chunk)
                sock.sendall(frame)
                sent[0] += len(chunk)
            if content_length is None:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            return  # the server closed the connection after answering: expected

    sender = threading.Thread(target=pump, daemon=True)
    sender.start()
    sock.settimeout(60)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    at_answer = sent[0]
    answered.set()
    head_bytes, _, rest = data.partition(b"\r\n\r\n")
    status = int(head_bytes.split(b" ", 2)[1])
    length = next(
        int(line.split(b":", 1)[1])
        for line in head_bytes.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    sock.close()
    sender.join(10)
    return status, json.loads(rest[:length]), at_answer


def assert_nothing_left(rt: Runtime) -> None:
    assert rt.blobs.staging_files() == []
    blobs = [p for p in rt.blobs.root.rglob("*") if p.is_file()]
    assert blobs == []
    assert list(rt.redis.scan_iter(f"{rt.keys.namespace}:filing:*")) == []
    assert rt.redis.llen(f"{rt.keys.dramatiq}:intake") == 0


@pytest.fixture
def api(tmp_path: Path, redis_server, redis_namespace: str) -> Iterator[tuple[Runtime, ApiServer, Portal]]:
    portal = write_clients(tmp_path / "clients.toml", hosts=["127.0.0.1", "portal.example.kz", "10.0.0.1"])
    settings = service_settings(
        tmp_path, redis_server.url, redis_namespace, tmp_path / "clients.toml", max_files=5
    )
    with running_api(settings) as (rt, server):
        yield rt, server, portal


def _post(server: ApiServer, key: str | None, parts: list[tuple[str, Any]]) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{server.url}/v1/filings", files=parts, headers=headers, timeout=30)


def _meta(**kw: Any) -> tuple[str, Any]:
    return ("metadata", (None, json.dumps({"external_id": "X-1", **kw}).encode(), "application/json"))


def _file(name: str = "Исковое заявление.pdf", data: bytes = b"%PDF-1.4 small") -> tuple[str, Any]:
    return ("files", (name, data, "application/pdf"))


@pytest.mark.parametrize(
    ("case", "status", "code"),
    [
        ("no files", 400, "empty_filing"),
        ("no metadata", 400, "missing_metadata"),
        ("malformed JSON", 400, "bad_metadata"),
        ("metadata not an object", 400, "bad_metadata"),
        ("metadata without external_id", 422, "invalid_metadata"),
        ("bad language", 422, "invalid_metadata"),
        ("bad date for the filing checks", 422, "invalid_metadata"),
        ("bad file role for the filing checks", 422, "invalid_metadata"),
        ("no API key", 401, "unauthorized"),
        ("wrong API key", 401, "unauthorized"),
        ("callback to 10.0.0.1", 422, "callback_private_address"),
        ("callback to a host not allowed", 422, "callback_host_not_allowed"),
        ("callback not http", 422, "bad_callback_url"),
        ("too many files", 422, "too_many_files"),
        ("unknown part", 400, "unexpected_part"),
        ("not multipart", 400, "not_multipart"),
        ("truncated body", 400, "malformed_multipart"),
        ("metadata nested 30,000 levels deep", 400, "bad_metadata"),
        ("metadata nested 33 levels deep", 400, "bad_metadata"),
        ("a boundary of 300 characters", 400, "malformed_multipart"),
        ("a boundary of 71 characters", 400, "malformed_multipart"),
    ],
)
def test_bad_request(api: tuple[Runtime, ApiServer, Portal], case: str, status: int, code: str) -> None:
    rt, server, portal = api
    key: str | None = portal.key
    parts: list[tuple[str, Any]] = [_meta(), _file()]
    if case == "no files":
        parts = [_meta()]
    elif case == "no metadata":
        parts = [_file()]
    elif case == "malformed JSON":
        parts = [("metadata", (None, b'{"external_id": "X-1",', "application/json")), _file()]
    elif case == "metadata not an object":
        parts = [("metadata", (None, b'["X-1"]', "application/json")), _file()]
    elif case == "metadata without external_id":
        parts = [("metadata", (None, b'{"lang": "ru"}', "application/json")), _file()]
    elif case == "bad language":
        parts = [_meta(lang="de"), _file()]
    elif case == "bad date for the filing checks":
        parts = [_meta(proceeding="civil", circumstances_date="2024-13-45"), _file()]
    elif case == "bad file role for the filing checks":
        parts = [_meta(files={"Исковое заявление.pdf": {"role": "exhibit"}}), _file()]
    elif case == "no API key":
        key = None
    elif case == "wrong API key":
        key = "not-a-key-of-any-portal"
    elif case == "callback to 10.0.0.1":
        parts = [_meta(callback_url="http://10.0.0.1/hook"), _file()]
    elif case == "callback to a host not allowed":
        parts = [_meta(callback_url="https://evil.example.com/hook"), _file()]
    elif case == "callback not http":
        parts = [_meta(callback_url="file:///etc/passwd"), _file()]
    elif case == "too many files":
        parts = [_meta()] + [_file(f"Документ {i}.pdf", b"x" * 1000) for i in range(6)]
    elif case == "unknown part":
        parts = [_meta(), _file(), ("comment", (None, b"hello", "text/plain"))]
    elif case.startswith("metadata nested"):
        depth = int(case.split()[2].replace(",", ""))
        nested = b'{"external_id": "X-1", "deep": ' + b"[" * (depth - 1) + b"]" * (depth - 1) + b"}"
        parts = [("metadata", (None, nested, "application/json")), _file()]
    if case == "not multipart":
        r = httpx.post(
            f"{server.url}/v1/filings",
            json={"external_id": "X-1"},
            headers={"Authorization": f"Bearer {key}"},
            timeout=10,
        )
    elif case.startswith("a boundary of"):
        boundary = "b" * int(case.split()[3])
        body = b"".join(multipart_stream({"external_id": "X-1"}, "Иск.pdf", 10)).replace(
            BOUNDARY.encode(), boundary.encode()
        )
        r = httpx.post(
            f"{server.url}/v1/filings",
            content=body,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
            timeout=10,
        )
    elif case == "truncated body":
        body = _part_header("metadata", ctype="application/json") + b'{"external_id":"X"}\r\n'
        body += _part_header("files", "Иск.pdf") + b"%PDF-1.4 and then the connection ends"
        r = httpx.post(
            f"{server.url}/v1/filings",
            content=body,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            },
            timeout=10,
        )
    else:
        r = _post(server, key, parts)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code
    assert err["message"]
    if code == "callback_private_address":  # names the setting that admits such a network
        assert "COURTDOC_CALLBACK_ALLOW_NETWORKS" in err["message"]
    if status == 401:
        assert r.headers["www-authenticate"] == "Bearer"
    assert_nothing_left(rt)


def test_21_mib_file_is_413(api: tuple[Runtime, ApiServer, Portal]) -> None:
    rt, server, portal = api
    limit = rt.policy.limits.max_file_bytes
    status, body, _ = raw_post(
        server,
        portal.key,
        multipart_stream({"external_id": "BIG-1"}, "Заключение эксперта.pdf", 21 * MiB),
        content_length=None,
    )
    assert status == 413
    assert body["error"]["code"] == "file_too_large"
    assert body["error"]["detail"] == {"file": "Заключение эксперта.pdf", "limit": limit}
    assert_nothing_left(rt)


def test_file_exactly_at_the_cap_is_accepted(api: tuple[Runtime, ApiServer, Portal]) -> None:
    rt, server, portal = api
    limit = rt.policy.limits.max_file_bytes
    body = b"".join(multipart_stream({"external_id": "CAP-1"}, "Заключение эксперта.pdf", limit))
    r = httpx.post(
        f"{server.url}/v1/filings",
        content=body,
        headers={
            "Authorization": f"Bearer {portal.key}",
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
        },
        timeout=30,
    )
    assert r.status_code == 202, r.text
    fid = r.json()["id"]
    meta = rt.filings.meta(fid)
    assert meta is not None
    (entry,) = json.loads(meta["files"])
    assert entry["size"] == limit
    assert rt.blobs.path(entry["sha256"]).stat().st_size == limit
    assert rt.blobs.staging_files() == []


def test_2_gb_stream_is_refused_without_being_read(api: tuple[Runtime, ApiServer, Portal]) -> None:
    """Sent chunked (no length to judge up front): refused at the cap while streaming; the API
    process neither reads the rest nor grows in memory."""
    rt, server, portal = api
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t0 = time.monotonic()
    status, body, sent = raw_post(
        server,
        portal.key,
        multipart_stream({"external_id": "HUGE-1"}, "Видеозапись.pdf", 2048 * MiB),
        content_length=None,
    )
    elapsed = time.monotonic() - t0
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert status == 413 and body["error"]["code"] == "file_too_large"
    assert sent < 200 * MiB, f"{sent / MiB:.0f} MiB were sent before the answer"
    assert rss_after - rss_before < 100 * MiB  # the test process (client and server) stayed small
    assert elapsed < 30
    assert_nothing_left(rt)


def test_2_gb_declared_length_is_refused_before_reading(api: tuple[Runtime, ApiServer, Portal]) -> None:
    rt, server, portal = api
    total = 2048 * MiB + 1000
    status, body, sent = raw_post(
        server,
        portal.key,
        multipart_stream({"external_id": "HUGE-2"}, "Видеозапись.pdf", 2048 * MiB),
        content_length=total,
    )
    assert status == 413 and body["error"]["code"] == "request_too_large"
    assert sent < 200 * MiB
    assert_nothing_left(rt)


def test_unknown_filing_and_other_portals_filing_are_404(
    api: tuple[Runtime, ApiServer, Portal], tmp_path: Path
) -> None:
    _, server, portal = api
    r = _post(server, portal.key, [_meta(), _file()])
    assert r.status_code == 202
    fid = r.json()["id"]
    other_key = next(
        line.split('"')[1]
        for line in (tmp_path / "clients.toml").read_text().splitlines()
        if "other-key-" in line
    )
    for key, target in [(other_key, fid), (portal.key, "0" * 32), (portal.key, "../../etc/passwd")]:
        g = httpx.get(
            f"{server.url}/v1/filings/{target}", headers={"Authorization": f"Bearer {key}"}, timeout=10
        )
        assert g.status_code == 404
        assert g.json()["error"]["code"] == "not_found"
    mine = httpx.get(
        f"{server.url}/v1/filings/{fid}", headers={"Authorization": f"Bearer {portal.key}"}, timeout=10
    )
    assert mine.status_code == 200 and mine.json()["status"] == "queued"


def test_client_file_names_never_become_paths(api: tuple[Runtime, ApiServer, Portal]) -> None:
    rt, server, portal = api
    r = _post(server, portal.key, [_meta(), _file("../../../etc/Исковое заявление.pdf", b"%PDF-1.4 x")])
    assert r.status_code == 202, r.text
    meta = rt.filings.meta(r.json()["id"])
    assert meta is not None
    (entry,) = json.loads(meta["files"])
    assert entry["name"] == "Исковое заявление.pdf"
    stored = rt.blobs.path(entry["sha256"])
    assert stored.is_file() and stored.name == entry["sha256"]
    assert stored.resolve().is_relative_to(rt.blobs.root.resolve())


def test_a_boundary_of_70_characters_is_accepted(api: tuple[Runtime, ApiServer, Portal]) -> None:
    _, server, portal = api
    boundary = "b" * 70
    body = b"".join(multipart_stream({"external_id": "B-70"}, "Иск.pdf", 10)).replace(
        BOUNDARY.encode(), boundary.encode()
    )
    r = httpx.post(
        f"{server.url}/v1/filings",
        content=body,
        headers={
            "Authorization": f"Bearer {portal.key}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
        timeout=10,
    )
    assert r.status_code == 202, r.text


def test_metadata_nested_32_levels_is_read(api: tuple[Runtime, ApiServer, Portal]) -> None:
    _, server, portal = api
    nested = b'{"external_id": "D-32", "deep": ' + b"[" * 31 + b"]" * 31 + b"}"
    r = _post(server, portal.key, [("metadata", (None, nested, "application/json")), _file()])
    assert r.status_code == 202, r.text


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [("DELETE", "/v1/filings", "POST"), ("PUT", "/v1/rules", "GET"), ("POST", "/healthz", "GET")],
)
def test_405_is_json_with_allow(
    api: tuple[Runtime, ApiServer, Portal], method: str, path: str, allow: str
) -> None:
    _, server, portal = api
    r = httpx.request(method, f"{server.url}{path}", headers={"Authorization": f"Bearer {portal.key}"})
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"
    assert r.headers["allow"] == allow
