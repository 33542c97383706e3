"""Where findings are on their page (`location.boxes`), on real files.

Scans: the checkers give the measured region in points of the displayed page (a skew as a line
along the text, the text region of small text, the whole sheet of a blank page). Text findings of
a DOCX, a DOC and a PDF: `engine.evidence` finds the paragraph's words on the page as drawn
(LibreOffice's PDF of a Word document), one box per line, where PDFium puts those words.
"""

from __future__ import annotations

import itertools
import math
import shutil
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium
import pytest
from courtdoc import pipeline
from courtdoc.checks import doc_convert
from courtdoc.core.policy import default_policy
from courtdoc.core.report import Finding
from courtdoc.engine import evidence
from courtdoc.engine.pictures import NoPicture, render_page
from scan_fixtures import generated
from text_fixtures import has_soffice, lo_doc, text_docs  # noqa: F401  (a fixture)

POLICY = default_policy()
A4 = (595.3, 841.9)
needs_soffice = pytest.mark.skipif(not has_soffice(), reason="LibreOffice (soffice) is not installed")


def _findings(path: Path, rule: str) -> list[Finding]:
    report = pipeline.validate_file(path, POLICY, lang="en")
    return [f for f in report.findings if f.rule == rule]


def _inside(box: dict[str, Any], width: float, height: float) -> None:
    x0, x1 = sorted((box["x"], box["x"] + box["w"]))
    y0, y1 = sorted((box["y"], box["y"] + box["h"]))
    assert -1 <= x0 < x1 <= width + 1 and -1 <= y0 < y1 <= height + 1, box


# --- scans ----------------------------------------------------------------------------------------


def test_a_skewed_scan_has_a_line_along_its_text() -> None:
    (skew,) = _findings(generated() / "pages" / "skew_8.jpg", "scan.skew")
    (line,) = skew.location["boxes"]
    assert line["kind"] == "line" and line["page"] == 1
    _inside(line, *A4)
    # rising to the right (y grows downwards) at the measured angle, across most of the text
    angle = math.degrees(math.atan2(-line["h"], line["w"]))
    assert angle == pytest.approx(8, abs=0.7)
    assert line["w"] > 0.6 * A4[0]
    assert line["label"].startswith("+") and line["label"].endswith("°")


def test_a_straight_scan_has_no_skew_box() -> None:
    assert _findings(generated() / "pages" / "clean_300.jpg", "scan.skew") == []


def test_small_text_and_blank_pages_mark_their_regions() -> None:
    (small,) = _findings(generated() / "pages" / "small_6pt_150.jpg", "scan.text_small")
    (region,) = small.location["boxes"]
    assert region["kind"] == "rect"
    _inside(region, *A4)
    assert 0.3 * A4[0] < region["w"] < A4[0] and 0.3 * A4[1] < region["h"] < A4[1]
    (blank,) = _findings(generated() / "pages" / "blank_300.jpg", "scan.blank")
    (sheet,) = blank.location["boxes"]
    assert (sheet["x"], sheet["y"]) == (0, 0)
    assert sheet["w"] == pytest.approx(A4[0], abs=1) and sheet["h"] == pytest.approx(A4[1], abs=1)


def test_a_scan_pdf_boxes_its_skew_in_the_page_points(tmp_path: Path) -> None:
    path = generated() / "pdf" / "a4_300dpi_placed_5deg.pdf"
    (skew,) = _findings(path, "scan.skew")
    (line,) = skew.location["boxes"]
    document = pdfium.PdfDocument(str(path))
    try:
        width, height = document[0].get_size()
    finally:
        document.close()
    _inside(line, width, height)
    assert math.degrees(math.atan2(-line["h"], line["w"])) == pytest.approx(5, abs=0.7)
    picture = render_page(path, "pdf", 1, 400, POLICY, tmp_path)
    assert not isinstance(picture, NoPicture)
    assert picture.page_width_pt == pytest.approx(width)


def test_the_finding_does_not_share_its_boxes_with_the_page_findings() -> None:
    report = pipeline.validate_file(generated() / "pages" / "skew_8.jpg", POLICY, lang="en")
    without = [f for f in report.findings if f.rule != "scan.skew" and f.location.get("page") == 1]
    assert without and all("boxes" not in f.location for f in without)


# --- text on the drawn page -----------------------------------------------------------------------


def _lines_of(found: evidence.Found) -> list[dict[str, Any]]:
    assert found.page == 1
    for box in found.boxes:
        assert box["kind"] == "rect" and box["page"] == 1
        _inside(box, found.page_width_pt, found.page_height_pt)
    return sorted(found.boxes, key=lambda b: b["y"])


def _words_in(pdf: Path, box: dict[str, Any]) -> str:
    """The text PDFium reads inside a box given in points from the top-left corner."""
    document = pdfium.PdfDocument(str(pdf))
    try:
        page = document[0]
        _, height = page.get_size()
        text = page.get_textpage()
        return str(text.get_text_bounded(box["x"], height - box["y"] - box["h"], box["x"] + box["w"], height - box["y"]))
    finally:
        document.close()


@needs_soffice
def test_an_arial_paragraph_of_a_docx_is_boxed_line_by_line(text_docs: dict[str, Path], tmp_path: Path) -> None:  # noqa: F811
    path = lo_doc(text_docs, "lo_arial12_double")
    (font,) = _findings(path, "font.family")
    assert evidence.wants_evidence(font, "docx")
    (found,) = evidence.locate(path, "docx", [evidence.query_of(font)], POLICY, tmp_path)
    assert isinstance(found, evidence.Found)
    lines = _lines_of(found)
    assert len(lines) >= 2  # the paragraph, not only its quoted first words
    assert all(a["y"] + a["h"] <= b["y"] + 1 for a, b in itertools.pairwise(lines))  # one box per line
    # the boxes are where the words are in the PDF the pictures are drawn from
    pdf = next(tmp_path.glob("*.raw"))
    excerpt = font.location["excerpt"].rstrip("…")
    assert _words_in(pdf, lines[0]).split()[:4] == excerpt.split()[:4]


@needs_soffice
def test_a_doc_and_a_pdf_find_the_same_paragraph(text_docs: dict[str, Path], tmp_path: Path) -> None:  # noqa: F811
    doc = lo_doc(text_docs, "lo_arial12_double_doc")
    (font,) = _findings(doc, "font.family")
    (in_doc,) = evidence.locate(doc, "doc", [evidence.query_of(font)], POLICY, tmp_path / "doc")
    assert isinstance(in_doc, evidence.Found)
    with doc_convert.converted(
        lo_doc(text_docs, "lo_arial12_double"), to="pdf", soffice=doc_convert.find_soffice() or "soffice",
        timeout=120, memory_mb=2048, source_suffix=".docx",
    ) as made:  # fmt: skip
        pdf = tmp_path / "arial.pdf"
        shutil.copyfile(made, pdf)
    (spacing,) = _findings(pdf, "spacing.line")
    assert spacing.location.get("page") == 1
    (in_pdf,) = evidence.locate(pdf, "pdf", [evidence.query_of(spacing)], POLICY, tmp_path / "pdf")
    assert isinstance(in_pdf, evidence.Found)
    first_doc, first_pdf = _lines_of(in_doc)[0], _lines_of(in_pdf)[0]
    assert first_pdf["y"] == pytest.approx(first_doc["y"], abs=3)
    assert _words_in(pdf, first_pdf).startswith("1. Суд")


@needs_soffice
def test_words_not_on_the_page_are_not_found(text_docs: dict[str, Path], tmp_path: Path) -> None:  # noqa: F811
    path = lo_doc(text_docs, "lo_arial12_double")
    queries = [evidence.Query("Этих слов в документе нет вовсе…"), evidence.Query("1. Суд рассмотрел", page=7)]
    assert evidence.locate(path, "docx", queries, POLICY, tmp_path) == [None, None]


def test_a_damaged_document_has_no_evidence(tmp_path: Path) -> None:
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n")
    found = evidence.locate(broken, "pdf", [evidence.Query("anything at all")], POLICY, tmp_path / "cache")
    assert isinstance(found, NoPicture) and found.reason == "unreadable"
    assert "damaged" in found.text("en")


# --- what the page's dialog is given --------------------------------------------------------------


def _arial_report(text_docs: dict[str, Path]) -> tuple[Path, Any]:  # noqa: F811
    path = lo_doc(text_docs, "lo_arial12_double")
    return path, pipeline.validate_file(path, POLICY, lang="kk")


@needs_soffice
def test_the_dialog_gets_the_page_and_the_boxes(text_docs: dict[str, Path], tmp_path: Path) -> None:  # noqa: F811
    from courtdoc.service.pages import present

    path, report = _arial_report(text_docs)
    (index,) = [i for i, f in enumerate(report.findings) if f.rule == "font.family"]
    shown = present.evidence(report, report.findings[index], path, POLICY, tmp_path, "kk", lambda p: f"page-{p.page}")
    assert shown["page"] == 1 and shown["src"] == "page-1"
    assert shown["width_pt"] == pytest.approx(595.3, abs=1) and shown["boxes"]
    assert shown["alt"] == f"{report.name} — 1-бет" and "қызыл жиекпен" in shown["note"]


def test_without_libreoffice_the_dialog_gets_the_reason(
    text_docs: dict[str, Path],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from courtdoc.engine.pictures import reason_text
    from courtdoc.service.pages import present

    path, report = _arial_report(text_docs)
    monkeypatch.setenv("COURTDOC_SOFFICE", "")  # no LibreOffice on this server
    finding = next(f for f in report.findings if f.rule == "font.family")
    shown = present.evidence(report, finding, path, POLICY, tmp_path, "kk", lambda p: "unused")
    assert shown == {"reason": reason_text("no_converter", "kk")}
    assert "LibreOffice" in shown["reason"] and "PDF" in shown["reason"]
