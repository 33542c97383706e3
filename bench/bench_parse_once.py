"""Per-file check time of two source trees in one run: each file parsed once per format.

    python bench/bench_parse_once.py --baseline DIR [--current DIR] [--rounds 3] [--repeats 5] [--hostile]

Each tree is a directory holding a `courtdoc` symlink to a checkout (the baseline: e.g. a
`git worktree add --detach ../base <commit>` linked as `DIR/courtdoc`; the current one defaults
to a temporary directory linking this checkout). Every measurement imports its tree in a subprocess of its own
with PYTHONPATH pointing at that directory, and runs the real inspection path in-process
(`engine.inspection.inspect`, or `inspection.inspect` in the older flat layout) with the shipped
policy: one warm-up, then `--repeats` checks of each input. The two trees alternate for `--rounds`
rounds, so both see the same load; a figure is the median of every check of that input.
The same child counts PDFium document opens (constructing `pypdfium2.PdfDocument` from a file)
during one check of each PDF.

Inputs (built once into bench/.cache/parse_once/ by bench/realistic_inputs.py's writers):
  - text.pdf: a 2-page text PDF drawn by reportlab in DejaVu Serif 14 pt, fonts embedded;
  - application.docx: a 3-page application (python-docx, Times New Roman 14 pt, numbered list of
    attachments);
  - calculation.xlsx: the fixture `Расчёт суммы иска.xlsx` of fixtures/generate.py;
  - scan.jpg: an A4 greyscale scan at 300 dpi, JPEG quality 80;
  - scan20.pdf: a 20-page scan, A4 at 300 dpi, one baseline JPEG (quality 60) a page, wrapped by
    img2pdf as scanner software writes them;
  - with --hostile, also `Решение суда (поток 200 МиБ).pdf` of fixtures/generate.py: one page
    whose content stream inflates to 200 MiB of operators (one check a round: seconds each).

CPU time is the child's own (`time.process_time`): on a machine shared with other work it is the
fairer figure; wall time is printed beside it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(__file__).resolve().parent / ".cache" / "parse_once"
HOSTILE = "Решение суда (поток 200 МиБ).pdf"

# Runs inside each child: argv = [inputs json, repeats]; prints one JSON line.
CHILD = r"""
import json, statistics, sys, time
from pathlib import Path
import pypdfium2

try:
    from courtdoc.engine.inspection import inspect
    from courtdoc.core.policy import default_policy
except ImportError:  # the flat layout before core/ and engine/
    from courtdoc.inspection import inspect
    from courtdoc.policy import default_policy

opens = [0]


class CountingDocument(pypdfium2.PdfDocument):
    def __init__(self, source, *args, **kwargs):
        if not isinstance(source, pypdfium2.raw.FPDF_DOCUMENT):
            opens[0] += 1
        super().__init__(source, *args, **kwargs)


pypdfium2.PdfDocument = CountingDocument
inputs, repeats = json.loads(sys.argv[1]), int(sys.argv[2])
policy = default_policy()
out = {}
for name, path, ext, runs in inputs:
    runs = min(runs, repeats)
    opens[0] = 0
    inspect(Path(path), ext, policy)  # warm-up, and the count of opens of one check
    counted = opens[0]
    cpu, wall = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        inspect(Path(path), ext, policy)
        cpu.append(time.process_time() - c)
        wall.append(time.perf_counter() - w)
    out[name] = {"cpu": cpu, "wall": wall, "opens": counted}
print(json.dumps(out))
"""


def _load(name: str, path: Path) -> Any:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def build_inputs(hostile: bool) -> list[tuple[str, Path, str, int]]:
    """(label, path, extension, repeats cap) of each input, written once into the cache."""
    CACHE.mkdir(parents=True, exist_ok=True)
    ri = _load("realistic_inputs", ROOT / "bench" / "realistic_inputs.py")
    n = 7  # one filing's documents of the realistic service bench
    text_pdf, docx, jpeg, scan = (CACHE / f for f in ("text.pdf", "application.docx", "scan.jpg", "scan20.pdf"))
    if not text_pdf.exists():
        ri.write_text_pdf(text_pdf, n)
    if not docx.exists():
        ri.write_application(docx, n)
    if not jpeg.exists():
        ri.write_scan_jpeg(jpeg, n + 1)  # an even filing: 300 dpi
    if not scan.exists():
        import img2pdf

        pages = [
            ri._scan_page(300, (n * 7 + s) % ri.BASE_PAGES, n, s + 1, ri.JPEG_QUALITY_PDF) for s in range(20)
        ]
        scan.write_bytes(img2pdf.convert(pages))
    generated = _load("courtdoc_fixtures_generate", ROOT / "fixtures" / "generate.py").generate()
    inputs = [
        ("PDF, text (2 pages)", text_pdf, "pdf", 1000),
        ("DOCX (3 pages)", docx, "docx", 1000),
        ("XLSX", Path(generated["Расчёт суммы иска.xlsx"]), "xlsx", 1000),
        ("JPEG scan (A4, 300 dpi)", jpeg, "jpg", 1000),
        ("PDF, scan (20 pages)", scan, "pdf", 1000),
    ]
    if hostile:
        inputs.append(("PDF, 200 MiB operators", Path(generated[HOSTILE]), "pdf", 1))
    return inputs


def measure(tree: Path, inputs: list[tuple[str, Path, str, int]], repeats: int) -> dict[str, Any]:
    payload = json.dumps([(label, str(path), ext, cap) for label, path, ext, cap in inputs])
    done = subprocess.run(
        [sys.executable, "-c", CHILD, payload, str(repeats)],
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(Path.home())},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{tree}: the child failed\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a directory holding a `courtdoc` link")
    parser.add_argument("--current", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--hostile", action="store_true")
    args = parser.parse_args(argv)
    inputs = build_inputs(args.hostile)
    with tempfile.TemporaryDirectory(prefix="courtdoc-tree-") as tmp:
        current = args.current
        if current is None:
            current = Path(tmp)
            (current / "courtdoc").symlink_to(ROOT)
        trees = {"baseline": args.baseline, "current": current}
        samples: dict[str, dict[str, dict[str, list[float]]]] = {t: {} for t in trees}
        opens: dict[str, dict[str, int]] = {t: {} for t in trees}
        for round_no in range(args.rounds):
            order = list(trees) if round_no % 2 == 0 else list(reversed(trees))
            for tree in order:
                for label, found in measure(trees[tree], inputs, args.repeats).items():
                    entry = samples[tree].setdefault(label, {"cpu": [], "wall": []})
                    entry["cpu"] += found["cpu"]
                    entry["wall"] += found["wall"]
                    opens[tree][label] = found["opens"]
    print(f"baseline: {args.baseline} ({(args.baseline / 'courtdoc').resolve()})")
    print(f"current:  {ROOT if args.current is None else args.current}")
    print(f"{args.rounds} rounds × {args.repeats} checks an input a tree; medians; CPU time of the child")
    head = f"{'input':<26} {'baseline ms':>12} {'current ms':>11} {'change':>8}   {'wall base':>9} {'wall cur':>9}"
    print(head + f"   {'PDFium opens (base → current)':>29}")
    for label, *_ in inputs:
        base, cur = samples["baseline"][label], samples["current"][label]
        b_cpu, c_cpu = statistics.median(base["cpu"]) * 1000, statistics.median(cur["cpu"]) * 1000
        b_wall, c_wall = statistics.median(base["wall"]) * 1000, statistics.median(cur["wall"]) * 1000
        change = (c_cpu - b_cpu) / b_cpu * 100
        pdf = label.startswith("PDF")
        count = f"{opens['baseline'][label]} → {opens['current'][label]}" if pdf else "-"
        print(
            f"{label:<26} {b_cpu:12.1f} {c_cpu:11.1f} {change:+7.1f}%   {b_wall:9.1f} {c_wall:9.1f}   {count:>29}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
