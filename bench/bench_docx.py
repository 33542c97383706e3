"""Timing of the text checks of DOCX, DOC and XLSX files, side by side with the obvious alternatives.

* DOCX: courtdoc's effective-formatting resolver (from the ZIP, and with the main part already
  parsed as the pipeline has it) against a bare lxml pass over every run's properties and
  python-docx's object model (runs' font name and size), on a generated 20-page Word-like
  document and on a Word-made report of the shared corpus.
* DOC: LibreOffice conversion time per file (fresh profile, then the reused profile).
* XLSX: courtdoc's direct XML pass against openpyxl's read-only mode on the same workbook.

CPU time of this process (`time.process_time`) is reported next to wall time: the machine is
shared, and CPU time is what the check costs. Each figure is the minimum and the median of N runs.

Usage: python bench/bench_docx.py [--runs N]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from courtdoc.checks import doc_convert, xlsx_fonts
from courtdoc.checks.docx.text import read_text
from courtdoc.checks.ooxml import SAFE_PARSER
from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "generate_text_docs", ROOT / "fixtures" / "generate_text_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def measure(fns: dict[str, Callable[[], object]], runs: int) -> dict[str, tuple[list[float], list[float]]]:
    """Interleaved runs (so load changes hit every contender alike): CPU and wall ms per call."""
    out: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in fns}
    for fn in fns.values():
        fn()  # warm: imports, caches of the interpreter
    for _ in range(runs):
        for name, fn in fns.items():
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            out[name][0].append((time.process_time() - c0) * 1000)
            out[name][1].append((time.perf_counter() - w0) * 1000)
    return out


def report(title: str, results: dict[str, tuple[list[float], list[float]]]) -> None:
    print(f"\n{title}")
    print(f"  {'':44s} {'CPU min':>8s} {'CPU med':>8s} {'wall min':>9s} {'wall med':>9s}  (ms)")
    for name, (cpu, wall) in results.items():
        print(
            f"  {name:44s} {min(cpu):8.1f} {statistics.median(cpu):8.1f} {min(wall):9.1f} {statistics.median(wall):9.1f}"
        )


def bare_lxml(path: Path) -> int:
    """Parse document.xml and styles.xml, read every attribute of every run's properties."""
    with zipfile.ZipFile(path) as zf:
        root = etree.fromstring(zf.read("word/document.xml"), SAFE_PARSER)
        etree.fromstring(zf.read("word/styles.xml"), SAFE_PARSER)
    n = 0
    for r in root.iter(W + "r"):
        rpr = r.find(W + "rPr")
        if rpr is not None:
            for child in rpr:
                n += len(child.attrib)
    return n


def python_docx(path: Path) -> int:
    """python-docx's object model: every run of every body and table paragraph, font name and size."""
    import docx

    document = docx.Document(str(path))
    n = 0
    paragraphs = list(document.paragraphs)
    for table in document.tables:
        for row in table.rows:
            for cell in row.cells:
                paragraphs.extend(cell.paragraphs)
    for paragraph in paragraphs:
        for run in paragraph.runs:
            if run.font.name is not None or run.font.size is not None:
                n += 1
    return n


def courtdoc_zip(path: Path) -> None:
    with zipfile.ZipFile(path) as zf:
        read_text(zf)


def bench_docx(path: Path, title: str, runs: int) -> None:
    with zipfile.ZipFile(path) as zf:
        main = etree.fromstring(zf.read("word/document.xml"), SAFE_PARSER)
        pages = sum(1 for _ in main.iter(W + "p"))
        nruns = sum(1 for _ in main.iter(W + "r"))
        chars = read_text(zf).chars
        zf_open = zipfile.ZipFile(path)
    results = measure(
        {
            "courtdoc resolver (from the ZIP)": lambda: courtdoc_zip(path),
            "courtdoc resolver (main part parsed, pipeline)": lambda: read_text(zf_open, main),
            "bare lxml pass over run properties": lambda: bare_lxml(path),
            "python-docx object model": lambda: python_docx(path),
        },
        runs,
    )
    zf_open.close()
    report(f"{title}: {pages} paragraphs, {nruns} runs, {chars} characters counted", results)


def bench_doc(paths: list[Path]) -> None:
    soffice = doc_convert.find_soffice()
    print("\n.doc → .docx with LibreOffice headless (per file; wall seconds)")
    if soffice is None:
        print("  LibreOffice is not installed: skipped")
        return
    profile = Path(tempfile.gettempdir()) / f"{doc_convert.PREFIX}{os.getpid()}-profile"
    for path in paths:
        times = []
        for attempt in range(2):
            if attempt == 0:
                shutil.rmtree(profile, ignore_errors=True)
            t0 = time.perf_counter()
            with doc_convert.converted_docx(path, soffice=soffice, timeout=60, memory_mb=1024) as out:
                size = out.stat().st_size
            times.append(time.perf_counter() - t0)
        print(
            f"  {path.name:50s} fresh profile {times[0]:5.2f} s, reused profile {times[1]:5.2f} s ({size} bytes)"
        )


def bench_xlsx(path: Path, title: str, runs: int) -> None:
    import warnings

    import openpyxl

    def openpyxl_read_only() -> int:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wb = openpyxl.load_workbook(path, read_only=True)
        n = 0
        for ws in wb.worksheets:
            for row in ws.iter_rows():
                for cell in row:
                    if getattr(cell, "value", None) is not None:
                        font = cell.font
                        n += 1 if font.name else 0
        wb.close()
        return n

    def courtdoc_xlsx() -> None:
        with zipfile.ZipFile(path) as zf:
            xlsx_fonts.read_text(zf)

    results = measure(
        {"courtdoc direct XML pass": courtdoc_xlsx, "openpyxl read-only": openpyxl_read_only}, runs
    )
    report(title, results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    gen = _generator()
    with tempfile.TemporaryDirectory(prefix="courtdoc-bench-") as tmp:
        out = Path(tmp)
        doc20 = gen.bench_document(out / "bench-20-pages.docx", pages=20)
        bench_docx(doc20, "Generated 20-page DOCX (Word-like markup)", args.runs)
        word = CORPUS / "normcontrol-document-parser" / "Марицинкевич В.И. К41401 Отчёт по практике 2022.docx"
        if word.is_file():
            bench_docx(word, "Word-made report from the corpus", args.runs)
        files = gen.generate(out / "gen", libreoffice=doc_convert.find_soffice() is not None)
        docs = [files[k] for k in ("lo_tnr14_doc",) if k in files]
        docs += [
            p
            for p in (CORPUS / "apache-poi" / n for n in ("o_kurs.doc", "rasp.doc", "Word6.doc"))
            if p.is_file()
        ]
        bench_doc(docs)
        import openpyxl

        wb = openpyxl.Workbook()
        ws = wb.active
        for row in range(1, 2001):
            for col in range(1, 11):
                ws.cell(row=row, column=col, value=f"Ячейка {row}-{col}")
        big = out / "cells-20000.xlsx"
        wb.save(str(big))
        bench_xlsx(big, "XLSX, 20,000 text cells", max(3, args.runs // 3))
        stress = CORPUS / "apache-poi" / "stress002.xlsx"
        if stress.is_file():
            bench_xlsx(stress, "XLSX from the corpus: apache-poi/stress002.xlsx", max(3, args.runs // 3))


if __name__ == "__main__":
    main()
