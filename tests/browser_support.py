"""Real pieces for the page tests: `courtdoc serve` as a subprocess, Debian's Chromium driven by
Playwright, axe-core from the npm registry (integrity-checked, cached), and the three files a
person drops on the pre-check page.

Nothing stands in for the service: `ServeProcess` runs the very command a person runs, on a
free 127.0.0.1 port with a data directory of the test's own.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from courtdoc.infra.redisserver import free_port
from service_harness import listening, wait_until

CHROMIUM = Path("/usr/bin/chromium")
#: axe-core, pinned; its tarball's sha512 is checked against the registry's metadata.
AXE_VERSION = "4.10.3"
AXE_CACHE = Path(tempfile.gettempdir()) / "courtdoc-test-cache" / f"axe-core-{AXE_VERSION}"
REGISTRY = "https://registry.npmjs.org/axe-core"


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium under Playwright (never a browser Playwright downloads)."""
    need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


def need_chromium() -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium (scripts/install-system-deps.sh)")


# --- courtdoc serve ---------------------------------------------------------------------------------


class ServeProcess:
    """`courtdoc serve` in a subprocess: embedded Redis and worker threads unless `redis_url`."""

    def __init__(self, data_dir: Path, redis_url: str | None = None, worker_threads: int | None = None, **env: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        full = {k: v for k, v in os.environ.items() if not k.startswith("COURTDOC_") and k != "REDIS_URL"}
        full.update(
            {
                "COURTDOC_DATA_DIR": str(data_dir),
                "COURTDOC_PORT": str(self.port),
                "COURTDOC_LOG_FORMAT": "json",
                "COURTDOC_WORKER_POLL_MS": "50",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if redis_url:
            full["COURTDOC_REDIS_URL"] = redis_url
        full.update(env)
        command = [sys.executable, "-m", "courtdoc.cli.main", "serve"]
        if worker_threads is not None:
            command += ["--worker-threads", str(worker_threads)]
        self.log: list[str] = []
        self.proc = subprocess.Popen(command, env=full, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        try:
            wait_until(lambda: self.proc.poll() is not None or listening(self.port), 60, "courtdoc serve")
        except AssertionError:
            self.stop()
            raise
        if self.proc.poll() is not None:
            raise AssertionError("courtdoc serve exited:\n" + "\n".join(self.log[-30:]))

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line.decode("utf-8", "replace").rstrip())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api_key(self) -> str:
        clients = tomllib.loads((self.data_dir / "clients.toml").read_text(encoding="utf-8"))
        return str(clients["clients"]["local"]["api_key"])

    def events(self) -> list[dict[str, Any]]:
        out = []
        for line in list(self.log):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict):
                out.append(event)
        return out

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def post_filing(base: str, key: str, files: list[Path], lang: str = "kk") -> dict[str, Any]:
    metadata = {"external_id": "pages-" + os.urandom(6).hex(), "lang": lang}
    parts: list[tuple[str, Any]] = [("metadata", (None, json.dumps(metadata).encode(), "application/json"))]
    parts += [("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in files]
    r = httpx.post(f"{base}/v1/filings", files=parts, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    assert r.status_code == 202, r.text
    data: dict[str, Any] = r.json()
    return data


def wait_done(base: str, key: str, fid: str, timeout: float = 120) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        r = httpx.get(f"{base}/v1/filings/{fid}", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        data: dict[str, Any] = r.json()
        return data if data.get("status") == "done" else None

    result: dict[str, Any] = wait_until(done, timeout, f"filing {fid} to be done", interval=0.3)
    return result


def post_precheck(base: str, files: list[Path], lang: str = "kk", **headers: str) -> httpx.Response:
    parts: list[tuple[str, Any]] = [("metadata", (None, b'{"declared": []}', "application/json"))]
    parts += [("files", (p.name, p.read_bytes(), "application/octet-stream")) for p in files]
    return httpx.post(f"{base}/precheck?lang={lang}", files=parts, headers=headers, timeout=60)


# --- the three files ------------------------------------------------------------------------------------


def three_files(out: Path) -> list[Path]:
    """A conforming Times New Roman 14 DOCX, a DOCX whose paragraphs are in Arial 12, and a scan
    skewed by 8°, under the names a Kazakh filer gives them."""
    from scan_fixtures import generated
    from text_fixtures import load_generator

    gen = load_generator()
    out.mkdir(parents=True, exist_ok=True)
    normal = gen.style("Normal", "Normal", default=True)
    conforming = gen.write_docx(
        out / "Арыз.docx",
        gen.body_text(6),
        styles=gen.styles_xml(gen.rpr("Times New Roman", 14), gen.SINGLE, normal),
        theme=gen.theme_xml(),
    )
    arial = gen.write_docx(
        out / "Сенімхат.docx",
        gen.body_text(4),
        styles=gen.styles_xml(gen.rpr("Arial", 12), gen.SINGLE, normal),
        theme=gen.theme_xml(),
    )
    scan = out / "Түбіртек.jpg"
    shutil.copyfile(generated() / "pages" / "skew_8.jpg", scan)
    return [Path(conforming), Path(arial), scan]


# --- axe-core ----------------------------------------------------------------------------------------------


def axe_source() -> str:
    """axe.min.js of the pinned axe-core: the registry's tarball, its sha512 checked against the
    `dist.integrity` of the registry's metadata for that version; cached after the first fetch."""
    cached = AXE_CACHE / "axe.min.js"
    if cached.is_file():
        return cached.read_text(encoding="utf-8")
    meta = httpx.get(f"{REGISTRY}/{AXE_VERSION}", timeout=60, follow_redirects=True)
    meta.raise_for_status()
    dist = meta.json()["dist"]
    algorithm, _, expected = dist["integrity"].partition("-")
    assert algorithm == "sha512", dist["integrity"]
    tarball = httpx.get(dist["tarball"], timeout=120, follow_redirects=True)
    tarball.raise_for_status()
    got = base64.b64encode(hashlib.sha512(tarball.content).digest()).decode()
    assert got == expected, f"axe-core {AXE_VERSION}: sha512 {got} is not the registry's {expected}"
    with tarfile.open(fileobj=io.BytesIO(tarball.content), mode="r:gz") as tar:
        member = tar.extractfile("package/axe.min.js")
        assert member is not None
        source = member.read().decode("utf-8")
    AXE_CACHE.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(source, encoding="utf-8")
    tmp.replace(cached)
    return source


def run_axe(page: Any) -> list[dict[str, Any]]:
    """The serious and critical violations axe-core finds on the page as it is now."""
    page.add_script_tag(content=axe_source())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]


def drop_files(page: Any, selector: str, files: list[Path]) -> None:
    """Drop files on an element the way a browser does: a `drop` event carrying a DataTransfer."""
    payload = [
        {"name": p.name, "data": base64.b64encode(p.read_bytes()).decode("ascii")} for p in files
    ]
    page.evaluate(
        """([selector, files]) => {
            const dt = new DataTransfer();
            for (const f of files) {
                const bytes = Uint8Array.from(atob(f.data), c => c.charCodeAt(0));
                dt.items.add(new File([bytes], f.name));
            }
            const target = document.querySelector(selector);
            for (const type of ['dragenter', 'dragover', 'drop']) {
                target.dispatchEvent(new DragEvent(type, {dataTransfer: dt, bubbles: true, cancelable: true}));
            }
        }""",
        [selector, payload],
    )
