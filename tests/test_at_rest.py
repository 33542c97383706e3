"""Data at rest is private: after a real round trip every directory is 0700 and every file 0600.

`courtdoc serve` runs as a subprocess with its embedded Redis and in-process workers, started
with umask 000 (so only the service's own modes can make anything private); a filing goes in,
its verdict comes out, and the data directory is walked. The API key generated on first start
reaches a terminal (a pseudo-terminal here) and never a piped log stream.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import signal
import stat
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
from courtdoc.infra.blobstore import BlobStore
from courtdoc.infra.redisserver import free_port
from service_harness import listening, post_filing, wait_until


def _env(data_dir: Path, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURTDOC_") and k != "REDIS_URL"}
    env.update(
        COURTDOC_DATA_DIR=str(data_dir),
        COURTDOC_PORT=str(port),
        COURTDOC_SERVE_WORKER_THREADS="2",
        COURTDOC_LOG_FORMAT="json",
        PYTHONUNBUFFERED="1",
    )
    return env


def _serve(data_dir: Path, port: int, **io: object) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "courtdoc.cli.main", "serve"],
        env=_env(data_dir, port),
        umask=0o000,  # the most open a parent could give: the service must close it itself
        **io,  # type: ignore[call-overload]
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _modes(root: Path) -> Iterator[tuple[Path, int, bool]]:
    yield root, stat.S_IMODE(root.stat().st_mode), True
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        yield path, stat.S_IMODE(st.st_mode), stat.S_ISDIR(st.st_mode)


def _assert_private(root: Path) -> list[Path]:
    wrong = [
        f"{p.relative_to(root.parent)}: {oct(mode)}"
        for p, mode, is_dir in _modes(root)
        if mode != (0o700 if is_dir else 0o600)
    ]
    assert wrong == []
    return [p for p, _, is_dir in _modes(root) if not is_dir]


def test_a_round_trip_leaves_only_private_files(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)  # left wide by an older version: serve tightens it
    os.chmod(data_dir, 0o755)
    port = free_port()
    proc = _serve(data_dir, port, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: listening(port) or proc.poll() is not None, 90, "courtdoc serve to listen")
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        key = tomllib.loads((data_dir / "clients.toml").read_text(encoding="utf-8"))["clients"]["local"][
            "api_key"
        ]
        doc = tmp_path / "upload.docx"
        doc.write_bytes(b"PK\x03\x04 not really a DOCX, still somebody's document")
        api = f"http://127.0.0.1:{port}"
        answer = post_filing(api, key, [doc], {"external_id": "2-5/2026"}, names=["Иск Петрова.docx"])
        assert answer.status_code == 202, answer.text
        fid = answer.json()["id"]

        def done() -> bool:
            r = httpx.get(f"{api}/v1/filings/{fid}", headers={"Authorization": f"Bearer {key}"}, timeout=10)
            return bool(r.json()["status"] == "done")

        wait_until(done, 120, "the filing's verdict")
    finally:
        _stop(proc)
    out = (proc.stdout.read() if proc.stdout else b"").decode() + (
        proc.stderr.read() if proc.stderr else b""
    ).decode()
    assert key not in out  # piped output is a log stream: the key is not in it
    assert any(
        json.loads(line).get("event") == "serve.clients_created"
        for line in out.splitlines()
        if line.startswith("{")
    )

    files = _assert_private(data_dir)
    names = {str(p.relative_to(data_dir)) for p in files}
    blobs = [p for p in files if p.parent.parent.parent == data_dir / "blobs"]
    assert len(blobs) == 1 and blobs[0].read_bytes() == doc.read_bytes()
    assert {"clients.toml", "serve.lock", f"reports/{fid[:2]}/{fid}.json"} <= names
    assert any(n.startswith("redis/") and "appendonly" in n for n in names), names
    assert "redis/redis.log" in names


def test_the_first_start_shows_the_key_on_a_terminal_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    master, slave = pty.openpty()
    proc = _serve(data_dir, port, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=slave)
    os.close(slave)
    seen = b""
    try:
        deadline = time.monotonic() + 90
        # Read the terminal until the key's line is complete (or serve exits, or time is up).
        while not re.search(rb"local API key: \S+\r?\n", seen):
            if time.monotonic() > deadline or proc.poll() is not None:
                break
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    seen += os.read(master, 65536)
                except OSError:
                    break
        wait_until(lambda: listening(port) or proc.poll() is not None, 90, "courtdoc serve to listen")
    finally:
        _stop(proc)
        os.close(master)
    key = tomllib.loads((data_dir / "clients.toml").read_text(encoding="utf-8"))["clients"]["local"][
        "api_key"
    ]
    assert f"local API key: {key}".encode() in seen, seen[-2000:]
    assert stat.S_IMODE((data_dir / "clients.toml").stat().st_mode) == 0o600


def test_the_blob_store_is_private_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        blobs = BlobStore(tmp_path / "blobs")
        staged = blobs.stage(limit=100)
        staged.write(b"a staged upload")
        assert stat.S_IMODE(staged.path.stat().st_mode) == 0o600
        final = staged.commit()
        blobs.trash_dir.mkdir(mode=0o700)
    finally:
        os.umask(old)
    assert stat.S_IMODE(final.stat().st_mode) == 0o600
    _assert_private(tmp_path / "blobs")


def test_bulk_revalidation_output_is_private(tmp_path: Path) -> None:
    """`courtdoc revalidate` writes file names and reports: its output directory is private too."""
    archive = tmp_path / "archive"
    archive.mkdir()
    (archive / "Жалоба.txt").write_text("a forbidden extension: decided without parsing", encoding="utf-8")
    out = tmp_path / "run"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "courtdoc.cli.main",
            "revalidate",
            str(archive),
            "--out",
            str(out),
            "--no-progress",
        ],
        env={k: v for k, v in os.environ.items() if not k.startswith("COURTDOC_")},
        capture_output=True,
        text=True,
        timeout=300,
        umask=0o000,
    )
    assert result.returncode == 0, result.stderr
    files = _assert_private(out)
    assert any(p.name == "results.jsonl" for p in files)
