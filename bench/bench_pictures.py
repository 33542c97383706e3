"""Time to draw one page picture, cold and cached, beside the plain render measured in the same run.

Inputs (made by the committed fixture scripts):
- pdf:  fixtures/generated/Арыз.pdf, a one-page A4 text PDF (fixtures/generate.py);
- docx: fixtures/generated/text/tnr_normal.docx, one A4 page of Times New Roman 14 text
        (fixtures/generate_text_docs.py), drawn through LibreOffice → PDF → PDFium;
- scan: fixtures/generated/scans/jpeg/a4_300dpi.jpg, an A4 greyscale scan at 300 dpi,
        2480 × 3508 pixels (fixtures/generate_scans.py).

Every case is drawn WIDTH pixels wide (PNG). "cold" is `engine.pictures.render_page` with an
empty cache on a warm sandbox pool (for the DOCX it includes the LibreOffice conversion);
"cached" is the same call again (a read of the cache file). The baseline is the same work done
in this process without the sandbox and without the cache: PDFium render + PNG for the PDF, the
same bounded LibreOffice conversion + PDFium + PNG for the DOCX, Pillow's reduced JPEG decode +
resize + PNG for the scan; `pdftoppm` (poppler) for the PDF is printed too when installed.
Times are the median of --repeat runs, in milliseconds.

    python bench/bench_pictures.py [--repeat N] [--width PX]
"""

from __future__ import annotations

import argparse
import io
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def _inputs() -> dict[str, tuple[Path, str]]:
    from file_cases import GENERATED, generator
    from scan_fixtures import generated as scans
    from text_fixtures import GENERATED as TEXT
    from text_fixtures import load_generator

    files = generator.generate(GENERATED)
    docs = load_generator().generate(TEXT)
    return {
        "pdf": (files["Арыз.pdf"], "pdf"),
        "docx": (docs["tnr_normal"], "docx"),
        "scan": (scans() / "jpeg" / "a4_300dpi.jpg", "jpeg"),
    }


def _ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _baseline(path: Path, fmt: str, width: int) -> bytes:
    import pypdfium2 as pdfium
    from courtdoc.checks import doc_convert
    from PIL import Image

    def draw_pdf(pdf: Path) -> bytes:
        document = pdfium.PdfDocument(str(pdf))
        page = document[0]
        image = page.render(scale=width / page.get_width()).to_pil()
        out = io.BytesIO()
        image.save(out, format="PNG", compress_level=6)
        document.close()
        return out.getvalue()

    if fmt == "pdf":
        return draw_pdf(path)
    if fmt == "docx":
        soffice = doc_convert.find_soffice()
        assert soffice is not None
        with doc_convert.converted(
            path, to="pdf", soffice=soffice, timeout=60, memory_mb=1024, source_suffix=".docx"
        ) as pdf:
            return draw_pdf(pdf)
    with Image.open(path) as image:
        height = round(width * image.height / image.width)
        image.draft("L", (width, height))
        picture = image.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    picture.save(out, format="PNG", compress_level=6)
    return out.getvalue()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--width", type=int, default=1000)
    args = parser.parse_args(argv)

    from courtdoc.core.policy import default_policy
    from courtdoc.engine.pictures import Picture, render_page
    from courtdoc.engine.sandbox import SandboxPool

    policy = default_policy()
    bounds = policy.sandbox
    pool = SandboxPool(1, bounds.memory_limit_mb, bounds.recycle_rss_mb)
    pool.warm()
    inputs = _inputs()
    work = Path(tempfile.mkdtemp(prefix="bench-pictures-"))
    try:
        # one untimed picture: the child imports the drawing module, LibreOffice makes its profile
        for path, fmt in inputs.values():
            render_page(path, fmt, 1, args.width, policy, work / "warmup", pool)
            _baseline(path, fmt, args.width)
        print(f"page pictures, {args.width} px wide PNG, median of {args.repeat} (ms)")
        print(f"{'case':<6} {'baseline':>9} {'cold':>9} {'cached':>9} {'cold/base':>10}  bytes")
        for case, (path, fmt) in inputs.items():
            fresh = iter(range(10_000))  # a new, empty cache directory per cold run

            def cold(path: Path = path, fmt: str = fmt, fresh: Iterator[int] = fresh) -> None:
                picture = render_page(path, fmt, 1, args.width, policy, work / f"cold-{next(fresh)}", pool)
                assert isinstance(picture, Picture), picture

            base = _ms(lambda path=path, fmt=fmt: _baseline(path, fmt, args.width), args.repeat)
            first = _ms(cold, args.repeat)
            hot_dir = work / f"hot-{case}"
            picture = render_page(path, fmt, 1, args.width, policy, hot_dir, pool)
            hot = _ms(
                lambda path=path, fmt=fmt, hot_dir=hot_dir: render_page(path, fmt, 1, args.width, policy, hot_dir, pool),
                args.repeat,
            )
            size = len(picture.data) if isinstance(picture, Picture) else 0
            print(f"{case:<6} {base:>9.1f} {first:>9.1f} {hot:>9.1f} {first / base:>9.2f}x  {size}")
        pdftoppm = shutil.which("pdftoppm")
        if pdftoppm:
            pdf = inputs["pdf"][0]
            cmd = [pdftoppm, "-png", "-singlefile", "-f", "1", "-l", "1", "-scale-to-x", str(args.width),
                   "-scale-to-y", "-1", str(pdf), str(work / "pdftoppm")]  # fmt: skip
            ms = _ms(lambda: subprocess.run(cmd, check=True), args.repeat)
            print(f"pdf by pdftoppm (poppler, a process per page): {ms:.1f} ms")
    finally:
        pool.close()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
