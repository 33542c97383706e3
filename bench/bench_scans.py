"""Time and peak memory of the scan checks, beside a floor measured in the same run.

Cases (made by fixtures/generate_scans.py --set bench): a 300-dpi A4 greyscale JPEG, a 600-dpi
one, a colour 300-dpi JPEG with a seal (about 3 MB), and a 20-page 300-dpi greyscale scanned PDF
(DCT). The floor is what any check must at least do: each page's JPEG decoded at ¼ scale in
greyscale plus one Laplacian. Each case runs in its own child process on one core (OpenCV held to
one thread), so peak memory (VmHWM) is that case's alone, imports included; times are the best of a few runs.

    python bench/bench_scans.py [--repeat N]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "fixtures" / "generated" / "scans_bench"


def _generate() -> None:
    if (OUT / "bench" / "scan_20pages_300dpi_grey.pdf").exists():
        return
    spec = importlib.util.spec_from_file_location("generate_scans", ROOT / "fixtures" / "generate_scans.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    module.generate(OUT, "bench")


def _jpeg_streams(pdf_path: Path) -> list[bytes]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    pdf = pdfium.PdfDocument(str(pdf_path))
    streams = []
    for page in pdf:
        for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
            streams.append(bytes(obj.get_data(decode_simple=False)))
    return streams


def _peak_rss_kb() -> int:
    """This process's peak resident memory. VmHWM, not ru_maxrss: Linux carries ru_maxrss over
    an exec from the parent, which here generated the fixtures."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_case(case: str, repeat: int) -> dict[str, Any]:
    import io

    import cv2
    import numpy as np
    from courtdoc.checks.findings import Issues
    from courtdoc.checks.image.scan import check_jpeg_file
    from courtdoc.checks.pdf.scan import check_scan_pages
    from courtdoc.policy import default_policy
    from PIL import Image

    cv2.setNumThreads(1)
    policy = default_policy()
    bench = OUT / "bench"
    paths = {
        "jpeg_300": bench / "a4_300dpi.jpg",
        "jpeg_600": bench / "a4_600dpi.jpg",
        "jpeg_colour": bench / "colour_300dpi.jpg",
        "pdf_20": bench / "scan_20pages_300dpi_grey.pdf",
    }
    path = paths[case]

    def floor_pages() -> list[bytes]:
        return _jpeg_streams(path) if case == "pdf_20" else [path.read_bytes()]

    streams = floor_pages()

    def floor() -> None:
        for data in streams:
            with Image.open(io.BytesIO(data)) as image:
                image.draft("L", (image.width // 4, image.height // 4))
                pixels = np.asarray(image.convert("L"))
            cv2.Laplacian(pixels, cv2.CV_64F).var()

    def check() -> int:
        issues = Issues()
        if case == "pdf_20":
            return len(check_scan_pages(path, policy, issues))
        return len(check_jpeg_file(path, policy, issues))

    def best(fn: Any) -> float:
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        return min(times)

    check()  # warm imports and caches once
    floor_s = best(floor)
    check_s = best(check)
    pages = check()
    return {
        "case": case,
        "file_mb": round(path.stat().st_size / 1_048_576, 2),
        "pages": pages,
        "check_ms": round(check_s * 1000, 1),
        "check_ms_per_page": round(check_s * 1000 / pages, 1),
        "floor_ms": round(floor_s * 1000, 1),
        "floor_ms_per_page": round(floor_s * 1000 / pages, 1),
        "peak_rss_mb": round(_peak_rss_kb() / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.repeat)))
        return
    _generate()
    print(
        f"{'case':12} {'MB':>6} {'pages':>5} {'check ms':>9} {'ms/page':>8} {'floor ms':>9} {'floor/page':>10} {'peak RSS MB':>11}"
    )
    for case in ("jpeg_300", "jpeg_600", "jpeg_colour", "pdf_20"):
        out = subprocess.run(
            [sys.executable, __file__, "--case", case, "--repeat", str(args.repeat)],
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['case']:12} {r['file_mb']:6.2f} {r['pages']:5d} {r['check_ms']:9.1f} {r['check_ms_per_page']:8.1f} "
            f"{r['floor_ms']:9.1f} {r['floor_ms_per_page']:10.1f} {r['peak_rss_mb']:11.1f}"
        )


if __name__ == "__main__":
    main()
