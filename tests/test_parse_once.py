"""Each file is parsed once per format: one PDFium document and one pypdf reader per PDF, one
read of each DOCX part, through the real inspection path on real files; and a Strict OOXML
document gets the same outline as its Transitional original."""

from __future__ import annotations

import collections
import dataclasses
import re
import zipfile
from pathlib import Path
from typing import Any

import filing_fixtures
import pypdf
import pypdfium2
import pytest
from courtdoc.checks import outline
from courtdoc.checks.docx.text import read_text
from courtdoc.core.policy import default_policy
from courtdoc.engine import inspection
from scan_fixtures import generated as scan_fixtures

filings = filing_fixtures.filings  # pytest fixture
POLICY = default_policy()

# Transitional → Strict OOXML (ISO/IEC 29500 Strict): the markup and relationship namespaces.
# The package (OPC) namespaces are the same in both.
STRICT_NAMESPACES = {
    "http://schemas.openxmlformats.org/wordprocessingml/2006/main": "http://purl.oclc.org/ooxml/wordprocessingml/main",
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships": (
        "http://purl.oclc.org/ooxml/officeDocument/relationships"
    ),
    "http://schemas.openxmlformats.org/drawingml/2006/main": "http://purl.oclc.org/ooxml/drawingml/main",
    "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing": (
        "http://purl.oclc.org/ooxml/drawingml/wordprocessingDrawing"
    ),
    "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties": (
        "http://purl.oclc.org/ooxml/officeDocument/extendedProperties"
    ),
}


class _Opens:
    """Counts PDFium documents and pypdf readers made from a file (not PDFium wrapping a handle)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.pdfium: list[str] = []
        self.pypdf: list[str] = []
        opens = self

        class CountingDocument(pypdfium2.PdfDocument):
            def __init__(self, source: Any, *args: Any, **kwargs: Any) -> None:
                if not isinstance(source, pypdfium2.raw.FPDF_DOCUMENT):
                    opens.pdfium.append(str(source))
                super().__init__(source, *args, **kwargs)

        class CountingReader(pypdf.PdfReader):
            def __init__(self, stream: Any, *args: Any, **kwargs: Any) -> None:
                opens.pypdf.append(str(stream))
                super().__init__(stream, *args, **kwargs)

        monkeypatch.setattr(pypdfium2, "PdfDocument", CountingDocument)
        monkeypatch.setattr(pypdf, "PdfReader", CountingReader)


def test_a_text_pdf_is_opened_once_by_every_check(filings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = filings / "bundle" / "Документы_Иванова.pdf"
    opens = _Opens(monkeypatch)
    result = inspection.inspect(path, "pdf", POLICY)
    # The structure, text, scan and outline checks all ran on it ...
    assert result.text is not None and result.text.chars > 0
    assert [p.kind for p in result.pages] == ["text"] * 4
    assert result.outline is not None and result.outline["pages"] == 4
    # ... on one PDFium document and one pypdf reader.
    assert opens.pdfium == [str(path)]
    assert len(opens.pypdf) == 1


def test_a_scan_pdf_is_opened_once_by_every_check(monkeypatch: pytest.MonkeyPatch) -> None:
    path = scan_fixtures() / "pdf" / "a4_300dpi_jpeg.pdf"
    opens = _Opens(monkeypatch)
    result = inspection.inspect(path, "pdf", POLICY)
    assert [p.kind for p in result.pages] == ["scan"]
    assert result.pages[0].metrics.get("analysed") == "image"  # the scan checks decoded its image
    assert result.outline is not None and result.outline["ocr"] == "unavailable"
    assert opens.pdfium == [str(path)]


def test_a_pdf_that_does_not_open_is_not_opened_again_for_the_outline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Encrypted with a user password: PDFium refuses it once, and the outline (read here because
    # this policy only warns about encrypted files) meets the same refusal without a second open.
    path = tmp_path / "locked.pdf"
    writer = pypdf.PdfWriter()
    writer.add_blank_page(595, 842)
    writer.encrypt("secret", algorithm="AES-128")
    with path.open("wb") as fh:
        writer.write(fh)
    lenient = dataclasses.replace(POLICY, rules={**POLICY.rules, "file.encrypted": "warn"})
    opens = _Opens(monkeypatch)
    result = inspection.inspect(path, "pdf", lenient)
    assert [i.rule for i in result.issues] == ["file.encrypted"]
    assert result.outline is None
    assert opens.pdfium == [str(path)]


def test_docx_parts_are_parsed_once_for_the_text_checks_and_the_outline(
    filings: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = filings / "kk_word_list" / "Арыз.docx"
    reads: collections.Counter[str] = collections.Counter()
    real_read = zipfile.ZipFile.read

    def counting_read(self: zipfile.ZipFile, name: Any, pwd: bytes | None = None) -> bytes:
        reads[name if isinstance(name, str) else name.filename] += 1
        return real_read(self, name, pwd)

    monkeypatch.setattr(zipfile.ZipFile, "read", counting_read)
    result = inspection.inspect(path, "docx", POLICY)
    assert result.text is not None and result.text.chars > 0
    assert result.outline is not None and [a["number"] for a in result.outline["attachments"]] == ["1", "2", "3", "4"]
    for part in ("word/document.xml", "word/styles.xml", "word/numbering.xml"):
        assert reads[part] == 1, (part, dict(reads))


def to_strict(source: Path, target: Path) -> None:
    """Rewrite a Transitional DOCX as Strict OOXML: every XML part's namespaces and relationship
    types, and the document marked `w:conformance="strict"`."""
    pattern = re.compile("|".join(re.escape(k) for k in STRICT_NAMESPACES))
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith((".xml", ".rels")):
                text = pattern.sub(lambda m: STRICT_NAMESPACES[m.group(0)], data.decode("utf-8"))
                if info.filename == "word/document.xml":
                    text = re.sub(r"<w:document\b", '<w:document w:conformance="strict"', text, count=1)
                data = text.encode("utf-8")
            zout.writestr(info, data)


def test_strict_ooxml_docx_gets_its_outline(filings: Path, tmp_path: Path) -> None:
    transitional = filings / "kk_word_list" / "Арыз.docx"
    strict = tmp_path / "Арыз.docx"
    to_strict(transitional, strict)
    with zipfile.ZipFile(strict) as zf:
        document = zf.read("word/document.xml").decode("utf-8")
        assert "schemas.openxmlformats.org/wordprocessingml" not in document
        assert "http://purl.oclc.org/ooxml/wordprocessingml/main" in document
    expected = outline.extract(transitional, "docx", POLICY)
    found = outline.extract(strict, "docx", POLICY)
    assert expected is not None and found is not None
    assert expected.title == "АРЫЗ жаңадан ашылған мән-жайлар бойынша сот шешімін қайта қарау туралы"
    # Titles from the heading styles, list labels from the numbering part, the same text.
    assert found.to_dict() == expected.to_dict()
    # Through the inspection too, with the text checks reading the same package.
    result = inspection.inspect(strict, "docx", POLICY)
    assert result.outline == expected.to_dict()
    with zipfile.ZipFile(strict) as zs, zipfile.ZipFile(transitional) as zt:
        assert read_text(zs).fonts.keys() == read_text(zt).fonts.keys()
