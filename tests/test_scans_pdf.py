"""Scan checks on PDF pages: dpi from placement (against pdfimages), coverage, kind, 1:1, legibility."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from courtdoc.checks.findings import Issues
from courtdoc.checks.pdf import scan as pdf_scan
from courtdoc.checks.pdf.pages import page_kind
from courtdoc.core.policy import default_policy
from courtdoc.core.report import PageInfo
from courtdoc.pipeline import validate_file
from scan_fixtures import CORPUS, generated

POLICY = default_policy()
# Every corpus PDF that holds images in its page content. (pdfjs/evaljs.pdf is left out: its only
# image is a form button's icon inside an annotation appearance, which pdfimages lists and which
# is not page content.)
IMAGE_PDFS = [
    "ocrmypdf/2400dpi.pdf",
    "ocrmypdf/aspect.pdf",
    "ocrmypdf/c02-22.pdf",
    "ocrmypdf/enron1.pdf",
    "ocrmypdf/epson.pdf",
    "ocrmypdf/jbig2.pdf",
    "ocrmypdf/kcs.pdf",
    "ocrmypdf/linn.pdf",
    "ocrmypdf/multipage.pdf",
    "ocrmypdf/palette.pdf",
    "ocrmypdf/poster.pdf",
    "ocrmypdf/rotated_skew.pdf",
    "ocrmypdf/skew.pdf",
    "ocrmypdf/hugemono.pdf",
    "pdfjs/issue12963.pdf",
    "pdfjs/issue5747.pdf",
    "pdfjs/issue7229.pdf",
    "pdfjs/scan-bad.pdf",
    "py-pdf-sample-files/cmyk-image.pdf",
    "py-pdf-sample-files/grayscale-image.pdf",
    "py-pdf-sample-files/google-doc-document.pdf",
]


def check(path: Path) -> tuple[list[PageInfo], list[tuple[str, dict, str]]]:
    issues = Issues()
    pages = pdf_scan.check_scan_pages(path, POLICY, issues)
    return pages, [(i.rule, i.location, str(i.observed)) for i in issues]


def rules(found: list[tuple[str, dict, str]], page: int | None = None) -> set[str]:
    return {r for r, loc, _ in found if page is None or loc.get("page") == page}


def corpus(rel: str) -> Path:
    path = CORPUS / rel
    if not path.exists():
        pytest.skip(f"corpus file {rel} not present (../shared/corpus)")
    return path


# --- dpi against pdfimages -----------------------------------------------------------------------


def pdfimages_ppi(path: Path) -> dict[int, list[tuple[float, float]]]:
    out = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, timeout=60)
    found: dict[int, list[tuple[float, float]]] = {}
    for line in out.stdout.splitlines()[2:]:
        cols = line.split()
        if len(cols) >= 14 and cols[2] == "image" and re.fullmatch(r"\d+", cols[0]):
            found.setdefault(int(cols[0]), []).append((float(cols[12]), float(cols[13])))
    return found


def survey_ppi(path: Path) -> dict[int, list[tuple[float, float]]]:
    pdf = pdfium.PdfDocument(str(path))
    try:
        return {p.number: [i.dpi for i in p.images] for p in pdf_scan.survey(pdf) if p.images}
    finally:
        pdf.close()


def _generated_pdfs() -> list[Path]:
    return sorted((generated() / "pdf").glob("*.pdf"))


@pytest.mark.skipif(shutil.which("pdfimages") is None, reason="pdfimages (poppler-utils) is not installed")
def test_every_image_dpi_agrees_with_pdfimages() -> None:
    corpus_paths = [CORPUS / rel for rel in IMAGE_PDFS if (CORPUS / rel).exists()]
    paths = corpus_paths + _generated_pdfs()
    assert len(paths) >= 12
    compared = 0
    for path in paths:
        theirs, ours = pdfimages_ppi(path), survey_ppi(path)
        assert theirs.keys() == ours.keys(), path.name
        for page, expected in theirs.items():
            assert len(ours[page]) == len(expected), (path.name, page)
            for (x, y), (px, py) in zip(ours[page], expected, strict=True):
                # pdfimages prints whole numbers
                assert abs(x - px) <= max(0.02 * px, 0.51), (path.name, page, x, px)
                assert abs(y - py) <= max(0.02 * py, 0.51), (path.name, page, y, py)
                compared += 1
    assert compared >= (40 if corpus_paths else 14)


# --- placements ----------------------------------------------------------------------------------


def test_image_inside_a_form_xobject_composes_matrices() -> None:
    pages, found = check(generated() / "pdf" / "a4_300dpi_in_form.pdf")
    assert pages[0].dpi == pytest.approx([300.0, 300.0], abs=0.5)
    assert not found


def test_rotated_placement_is_turned_upright() -> None:
    pages, found = check(generated() / "pdf" / "a4_300dpi_rotated90.pdf")
    page = pages[0]
    assert page.dpi == pytest.approx([300.0, 300.0], abs=0.5)
    assert abs(page.metrics["legibility"]["skew_degrees"]) < 0.5
    # text lines found at the pitch of 14 pt text: the page reads upright
    assert page.metrics["legibility"]["text_size_pt"] == pytest.approx(14, abs=1.5)
    assert not found


def test_placement_rotation_adds_to_skew() -> None:
    pages, found = check(generated() / "pdf" / "a4_300dpi_placed_5deg.pdf")
    assert pages[0].metrics["placement_rotation"] == pytest.approx(5, abs=0.01)
    assert pages[0].metrics["legibility"]["skew_degrees"] == pytest.approx(5, abs=0.3)
    assert "scan.skew" in rules(found)
    pages, found = check(corpus("ocrmypdf/skew.pdf"))
    assert pages[0].metrics["legibility"]["skew_degrees"] == pytest.approx(-1.87, abs=0.3)
    assert "scan.skew" not in rules(found)
    pages, _ = check(corpus("ocrmypdf/rotated_skew.pdf"))  # /Rotate 90 and a 2.8° placement
    assert pages[0].dpi == pytest.approx([300.0, 300.0], abs=0.5)
    assert abs(pages[0].metrics["legibility"]["skew_degrees"]) == pytest.approx(2.79, abs=0.3)


def test_anisotropic_placement() -> None:
    _, found = check(generated() / "pdf" / "a4_anisotropic.pdf")
    assert "scan.dpi_anisotropic" in rules(found)
    pages, found = check(corpus("ocrmypdf/aspect.pdf"))
    assert pages[0].dpi == [200.0, 100.0]
    assert {"scan.dpi", "scan.dpi_anisotropic"} <= rules(found)


def test_150_dpi_image_pdf_is_refused() -> None:
    report = validate_file(generated() / "pdf" / "a4_150dpi_jpeg.pdf", name="Решение суда.pdf")
    assert report.verdict == "reject"
    finding = next(f for f in report.findings if f.rule == "scan.dpi")
    assert finding.location == {"page": 1, "image": 1} and "150 dpi" in finding.message
    assert report.pages[0].kind == "scan" and report.pages[0].dpi == [150.0, 150.0]


def test_a4_scan_on_a_larger_page_is_reported() -> None:
    _, found = check(generated() / "pdf" / "a4_scan_on_a3.pdf")
    assert rules(found) == {"scan.page_size"}
    observed = next(o for r, _, o in found if r == "scan.page_size")
    assert observed == "scan 210×297 mm on a 297×420 mm page"


def test_page_box_not_a_sheet_is_not_1_to_1() -> None:
    _, found = check(corpus("ocrmypdf/c02-22.pdf"))
    assert {"scan.dpi", "scan.scale"} <= rules(found)


# --- filters -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "filter_name", "colour"),
    [
        ("ocrmypdf/jbig2.pdf", "JBIG2Decode", "bw"),
        ("ocrmypdf/epson.pdf", "CCITTFaxDecode", "bw"),
        ("ocrmypdf/palette.pdf", "FlateDecode", "colour"),
        ("ocrmypdf/c02-22.pdf", "DCTDecode", "grey"),
        ("ocrmypdf/2400dpi.pdf", "FlateDecode", "grey"),
    ],
)
def test_every_filter_is_analysed(rel: str, filter_name: str, colour: str) -> None:
    pages, _ = check(corpus(rel))
    page = pages[0]
    assert page.metrics["images"][0]["filters"] == [filter_name]
    assert page.colour == colour and page.metrics["analysed"] == "image"
    assert page.metrics["legibility"]["marks"] > 50


def test_jpeg_and_flate_pages_measure_alike() -> None:
    jpeg, _ = check(generated() / "pdf" / "a4_300dpi_jpeg.pdf")
    flate, _ = check(generated() / "pdf" / "a4_300dpi_flate.pdf")
    a, b = jpeg[0].metrics["legibility"], flate[0].metrics["legibility"]
    assert a["sharpness"] == pytest.approx(b["sharpness"], abs=0.05)
    assert a["contrast"] == pytest.approx(b["contrast"], abs=15)


def test_giant_image_is_rendered_not_decoded() -> None:
    pages, found = check(corpus("ocrmypdf/hugemono.pdf"))  # 35000×35000 pixels
    assert pages[0].metrics["analysed"] == "render"
    assert "scan.scale" in rules(found)


# --- pages of several kinds ------------------------------------------------------------------------


def test_mixed_quality_document_reports_each_page() -> None:
    report = validate_file(
        generated() / "pdf" / "mixed_quality_4pages.pdf", name="Приложения к заявлению.pdf"
    )
    by_page = {}
    for f in report.findings:
        if f.rule.startswith("scan."):
            by_page.setdefault(f.location.get("page"), set()).add(f.rule)
    assert 1 not in by_page  # the clean page has no scan finding
    assert "scan.blur" in by_page[2] and "scan.blank" in by_page[3] and "scan.skew" in by_page[4]
    assert report.verdict == "reject"
    assert [p.number for p in report.pages] == [1, 2, 3, 4]
    assert all(p.kind == "scan" and p.dpi == [300.0, 300.0] for p in report.pages)


def test_russian_scanned_forms_at_200_dpi() -> None:
    pages, found = check(corpus("pdfjs/issue7229.pdf"))
    assert [p.dpi for p in pages] == [[200.0, 200.0], [200.0, 200.0]]
    assert not rules(found) & {"scan.dpi", "scan.blur", "scan.contrast", "scan.scale"}


def test_colour_seal_page() -> None:
    pages, found = check(generated() / "pdf" / "colour_seal.pdf")
    assert pages[0].colour == "colour" and "scan.colour" in rules(found)


def test_multipage_corpus_file_has_every_page() -> None:
    pages, found = check(corpus("ocrmypdf/multipage.pdf"))
    assert len(pages) == 6 and all(p.kind == "scan" for p in pages)
    assert [p.dpi[0] for p in pages] == pytest.approx([150, 300, 96, 96, 72, 147.4], abs=0.5)
    assert {r for r, loc, _ in found if r == "scan.dpi"} == {"scan.dpi"}


def test_blank_and_text_pages_are_not_scans() -> None:
    pages, found = check(corpus("ocrmypdf/blank.pdf"))
    assert [p.kind for p in pages] == ["blank"] and rules(found) == {"document.empty"}
    pages, found = check(corpus("ullyminat-normocontrol/1771618392_Документ.pdf"))
    assert pages and all(p.kind != "scan" for p in pages) and not found


def test_page_kind_rules() -> None:
    scan = POLICY.scan
    assert page_kind(0.98, 0, scan) == "scan"
    assert page_kind(0.98, None, scan) == "scan"
    assert page_kind(0.98, 1500, scan) == "mixed"
    assert page_kind(0.98, 5, scan) == "scan"  # a few stray glyphs do not make a text page
    assert page_kind(0.0, 1500, scan) == "text"
    assert page_kind(0.0, 0, scan) == "blank"
    assert page_kind(0.0, 0, scan, path_objects=400) == "text"
    assert page_kind(0.3, 0, scan) == "scan"
