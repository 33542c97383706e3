"""Photographs are not judged as document scans: `scan.photograph`, and no text-scan findings.

Synthetic continuous-tone photographs (tests/scan_fixtures.py) and the corpus' camera pictures
must be told from text pages: every generated text page and every corpus document page stays a
document (no false photograph), a printed page with a large picture on it included.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from courtdoc.checks.findings import Issues
from courtdoc.checks.image.dpi import Resolution
from courtdoc.checks.image.page import ScanContext, check_scan_page
from courtdoc.checks.image.raster import Raster
from courtdoc.checks.image.scan import check_jpeg_file
from courtdoc.core.policy import default_policy
from courtdoc.pipeline import validate_file
from PIL import Image
from scan_fixtures import CORPUS, generated, photograph, photographs

POLICY = default_policy()
A4_300 = Resolution(300.0, 300.0, "metadata")
# The rules that presume a document page: paper, text lines, colour marks on paper.
TEXT_SCAN_RULES = {
    "scan.blur",
    "scan.contrast",
    "scan.dark",
    "scan.light",
    "scan.skew",
    "scan.text_small",
    "scan.colour",
    "scan.colour_unneeded",
    "scan.blank",
    "scan.ocr",
    "scan.ocr_not_run",
}
CORPUS_PHOTOGRAPHS = (
    "pillow/flower.jpg",
    "pillow/hopper_gray.jpg",
    "pillow/hopper_orientation_6.jpg",
    "pillow/icc_profile_big.jpg",
    "pillow/iptc_roundUp.jpg",
    "python-docx/court-exif.jpg",
    "python-docx/jfif-300-dpi.jpg",
    "py-pdf-sample-files/cmyk-image.pdf",
)
# Corpus JPEGs of paper documents: a photographed printed page, a colour map, scans.
CORPUS_DOCUMENT_IMAGES = (
    "ocrmypdf/congress.jpg",
    "ocrmypdf/baiona_color.jpg",
    "ocrmypdf/baiona_cmyk.jpg",
    "ocrmypdf/LinnSequencer.jpg",
    "derived/epson_page_300dpi_gray.jpg",
    "derived/epson_page_300dpi_gray_blur.jpg",
    "derived/epson_page_300dpi_gray_lowcontrast.jpg",
    "derived/epson_page_300dpi_gray_skew10.jpg",
)


def corpus(rel: str) -> Path:
    path = CORPUS / rel
    if not path.exists():
        pytest.skip(f"corpus file {rel} not present (../shared/corpus)")
    return path


def _photo_files() -> list[Path]:
    return sorted(p for p in photographs().iterdir() if p.suffix in (".jpg", ".pdf"))


@pytest.mark.parametrize("path", _photo_files(), ids=lambda p: p.name)
def test_synthetic_photograph_is_reported_and_not_judged_as_a_text_scan(path: Path) -> None:
    report = validate_file(path)
    rules = {f.rule for f in report.findings}
    assert "scan.photograph" in rules
    assert not rules & TEXT_SCAN_RULES
    page = report.pages[0]
    assert page.metrics["legibility"]["photograph"] is True
    assert page.metrics["ocr"] == {"run": False, "reason": "photograph"}
    # colour is reported as measured, it just raises no finding
    assert page.colour == ("grey" if "_grey" in path.name else "colour")


@pytest.mark.parametrize("rel", CORPUS_PHOTOGRAPHS)
def test_corpus_photograph_is_not_told_it_is_blurred_small_text_or_a_seal(rel: str) -> None:
    report = validate_file(corpus(rel))
    rules = {f.rule for f in report.findings}
    assert "scan.photograph" in rules
    assert not rules & TEXT_SCAN_RULES


@pytest.mark.parametrize("rel", CORPUS_DOCUMENT_IMAGES)
def test_corpus_document_image_is_no_photograph(rel: str) -> None:
    report = validate_file(corpus(rel))
    assert "scan.photograph" not in {f.rule for f in report.findings}
    assert report.pages and all(not p.metrics["legibility"].get("photograph") for p in report.pages)


def _generated_text_scans() -> list[Path]:
    root = generated()
    return sorted(
        p
        for sub in ("pages", "jpeg", "pdf", "docx")
        for p in (root / sub).glob("*")
        if p.suffix in (".jpg", ".pdf", ".docx")
    )


def test_no_generated_text_scan_is_a_photograph() -> None:
    """Every page of every generated scan fixture: blurred, faint, dark, noisy, skewed, blank,
    small print, coloured seals, tinted paper, in JPEG files, PDFs and DOCX files."""
    checked = 0
    photographs_found = []
    for path in _generated_text_scans():
        report = validate_file(path)
        for page in report.pages:
            legibility = (page.metrics or {}).get("legibility")
            if legibility is None:
                continue
            checked += 1
            if legibility.get("photograph") or any(f.rule == "scan.photograph" for f in report.findings):
                photographs_found.append((path.name, page.number, legibility["paper_share"]))
    assert checked >= 50
    assert photographs_found == []


@pytest.mark.parametrize("share", [0.3, 0.6])
def test_typed_page_with_a_large_picture_stays_a_document(tmp_path: Path, share: float) -> None:
    page = Image.open(generated() / "pages" / "clean_300.jpg").convert("RGB")
    width, height = page.size
    picture = photograph("portrait", (int(width * 0.8), int(height * share)), seed=7)
    page.paste(picture, (int(width * 0.1), height - picture.height - 100))
    path = tmp_path / "Протокол осмотра с фото.jpg"
    page.save(path, dpi=(300, 300), quality=85)
    pages_issues = Issues()
    (info,) = check_jpeg_file(path, POLICY, pages_issues)
    assert info.metrics["legibility"]["photograph"] is False
    assert info.metrics["legibility"]["paper_share"] < 0.8
    assert "scan.photograph" not in {i.rule for i in pages_issues}


def _ocr_context(issues: Issues) -> ScanContext:
    """OCR enabled by the policy, with no Tesseract to run: the case that says `ocr_not_run`."""
    policy = dataclasses.replace(POLICY, ocr=dataclasses.replace(POLICY.ocr, enabled=True))
    return ScanContext(policy, issues, tesseract=None)


def _raster(pixels: np.ndarray) -> Raster:
    return Raster.from_array(pixels, "L", (pixels.shape[1] * 3, pixels.shape[0] * 3), 800)


@pytest.mark.parametrize("level", [255, 128, 0])
def test_blank_page_image_is_blank_and_not_sent_to_text_recognition(level: int) -> None:
    issues = Issues()
    ctx = _ocr_context(issues)
    pixels = np.full((800, 566), level, np.uint8)
    page = check_scan_page(_raster(pixels), A4_300, 1, ctx, size_mm=(210.0, 297.0))
    rules = [i.rule for i in issues]
    assert rules == ["scan.blank"]
    assert page.metrics["ocr"] == {"run": False, "reason": "blank page"}


def test_text_page_still_says_recognition_was_not_run() -> None:
    issues = Issues()
    ctx = _ocr_context(issues)
    grey = np.asarray(Image.open(generated() / "pages" / "clean_300.jpg").convert("L"))
    check_scan_page(_raster(grey[::3, ::3].copy()), A4_300, 1, ctx, size_mm=(210.0, 297.0))
    assert [i.rule for i in issues] == ["scan.ocr_not_run"]
