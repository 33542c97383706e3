"""How many lists of attachments the reader reads whole, beside the previous reader, and the
filing verdicts that change with it.

    python bench/list_reading.py --baseline DIR [--verdicts] [--corpus]

The lists are `fixtures/generate_lists.py`'s blocks (Kazakhstan court application templates in
Russian, Kazakh and English), each as DOCX and as PDF. A list is read whole when the reader finds
as many entries as the block has and each entry's words are the block's (page and copy counts
aside). The previous reader runs in a child process from the `--baseline` directory (a checkout
of the previous commit importable as `courtdoc`); both read the same files. `--verdicts` also
checks every generated filing (the blocks' filings and `fixtures/generate_filings.py`'s) with both
and prints each verdict or filing rule that changed; `--corpus` reads every PDF and DOCX of the
shared corpus and counts those where a list of attachments was found.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
TODAY = dt.date(2024, 3, 20)


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "fixtures" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _filing_dirs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir())


def side(folder: Path, verdicts: bool, corpus: bool) -> dict[str, Any]:
    """What the `courtdoc` on sys.path reads and decides (run in the process of either side)."""
    from courtdoc import pipeline
    from courtdoc.checks import outline

    try:
        from courtdoc.core.policy import default_policy
    except ImportError:  # the previous, flat layout
        from courtdoc.policy import default_policy  # type: ignore[no-redef]
    policy = default_policy()
    out: dict[str, Any] = {"lists": {}, "verdicts": {}, "corpus": {}}
    for path in sorted((folder / "blocks").iterdir()):
        found = outline.extract(path, path.suffix[1:], policy)
        out["lists"][path.name] = [a["title"] for a in (found.attachments if found else [])]
    if verdicts:
        for case in _filing_dirs(folder / "filings") + _filing_dirs(folder / "cases"):
            meta_path = case / "filing.json"
            meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
            files = sorted(p for p in case.iterdir() if p.is_file() and p != meta_path)
            try:
                report = pipeline.validate_filing(files, policy, metadata=meta, today=TODAY)
            except ValueError as exc:
                out["verdicts"][case.name] = {"filing": f"error: {type(exc).__name__}", "rules": []}
                continue
            # The filing-level verdict: the generated PDFs are in DejaVu Serif, which the font
            # rules refuse file by file whatever their list says.
            rules = sorted({f"{f.rule}:{f.severity}" for f in report.findings})
            level = "reject" if any(f.severity == "reject" for f in report.findings) else "accept"
            out["verdicts"][case.name] = {"filing": level, "rules": rules}
    if corpus:
        for path in sorted(CORPUS.rglob("*")):
            fmt = path.suffix.lower()[1:]
            if fmt not in ("pdf", "docx") or not path.is_file():
                continue
            try:
                found = outline.extract(path, fmt, policy)
            except Exception:  # a damaged corpus file: the outline is not this bench's subject
                continue
            out["corpus"][str(path.relative_to(CORPUS))] = len(found.attachments) if found else 0
    return out


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.lower())


def _whole(got: list[str], want: list[str]) -> bool:
    return len(got) == len(want) and all(_words(g) == _words(w) for g, w in zip(got, want, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--baseline",
        required=True,
        help="a directory holding a `courtdoc` link to the previous checkout (git worktree add …)",
    )
    parser.add_argument("--verdicts", action="store_true", help="also compare filing verdicts")
    parser.add_argument("--corpus", action="store_true", help="also read the shared corpus")
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side:
        result = side(Path(args.dir), args.verdicts, args.corpus)
        Path(args.side).write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        return

    lists = _load("generate_lists")
    filings = _load("generate_filings")
    with tempfile.TemporaryDirectory(prefix="courtdoc-lists-") as tmp:
        folder = Path(tmp)
        lists.generate(folder)
        if args.verdicts:
            filings.generate(folder / "cases")
        sys.path.insert(0, str(ROOT.parent))  # this checkout, when it is not installed
        now = side(folder, args.verdicts, args.corpus)
        out_json = folder / "baseline.json"
        env = {**os.environ, "PYTHONPATH": args.baseline}
        flags = [f for f, on in (("--verdicts", args.verdicts), ("--corpus", args.corpus)) if on]
        cmd = [sys.executable, __file__, "--side", str(out_json), "--dir", str(folder), *flags]
        subprocess.run(cmd, env=env, check=True, cwd=tmp)
        before = json.loads(out_json.read_text(encoding="utf-8"))

    from courtdoc.checks.filing.listparse import split_pages

    truth = {b.name: [split_pages(e)[0] for e in lists.expected(b)] for b in lists.BLOCKS}
    print(f"{'list':<24} {'fmt':<5} {'entries':>7}  {'before':>7} {'after':>7}")
    totals = {"before": 0, "after": 0}
    by_fmt: dict[str, dict[str, int]] = {}
    for name in sorted(now["lists"]):
        block, fmt = name.rsplit(".", 1)
        want = truth[block]
        marks = {}
        for label, result in (("before", before), ("after", now)):
            ok = _whole(result["lists"].get(name, []), want)
            totals[label] += ok
            by_fmt.setdefault(fmt, {"before": 0, "after": 0, "n": 0})[label] += ok
            marks[label] = f"{len(result['lists'].get(name, []))}{'' if ok else '✗'}"
        by_fmt[fmt]["n"] += 1
        print(f"{block:<24} {fmt:<5} {len(want):>7}  {marks['before']:>7} {marks['after']:>7}")
    n = len(now["lists"])
    print(f"\nread whole: before {totals['before']}/{n}, after {totals['after']}/{n}")
    for fmt, t in sorted(by_fmt.items()):
        print(f"  {fmt}: before {t['before']}/{t['n']}, after {t['after']}/{t['n']}")
    if args.verdicts:
        changed = [
            (case, before["verdicts"].get(case), after)
            for case, after in sorted(now["verdicts"].items())
            if before["verdicts"].get(case) != after
        ]
        print(f"\nfilings: {len(now['verdicts'])}, changed: {len(changed)}")
        for case, old, new in changed:
            print(f"  {case}: {old} -> {new}")
    if args.corpus:
        with_list = {k: v for k, v in now["corpus"].items() if v}
        old_list = {k: v for k, v in before["corpus"].items() if v}
        print(f"\ncorpus PDF/DOCX read: {len(now['corpus'])}; with a list: before {len(old_list)}, after {len(with_list)}")
        for k in sorted(set(with_list) | set(old_list)):
            print(f"  {k}: before {old_list.get(k, 0)}, after {with_list.get(k, 0)}")


if __name__ == "__main__":
    main()
