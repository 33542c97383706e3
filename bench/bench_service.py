"""Benchmark of the asynchronous service, end to end, and of the queue's own cost beside it.

    python bench/bench_service.py [--mix realistic|corpus|light] [--baseline light|corpus|none]
                                  [--filings 300] [--posters 8] [--latency-filings 150]
                                  [--threads 8] [--log-level warning|info] [--faults]
                                  [--queue-messages 20000] [--skip-e2e] [--skip-queue]

End to end: a private Redis (AOF, appendfsync always), `courtdoc serve` (API only, one uvicorn
process), `courtdoc worker --processes 2 --threads 8`, and a callback receiver in this process,
all on this machine. Each mix is measured in two phases on the same running service:
  1. throughput — `--filings` posted as fast as `--posters` threads can, timed from the first
     POST to the last callback: filings per minute;
  2. latency — `--latency-filings` posted open-loop at half that rate: p50/p95 from the start of
     the POST to the callback's arrival.
Each phase reports callbacks lost (none arrived; a phase waits until every callback has come or
none has come for 120 s) and duplicated (a webhook-id received twice), CPU per filing by process
tree (the API, the workers with their sandbox processes, Redis, this process), the workers'
memory (RSS of the worker processes, their forkserver and sandbox children, read from /proc every
0.5 s: the peak of the sum, and the sum of each process's own peak VmHWM), and the mean check
time per format from the service's /metrics. With `--log-level info` the workers' `check.done`
lines of the half-rate phase are read back too, for check times per document of the mix. A
check's time is the worker's wall time around it: when the service is saturated it is mostly
the wait for a free sandbox child, hence the half-rate phase.

The mixes (3 or 4 files a filing):
  - realistic (bench/realistic_inputs.py; generated once, cached in bench/.cache/realistic/):
    no two files of a run share a sha256, so none is a copy of a content stored before —
      `Заявление о пересмотре.docx`    application, Times New Roman 14, 3–5 pages, 38,742–39,471 B;
      `Копия решения суда.pdf`         scan, 10 A4 pages, 300 dpi greyscale JPEG (q60) in a PDF
                                       written by img2pdf, 6,291,043–6,338,315 B;
      `Доверенность представителя.pdf` text, 2 pages, reportlab, DejaVu Serif 14 embedded,
                                       52,118–53,675 B;
      `Квитанция об оплате госпошлины.jpg` A4 greyscale scan (q80), 300 dpi for even filings
                                       (about 840 KB), 200 dpi for odd ones (about 460 KB);
                                       460,496–848,700 B;
    6,842,399–7,280,125 B a filing (the 460 filings of a default run, as
    `python bench/realistic_inputs.py --stats` prints them);
  - corpus: the same three small corpus files every time (a DOCX, a one-page text PDF, a photo):
    stored once, checked again in every filing;
  - light: three files refused on sniffing, which leaves the service's own cost.
The baseline (`--baseline`, light by default) is measured first, in the same run and on the same
service, so the two sets of figures share the machine's load; `uptime`'s load average is printed
at the start and end of every phase.

`--faults` runs bench/faults.py's `run(service, stop)` in a thread during the main mix's timed
phases (it gets the `Service` handles: Redis, API and worker processes; `stop` is set when the
phase's callbacks are all in); the baseline runs without faults. With faults, a POST answered
503 or cut off is posted again for up to 60 s, as a portal would, its latency counted from the
first attempt; CPU per filing is not given for a phase in which a process was restarted.

The queue alone: `--queue-messages` no-op messages enqueued, then drained by 2 worker processes
× 8 threads and by 2 × 1 thread (Dramatiq worker on the same broker setup as the service).

Figures are wall-clock on whatever else the machine is doing at the time.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BENCH = Path(__file__).resolve().parent
CORPUS = ROOT.parent / "shared" / "corpus"
MIXED_FILING = {
    "Исковое заявление.docx": "normcontrol-document-parser/bold.docx",
    "Доверенность представителя.pdf": "py-pdf-sample-files/002-trivial-libre-office-writer.pdf",
    "Квитанция об оплате госпошлины.jpg": "python-docx/court-exif.jpg",
}
LIGHT_FILING = {
    # Not the formats their names claim: each is refused after sniffing, so the checkers' own
    # cost is nearly nil and what remains is the service's (API, queue, barrier, callback).
    "Исковое заявление.docx": b"plain text, not a DOCX package " * 20,
    "Доверенность представителя.pdf": b"plain text, not a PDF " * 20,
    "Квитанция об оплате госпошлины.jpg": b"plain text, not a JPEG " * 20,
}
WARM_FILINGS = 6
STALL_TIMEOUT_S = 120.0  # a phase gives up on its missing callbacks after this long without one


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURTDOC_") and k != "REDIS_URL"}
    env.update(extra)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: timed out waiting for {what}")
        time.sleep(0.05)


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


# --- the inputs ------------------------------------------------------------------------------------


def _load_bench_module(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@dataclass
class Mix:
    """The files of filing i of a mix, and what each file is (for the per-document check times)."""

    name: str
    files: Callable[[int], list[tuple[str, bytes]]]
    pages: dict[str, int] = field(default_factory=dict)  # file name -> pages, where known


def make_mix(name: str, count: int) -> Mix:
    """A mix able to give `count` filings (the realistic ones are generated on first use)."""
    if name == "light":
        light = list(LIGHT_FILING.items())
        return Mix(name, lambda i: light)
    if name == "corpus":
        corpus = []
        for file_name, rel in MIXED_FILING.items():
            src = CORPUS / rel
            if not src.is_file():
                raise SystemExit(f"bench: corpus file {src} missing")
            corpus.append((file_name, src.read_bytes()))
        return Mix(name, lambda i: corpus)
    inputs = _load_bench_module("realistic_inputs")
    inputs.ensure(count)
    pages = {
        inputs.SCANNED_PDF: inputs.SCAN_PAGES,
        inputs.TEXT_PDF: 2,
        inputs.SCAN_JPEG: 1,
        inputs.APPLICATION: 4,  # 3–5, 4 on average
    }
    return Mix(name, inputs.filing_files, pages)


# --- the service and the callback receiver ---------------------------------------------------------


class Receiver:
    """Records each callback by its webhook-id: first arrival time, how many times, the verdict."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.times_received: Counter[str] = Counter()
        self.verdicts: dict[str, str] = {}
        self.rules: dict[str, list[str]] = {}
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                now = time.time()
                webhook_id = self.headers["webhook-id"]
                with outer.lock:
                    outer.arrivals.setdefault(webhook_id, now)
                    outer.times_received[webhook_id] += 1
                self.send_response(204)
                self.end_headers()
                outer._note(webhook_id, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def _note(self, webhook_id: str, body: bytes) -> None:
        try:
            report = json.loads(body)["data"]["report"]
        except (ValueError, KeyError, TypeError):
            return
        rules = [f["rule"] for f in report.get("findings", [])]
        for file in report.get("files", []):
            rules += [f["rule"] for f in file.get("findings", [])]
        with self.lock:
            self.verdicts[webhook_id] = str(report.get("verdict"))
            self.rules[webhook_id] = rules

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@dataclass
class Service:
    """Handles on the running service, for the phases and for a fault injector.

    A fault injector may kill and restart any of them: `redis` (a courtdoc RedisServer, with
    kill() and restart()), `api` and `workers` (Popen objects; start_workers() starts a new
    worker group in place of the old). The counters read the current handles each time."""

    work: Path
    redis: Any
    env: dict[str, str]
    threads: int
    api: subprocess.Popen[bytes]
    workers: subprocess.Popen[bytes]
    receiver: Receiver
    base: str
    key: str
    log: IO[bytes]

    def start_workers(self) -> subprocess.Popen[bytes]:
        self.workers = _start_workers(self.env, self.threads, self.log)
        return self.workers

    def roots(self) -> dict[str, int]:
        return {
            "api": self.api.pid,
            "workers": self.workers.pid,
            "redis": self.redis.process.pid if self.redis.process is not None else -1,
            "bench (client, receiver)": os.getpid(),
        }


def _start_workers(env: dict[str, str], threads: int, log: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "courtdoc.cli.main", "worker", "--processes", "2", "--threads", str(threads)],
        env=env,
        stdout=log,
        stderr=log,
    )


def start_service(work: Path, redis: Any, threads: int, log_level: str) -> Service:
    from courtdoc.infra.clients import new_secret
    from courtdoc.infra.redisserver import free_port

    key = "bench-key-" + os.urandom(8).hex()
    (work / "clients.toml").write_text(
        f'[clients.bench]\napi_key = "{key}"\ncallback_secret = "{new_secret()}"\ncallback_hosts = ["127.0.0.1"]\n',
        encoding="utf-8",
    )
    port = free_port()
    env = _env(
        COURTDOC_DATA_DIR=str(work / "data"),
        COURTDOC_REDIS_URL=redis.url,
        COURTDOC_CLIENTS_FILE=str(work / "clients.toml"),
        COURTDOC_CALLBACK_ALLOW_NETWORKS="127.0.0.1/32",
        COURTDOC_PORT=str(port),
        COURTDOC_LOG_LEVEL=log_level,
        COURTDOC_OUTBOX_POLL_S="0.5",
    )
    log = (work / "service.log").open("wb")
    api = subprocess.Popen([sys.executable, "-m", "courtdoc.cli.main", "serve"], env=env, stdout=log, stderr=log)
    workers = _start_workers(env, threads, log)
    service = Service(
        work, redis, env, threads, api, workers, Receiver(), f"http://127.0.0.1:{port}", key, log
    )
    _wait(lambda: _up(service.base), 90, "the API")
    return service


def stop_service(service: Service) -> None:
    for proc in (service.workers, service.api):
        proc.send_signal(signal.SIGTERM)
    for proc in (service.workers, service.api):
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
    service.log.close()
    service.receiver.server.shutdown()


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


# --- posting and counting ---------------------------------------------------------------------------


@dataclass
class Sent:
    webhook_id: str
    t0: float  # when the POST started (epoch seconds)


class Poster:
    """Posts filings of a mix; each thread keeps one HTTP client. The multipart body is put
    together from bytes (no form encoder), so the load generator, which shares the machine with
    the service, spends as little CPU as it can."""

    def __init__(self, service: Service, mix: Mix, retry_until: float = 0.0) -> None:
        self.service = service
        self.mix = mix
        # With faults, a 503 or a dropped connection is posted again for up to this many seconds
        # (the latency still counts from the first attempt); without, it ends the bench.
        self.retry_until = retry_until
        self.local = threading.local()
        self.boundary = "bench-" + os.urandom(8).hex()
        self.headers = {
            "Authorization": f"Bearer {service.key}",
            "Content-Type": f"multipart/form-data; boundary={self.boundary}",
        }

    def body(self, files: list[tuple[str, bytes]], external_id: str) -> bytes:
        b = self.boundary
        meta = json.dumps({"external_id": external_id, "callback_url": self.service.receiver.url})
        parts = [
            f'--{b}\r\nContent-Disposition: form-data; name="metadata"\r\n'
            f"Content-Type: application/json\r\n\r\n{meta}\r\n".encode()
        ]
        for name, data in files:
            parts.append(
                f'--{b}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n".encode()
            )
            parts += [data, b"\r\n"]
        parts.append(f"--{b}--\r\n".encode())
        return b"".join(parts)

    def post(self, i: int, tag: str) -> Sent:
        client = getattr(self.local, "client", None)
        if client is None:
            client = self.local.client = httpx.Client(timeout=120)
        files = self.mix.files(i)
        body = self.body(files, f"{tag}-{i}")
        t0 = time.time()
        while True:
            try:
                r = client.post(f"{self.service.base}/v1/filings", content=body, headers=self.headers)
            except httpx.TransportError:
                if not self.retry_until or time.time() > t0 + self.retry_until:
                    raise
                time.sleep(0.5)
                continue
            if r.status_code == 202:
                return Sent("msg_" + r.json()["id"], t0)
            if r.status_code != 503 or not self.retry_until or time.time() > t0 + self.retry_until:
                raise SystemExit(f"bench: POST answered {r.status_code}: {r.text[:300]}")
            time.sleep(0.5)  # Redis away, nothing recorded: post again, as a portal would


def wait_callbacks(
    receiver: Receiver, sent: list[Sent], stall_timeout: float = STALL_TIMEOUT_S
) -> list[Sent]:
    """Waits until every filing's callback has arrived, or none has for `stall_timeout` seconds;
    returns the filings whose callback never came."""
    last_progress, last_count = time.monotonic(), -1
    while True:
        with receiver.lock:
            missing = [s for s in sent if s.webhook_id not in receiver.arrivals]
        if not missing:
            return []
        if len(missing) != last_count:
            last_progress, last_count = time.monotonic(), len(missing)
        elif time.monotonic() - last_progress > stall_timeout:
            return missing
        time.sleep(0.05)


def duplicates(receiver: Receiver, sent: list[Sent]) -> int:
    with receiver.lock:
        return sum(max(0, receiver.times_received[s.webhook_id] - 1) for s in sent)


# --- what the processes cost ------------------------------------------------------------------------


def _proc_table() -> dict[int, tuple[int, float, float]]:
    """pid -> (parent pid, own CPU seconds, CPU seconds of its reaped children) for every
    process we can read."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, tuple[int, float, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(entry)] = (
            int(fields[1]),
            (int(fields[11]) + int(fields[12])) / tick,
            (int(fields[13]) + int(fields[14])) / tick,
        )
    return out


def _descendants(table: dict[int, tuple[int, float, float]], root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        if pid in table:
            out.append(pid)
            stack.extend(children.get(pid, []))
    return out


def tree_cpu(roots: dict[str, int], alone: tuple[str, ...] = ()) -> dict[str, float]:
    """CPU seconds used so far by each named process and its descendants: the living ones' own
    time, and the time of those that ended, which their parents' reaped-children counters hold
    (sandbox children that were recycled count too). For the names in `alone`, the process's own
    time only."""
    table = _proc_table()
    totals: dict[str, float] = {}
    for name, root in roots.items():
        if name in alone:
            totals[name] = table.get(root, (0, 0.0, 0.0))[1]
        else:
            totals[name] = sum(table[pid][1] + table[pid][2] for pid in _descendants(table, root))
    return totals


def _status_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process in KiB; zeros when it is gone."""
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


class MemorySampler:
    """Samples the RSS of the worker processes and all their descendants (forkserver, sandbox
    children) every `interval` seconds while running."""

    def __init__(self, service: Service, interval: float = 0.5) -> None:
        self.service = service
        self.interval = interval
        self.peak_sum_kb = 0
        self.peak_processes = 0
        self.hwm_kb: dict[int, int] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> MemorySampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()
        self._sample()

    def _sample(self) -> None:
        table = _proc_table()
        total, pids = 0, _descendants(table, self.service.workers.pid)
        for pid in pids:
            rss, hwm = _status_kb(pid)
            total += rss
            if hwm:
                self.hwm_kb[pid] = max(self.hwm_kb.get(pid, 0), hwm)
        self.peak_sum_kb = max(self.peak_sum_kb, total)
        self.peak_processes = max(self.peak_processes, len(pids))

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            self._sample()

    def figures(self) -> dict[str, Any]:
        return {
            "peak_sum_rss_mb": round(self.peak_sum_kb / 1024),
            "sum_of_process_peaks_mb": round(sum(self.hwm_kb.values()) / 1024),
            "largest_process_peak_mb": round(max(self.hwm_kb.values(), default=0) / 1024),
            "processes_seen": len(self.hwm_kb),
            "most_processes_at_once": self.peak_processes,
        }


def _check_totals(base: str) -> dict[str, tuple[float, float]]:
    """Seconds and count of file checks by format so far, from the service's own /metrics."""
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for line in httpx.get(f"{base}/metrics", timeout=10).text.splitlines():
        for name, into in (("sum", sums), ("count", counts)):
            prefix = f'courtdoc_check_duration_seconds_{name}{{format="'
            if line.startswith(prefix):
                fmt = line[len(prefix) :].split('"', 1)[0]
                into[fmt] = float(line.rsplit(" ", 1)[1])
    return {fmt: (sums[fmt], counts.get(fmt, 0.0)) for fmt in sums}


def _check_means(
    before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]]
) -> dict[str, Any]:
    out = {}
    for fmt, (s1, c1) in after.items():
        s0, c0 = before.get(fmt, (0.0, 0.0))
        if c1 > c0:
            out[fmt] = {"files": int(c1 - c0), "mean_ms": round((s1 - s0) / (c1 - c0) * 1000, 1)}
    return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- the phases -------------------------------------------------------------------------------------

FaultHook = Callable[[Service, threading.Event], None]
ALONE = ("bench (client, receiver)",)  # the other roots are its children: their own trees only


def load_faults() -> FaultHook:
    """bench/faults.py's `run(service, stop)`: makes faults (kills Redis, workers …) until `stop`
    is set, restarting what it killed through the `Service` handles."""
    path = BENCH / "faults.py"
    if not path.is_file():
        raise SystemExit(
            "bench: --faults is not available: it runs run(service, stop) from bench/faults.py, "
            "the fault injector, which does not exist yet"
        )
    hook = getattr(_load_bench_module("faults"), "run", None)
    if not callable(hook):
        raise SystemExit("bench: bench/faults.py has no run(service, stop) function")
    return hook  # type: ignore[no-any-return]


class FaultsRunning:
    """Runs a fault hook in a thread for the duration of a `with` block (nothing without one)."""

    def __init__(self, service: Service, hook: FaultHook | None) -> None:
        self.service, self.hook = service, hook
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.thread: threading.Thread | None = None

    def _run(self) -> None:
        assert self.hook is not None
        try:
            self.hook(self.service, self.stop)
        except BaseException as exc:  # reported when the phase ends
            self.errors.append(exc)

    def __enter__(self) -> FaultsRunning:
        if self.hook is not None:
            self.thread = threading.Thread(target=self._run, name="faults", daemon=True)
            self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(120)
        if self.errors:
            raise SystemExit(f"bench: the fault injector failed: {self.errors[0]!r}")


def _costs(
    service: Service, roots0: dict[str, int], cpu0: dict[str, float], n: int, mem: MemorySampler
) -> dict[str, Any]:
    roots1 = service.roots()
    out: dict[str, Any] = {"workers_memory": mem.figures()}
    if roots1 != roots0:
        out["cpu_ms_per_filing"] = "not measured: a process was restarted during the phase"
    else:
        cpu1 = tree_cpu(roots1, ALONE)
        out["cpu_ms_per_filing"] = {k: round((cpu1[k] - cpu0[k]) / n * 1000, 1) for k in roots1}
    return out


def _callbacks(service: Service, sent: list[Sent], lost: list[Sent]) -> dict[str, Any]:
    receiver = service.receiver
    with receiver.lock:
        verdicts = Counter(receiver.verdicts.get(s.webhook_id, "?") for s in sent if s not in lost)
        rules = Counter(r for s in sent for r in set(receiver.rules.get(s.webhook_id, [])))
    return {
        "lost_callbacks": len(lost),
        "duplicate_callbacks": duplicates(receiver, sent),
        "verdicts": dict(verdicts),
        "rules_in_filings": dict(rules.most_common(8)),
    }


def warm_up(poster: Poster, indexes: range) -> None:
    """Every worker process's sandbox children and the API's first requests, before timing."""
    warm = [poster.post(i, f"{poster.mix.name}-warm") for i in indexes]
    if wait_callbacks(poster.service.receiver, warm):
        raise SystemExit("bench: the warm-up filings got no callback")


def run_throughput(poster: Poster, indexes: range, posters: int, hook: FaultHook | None) -> dict[str, Any]:
    """Filings posted as fast as `posters` threads can; first POST to last callback."""
    service, n = poster.service, len(indexes)
    roots0 = service.roots()
    cpu0, checks0, load0 = tree_cpu(roots0, ALONE), _check_totals(service.base), _load()
    with MemorySampler(service) as mem, FaultsRunning(service, hook):
        t_start = time.time()
        with ThreadPoolExecutor(posters) as pool:
            sent = list(pool.map(lambda i: poster.post(i, f"{poster.mix.name}-tp"), indexes))
        t_posted = time.time()
        lost = wait_callbacks(service.receiver, sent)
    arrived = {s.webhook_id: service.receiver.arrivals[s.webhook_id] for s in sent if s not in lost}
    t_last = max(arrived.values(), default=t_posted)
    lat = [arrived[s.webhook_id] - s.t0 for s in sent if s.webhook_id in arrived]
    return {
        "filings": n,
        "load_avg": f"{load0} → {_load()}",
        "posting_s": round(t_posted - t_start, 2),
        "filings_per_min": round(len(arrived) / (t_last - t_start) * 60, 1),
        "latency_p50_s": round(_percentile(lat, 0.5), 3) if lat else None,
        "latency_p95_s": round(_percentile(lat, 0.95), 3) if lat else None,
        **_callbacks(service, sent, lost),
        **_costs(service, roots0, cpu0, n, mem),
        "checks": _check_means(checks0, _check_totals(service.base)),
    }


def run_paced(poster: Poster, indexes: range, per_min: float, hook: FaultHook | None) -> dict[str, Any]:
    """Filings posted open-loop at `per_min`: each POST starts on time, whatever the ones before."""
    service, n = poster.service, len(indexes)
    interval = 60 / per_min
    roots0 = service.roots()
    cpu0, checks0, load0 = tree_cpu(roots0, ALONE), _check_totals(service.base), _load()
    with MemorySampler(service) as mem, FaultsRunning(service, hook):
        with ThreadPoolExecutor(16) as pool:
            t_first = time.time()
            futures = []
            for k, i in enumerate(indexes):
                delay = t_first + k * interval - time.time()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(poster.post, i, f"{poster.mix.name}-lat"))
            sent = [f.result() for f in futures]
        lost = wait_callbacks(service.receiver, sent)
    lat = [service.receiver.arrivals[s.webhook_id] - s.t0 for s in sent if s not in lost]
    return {
        "filings": n,
        "load_avg": f"{load0} → {_load()}",
        "rate_filings_per_min": round(per_min, 1),
        "latency_p50_s": round(_percentile(lat, 0.5), 3) if lat else None,
        "latency_p95_s": round(_percentile(lat, 0.95), 3) if lat else None,
        "latency_max_s": round(max(lat), 3) if lat else None,
        **_callbacks(service, sent, lost),
        **_costs(service, roots0, cpu0, n, mem),
        "checks": _check_means(checks0, _check_totals(service.base)),
    }


def _log_size(service: Service) -> int:
    service.log.flush()
    return (service.work / "service.log").stat().st_size


def per_document_checks(service: Service, mix: Mix, indexes: range, since: int) -> dict[str, Any]:
    """Check times per document of the mix, from the workers' `check.done` log lines (info)
    written after offset `since` of the service's log."""
    import hashlib

    kind: dict[str, str] = {}
    for i in indexes:
        for name, data in mix.files(i):
            kind[hashlib.sha256(data).hexdigest()] = name
    times: dict[str, list[float]] = {}
    service.log.flush()
    with (service.work / "service.log").open("rb") as fh:
        fh.seek(since)
        for raw in fh:
            line = raw.decode("utf-8", errors="replace")
            if '"check.done"' not in line:
                continue
            try:
                event = json.loads(line)
            except ValueError:
                continue
            document = kind.get(event.get("sha256", ""))
            if document is not None:
                times.setdefault(document, []).append(float(event["duration_ms"]))
    out: dict[str, Any] = {}
    for name, values in times.items():
        mean = sum(values) / len(values)
        row: dict[str, Any] = {
            "checks": len(values),
            "mean_ms": round(mean, 1),
            "p50_ms": round(_percentile(values, 0.5), 1),
            "p95_ms": round(_percentile(values, 0.95), 1),
        }
        if name in mix.pages:
            row["mean_ms_per_page"] = round(mean / mix.pages[name], 1)
        out[name] = row
    return out


def run_mix(
    service: Service, mix_name: str, args: argparse.Namespace, hook: FaultHook | None
) -> dict[str, Any]:
    n, m = args.filings, args.latency_filings
    mix = make_mix(mix_name, WARM_FILINGS + n + m)
    poster = Poster(service, mix, retry_until=60.0 if hook is not None else 0.0)
    print(f"bench: {mix_name}: warming up (load average {_load()})", flush=True)
    warm_up(poster, range(WARM_FILINGS))
    tp_indexes = range(WARM_FILINGS, WARM_FILINGS + n)
    print(f"bench: {mix_name}: throughput, {n} filings by {args.posters} posters", flush=True)
    tp = run_throughput(poster, tp_indexes, args.posters, hook)
    print(f"  {json.dumps(tp, ensure_ascii=False)}", flush=True)
    paced_indexes = range(WARM_FILINGS + n, WARM_FILINGS + n + m)
    rate = tp["filings_per_min"] / 2
    print(f"bench: {mix_name}: latency, {m} filings at {rate:.1f}/min", flush=True)
    log_start = _log_size(service)
    paced = run_paced(poster, paced_indexes, rate, hook)
    print(f"  {json.dumps(paced, ensure_ascii=False)}", flush=True)
    result: dict[str, Any] = {"throughput": tp, "paced": paced}
    if args.log_level == "info":
        result["checks_by_document"] = per_document_checks(service, mix, paced_indexes, log_start)
    return result


def run_e2e(args: argparse.Namespace, work: Path, redis: Any) -> dict[str, Any]:
    hook = load_faults() if args.faults else None
    mixes = [args.mix]
    if args.baseline not in ("none", args.mix):
        mixes.insert(0, args.baseline)
    service = start_service(work, redis, args.threads, args.log_level)
    results: dict[str, Any] = {}
    try:
        for name in mixes:
            results[name] = run_mix(service, name, args, hook if name == args.mix else None)
        time.sleep(3)  # a late duplicate would arrive within the outbox's poll (0.5 s) and a retry
        with service.receiver.lock:
            results["duplicate_callbacks_at_end"] = sum(
                c - 1 for c in service.receiver.times_received.values() if c > 1
            )
    finally:
        stop_service(service)
    return results


def _fmt_mem(mem: dict[str, Any]) -> str:
    return (
        f"peak of summed RSS {mem['peak_sum_rss_mb']} MB ({mem['most_processes_at_once']} processes), "
        f"sum of each process's own peak {mem['sum_of_process_peaks_mb']} MB, "
        f"largest {mem['largest_process_peak_mb']} MB"
    )


def report(results: dict[str, Any], args: argparse.Namespace) -> None:
    """The figures of each mix, side by side."""
    for name, r in results.items():
        if not isinstance(r, dict) or "throughput" not in r:
            continue
        tp, paced = r["throughput"], r["paced"]
        print(f"\n{name} mix, 2 worker processes x {args.threads} threads, log level {args.log_level}:")
        print(
            f"  throughput: {tp['filings_per_min']} filings/min ({tp['filings']} filings, load {tp['load_avg']}); "
            f"p50 {tp['latency_p50_s']} s, p95 {tp['latency_p95_s']} s under that load"
        )
        print(
            f"  latency at {paced['rate_filings_per_min']}/min ({paced['filings']} filings, load {paced['load_avg']}): "
            f"p50 {paced['latency_p50_s']} s, p95 {paced['latency_p95_s']} s, max {paced['latency_max_s']} s"
        )
        for phase, p in (("throughput", tp), ("latency", paced)):
            print(
                f"  {phase}: lost callbacks {p['lost_callbacks']}, duplicate {p['duplicate_callbacks']}; "
                f"verdicts {p['verdicts']}"
            )
        print(f"  CPU ms per filing (throughput phase): {tp['cpu_ms_per_filing']}")
        if isinstance(tp["cpu_ms_per_filing"], dict):
            total = sum(tp["cpu_ms_per_filing"].values())
            cores = os.cpu_count() or 1
            print(
                f"  all processes: {total:.0f} ms CPU a filing, so at most {cores * 60_000 / total:.0f} "
                f"filings/min on {cores} otherwise idle cores"
            )
        print(f"  worker memory (throughput phase): {_fmt_mem(tp['workers_memory'])}")
        print(f"  worker memory (latency phase): {_fmt_mem(paced['workers_memory'])}")
        print(f"  check ms by format (throughput phase): {tp['checks']}")
        print(f"  check ms by format (latency phase): {paced['checks']}")
        if "checks_by_document" in r:
            print("  check ms by document (latency phase, from the workers' log):")
            for doc, row in r["checks_by_document"].items():
                print(f"    {doc}: {row}")
    if "duplicate_callbacks_at_end" in results:
        print(f"\nduplicate callbacks over the whole run: {results['duplicate_callbacks_at_end']}")


# --- the queue alone -------------------------------------------------------------------------------


def _noop_broker(redis_url: str, namespace: str) -> Any:
    import dramatiq
    from courtdoc.infra.settings import Settings
    from courtdoc.workers.broker import build_broker

    broker = build_broker(Settings(), redis_url, namespace)
    dramatiq.actor(broker=broker, actor_name="noop", queue_name="intake")(_noop)
    return broker


def _noop(i: int) -> None:
    return None


def noop_worker(redis_url: str, namespace: str, threads: int) -> None:
    """A worker process of the queue benchmark: boots, says ready, starts on a line from stdin."""
    import dramatiq

    broker = _noop_broker(redis_url, namespace)
    print("ready", flush=True)
    sys.stdin.readline()
    worker = dramatiq.Worker(broker, queues={"intake"}, worker_threads=threads, worker_timeout=100)
    worker.start()  # Dramatiq's default prefetch (2 x threads), as the service's workers
    sys.stdin.readline()  # until the bench closes stdin
    worker.stop(timeout=10_000)


def run_queue(redis_url: str, messages: int, processes: int, threads: int) -> float:
    namespace = f"bench-queue-{os.urandom(4).hex()}"
    broker = _noop_broker(redis_url, namespace)
    actor = broker.get_actor("noop")
    for i in range(messages):
        actor.send(i)
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "_noop_worker", redis_url, namespace, str(threads)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_env(),
        )
        for _ in range(processes)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == b"ready"
    t0 = time.time()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write(b"go\n")
        p.stdin.flush()
    r = broker.client
    queue_key, msgs_key = f"{namespace}:intake", f"{namespace}:intake.msgs"
    while r.hlen(msgs_key) > 0 or r.llen(queue_key) > 0:
        time.sleep(0.01)
    elapsed = time.time() - t0
    for p in procs:
        assert p.stdin is not None
        p.stdin.close()
    for p in procs:
        p.wait(30)
    keys = list(r.scan_iter(f"{namespace}:*"))
    if keys:
        r.delete(*keys)
    return messages / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--filings", type=int, default=300, help="filings of the throughput phase, per mix")
    parser.add_argument("--posters", type=int, default=8)
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process")
    parser.add_argument(
        "--latency-filings", type=int, default=150, help="filings of the paced phase, per mix"
    )
    parser.add_argument("--queue-messages", type=int, default=20_000)
    parser.add_argument(
        "--mix",
        choices=("corpus", "light", "realistic"),
        default="corpus",
        help="small corpus documents, files refused on sniffing, or realistic distinct filings",
    )
    parser.add_argument(
        "--baseline",
        choices=("light", "corpus", "realistic", "none"),
        default="light",
        help="a mix measured first on the same service, to compare with",
    )
    parser.add_argument(
        "--log-level",
        choices=("warning", "info"),
        default="warning",
        help="the service's; info also gives check times per document from the workers' log",
    )
    parser.add_argument(
        "--faults",
        action="store_true",
        help="run bench/faults.py's run(service, stop) during the main mix's timed phases",
    )
    parser.add_argument("--appendfsync", choices=("always", "everysec"), default="always")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--skip-queue", action="store_true")
    args = parser.parse_args()
    if args.faults and not args.skip_e2e:
        load_faults()  # says at once when the injector is missing

    from courtdoc.infra.redisserver import RedisServer

    work = Path(tempfile.mkdtemp(prefix="courtdoc-bench-"))
    # With faults, the fault thread restarts Redis: the server must not die with that thread.
    redis = RedisServer(work / "redis", appendfsync=args.appendfsync, tied_to_parent=not args.faults).start()
    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_avg_at_start": _load()}
    try:
        print(f"bench: Redis {redis.url} (AOF, appendfsync {args.appendfsync}); load average {_load()}")
        if not args.skip_queue:
            for procs, threads in ((2, 8), (2, 1)):
                rate = run_queue(redis.url, args.queue_messages, procs, threads)
                results[f"queue_noop_{procs}x{threads}_msgs_per_s"] = round(rate)
                print(f"queue, no-op actor, {procs} processes x {threads} threads: {rate:,.0f} messages/s")
        if not args.skip_e2e:
            results.update(run_e2e(args, work, redis))
            report(results, args)
        results["load_avg_at_end"] = _load()
        print(json.dumps(results, ensure_ascii=False))
    finally:
        redis.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_noop_worker":
        noop_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        sys.exit(0)
    sys.exit(main())
