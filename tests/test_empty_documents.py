"""Empty documents are refused (`document.empty`), a blank page among others is named
(`document.blank_page`), and a blank first page is not called a scan: on generated PDFs and
DOCX files and on the blank files of the corpus."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from courtdoc.checks.pdf.pages import has_ink
from courtdoc.core.policy import default_policy
from courtdoc.pipeline import validate_file

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the corpus is not at {CORPUS}")


def findings(path: Path) -> tuple[str, list[tuple[str, str, object]]]:
    report = validate_file(path, default_policy()).to_dict()
    return report["verdict"], [(f["rule"], f["severity"], f["location"].get("page")) for f in report["findings"]]


def title_note(path: Path) -> str:
    report = validate_file(path, default_policy(), lang="en").to_dict()
    return next(f["message"] for f in report["findings"] if f["rule"] == "name.title_unreadable")


@pytest.mark.parametrize(
    "key", ["blank_page", "blank_three_pages", "blank_white_box", "blank_docx", "spaces_docx"]
)
def test_a_document_that_shows_nothing_is_refused(content_docs: dict[str, Path], key: str) -> None:
    verdict, found = findings(content_docs[key])
    assert verdict == "reject"
    assert ("document.empty", "reject", None) in found
    assert not any(rule == "document.blank_page" for rule, _, _ in found)  # said once, for the file


@pytest.mark.parametrize("key", ["hairline", "picture_only_docx"])
def test_a_mark_or_a_picture_is_content(content_docs: dict[str, Path], key: str) -> None:
    verdict, found = findings(content_docs[key])
    assert not any(rule.startswith("document.") for rule, _, _ in found)
    assert verdict == "accept"


def test_a_blank_page_between_text_pages_is_a_warning(content_docs: dict[str, Path]) -> None:
    verdict, found = findings(content_docs["text_blank_text"])
    assert verdict == "accept"
    assert found == [("document.blank_page", "warn", 2)]


def test_ink_is_what_a_render_shows(content_docs: dict[str, Path]) -> None:
    for key, inked in (("blank_white_box", False), ("hairline", True), ("text_blank_text", True)):
        with pdfium.PdfDocument(str(content_docs[key])) as pdf:
            page = pdf[0]
            try:
                assert has_ink(page) is inked, key
            finally:
                page.close()


def test_a_blank_first_page_is_not_called_a_scan(content_docs: dict[str, Path]) -> None:
    note = title_note(content_docs["blank_page"])
    assert "scan" not in note
    assert "the document has no text" in note


@needs_corpus
@pytest.mark.parametrize(
    "name", ["pdfjs/empty.pdf", "ocrmypdf/blank.pdf", "python-docx/doc-word-default-blank.docx"]
)
def test_blank_corpus_documents_are_refused_as_empty(name: str) -> None:
    verdict, found = findings(CORPUS / name)
    assert verdict == "reject"
    assert [rule for rule, severity, _ in found if severity == "reject"] == ["document.empty"]
    assert "scan" not in title_note(CORPUS / name)


@needs_corpus
@pytest.mark.parametrize(
    "name",
    ["ocrmypdf/epson.pdf", "normcontrol-document-parser/Отчёт по практике для парсинга.pdf", "apache-poi/sample.docx"],
)
def test_documents_with_content_are_not_empty(name: str) -> None:
    _, found = findings(CORPUS / name)
    assert not any(rule.startswith("document.") for rule, _, _ in found)


@needs_corpus
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_an_empty_legacy_doc_is_refused_as_empty(tmp_path: Path) -> None:
    """Word's default blank document saved as .doc by LibreOffice: checked through the same
    conversion as every .doc, it is empty like its DOCX."""
    source = CORPUS / "python-docx" / "doc-word-default-blank.docx"
    subprocess.run(
        ["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/lo", "--convert-to", "doc",
         "--outdir", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=120,
    )
    verdict, found = findings(tmp_path / "doc-word-default-blank.doc")
    assert verdict == "reject"
    assert [rule for rule, severity, _ in found if severity == "reject"] == ["document.empty"]
