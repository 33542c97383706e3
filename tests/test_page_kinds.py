"""Pictures in typed PDFs are figures, not paper scans: only pages that are mostly picture are held to scan dpi."""

from __future__ import annotations

from pathlib import Path

import pytest
from courtdoc.pipeline import validate_file
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from tests.conftest import CORPUS

MM = 72 / 25.4


def _typed_page_with_picture(path: Path, picture: Path, coverage_height_mm: float) -> None:
    """An A4 page: 30 lines of Times-Roman 14 text and a 150-dpi picture of the given height."""
    width_mm = 190.0
    px_w = round(width_mm / 25.4 * 150)
    px_h = round(coverage_height_mm / 25.4 * 150)
    Image.new("L", (px_w, px_h), 200).save(picture, dpi=(150, 150))
    c = canvas.Canvas(str(path), pagesize=A4)
    c.drawImage(str(picture), 10 * MM, 6 * MM, width=width_mm * MM, height=coverage_height_mm * MM)
    c.setFont("Times-Roman", 14)
    for line in range(3):
        c.drawString(
            25 * MM, (285 - line * 6) * MM, "Заявление о пересмотре решения по новым обстоятельствам"
        )
    c.save()


@pytest.mark.parametrize(("height_mm", "judged"), [(190.0, False), (285.0, True)])
def test_mixed_page_is_a_scan_only_when_mostly_picture(
    tmp_path: Path, height_mm: float, judged: bool
) -> None:
    pdf = tmp_path / "Отчёт с рисунком.pdf"
    _typed_page_with_picture(pdf, tmp_path / "picture.png", height_mm)
    report = validate_file(pdf)
    assert report.pages[0].kind == "mixed"
    rules = {f.rule for f in report.findings}
    assert ("scan.dpi" in rules) is judged


def test_word_report_with_screenshots_is_not_judged_as_scans() -> None:
    path = CORPUS / "normcontrol-document-parser" / "Марцинкевич ВИ_K42401.pdf"
    if not path.exists():
        pytest.skip("shared corpus not present")
    report = validate_file(path)
    kinds = {p.number: p.kind for p in report.pages}
    assert kinds[36] == kinds[38] == kinds[47] == "mixed"
    assert not any(f.rule.startswith("scan.") for f in report.findings)
    assert report.verdict == "accept"
