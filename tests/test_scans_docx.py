"""Full-page scans pasted into DOCX files are checked as scan pages; small pictures are not."""

from __future__ import annotations

import zipfile

import pytest
from courtdoc.checks.docx import images
from courtdoc.checks.docx.package import read_main_part
from courtdoc.checks.findings import Issues
from courtdoc.core.policy import default_policy
from courtdoc.pipeline import validate_file
from scan_fixtures import CORPUS, generated

POLICY = default_policy()


def check(name: str) -> tuple[list, dict[str, list[dict]]]:
    issues = Issues()
    with zipfile.ZipFile(generated() / "docx" / name) as zf:
        main = read_main_part(zf, issues)
        assert main is not None
        pages = images.check_page_images(zf, main, POLICY, issues)
    found: dict[str, list[dict]] = {}
    for issue in issues:
        found.setdefault(issue.rule, []).append(issue.location)
    return pages, found


def test_full_page_scan_at_1_to_1() -> None:
    pages, found = check("fullpage_scan_300dpi.docx")
    (page,) = pages
    assert page.kind == "scan" and page.dpi == pytest.approx([300.0, 300.0], abs=1)
    assert page.metrics["paper"] == "A4" and page.metrics["part"] == "word/media/image1.jpg"
    assert page.metrics["legibility"]["sharpness"] > POLICY.legibility.min_sharpness
    assert not found


def test_shrunk_scan_is_not_1_to_1_and_above_300_dpi() -> None:
    (page,), found = check("fullpage_scan_shrunk.docx")
    assert page.dpi[0] == pytest.approx(315, abs=1)
    assert {"scan.dpi", "scan.scale"} <= found.keys()
    assert found["scan.scale"][0] == {"part": "word/media/image1.jpg", "image": 1}


def test_each_scan_is_judged_with_its_picture_as_location() -> None:
    pages, found = check("two_scans_150dpi_and_blurred.docx")
    assert [p.number for p in pages] == [1, 2]
    assert pages[0].dpi == pytest.approx([150.0, 150.0], abs=1)
    assert found["scan.dpi"] == [{"part": "word/media/image1.jpg", "image": 1}]
    assert found["scan.blur"] == [{"part": "word/media/image2.png", "image": 2}]


def test_logo_is_not_a_page_scan() -> None:
    pages, found = check("text_with_logo.docx")
    assert pages == [] and not found


def test_pipeline_fills_pages_and_refuses_the_blurred_scan() -> None:
    report = validate_file(generated() / "docx" / "two_scans_150dpi_and_blurred.docx", name="Приложения.docx")
    assert report.verdict == "reject"
    assert {"scan.dpi", "scan.blur"} <= {f.rule for f in report.findings if f.severity == "reject"}
    assert [p.kind for p in report.pages] == ["scan", "scan"]


def test_corpus_docx_without_page_scans() -> None:
    path = CORPUS / "apache-poi" / "drawing.docx"
    if not path.exists():
        pytest.skip("corpus not present")
    issues = Issues()
    with zipfile.ZipFile(path) as zf:
        main = read_main_part(zf, issues)
        assert main is not None
        assert images.check_page_images(zf, main, POLICY, issues) == []
