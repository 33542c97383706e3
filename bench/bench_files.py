"""Benchmark of the file-level validator: time and peak memory per file kind, the sandbox's cost,
and the fixed cost of starting `courtdoc check`.

    python bench/bench_files.py [--runs N] [--policy FILE] [--no-hostile]

Figures are wall-clock on whatever else the machine is doing; each per-file figure is the median
of N runs on a warm pool (the first run of each kind is discarded).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

KINDS: list[tuple[str, str, str]] = [
    ("pdf", "Заявление о пересмотре.pdf", "pdf"),
    ("docx", "Заявление о пересмотре.docx", "docx"),
    ("xlsx", "Расчёт суммы иска.xlsx", "xlsx"),
    ("doc", "Отзыв на иск.doc", "doc"),
    ("jpeg", "Доверенность представителя.jpg", "jpg"),
    ("pdf 20 MiB", "Доверенность ровно 20 МиБ.pdf", "pdf"),
    ("docx bomb", "Договор 205 МиБ.docx", "docx"),
]
HOSTILE: list[tuple[str, str, str]] = [
    ("hostile: 4 GiB stream", "Решение суда (поток 4 ГиБ).pdf", "pdf"),
    ("hostile: 200 MiB operators", "Решение суда (поток 200 МиБ).pdf", "pdf"),
]


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "courtdoc_fixtures_generate", ROOT / "fixtures" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _median_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.1f}"


def _mib(value: float) -> str:
    return f"{value / 1_048_576:7.0f}"


def _timed(fn: Callable[[], object], runs: int, warm: bool = True) -> list[float]:
    if warm:
        fn()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def per_file(paths: dict[str, Path], runs: int, policy_file: str | None, hostile: bool) -> None:
    from courtdoc.core.policy import load_policy
    from courtdoc.engine.sandbox import SandboxPool
    from courtdoc.pipeline import validate_file

    policy = load_policy(policy_file)
    pool = SandboxPool(1, policy.sandbox.memory_limit_mb, policy.sandbox.recycle_rss_mb)
    pool.warm()
    print(
        f"policy {policy.id} {policy.version}; sandbox: {policy.sandbox.memory_limit_mb} MB, {policy.sandbox.time_limit_seconds:g} s"
    )
    print(f"{'kind':28} {'size KiB':>9} {'median ms':>9} {'peak RSS MiB':>12} {'peak VM MiB':>11}  findings")
    for label, name, _ in KINDS + (HOSTILE if hostile else []):
        path = paths[name]
        is_hostile = label.startswith("hostile")
        reports: list[Any] = []

        def one(path: Path = path, reports: list[Any] = reports) -> None:
            reports.append(validate_file(path, policy, pool=pool))

        times = _timed(one, 1 if is_hostile else runs, warm=not is_hostile)
        stats = pool.recent[-1]
        rules = sorted({f.rule for f in reports[-1].findings})
        print(
            f"{label:28} {path.stat().st_size / 1024:9.0f} {_median_ms(times)} {_mib(stats.peak_rss):>12} "
            f"{_mib(stats.peak_vm) if stats.peak_vm else '-':>11}  {', '.join(rules) or '-'}"
        )
    pool.close()


def overhead(paths: dict[str, Path], runs: int) -> None:
    from courtdoc.core.policy import load_policy
    from courtdoc.engine.sandbox import SandboxPool
    from courtdoc.pipeline import inspect

    policy = load_policy()
    pool = SandboxPool(1, policy.sandbox.memory_limit_mb, policy.sandbox.recycle_rss_mb)
    pool.warm()
    print(
        f"\n{'sandbox cost per file':28} {'in-process ms':>13} {'pooled ms':>10} {'overhead ms':>11}  (min | median)"
    )
    cases = [(label, name, ext) for label, name, ext in KINDS if label in ("pdf", "docx", "xlsx", "jpeg")]
    cases.append(("nearly free (exe as .pdf)", "Решение суда.pdf", "pdf"))
    for label, name, ext in cases:
        path = paths[name]
        direct = _timed(lambda path=path, ext=ext: inspect(path, ext, policy), runs)
        pooled = _timed(lambda path=path, ext=ext: pool.run(inspect, (path, ext, policy), 60), runs)
        d, p = statistics.median(direct), statistics.median(pooled)
        low = (min(pooled) - min(direct)) * 1000
        print(f"{label:28} {d * 1000:13.1f} {p * 1000:10.1f} {low:11.1f} | {(p - d) * 1000:.1f}")
    started = time.perf_counter()
    for _ in range(200):
        pool.run(len, ("x",), 10)
    print(f"{'bare round trip (200 runs)':28} {'':13} {(time.perf_counter() - started) / 200 * 1000:10.2f}")
    # A fresh child from the forkserver (what replacing a killed child costs).
    spawn = []
    for _ in range(5):
        started = time.perf_counter()
        fresh = SandboxPool(1, policy.sandbox.memory_limit_mb, policy.sandbox.recycle_rss_mb)
        fresh.run(len, ("x",), 30)
        spawn.append(time.perf_counter() - started)
        fresh.close()
    print(
        f"{'new child from forkserver':28} {'':13} {statistics.median(spawn[1:]) * 1000:10.1f}  (first: {spawn[0] * 1000:.0f} ms, starts the forkserver)"
    )
    pool.close()


def _cpu_of(run: Callable[[], object]) -> float:
    """CPU seconds (user + system) of the subprocesses `run` starts and waits for."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def startup(paths: dict[str, Path], runs: int) -> None:
    env = dict(os.environ)
    command = [sys.executable, "-m", "courtdoc.cli.main"]
    print(
        f"\n{'fixed cost of the command':28} {'median ms':>9} {'CPU ms':>8}  (CPU: the process and its children)"
    )
    for label, argv in [
        ("courtdoc --version", ["--version"]),
        ("courtdoc rules", ["rules"]),
        ("courtdoc check (1 xlsx)", ["check", str(paths["Расчёт суммы иска.xlsx"])]),
    ]:

        def one(argv: list[str] = argv) -> None:
            subprocess.run([*command, *argv], capture_output=True, env=env)

        wall = _timed(one, runs)
        cpu = [_cpu_of(one) for _ in range(2)]
        print(f"{label:28} {_median_ms(wall)} {min(cpu) * 1000:8.0f}")
    imports = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import courtdoc.cli.main, courtdoc.pipeline"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stderr
    total: dict[str, int] = {}
    for line in imports.splitlines():
        parts = line.split("|")
        if len(parts) == 3 and parts[1].strip().isdigit():
            name = parts[2].strip()
            if not name.startswith(" "):
                total[name] = int(parts[1])
    top = sorted(total.items(), key=lambda kv: -kv[1])
    cli_us = total.get("courtdoc.cli.main", 0)
    pipeline_us = total.get("courtdoc.pipeline", 0)
    print(f"{'import courtdoc.cli.main':28} {cli_us / 1000:9.1f}  (python -X importtime, cumulative)")
    print(f"{'import courtdoc.pipeline':28} {pipeline_us / 1000:9.1f}")
    print("largest cumulative imports: " + ", ".join(f"{n} {us / 1000:.0f} ms" for n, us in top[:6]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--policy", help="policy TOML for the per-file figures (default: shipped)")
    parser.add_argument("--no-hostile", action="store_true", help="skip the hostile files (about 10 s)")
    args = parser.parse_args()
    paths = _generator().generate()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    per_file(paths, args.runs, args.policy, not args.no_hostile)
    overhead(paths, args.runs * 3)
    startup(paths, max(3, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
