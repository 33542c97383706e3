"""PDF font inventory speed: courtdoc's text layer against a plain pdfplumber `page.chars` loop.

Both read the same generated 100-page text PDF (about 2,300 characters a page, each line cut
into several text objects as word processors write them), in one run, one process, one core.
PDFium per character (the font size and name of every character through the text page) and
PDFium per text object are shown for reference.

Usage: python bench/bench_pdf_fonts.py [--pages N] [--repeat R] [PDF]
Wall time is what a caller waits; CPU time is this process's own (on a loaded machine it is the
fairer figure). Pages per second are computed from each.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pdfplumber
import pypdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from courtdoc.checks.pdf import text as pdf_text
from courtdoc.core.policy import default_policy

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PDF = ROOT / "fixtures" / "generated" / "pdf_text" / "bench_100.pdf"


def _generate(path: Path) -> None:
    spec = importlib.util.spec_from_file_location(
        "generate_pdfs_text", ROOT / "fixtures" / "generate_pdfs_text.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.bench_pdf(path)


def courtdoc_inventory(path: Path, pages: int) -> int:
    layer = pdf_text.read_text_layer(pypdf.PdfReader(path), default_policy())
    summary = pdf_text.summary(layer, default_policy())
    return summary.chars


def pdfplumber_chars(path: Path, pages: int) -> int:
    fonts: Counter[tuple[str, float]] = Counter()
    with pdfplumber.open(path) as pdf:
        for page in pdf.pages[:pages]:
            for char in page.chars:
                fonts[(char["fontname"], round(char["size"], 1))] += 1
            page.close()
    return sum(fonts.values())


def pdfium_per_char(path: Path, pages: int) -> int:
    fonts: Counter[tuple[bytes, float]] = Counter()
    buf = ctypes.create_string_buffer(256)
    flags = ctypes.c_int()
    pdf = pdfium.PdfDocument(str(path))
    for index in range(min(pages, len(pdf))):
        page = pdf[index]
        textpage = pdfium_c.FPDFText_LoadPage(page.raw)
        for i in range(pdfium_c.FPDFText_CountChars(textpage)):
            size = pdfium_c.FPDFText_GetFontSize(textpage, i)
            pdfium_c.FPDFText_GetFontInfo(textpage, i, buf, 256, flags)
            fonts[(buf.value, round(size, 1))] += 1
        pdfium_c.FPDFText_ClosePage(textpage)
        page.close()
    pdf.close()
    return sum(fonts.values())


def pdfium_per_object(path: Path, pages: int) -> int:
    """Font, size and matrix per text object, characters through the text page."""
    fonts: Counter[tuple[bytes, float]] = Counter()
    name = ctypes.create_string_buffer(256)
    size = ctypes.c_float()
    matrix = pdfium_c.FS_MATRIX()
    text = (ctypes.c_ushort * 4096)()
    pdf = pdfium.PdfDocument(str(path))
    for index in range(min(pages, len(pdf))):
        page = pdf[index]
        textpage = pdfium_c.FPDFText_LoadPage(page.raw)
        for j in range(pdfium_c.FPDFPage_CountObjects(page.raw)):
            obj = pdfium_c.FPDFPage_GetObject(page.raw, j)
            if pdfium_c.FPDFPageObj_GetType(obj) != pdfium_c.FPDF_PAGEOBJ_TEXT:
                continue
            pdfium_c.FPDFTextObj_GetFontSize(obj, size)
            pdfium_c.FPDFPageObj_GetMatrix(obj, matrix)
            pdfium_c.FPDFFont_GetBaseFontName(pdfium_c.FPDFTextObj_GetFont(obj), name, 256)
            n = pdfium_c.FPDFTextObj_GetText(obj, textpage, text, ctypes.sizeof(text))
            height = abs(matrix.a * matrix.d - matrix.b * matrix.c) / max(
                1e-9, (matrix.a**2 + matrix.b**2) ** 0.5
            )
            fonts[(name.value, round(size.value * height, 1))] += max(0, n // 2 - 1)
        pdfium_c.FPDFText_ClosePage(textpage)
        page.close()
    pdf.close()
    return sum(fonts.values())


def measure(fn: Callable[[Path, int], int], path: Path, pages: int, repeat: int) -> tuple[float, float, int]:
    """Best wall and CPU seconds over `repeat` runs, and the characters counted."""
    best_wall = best_cpu = float("inf")
    chars = 0
    for _ in range(repeat):
        wall, cpu = time.perf_counter(), time.process_time()
        chars = fn(path, pages)
        best_wall = min(best_wall, time.perf_counter() - wall)
        best_cpu = min(best_cpu, time.process_time() - cpu)
    return best_wall, best_cpu, chars


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pdf", nargs="?", type=Path, default=DEFAULT_PDF)
    parser.add_argument("--pages", type=int, default=100, help="pages the slow readers read (default 100)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each fast reader; the best counts")
    args = parser.parse_args()
    if args.pdf == DEFAULT_PDF and not DEFAULT_PDF.exists():
        _generate(DEFAULT_PDF)
    total = len(pypdf.PdfReader(args.pdf).pages)
    pages = min(args.pages, total)
    print(f"{args.pdf.name}: {total} pages; slow readers read {pages}")
    rows = [
        ("courtdoc text layer (per run)", courtdoc_inventory, total, args.repeat),
        ("pdfplumber page.chars", pdfplumber_chars, pages, 1),
        ("pypdfium2 per character", pdfium_per_char, pages, 1),
        ("pypdfium2 per text object", pdfium_per_object, total, args.repeat),
    ]
    results: dict[str, tuple[float, float]] = {}
    print(f"{'reader':32} {'pages':>5} {'chars':>8} {'wall s':>8} {'pages/s':>8} {'CPU s':>8} {'pages/s':>8}")
    for label, fn, n, repeat in rows:
        wall, cpu, chars = measure(fn, args.pdf, n, repeat)
        results[label] = (n / wall, n / cpu)
        print(f"{label:32} {n:5d} {chars:8d} {wall:8.3f} {n / wall:8.0f} {cpu:8.3f} {n / cpu:8.0f}")
    ours = results["courtdoc text layer (per run)"]
    plumber = results["pdfplumber page.chars"]
    print(
        f"courtdoc / pdfplumber: {ours[0] / plumber[0]:.1f}x faster (wall), {ours[1] / plumber[1]:.1f}x faster (CPU)"
    )


if __name__ == "__main__":
    main()
