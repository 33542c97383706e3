"""Document outlines: lists of attachments as applications write them, titles, page starts,
text fingerprints, OCR of scans, and the corpus read without surprises."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from pathlib import Path

import filing_fixtures
import pypdfium2
import pytest
from courtdoc.checks import outline
from courtdoc.checks.filing.listparse import Line, parse_attachments
from courtdoc.checks.filing.rules import _sketch_similarity, check_outline
from courtdoc.checks.findings import Issues
from courtdoc.checks.sniff import sniff
from courtdoc.core.policy import DEFAULT_POLICY_PATH, PolicyError, default_policy, parse_policy
from PIL import Image, ImageDraw, ImageFont

filings = filing_fixtures.filings  # pytest fixture
CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
POLICY = default_policy()
NO_OCR = dataclasses.replace(POLICY, ocr=dataclasses.replace(POLICY.ocr, title_timeout_seconds=0.0))
WITH_OCR = dataclasses.replace(POLICY, ocr=dataclasses.replace(POLICY.ocr, title_timeout_seconds=4.0))


def entries(*texts: str, **kw: object) -> list[tuple[str | None, str, int | None]]:
    lines = [Line(t) for t in texts]
    return [(e.number, e.title, e.pages) for e in parse_attachments(lines)]


def test_numbered_list_with_russian_page_counts() -> None:
    assert entries(
        "ПРОШУ: пересмотреть решение.",
        "Приложение:",
        "1. Копия доверенности на 1 л.;",
        "2) Квитанция об оплате госпошлины (на 2-х листах);",
        "3. Копия решения Алмалинского районного суда г. Алматы от 10.01.2024",
        "по делу № 2-123/2024 на 3 л. в 1 экз.",
        "Дата: 20.03.2024",
        "Подпись ____________",
    ) == [
        ("1", "Копия доверенности", 1),
        ("2", "Квитанция об оплате госпошлины", 2),
        ("3", "Копия решения Алмалинского районного суда г. Алматы от 10.01.2024 по делу № 2-123/2024", 3),
    ]


def test_kazakh_list_with_parak_counts_and_bullets() -> None:
    assert entries(
        "Қосымшалар:",
        "- Сенімхаттың көшірмесі 1 парақта;",
        "- Мемлекеттік баж төленгені туралы түбіртек, 1 парақ;",
        "• Сот шешімінің көшірмесі 3 парақта.",
        "Арыз беруші: Серікбаев Н. А.",
    ) == [
        (None, "Сенімхаттың көшірмесі", 1),
        (None, "Мемлекеттік баж төленгені туралы түбіртек", 1),
        (None, "Сот шешімінің көшірмесі", 3),
    ]


def test_inline_list_after_the_header() -> None:
    assert entries("Приложение: копия решения суда; квитанция; доверенность.") == [
        (None, "копия решения суда", None),
        (None, "квитанция", None),
        (None, "доверенность", None),
    ]
    assert entries("Attachments: 1) Power of attorney (2 pages) 2) Receipt") == [
        ("1", "Power of attorney", 2),
        ("2", "Receipt", None),
    ]


def test_table_of_attachments() -> None:
    rows = [
        Line("", cells=["№ п/п", "Наименование документа", "Кол-во листов"]),
        Line("", cells=["1", "Доверенность", "1"]),
        Line("", cells=["2", "Справка о доходах", "3"]),
    ]
    found = parse_attachments([Line("Перечень прилагаемых документов:"), *rows])
    assert [(e.number, e.title, e.pages) for e in found] == [
        ("1", "Доверенность", 1),
        ("2", "Справка о доходах", 3),
    ]


def test_annex_headings_are_not_lists() -> None:
    assert entries("Приложение № 1 к договору займа", "1. Предмет договора") == []
    assert entries("Текст без списка приложений.") == []


def test_word_numbered_list_labels_come_from_numbering(filings: Path) -> None:
    # The paragraphs hold no typed numbers: "1." … "4." come from word/numbering.xml (w:numPr).
    found = outline.extract(filings / "kk_word_list" / "Арыз.docx", "docx", POLICY)
    assert found is not None
    assert [a["number"] for a in found.attachments] == ["1", "2", "3", "4"]
    assert found.attachments[1] == {
        "number": "2",
        "title": "Мемлекеттік баж төленгені туралы түбіртек",
        "pages": 1,
    }
    assert found.title == "АРЫЗ жаңадан ашылған мән-жайлар бойынша сот шешімін қайта қарау туралы"
    assert found.title_source == "heading"


def test_pdf_outline_pages_layout_and_fingerprint(filings: Path) -> None:
    bundle = outline.extract(filings / "bundle" / "Документы_Иванова.pdf", "pdf", POLICY)
    assert bundle is not None and bundle.pages == 4 and bundle.pages_exact
    assert [r["orientation"] for r in bundle.layout] == ["portrait", "landscape", "portrait"]
    assert [s["page"] for s in bundle.page_starts] == [1, 2, 3]
    pdf = outline.extract(filings / "same_text" / "Доверенность.pdf", "pdf", POLICY)
    docx = outline.extract(filings / "same_text" / "Доверенность.docx", "docx", POLICY)
    other = outline.extract(filings / "same_text" / "Справка_с_места_работы.pdf", "pdf", POLICY)
    assert pdf and docx and other and pdf.fingerprint and docx.fingerprint and other.fingerprint
    assert _sketch_similarity(pdf.fingerprint["sketch"], docx.fingerprint["sketch"], 64) >= 0.9
    assert _sketch_similarity(pdf.fingerprint["sketch"], other.fingerprint["sketch"], 64) < 0.1


def _draw_scan(path: Path, lines: list[str]) -> None:
    font_path = next(
        (p for p in filing_fixtures.load_generator().FONT_BOLD_CANDIDATES if Path(p).is_file()), None
    )
    if font_path is None:
        pytest.skip("no TTF font to draw the scan")
    image = Image.new("L", (1654, 2339), 255)  # A4 at 200 dpi
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(font_path, 44)
    y = 160
    for line in lines:
        draw.text((160, y), line, fill=0, font=font)
        y += 80
    image.save(path, dpi=(200, 200), quality=90)


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract is not installed")
def test_scan_title_is_read_by_ocr(tmp_path: Path) -> None:
    scan = tmp_path / "Квитанция.jpg"
    _draw_scan(scan, ["ДОВЕРЕННОСТЬ", "город Алматы, 12 марта 2024 года", "Я, Иванов Иван Иванович"])
    found = outline.extract(scan, "jpeg", WITH_OCR)
    assert found is not None and found.ocr == "done" and found.title_source == "ocr"
    assert found.title is not None and "ДОВЕРЕННОСТЬ" in found.title
    issues = Issues()
    check_outline(scan.name, found.to_dict(), WITH_OCR, issues)
    assert [i.rule for i in issues] == ["name.content_mismatch"]


def test_scan_without_ocr_says_the_title_is_unreadable(tmp_path: Path) -> None:
    scan = tmp_path / "Доверенность.jpg"
    _draw_scan(scan, ["ДОВЕРЕННОСТЬ"])
    found = outline.extract(scan, "jpeg", NO_OCR)
    assert found is not None and found.title is None and found.ocr == "unavailable"
    issues = Issues()
    check_outline(scan.name, found.to_dict(), NO_OCR, issues)
    assert [(i.rule, i.params["reason"]) for i in issues] == [("name.title_unreadable", "@ui:title_no_ocr_off")]


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not next to the repository")
def test_corpus_outlines_are_small_and_judged_soberly() -> None:
    """Every corpus document with an outline: bounded size; only real bundles are flagged and no
    name is said to contradict its content (the corpus names are not document types)."""
    flagged: set[str] = set()
    failed: set[str] = set()
    count = 0
    for path in sorted(CORPUS.rglob("*")):
        fmt = sniff(path).format if path.is_file() else None
        if fmt not in ("pdf", "docx", "jpeg"):
            continue
        try:
            found = outline.extract(path, fmt, NO_OCR)
        except pypdfium2.PdfiumError:
            failed.add(path.name)  # encrypted or damaged: the file checks refuse these first
            continue
        assert found is not None
        count += 1
        data = found.to_dict()
        assert len(json.dumps(data, ensure_ascii=False)) < 20_000, path
        issues = Issues()
        check_outline(path.name, data, NO_OCR, issues)
        assert "name.content_mismatch" not in {i.rule for i in issues}, path
        if any(i.rule == "file.multiple_documents" for i in issues):
            flagged.add(path.name)
    assert count >= 90
    # multipage.pdf joins six unrelated images of different sizes and orientations.
    assert flagged == {"multipage.pdf"}
    assert failed <= {
        "epson_truncated.pdf",
        "invalid.pdf",
        "skew-encrypted.pdf",
        "print_protection.pdf",
        "saslprep-r6.pdf",
        "libreoffice-writer-password.pdf",
    }


def test_docx_bundle_split_by_page_breaks(tmp_path: Path) -> None:
    from docx import Document

    doc = Document()
    for k, (title, body) in enumerate(
        [
            ("ДОВЕРЕННОСТЬ", "Я, Иванов Иван Иванович, уполномочиваю представлять мои интересы."),
            ("КВИТАНЦИЯ", "об оплате государственной пошлины № 7716"),
            ("Справка", "дана в том, что он работает инженером."),  # not in capitals: not a new title
        ]
    ):
        if k:
            doc.add_page_break()
        doc.add_paragraph().add_run(title).bold = True
        doc.add_paragraph(body)
    path = tmp_path / "Документы.docx"
    doc.save(str(path))
    found = outline.extract(path, "docx", POLICY)
    assert found is not None
    assert [(s["page"], s["title"]) for s in found.page_starts] == [(1, "ДОВЕРЕННОСТЬ"), (2, "КВИТАНЦИЯ")]
    issues = Issues()
    check_outline(path.name, found.to_dict(), POLICY, issues)
    assert [(i.rule, i.params["pages"]) for i in issues] == [("file.multiple_documents", "1, 2")]


def _policy_text_with_old_title_ocr_keys(timeout: str, keep_new: bool = False) -> bytes:
    """The shipped policy as written before the title OCR settings joined [ocr]: they were
    `filing.ocr_timeout_seconds` and `filing.ocr_languages`."""
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    if not keep_new:
        text = re.sub(r"(?m)^title_(timeout_seconds|languages) = .*\n", "", text)
    old = f'ocr_timeout_seconds = {timeout}\nocr_languages = ["kaz", "rus"]\n'
    return text.replace("[filing]\n", "[filing]\n" + old, 1).encode("utf-8")


def test_a_policy_with_the_old_title_ocr_keys_still_loads() -> None:
    policy = parse_policy(_policy_text_with_old_title_ocr_keys("4.0"))
    assert policy.ocr.title_timeout_seconds == 4.0
    assert policy.ocr.title_languages == ["kaz", "rus"]
    assert not hasattr(policy.filing, "ocr_timeout_seconds")


def test_a_policy_with_the_title_ocr_keys_under_both_names_is_refused() -> None:
    with pytest.raises(PolicyError, match=r"filing\.ocr_timeout_seconds: moved to ocr\.title_timeout_seconds"):
        parse_policy(_policy_text_with_old_title_ocr_keys("4.0", keep_new=True))
