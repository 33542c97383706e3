"""Verdicts of two courtdoc trees on the same files, side by side: every fixture and every corpus
document checked by each tree, then the reports compared.

    python bench/compare_verdicts.py BASELINE_TREE [CURRENT_TREE] [--lang en] [--out DIR]

A tree is a checkout of the repository (the root is the `courtdoc` package); each is imported in
its own process through a folder holding a `courtdoc` link to it, so two layouts of the code can
be compared in one run. Prints the files whose reports differ, the verdicts and rule ids that
changed, and writes both JSONL files to --out. Timing fields are left out of the comparison; each tree runs `courtdoc check` over all the files at
once, as a person would.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
_VOLATILE = {"elapsed_ms", "checked_at", "duration_ms", "timings"}



def inputs() -> list[Path]:
    files = [p for p in sorted((ROOT / "fixtures" / "generated").rglob("*")) if p.is_file()]
    files = [p for p in files if "bulk" not in p.parts and p.stat().st_size < 50_000_000]
    if CORPUS.is_dir():
        files += [
            p for p in sorted(CORPUS.rglob("*")) if p.is_file() and p.name not in ("README.md", "SOURCES.tsv")
        ]
    return files


def _strip(value: object) -> object:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in _VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def run_tree(tree: Path, files: list[Path], lang: str) -> dict[str, dict[str, object]]:
    """Each file's report from one `courtdoc check --format json` of all of them (the files are
    judged as one filing too, which adds filing findings beside the file reports, not in them)."""
    with tempfile.TemporaryDirectory() as link_dir:
        os.symlink(tree.resolve(), Path(link_dir) / "courtdoc")
        env = {**os.environ, "PYTHONPATH": link_dir}
        proc = subprocess.run(
            [sys.executable, "-m", "courtdoc.cli", "check", "--format", "json", "--lang", lang,
             "--jobs", "2", *map(str, files)],
            capture_output=True,
            text=True,
            env=env,
            cwd=link_dir,
            check=False,
        )
    if proc.returncode not in (0, 1):
        sys.exit(f"{tree}: {proc.stderr[-2000:]}")
    reports = json.loads(proc.stdout)["files"]
    return {str(path): report for path, report in zip(files, reports, strict=True)}


def _rules(report: dict[str, object]) -> list[str]:
    findings = report.get("findings", [])
    assert isinstance(findings, list)
    return sorted(f"{f['rule']}:{f['severity']}" for f in findings)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("baseline", type=Path)
    parser.add_argument("current", type=Path, nargs="?", default=ROOT)
    parser.add_argument("--lang", default="en")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    files = inputs()
    before = run_tree(args.baseline, files, args.lang)
    after = run_tree(args.current, files, args.lang)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, data in (("baseline", before), ("current", after)):
            with open(args.out / f"{name}.jsonl", "w", encoding="utf-8") as fh:
                for path, report in data.items():
                    fh.write(json.dumps({"path": path, "report": report}, ensure_ascii=False) + "\n")
    changed = verdicts = 0
    for path in (str(p) for p in files):
        a, b = _strip(before.get(path, {})), _strip(after.get(path, {}))
        if a == b:
            continue
        changed += 1
        assert isinstance(a, dict) and isinstance(b, dict)
        shown = os.path.relpath(path, ROOT)
        va, vb = a.get("verdict"), b.get("verdict")
        if va != vb:
            verdicts += 1
        ra, rb = _rules(a), _rules(b)
        gone, new = sorted(set(ra) - set(rb)), sorted(set(rb) - set(ra))
        what = f"verdict {va} -> {vb}" if va != vb else f"verdict {va}"
        detail = f"; rules -{gone} +{new}" if gone or new else "; same rules, other detail"
        print(f"{shown}: {what}{detail}")
    print(f"{len(files)} files, {changed} reports differ, {verdicts} verdicts changed")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
