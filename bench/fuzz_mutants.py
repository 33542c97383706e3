"""Long run of the mutation fuzzer: seeded mutants of the corpus and the fixtures, each checked
by `validate_file`; prints the counts of verdicts and findings, and every `file.check_failed`.

    python bench/fuzz_mutants.py [--count N] [--seed S] [--workers W] [--start I] [--jsonl FILE]

Mutants come from `tests/mutants.py` (the test runs a few hundred of the same kind); a failing
mutant is made again from its seed and index: `mutants.mutant(sources, seed, index)`.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import mutants  # noqa: E402
from courtdoc.core.policy import load_policy  # noqa: E402
from courtdoc.engine.sandbox import shared_pool  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=None, help="default: a random seed, printed")
    parser.add_argument("--start", type=int, default=0, help="first mutant index")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--jsonl", type=Path, default=None, help="one line per mutant")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    files = mutants.sources(*mutants.default_folders(ROOT))
    print(f"seed {seed}: {args.count} mutants of {len(files)} files", flush=True)
    policy = load_policy()
    pool = shared_pool(policy.sandbox.memory_limit_mb, policy.sandbox.recycle_rss_mb, args.workers)
    verdicts: Counter[str] = Counter()
    rules: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    failed: list[mutants.Outcome] = []
    started = time.monotonic()
    out = args.jsonl.open("w", encoding="utf-8") if args.jsonl else None
    with tempfile.TemporaryDirectory(prefix="mutants-") as tmp:
        for n, outcome in enumerate(
            mutants.check(files, seed, args.count, Path(tmp), policy, pool, args.workers, args.start), 1
        ):
            verdicts[outcome.verdict] += 1
            kinds[outcome.mutant.kind] += 1
            rules.update(set(outcome.rules))
            if outcome.failures:
                failed.append(outcome)
                print(
                    f"check_failed: {outcome.mutant.index} {outcome.mutant.source} "
                    f"{outcome.mutant.detail}: {outcome.failures}",
                    flush=True,
                )
            if out is not None:
                out.write(
                    json.dumps(
                        {
                            "index": outcome.mutant.index,
                            "source": str(outcome.mutant.source),
                            "kind": outcome.mutant.kind,
                            "detail": outcome.mutant.detail,
                            "verdict": outcome.verdict,
                            "rules": outcome.rules,
                            "failures": outcome.failures,
                            "seconds": round(outcome.seconds, 3),
                        },
                        ensure_ascii=False,
                    )
                    + "\n"
                )
            if n % 100 == 0:
                print(f"{n} mutants, {time.monotonic() - started:.0f} s", flush=True)
    if out is not None:
        out.close()
    pool.close()
    print(f"seed {seed}: {sum(verdicts.values())} mutants in {time.monotonic() - started:.0f} s")
    print("kinds:", dict(kinds))
    print("verdicts:", dict(verdicts))
    print("files with a finding of each rule:")
    for rule, count in rules.most_common():
        print(f"  {rule:28} {count}")
    print(f"check_failed: {len(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
