"""Where each legibility figure separates readable from unreadable scan pages — the data behind the thresholds.

Generates (once) the labelled calibration set of fixtures/generate_scans.py (`--set calibration`):
clean 200/300 dpi pages of Russian/Kazakh text and the same pages blurred, low in contrast, too
dark, too faint, noisy, JPEG-compressed, skewed, blank and in small print. Every page is measured
on the two production decode paths — the JPEG file (reduced DCT decode) and the same pixels as a
Flate image PDF (PDFium decode) — plus the derived Epson pages of the shared corpus. Prints a
Markdown table of the figures, then for each thresholded figure the readable/unreadable ranges
and how the policy's threshold classifies every page.

    python bench/calibrate_scans.py [--out DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from courtdoc.checks.findings import Issues
from courtdoc.checks.image.scan import check_jpeg_file
from courtdoc.checks.pdf.scan import check_scan_pages
from courtdoc.core.policy import default_policy

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
OUT = ROOT / "fixtures" / "generated" / "scans_calibration"
FIGURES = (
    "sharpness",
    "contrast",
    "paper_level",
    "ink_level",
    "ink_share",
    "marks",
    "faint_marks",
    "skew_degrees",
    "line_pitch_px",
    "text_size_pt",
)


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("generate_scans", ROOT / "fixtures" / "generate_scans.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def measure(out: Path) -> list[dict[str, Any]]:
    policy = default_policy()
    manifest = json.loads((out / "calibration" / "manifest.json").read_text())
    epson = [
        ("epson_page_300dpi_gray.jpg", True, "clean", 0, []),
        ("epson_page_300dpi_gray_blur.jpg", False, "blur", 12, ["scan.blur"]),
        ("epson_page_300dpi_gray_lowcontrast.jpg", False, "contrast", 11, ["scan.contrast"]),
        ("epson_page_300dpi_gray_skew10.jpg", True, "skew", 10, ["scan.skew"]),
    ]
    for name, readable, degradation, level, expect in epson:
        path = CORPUS / "derived" / name
        if path.exists():
            manifest.append(
                {
                    "file": str(path),
                    "name": f"corpus:{name[:-4]}",
                    "dpi": 300,
                    "readable": readable,
                    "degradation": degradation,
                    "level": level,
                    "expect": expect,
                }
            )
    rows = []
    for page in manifest:
        jpeg_path = Path(page["file"]) if page["name"].startswith("corpus:") else out / page["file"]
        issues = Issues()
        (jpeg,) = check_jpeg_file(jpeg_path, policy, issues)
        row = {
            **page,
            "path": "jpeg",
            **jpeg.metrics["legibility"],
            "found": sorted({i.rule for i in issues}),
        }
        rows.append(row)
        pdf_path = out / "calibration_pdf" / (jpeg_path.stem + ".pdf")
        if pdf_path.exists():
            issues = Issues()
            (pdf,) = check_scan_pages(pdf_path, policy, issues)
            rows.append(
                {
                    **page,
                    "path": "pdf",
                    **pdf.metrics["legibility"],
                    "found": sorted({i.rule for i in issues}),
                }
            )
    return rows


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 1 else f"{value:.1f}"
    return str(value)


def table(rows: list[dict[str, Any]]) -> str:
    head = ["page", "path", "readable", *FIGURES, "findings"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [r["name"], r["path"], "yes" if r["readable"] else "no", *(_fmt(r.get(f)) for f in FIGURES)]
        cells.append(", ".join(x.removeprefix("scan.") for x in r["found"] if x.startswith("scan.")) or "")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def separation(rows: list[dict[str, Any]]) -> str:
    """For each thresholded figure: the range on pages that must pass and on pages that must trip it."""
    leg = default_policy().legibility
    checks = [
        ("sharpness", "blur", "min", leg.min_sharpness),
        ("contrast", "contrast", "min", leg.min_contrast),
        ("paper_level", "dark", "min", leg.dark_paper_level),
        ("ink_level", "faint", "max", leg.light_ink_level),
        ("line_pitch_px", "small", "min", leg.min_line_pitch_px),
        ("skew_degrees", "skew", "maxabs", leg.max_skew_degrees),
    ]
    out = [
        "| figure | threshold | should pass (readable / in limits) | should trip | misjudged |",
        "|---|---|---|---|---|",
    ]
    for figure, family, kind, threshold in checks:
        rule = {
            "blur": "scan.blur",
            "contrast": "scan.contrast",
            "dark": "scan.dark",
            "faint": "scan.light",
            "small": "scan.text_small",
            "skew": "scan.skew",
        }[family]
        good, bad, wrong = [], [], []
        for r in rows:
            value = r.get(figure)
            if value is None:
                continue
            value = abs(value) if kind == "maxabs" else value
            should_trip = rule in r["expect"] or (
                family in ("blur", "contrast") and not r["readable"] and r["degradation"] == family
            )
            if r["degradation"] in ("blank",):
                continue
            if family in ("dark", "faint") and "scan.contrast" in r["found"]:
                continue  # judged only when the contrast passes (scan.contrast said it first)
            (bad if should_trip else good).append(value)
            trips = value < threshold if kind == "min" else value > threshold
            if trips != should_trip:
                wrong.append(f"{r['name']} ({r['path']}) {value:.3g}")
        rng = lambda v: f"{min(v):.3g} … {max(v):.3g}" if v else "–"  # noqa: E731
        out.append(
            f"| {figure} | {kind.replace('maxabs', 'max |x|')} {threshold:g} | {rng(good)} | {rng(bad)} | {'; '.join(wrong) or 'none'} |"
        )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    if not (args.out / "calibration" / "manifest.json").exists():
        _generator().generate(args.out, "calibration")
    rows = measure(args.out)
    print(table(rows))
    print()
    print(separation(rows))


if __name__ == "__main__":
    main()
