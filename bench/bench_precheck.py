"""Benchmark of the pre-check page's path, and of intake beside it.

    python bench/bench_precheck.py [--prechecks 6] [--filings 12] [--worker-threads 2]

`courtdoc serve` (embedded Redis, its worker threads: intake and pre-check queues each get
`--worker-threads`) on 127.0.0.1 and a callback receiver in this process; every request goes
through the real endpoints with httpx, as the page's JavaScript makes them.

1. A 3-file pre-check, as a person drops it (a conforming Times New Roman 14 DOCX, a DOCX in
   Arial 12, a skewed scan; every run's files are new bytes, so nothing is a copy of a checked
   file): POST /precheck, then GET …/fragment every 50 ms. Time to the first file's result and to
   the last (the whole pre-check's report), then the page's pictures: the three first-page
   thumbnails, and the Arial finding's evidence (its words found on the page LibreOffice drew)
   opened cold and again (cached).
2. Intake latency: `--filings` filings of the same three files (new bytes each), POST
   /v1/filings one after another, each timed from the POST to its callback's arrival — first
   with nothing else running (the baseline), then with pre-checks posted back to back beside it
   by two threads (each pre-check followed by its thumbnails and evidence, as a person's page
   asks for them).

Figures are wall-clock on whatever else the machine is doing at the time; the baseline is
measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))  # the fixture generators the page tests use

from scan_fixtures import generated  # noqa: E402
from text_fixtures import load_generator  # noqa: E402

DONE_VERDICT = re.compile(r'<li class="file file-(?:accept|reject)"')


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Files:
    """The three files, new bytes every time (a paragraph count, bytes after the JPEG's end)."""

    def __init__(self, work: Path) -> None:
        self.gen = load_generator()
        self.work = work
        self.scan = (generated() / "pages" / "skew_8.jpg").read_bytes()
        self.count = 0

    def next(self) -> list[tuple[str, bytes]]:
        self.count += 1
        n = self.count
        gen = self.gen
        normal = gen.style("Normal", "Normal", default=True)
        out = []
        for name, font, size in (("Арыз.docx", "Times New Roman", 14), ("Сенімхат.docx", "Arial", 12)):
            path = self.work / f"{n}-{name}"
            gen.write_docx(
                path, gen.body_text(4 + n % 7), styles=gen.styles_xml(gen.rpr(font, size), gen.SINGLE, normal),
                theme=gen.theme_xml(),
            )  # fmt: skip
            out.append((name, path.read_bytes()))
        out.append(("Түбіртек.jpg", self.scan + n.to_bytes(8, "big")))
        return out


class Receiver:
    """Callback arrivals by filing id."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.event = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                now = time.perf_counter()
                self.send_response(204)
                self.end_headers()
                try:
                    fid = json.loads(body)["data"]["id"]
                except (ValueError, KeyError, TypeError):
                    return
                with outer.event:
                    outer.arrived.setdefault(fid, now)
                    outer.event.notify_all()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def wait(self, fid: str, timeout: float = 300) -> float:
        with self.event:
            if not self.event.wait_for(lambda: fid in self.arrived, timeout):
                raise SystemExit(f"bench: no callback for {fid} in {timeout:.0f} s")
            return self.arrived[fid]


class Serve:
    def __init__(self, work: Path, threads: int) -> None:
        self.port = _free_port()
        self.data = work / "data"
        env = {k: v for k, v in os.environ.items() if not k.startswith("COURTDOC_") and k != "REDIS_URL"}
        env.update(
            COURTDOC_DATA_DIR=str(self.data),
            COURTDOC_PORT=str(self.port),
            COURTDOC_LOG_LEVEL="warning",
            COURTDOC_CALLBACK_ALLOW_NETWORKS="127.0.0.1/32",
            COURTDOC_PRECHECK="open",
            COURTDOC_PRECHECK_PER_MINUTE="10000",
            COURTDOC_WORKER_POLL_MS="50",
            COURTDOC_OUTBOX_POLL_S="0.5",
            PYTHONUNBUFFERED="1",
        )
        command = [sys.executable, "-m", "courtdoc.cli.main", "serve", "--worker-threads", str(threads)]
        self.proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("bench: courtdoc serve did not start")
            time.sleep(0.2)
        import tomllib

        clients = tomllib.loads((self.data / "clients.toml").read_text(encoding="utf-8"))
        self.key = str(clients["clients"]["local"]["api_key"])

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _parts(files: list[tuple[str, bytes]], metadata: dict[str, Any]) -> list[tuple[str, Any]]:
    parts: list[tuple[str, Any]] = [("metadata", (None, json.dumps(metadata).encode(), "application/json"))]
    return parts + [("files", (name, data, "application/octet-stream")) for name, data in files]


def precheck(client: httpx.Client, files: list[tuple[str, bytes]]) -> dict[str, float]:
    """One pre-check through the page's endpoints; seconds from the POST to each milestone."""
    start = time.perf_counter()
    r = client.post("/precheck?lang=kk", files=_parts(files, {"declared": []}))
    if r.status_code != 202:
        raise SystemExit(f"bench: POST /precheck answered {r.status_code}: {r.text[:200]}")
    answer = r.json()
    base = f"/precheck/{answer['id']}"
    first = None
    while True:
        data = client.get(answer["fragment_url"]).json()
        now = time.perf_counter() - start
        if first is None and DONE_VERDICT.search(data["html"]):
            first = now
        if data["done"]:
            last = now
            break
        time.sleep(0.05)
    t0 = time.perf_counter()
    for index in range(3):
        picture = client.get(f"{base}/pictures/{index}/1.png?w=240")
        if picture.status_code != 200:
            raise SystemExit(f"bench: thumbnail {index} answered {picture.status_code}")
    thumbs = time.perf_counter() - t0
    timings = {"first": first or last, "last": last, "thumbs": thumbs}
    for label in ("evidence_cold", "evidence_warm"):
        t0 = time.perf_counter()
        shown = client.get(f"{base}/evidence/1/0.json?lang=kk").json()
        timings[label] = time.perf_counter() - t0
        if not shown.get("boxes"):
            raise SystemExit(f"bench: the Arial finding has no boxes: {shown}")
    return timings


def filing_latency(serve: Serve, receiver: Receiver, files: Files, count: int) -> list[float]:
    out = []
    with httpx.Client(base_url=serve.url, timeout=120, headers={"Authorization": f"Bearer {serve.key}"}) as client:
        for i in range(count):
            meta = {"external_id": f"bench-{os.getpid()}-{time.time_ns()}-{i}", "lang": "kk",
                    "callback_url": receiver.url}  # fmt: skip
            start = time.perf_counter()
            r = client.post("/v1/filings", files=_parts(files.next(), meta))
            if r.status_code != 202:
                raise SystemExit(f"bench: POST /v1/filings answered {r.status_code}: {r.text[:200]}")
            out.append(receiver.wait(r.json()["id"]) - start)
    return out


def _ms(values: list[float]) -> str:
    if not values:
        return "–"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:6.0f} ms  p95 {p95 * 1000:6.0f} ms  (n={len(ordered)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prechecks", type=int, default=6)
    parser.add_argument("--filings", type=int, default=12)
    parser.add_argument("--worker-threads", type=int, default=2)
    args = parser.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}, cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory(prefix="bench-precheck-") as tmp:
        work = Path(tmp)
        (work / "files").mkdir()
        files = Files(work / "files")
        receiver = Receiver()
        serve = Serve(work, args.worker_threads)
        try:
            with httpx.Client(base_url=serve.url, timeout=120) as client:
                precheck(client, files.next())  # warm: sandbox children, LibreOffice's profile
                runs = [precheck(client, files.next()) for _ in range(args.prechecks)]
            print(f"\n3-file pre-check through the page endpoints ({args.prechecks} runs, one at a time):")
            for key, label in (
                ("first", "first file's result"),
                ("last", "last result (whole report)"),
                ("thumbs", "3 first-page thumbnails"),
                ("evidence_cold", "Arial finding on its page, cold"),
                ("evidence_warm", "the same again (cached)"),
            ):
                print(f"  {label:34} {_ms([r[key] for r in runs])}")

            filing_latency(serve, receiver, files, 2)  # warm
            alone = filing_latency(serve, receiver, files, args.filings)
            stop = threading.Event()
            beside: list[dict[str, float]] = []

            def crowd() -> None:
                with httpx.Client(base_url=serve.url, timeout=120) as client:
                    while not stop.is_set():
                        beside.append(precheck(client, files.next()))

            crowds = [threading.Thread(target=crowd, daemon=True) for _ in range(2)]
            for thread in crowds:
                thread.start()
            time.sleep(1.0)
            busy = filing_latency(serve, receiver, files, args.filings)
            stop.set()
            for thread in crowds:
                thread.join(300)
            print("\nintake latency, POST /v1/filings to callback (3 files, one filing at a time):")
            print(f"  {'alone (baseline)':34} {_ms(alone)}")
            print(f"  {'beside 2 pre-check streams':34} {_ms(busy)}")
            print(f"  pre-checks done meanwhile: {len(beside)}, their last result {_ms([b['last'] for b in beside])}")
        finally:
            serve.stop()
    print(f"\nload average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
