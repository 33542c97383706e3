"""The fault matrix: what each fault, at each moment, costs in lost and duplicate filings.

    python bench/bench_chaos.py [--repeat 20] [--matrix] [--filings 20] [--seed 1]

Each run is `tests/chaos.py`'s scenario: a private Redis (AOF, `appendfsync always`), the real
API on uvicorn, `courtdoc worker --processes 2 --threads 4` and a callback receiver on 127.0.0.1;
`--filings` filings (the corpus's mixed DOCX + text PDF + JPEG filing) posted by four threads
over four seconds, faults during the posting, then every callback collected.

  * `--repeat N` (default 20): the Redis restart seen losing filings before the reconciler —
    Redis stopped (SIGTERM and SIGKILL alternately) at a random moment 0.5–3 s into the run
    and started again 4 s later; N seeded runs.
  * `--matrix`: every fault kind (Redis SIGKILL, Redis SIGTERM, one worker process SIGKILLed,
    the whole worker SIGTERMed) at three moments — 0.3 s (filings arriving, checks starting),
    2.0 s (checks and finalizes under way), 3.8 s (the last filings arriving, callbacks going out) —
    one run each.

Printed per run: filings accepted, without a callback, with more than one; the time from the
fault's end to the last callback; the slowest 202 → callback. A baseline run without faults is
measured first in the same invocation. Exit status 1 if any filing was lost or duplicated.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from chaos import Fault, FaultPlan, ScenarioResult, run_scenario  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
FILING = {
    "Исковое заявление.docx": "normcontrol-document-parser/bold.docx",
    "Доверенность представителя.pdf": "py-pdf-sample-files/002-trivial-libre-office-writer.pdf",
    "Квитанция об оплате госпошлины.jpg": "python-docx/court-exif.jpg",
}
POSTERS = 4
POSTING_S = 4.0


def _files(tmp: Path) -> list[Path]:
    out = []
    for name, rel in FILING.items():
        dst = tmp / name
        dst.write_bytes((CORPUS / rel).read_bytes())
        out.append(dst)
    return out


def _run(plan: FaultPlan, filings: int) -> ScenarioResult:
    with tempfile.TemporaryDirectory(prefix="courtdoc-chaos-") as tmp:
        files = _files(Path(tmp))
        return run_scenario(
            Path(tmp) / "run",
            files,
            plan,
            posters=POSTERS,
            posts_each=max(1, filings // POSTERS),
            posting_s=POSTING_S,
            wait_s=180.0,
        )


def _row(label: str, r: ScenarioResult) -> str:
    lost, dup = len(r.missing), len(r.duplicates)
    return (
        f"| {label} | {len(r.accepted)} | {lost} | {dup} | {r.recovery_s:.1f} s | {r.slowest_s:.1f} s | "
        f"{r.worker_events.get('reconcile.resent', 0)} | {r.worker_events.get('retry.enqueue_waiting', 0)} |"
    )


HEADER = (
    "| fault × moment | accepted | lost | duplicate callbacks | fault end → last callback | "
    "slowest 202 → callback | reconciler passes that re-sent | retries held while Redis was away |\n"
    "|---|---|---|---|---|---|---|---|"
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--matrix", action="store_true")
    ap.add_argument("--filings", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    if not CORPUS.is_dir():
        print(f"the corpus is not at {CORPUS}", file=sys.stderr)
        return 2
    from courtdoc.core import logs

    logs.configure("error", "json")  # the API runs in this process: keep its lines off the table
    bad = 0
    print(HEADER)
    base = _run(FaultPlan(args.seed, []), args.filings)
    print(_row("no fault (baseline)", base), flush=True)
    if args.matrix:
        for kind in ("redis-kill", "redis-term", "worker-kill", "worker-term"):
            for at in (0.3, 2.0, 3.8):
                down = 0.0 if kind == "worker-kill" else 4.0
                r = _run(FaultPlan(args.seed, [Fault(at, kind, down)]), args.filings)
                bad += len(r.missing) + len(r.duplicates)
                print(_row(f"{kind} at {at:g} s", r), flush=True)
    recoveries = []
    for i in range(args.repeat):
        import random

        rng = random.Random(args.seed * 1000 + i)
        kind = "redis-term" if i % 2 == 0 else "redis-kill"
        plan = FaultPlan(args.seed * 1000 + i, [Fault(round(rng.uniform(0.5, 3.0), 2), kind, 4.0)])
        r = _run(plan, args.filings)
        bad += len(r.missing) + len(r.duplicates)
        recoveries.append(r.recovery_s)
        print(_row(f"Redis restart #{i + 1}: {kind} at {plan.faults[0].at_s} s, down 4 s", r), flush=True)
    if recoveries:
        print(
            f"\nRedis restarts: {len(recoveries)} runs; fault end → last callback median "
            f"{statistics.median(recoveries):.1f} s, max {max(recoveries):.1f} s; "
            f"lost or duplicated filings in all runs: {bad}"
        )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
