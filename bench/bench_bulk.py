"""Bulk re-validation figures: scaling, duplicate skip rate, driver memory, queue overhead, costs.

1. files/s of `courtdoc revalidate` with --jobs 1 and --jobs 2 on the same archive without
   copies (every file is checked); then on document-sized generated files, and on the real
   documents of ../shared/corpus;
2. the duplicate-content skip rate on the mixed archive (a fifth of its files are copies);
3. the driver's peak resident memory (VmHWM of the revalidate process) on 2,000, 20,000 and
   40,000 files (ZIP archives, mostly copies so the larger runs stay short: memory is the point);
4. the queue: the same archive as (1) through a private redis-server and two `courtdoc worker
   --queues bulk` processes, against the local --jobs 2 run; Redis memory per queued bulk
   message; blob store cost per new file;
5. per-file cost by format with the given policy (one sandbox child, minimum and median).

The machine has 2 cores, shared with other work while this runs: wall-clock figures are noisy,
and a 2-process run cannot show more speed-up than the cores left idle by others allow.

Usage: python bench/bench_bulk.py [--files N] [--policy FILE] [--big N] [--skip-queue]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "generate_archive", ROOT / "fixtures" / "generate_archive.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _peak_rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def revalidate(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run the command; returns its last run stats, wall seconds and the driver's peak RSS (kB)."""
    target = Path(args[args.index("--out") + 1])
    log = target.with_name(target.name + ".log")
    cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "courtdoc.cli.main", "revalidate", *args, "--no-progress"],
            stdout=subprocess.DEVNULL,
            stderr=err,
            env={**os.environ, **(env or {})},
        )
        peak = 0
        while proc.poll() is None:
            peak = max(peak, _peak_rss_kb(proc.pid))
            time.sleep(0.1)
    if proc.returncode != 0:
        raise RuntimeError(f"revalidate failed: {log.read_text()[-2000:]}")
    cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    driver_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    stats: dict[str, Any] = json.loads((target / "run.json").read_text())["runs"][-1]
    stats["wall_s"] = time.monotonic() - started
    stats["driver_peak_rss_mb"] = peak / 1024
    # CPU of the command's process (its sandbox children are reaped by the forkserver, not by it).
    stats["driver_cpu_s"] = driver_cpu
    return stats


def _fast_policy(path: Path, tmp: Path) -> Path:
    import re

    text = re.sub(
        r"(?m)^((?:title|ocr)_timeout_seconds) = .*$", r"\1 = 0", path.read_text(encoding="utf-8")
    )
    out = tmp / "bench-policy.toml"
    out.write_text(text, encoding="utf-8")
    return out


def scaling(
    archive: Path, policy: Path, tmp: Path, n: int, label: str = "1. local scaling"
) -> dict[int, dict[str, Any]]:
    runs = {}
    for jobs in (1, 2):
        runs[jobs] = revalidate(
            [
                str(archive),
                "--policy",
                str(policy),
                "--out",
                str(tmp / f"{archive.name}-jobs{jobs}"),
                "--jobs",
                str(jobs),
            ]
        )
    one, two = runs[1], runs[2]
    print(f"\n{label}, {n} files, no copies")
    for jobs, r in runs.items():
        print(
            f"   --jobs {jobs}: {r['files_per_s']:7.1f} files/s  ({r['seconds']:.1f} s in the run, "
            f"{r['wall_s']:.1f} s wall, command CPU {r['driver_cpu_s']:.1f} s); "
            f"{r['files_per_s_running']:7.1f} files/s between the first and the last line"
        )
    print(
        f"   speed-up 2 vs 1 process: {two['files_per_s'] / one['files_per_s']:.2f}x over the whole run, "
        f"{two['files_per_s_running'] / one['files_per_s_running']:.2f}x once running "
        "(the pool's start, the filings and the summary left out)"
    )
    return runs


CORPUS = ROOT.parent / "shared" / "corpus"


def corpus_scaling(policy: Path, tmp: Path) -> None:
    """The same figure on real documents: every file of ../shared/corpus (word-processor, scanner
    and PDF-producer output, .doc conversions included), each content checked once."""
    if not CORPUS.is_dir():
        print(f"\n1b. skipped: no corpus at {CORPUS}")
        return
    runs = {}
    for jobs in (1, 2):
        runs[jobs] = revalidate(
            [str(CORPUS), "--policy", str(policy), "--out", str(tmp / f"corpus{jobs}"), "--jobs", str(jobs)]
        )
    print(f"\n1b. local scaling on the real documents of {CORPUS} ({runs[1]['written']} files)")
    for jobs, r in runs.items():
        print(
            f"   --jobs {jobs}: {r['files_per_s']:7.2f} files/s  ({r['seconds']:.1f} s in the run, "
            f"{r['wall_s']:.1f} s wall, command CPU {r['driver_cpu_s']:.1f} s)"
        )
    print(f"   speed-up 2 vs 1 process: {runs[2]['files_per_s'] / runs[1]['files_per_s']:.2f}x")


def duplicates(tmp: Path, policy: Path, n: int) -> None:
    gen = _generator()
    archive = gen.generate(tmp / "mixed", n, seed=7)
    r = revalidate([str(archive), "--policy", str(policy), "--out", str(tmp / "mixed-out"), "--jobs", "2"])
    print(f"\n2. duplicate content, {n} files (a fifth are copies of earlier files)")
    print(
        f"   checked {r['fresh']} distinct contents, replayed {r['replayed']} copies: "
        f"skip rate {r['duplicate_skip_rate']:.1%}; {r['files_per_s']:.1f} files/s"
    )


def memory(tmp: Path, policy: Path, big: int) -> None:
    gen = _generator()
    print("\n3. driver peak memory (VmHWM of the revalidate process), ZIP sources, 90% copies")
    for n in (2000, big, 2 * big):
        archive = gen.generate(tmp / f"mem{n}", n, seed=13, kind="zip", duplicate_share=0.9)
        r = revalidate(
            [str(archive), "--policy", str(policy), "--out", str(tmp / f"mem{n}-out"), "--jobs", "2"]
        )
        print(
            f"   {n:>6} files: peak {r['driver_peak_rss_mb']:6.1f} MB; {r['fresh']} checked, "
            f"{r['replayed']} replayed, {r['files_per_s']:.0f} files/s, {r['wall_s']:.0f} s"
        )


def queue(archive: Path, policy: Path, tmp: Path, n: int, local: dict[str, Any]) -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import dramatiq
    from courtdoc.infra.blobstore import BlobStore
    from courtdoc.infra.redisserver import RedisServer
    from courtdoc.infra.settings import Settings
    from courtdoc.workers.broker import BULK, build_broker
    from courtdoc.workers.bulk import ACTOR
    from service_harness import settings_env, write_clients

    data = tmp / "svc"
    data.mkdir()
    write_clients(data / "clients.toml")
    server = RedisServer(tmp / "redis", appendfsync="everysec").start()
    settings = Settings(
        data_dir=data,
        redis_url=server.url,
        namespace="bench",
        clients_file=data / "clients.toml",
        log_level="warning",
    )
    env = settings_env(settings)
    # Same CPU priority as the command, to measure the queue's cost (bulk workers default to +10).
    env["COURTDOC_BULK_NICE"] = "0"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "courtdoc.cli.main",
            "worker",
            "--queues",
            BULK,
            "--processes",
            "2",
            "--threads",
            "1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        r = revalidate(
            [str(archive), "--policy", str(policy), "--out", str(tmp / "queued"), "--queue"], env=env
        )
    finally:
        worker.terminate()
        worker.wait(60)
    print(f"\n4. queue: {n} files through Redis and 2 bulk worker processes (1 thread each)")
    print(
        f"   queue: {r['files_per_s']:7.1f} files/s ({r['seconds']:.1f} s); local --jobs 2: {local['files_per_s']:7.1f} files/s ({local['seconds']:.1f} s)"
    )
    print(f"   overhead per file: {(r['seconds'] - local['seconds']) / n * 1000:+.1f} ms wall")
    print(
        f"   command CPU per file: queue {r['driver_cpu_s'] / n * 1000:.2f} ms (hash, blob store, send, read "
        f"back, write); local {local['driver_cpu_s'] / n * 1000:.2f} ms"
    )

    import redis as redis_lib

    client = redis_lib.Redis.from_url(server.url)
    broker = build_broker(settings, server.url, "bench:dq-mem")
    broker.declare_queue(BULK)
    before = int(client.info("memory")["used_memory"])
    count = 5000
    for i in range(count):
        broker.enqueue(
            dramatiq.Message(
                queue_name=BULK,
                actor_name=ACTOR,
                args=("mem", str(i), "0" * 64, "Доверенность представителя.pdf", "f" * 64, "en"),
                kwargs={},
                options={},
            )
        )
    after = int(client.info("memory")["used_memory"])
    print(f"   Redis memory per queued bulk message: {(after - before) / count:.0f} bytes ({count} messages)")
    broker.close()

    blobs = BlobStore(tmp / "blob-bench")
    files = [p for p in archive.rglob("*") if p.is_file()][:300]
    t0 = time.perf_counter()
    for p in files:
        staged = blobs.stage(1 << 26)
        staged.write(p.read_bytes())
        staged.commit()
    per = (time.perf_counter() - t0) / len(files) * 1000
    size = statistics.mean(p.stat().st_size for p in files)
    print(
        f"   blob store: {per:.2f} ms per new file (mean {size / 1024:.1f} KiB; fsync of file and 2 directories)"
    )
    server.stop()


def per_format(policy_path: Path, tmp: Path) -> None:
    from courtdoc import pipeline
    from courtdoc.core.policy import load_policy
    from courtdoc.engine.sandbox import SandboxPool

    gen = _generator()
    policy = load_policy(policy_path)
    pool = SandboxPool(1, policy.sandbox.memory_limit_mb, policy.sandbox.recycle_rss_mb)
    pool.warm()
    d = tmp / "formats"
    d.mkdir()
    samples: dict[str, list[Path]] = {}
    for i, (_, name, data) in enumerate(gen.files(400, seed=21, duplicate_share=0)):
        ext = name.rpartition(".")[2]
        if ext in ("pdf", "docx", "xlsx", "jpg") and data and len(samples.setdefault(ext, [])) < 12:
            p = d / f"{i}-{name}"
            p.write_bytes(data)
            samples[ext].append(p)
    print(
        f"\n5. per-file cost by format, policy {policy_path.name}, one sandbox child (wall ms: min / median)"
    )
    for ext, paths in samples.items():
        times = []
        for p in paths:
            t0 = time.perf_counter()
            pipeline.validate_file(p, policy, pool=pool)
            times.append((time.perf_counter() - t0) * 1000)
        print(f"   {ext:5} {min(times):7.1f} / {statistics.median(times):7.1f}  ({len(times)} files)")
    pool.close()


def main() -> int:
    parser = argparse.ArgumentParser(description="bulk re-validation figures")
    parser.add_argument("--files", type=int, default=1000, help="archive size for scaling and queue runs")
    parser.add_argument("--big", type=int, default=20000, help="the larger archive of the memory comparison")
    parser.add_argument(
        "--policy", type=Path, default=None, help="policy for the per-format costs (default: shipped)"
    )
    parser.add_argument("--skip-queue", action="store_true")
    parser.add_argument(
        "--only", choices=("scaling", "corpus", "memory", "queue", "formats"), help="one part only"
    )
    args = parser.parse_args()
    from courtdoc.core.policy import DEFAULT_POLICY_PATH

    with tempfile.TemporaryDirectory(prefix="courtdoc-bench-bulk-") as name:
        tmp = Path(name)
        fast = _fast_policy(args.policy or DEFAULT_POLICY_PATH, tmp)
        print(f"cpu cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}")
        print("runs 1-4 use the policy with the OCR of page heads off (ocr.title_timeout_seconds = 0)")
        gen = _generator()
        archive = gen.generate(tmp / "scale", args.files, seed=3, duplicate_share=0.0)
        part = args.only
        if part in (None, "scaling", "queue"):
            runs = scaling(archive, fast, tmp, args.files)
        if part in (None, "scaling"):
            documents = gen.generate(
                tmp / "documents", args.files // 2, seed=5, duplicate_share=0.0, documents=True
            )
            scaling(
                documents,
                fast,
                tmp,
                args.files // 2,
                "1a. local scaling on document-sized files (3-page PDFs, 60-paragraph DOCX, A4 scans at 200 dpi)",
            )
        if part in (None, "scaling", "corpus"):
            corpus_scaling(fast, tmp)
        if part in (None, "scaling"):
            duplicates(tmp, fast, 2000)
        if part in (None, "memory"):
            memory(tmp, fast, args.big)
        if part in (None, "queue") and not args.skip_queue:
            queue(archive, fast, tmp, args.files, runs[2])
        if part in (None, "formats"):
            for i, policy in enumerate((args.policy or DEFAULT_POLICY_PATH, fast)):
                (tmp / f"pf{i}").mkdir()
                per_format(policy, tmp / f"pf{i}")
        print(f"\nload average at the end: {os.getloadavg()[0]:.1f}")
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
