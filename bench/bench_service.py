"""Benchmark of the asynchronous service, end to end, and of the queue's own cost beside it.

    python bench/bench_service.py [--filings 300] [--posters 8] [--latency-filings 150]
                                  [--queue-messages 20000] [--skip-e2e] [--skip-queue]

End to end: a private Redis (AOF, appendfsync always), `courtdoc serve` (API only, one uvicorn
process), `courtdoc worker --processes 2 --threads 8`, and a callback receiver in this process,
all on this machine. A mixed 3-file filing from the corpus (a DOCX, a text PDF, a JPEG scan)
is posted:
  1. throughput — `--filings` posted as fast as `--posters` threads can, timed from the first
     POST to the last callback: filings per minute;
  2. latency — `--latency-filings` posted open-loop at half that rate: p50/p95 from the start of
     the POST to the callback's arrival.
The queue alone: `--queue-messages` no-op messages enqueued, then drained by 2 worker processes
× 8 threads and by 2 × 1 thread (Dramatiq worker on the same broker setup as the service).

Figures are wall-clock on whatever else the machine is doing at the time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
MIXED_FILING = {
    "Исковое заявление.docx": "normcontrol-document-parser/bold.docx",
    "Доверенность представителя.pdf": "py-pdf-sample-files/002-trivial-libre-office-writer.pdf",
    "Квитанция об оплате госпошлины.jpg": "python-docx/court-exif.jpg",
}


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


class Receiver:
    """Records the arrival time of each callback by its webhook-id."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.count = 0
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("content-length", 0)))
                now = time.time()
                with outer.lock:
                    outer.arrivals.setdefault(self.headers["webhook-id"], now)
                    outer.count += 1
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"


def _proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds so far) for every process we can read."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / tick)
    return out


def tree_cpu(roots: dict[str, int], alone: tuple[str, ...] = ()) -> dict[str, float]:
    """CPU seconds used so far by each named process and its living descendants (only the
    process itself for the names in `alone`)."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    totals: dict[str, float] = {}
    for name, root in roots.items():
        stack, total = [root], 0.0
        while stack:
            pid = stack.pop()
            total += table.get(pid, (0, 0.0))[1]
            if name not in alone:
                stack.extend(children.get(pid, []))
        totals[name] = total
    return totals


LIGHT_FILING = {
    # Not the formats their names claim: each is refused after sniffing, so the checkers' own
    # cost is nearly nil and what remains is the service's (API, queue, barrier, callback).
    "Исковое заявление.docx": b"plain text, not a DOCX package " * 20,
    "Доверенность представителя.pdf": b"plain text, not a PDF " * 20,
    "Квитанция об оплате госпошлины.jpg": b"plain text, not a JPEG " * 20,
}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _check_means(base: str) -> dict[str, float]:
    """Mean time per file check by format, from the service's own /metrics."""
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for line in httpx.get(f"{base}/metrics", timeout=10).text.splitlines():
        for name, into in (("sum", sums), ("count", counts)):
            prefix = f'courtdoc_check_duration_seconds_{name}{{format="'
            if line.startswith(prefix):
                fmt = line[len(prefix) :].split('"', 1)[0]
                into[fmt] = float(line.rsplit(" ", 1)[1])
    return {fmt: round(sums[fmt] / counts[fmt] * 1000, 1) for fmt in sums if counts.get(fmt)}


def run_e2e(args: argparse.Namespace, work: Path, redis_url: str, redis_pid: int) -> dict[str, Any]:
    from courtdoc.clients import new_secret
    from courtdoc.redisserver import free_port

    files: list[tuple[str, bytes]] = []
    if args.mix == "light":
        files = list(LIGHT_FILING.items())
    else:
        for name, rel in MIXED_FILING.items():
            src = CORPUS / rel
            if not src.is_file():
                raise SystemExit(f"bench: corpus file {src} missing")
            files.append((name, src.read_bytes()))
    key = "bench-key-" + os.urandom(8).hex()
    (work / "clients.toml").write_text(
        f'[clients.bench]\napi_key = "{key}"\ncallback_secret = "{new_secret()}"\ncallback_hosts = ["127.0.0.1"]\n',
        encoding="utf-8",
    )
    port = free_port()
    env = _env(
        COURTDOC_DATA_DIR=str(work / "data"),
        COURTDOC_REDIS_URL=redis_url,
        COURTDOC_CLIENTS_FILE=str(work / "clients.toml"),
        COURTDOC_CALLBACK_ALLOW_NETWORKS="127.0.0.1/32",
        COURTDOC_PORT=str(port),
        COURTDOC_LOG_LEVEL="warning",
        COURTDOC_OUTBOX_POLL_S="0.5",
    )
    log = (work / "service.log").open("wb")
    api = subprocess.Popen([sys.executable, "-m", "courtdoc.cli", "serve"], env=env, stdout=log, stderr=log)
    workers = subprocess.Popen(
        [sys.executable, "-m", "courtdoc.cli", "worker", "--processes", "2", "--threads", str(args.threads)],
        env=env,
        stdout=log,
        stderr=log,
    )
    receiver = Receiver()
    base = f"http://127.0.0.1:{port}"
    local = threading.local()

    # The multipart body is built once (only the metadata part changes), so the load generator,
    # which shares the machine with the service, spends as little CPU as it can.
    boundary = "bench-" + os.urandom(8).hex()
    files_part = (
        b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{n}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + data
            + b"\r\n"
            for n, data in files
        )
        + f"--{boundary}--\r\n".encode()
    )
    headers = {"Authorization": f"Bearer {key}", "Content-Type": f"multipart/form-data; boundary={boundary}"}

    def post(i: int, tag: str) -> tuple[str, float]:
        client = getattr(local, "client", None)
        if client is None:
            client = local.client = httpx.Client(timeout=60)
        meta = json.dumps({"external_id": f"{tag}-{i}", "callback_url": receiver.url})
        body = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="metadata"\r\n'
            f"Content-Type: application/json\r\n\r\n{meta}\r\n"
        ).encode() + files_part
        t0 = time.time()
        r = client.post(f"{base}/v1/filings", content=body, headers=headers)
        if r.status_code != 202:
            raise SystemExit(f"bench: POST answered {r.status_code}: {r.text[:300]}")
        return "msg_" + r.json()["id"], t0

    try:
        _wait(lambda: _up(base), 90, "the API")
        # Warm-up: every worker process's checking children, the API's first requests.
        warm = [post(i, "warm") for i in range(6)]
        _wait(lambda: all(w in receiver.arrivals for w, _ in warm), 120, "the warm-up filings")

        n = args.filings
        roots = {
            "api": api.pid,
            "workers": workers.pid,
            "redis": redis_pid,
            "bench (client, receiver)": os.getpid(),
        }
        alone = ("bench (client, receiver)",)  # the others are its children
        cpu0 = tree_cpu(roots, alone)
        t_start = time.time()
        with ThreadPoolExecutor(args.posters) as pool:
            sent = list(pool.map(lambda i: post(i, "tp"), range(n)))
        t_posted = time.time()
        _wait(lambda: all(w in receiver.arrivals for w, _ in sent), 900, "the throughput filings")
        t_last = max(receiver.arrivals[w] for w, _ in sent)
        cpu1 = tree_cpu(roots, alone)
        cpu_per_filing = {k: round((cpu1[k] - cpu0[k]) / n * 1000, 1) for k in roots}
        per_min = n / (t_last - t_start) * 60
        check_means = _check_means(base)
        tp_lat = [receiver.arrivals[w] - t0 for w, t0 in sent]

        rate = per_min / 2 / 60  # filings per second, half the measured maximum
        m = args.latency_filings
        interval = 1 / rate
        paced: list[tuple[str, float]] = []
        lock = threading.Lock()
        with ThreadPoolExecutor(max(4, args.posters)) as pool:
            t_first = time.time()
            futures = []
            for i in range(m):
                due = t_first + i * interval
                delay = due - time.time()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(post, i, "lat"))
            for f in futures:
                with lock:
                    paced.append(f.result())
        _wait(lambda: all(w in receiver.arrivals for w, _ in paced), 900, "the latency filings")
        lat = [receiver.arrivals[w] - t0 for w, t0 in paced]
        duplicates = receiver.count - len(receiver.arrivals)
        return {
            "filings": n,
            "posting_s": round(t_posted - t_start, 2),
            "throughput_filings_per_min": round(per_min, 1),
            "throughput_phase_latency_p50_s": round(_percentile(tp_lat, 0.5), 3),
            "throughput_phase_latency_p95_s": round(_percentile(tp_lat, 0.95), 3),
            "paced_rate_filings_per_min": round(rate * 60, 1),
            "paced_filings": m,
            "latency_p50_s": round(_percentile(lat, 0.5), 3),
            "latency_p95_s": round(_percentile(lat, 0.95), 3),
            "latency_max_s": round(max(lat), 3),
            "duplicate_callbacks": duplicates,
            "cpu_ms_per_filing": cpu_per_filing,
            "mean_check_ms_by_format": check_means,
        }
    finally:
        for proc in (workers, api):
            proc.send_signal(signal.SIGTERM)
        for proc in (workers, api):
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
        receiver.server.shutdown()


def _up(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


# --- the queue alone -------------------------------------------------------------------------------


def _noop_broker(redis_url: str, namespace: str) -> Any:
    import dramatiq
    from courtdoc.settings import Settings
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
    parser.add_argument("--filings", type=int, default=300)
    parser.add_argument("--posters", type=int, default=8)
    parser.add_argument("--threads", type=int, default=8, help="threads per worker process")
    parser.add_argument("--latency-filings", type=int, default=150)
    parser.add_argument("--queue-messages", type=int, default=20_000)
    parser.add_argument(
        "--mix",
        choices=("corpus", "light"),
        default="corpus",
        help="corpus documents, or files refused on sniffing",
    )
    parser.add_argument("--appendfsync", choices=("always", "everysec"), default="always")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--skip-queue", action="store_true")
    args = parser.parse_args()

    from courtdoc.redisserver import RedisServer

    work = Path(tempfile.mkdtemp(prefix="courtdoc-bench-"))
    redis = RedisServer(work / "redis", appendfsync=args.appendfsync).start()
    results: dict[str, Any] = {"cpus": os.cpu_count(), "load_avg_at_start": os.getloadavg()}
    try:
        print(
            f"bench: Redis {redis.url} (AOF, appendfsync {args.appendfsync}); load average {os.getloadavg()}"
        )
        if not args.skip_queue:
            for procs, threads in ((2, 8), (2, 1)):
                rate = run_queue(redis.url, args.queue_messages, procs, threads)
                results[f"queue_noop_{procs}x{threads}_msgs_per_s"] = round(rate)
                print(f"queue, no-op actor, {procs} processes x {threads} threads: {rate:,.0f} messages/s")
        if not args.skip_e2e:
            assert redis.process is not None
            e2e = run_e2e(args, work, redis.url, redis.process.pid)
            results.update(e2e)
            print(
                f"end to end, 2 worker processes x {args.threads} threads, 3-file filings ({args.mix}):\n"
                f"  throughput: {e2e['throughput_filings_per_min']} filings/min "
                f"({e2e['filings']} filings; p50 {e2e['throughput_phase_latency_p50_s']} s, "
                f"p95 {e2e['throughput_phase_latency_p95_s']} s under that load)\n"
                f"  latency at {e2e['paced_rate_filings_per_min']} filings/min ({e2e['paced_filings']} filings): "
                f"p50 {e2e['latency_p50_s']} s, p95 {e2e['latency_p95_s']} s, max {e2e['latency_max_s']} s\n"
                f"  duplicate callbacks: {e2e['duplicate_callbacks']}\n"
                f"  CPU ms per filing: {e2e['cpu_ms_per_filing']}\n"
                f"  mean check ms by format: {e2e['mean_check_ms_by_format']}"
            )
        results["load_avg_at_end"] = os.getloadavg()
        print(json.dumps(results))
    finally:
        redis.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_noop_worker":
        noop_worker(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        sys.exit(0)
    sys.exit(main())
