"""Where a realistic filing's check time goes: each document's checkers run in this one process.

    python bench/profile_realistic.py [--files 8] [--top 12]

For each document of the realistic filing (bench/realistic_inputs.py), `--files` distinct copies
are inspected one after another by `courtdoc.engine.inspection.inspect` — the work a sandbox child does
for one file — after one untimed copy (imports, caches). Printed per document: CPU ms per file
and per page (process time, so other jobs on the machine inflate it less than wall time), then
the checkers (functions under checks/) by cumulative time and the functions taking the most time
of their own, under cProfile (its overhead included: read the shares, not the absolute figures).
"""

from __future__ import annotations

import argparse
import cProfile
import importlib.util
import pstats
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent


def _inputs() -> Any:
    spec = importlib.util.spec_from_file_location("realistic_inputs", BENCH / "realistic_inputs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--top", type=int, default=12)
    args = parser.parse_args()

    from courtdoc.core.policy import default_policy
    from courtdoc.engine.inspection import inspect

    ri = _inputs()
    folders = ri.ensure(args.files + 1)
    policy = default_policy()
    pages = {ri.APPLICATION: None, ri.SCANNED_PDF: ri.SCAN_PAGES, ri.TEXT_PDF: 2, ri.SCAN_JPEG: 1}
    for name, page_count in pages.items():
        ext = name.rsplit(".", 1)[1]
        inspect(folders[0] / name, ext, policy)  # untimed: imports and caches
        cpu: list[float] = []
        profile = cProfile.Profile()
        for folder in folders[1:]:
            t0 = time.process_time()
            inspect(folder / name, ext, policy)
            cpu.append(time.process_time() - t0)
        for folder in folders[1:]:
            profile.runcall(inspect, folder / name, ext, policy)
        mean_ms = sum(cpu) / len(cpu) * 1000
        per_page = f", {mean_ms / page_count:.0f} ms a page" if page_count else ""
        print(f"\n== {name}: {mean_ms:.0f} ms CPU a file{per_page} (mean of {len(cpu)}, no profiler)")
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(r"/checks/|inspection\.py", args.top)
        stats.sort_stats("tottime").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
