"""PDF text layer: fonts, effective sizes, invisible OCR text, headers/footers, line spacing and page
kinds, on generated PDFs of every construction and on real PDFs from Word, LibreOffice, Google
Docs, pdfTeX and OCR tools in the corpus."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
import time
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pypdf
import pypdfium2 as pdfium
import pytest
from courtdoc.checks.findings import Issue, Issues
from courtdoc.checks.pdf import content, fontprograms
from courtdoc.checks.pdf import text as pdf_text
from courtdoc.core import messages
from courtdoc.core.policy import Policy, default_policy
from courtdoc.pipeline import validate_file

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
GENERATED = ROOT / "fixtures" / "generated" / "pdf_text"
needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the corpus is not at {CORPUS}")
WORD_PDF = CORPUS / "normcontrol-document-parser" / "Марцинкевич ВИ_K42401.pdf"
WORD_PDF_2 = CORPUS / "normcontrol-document-parser" / "Отчёт по практике для парсинга.pdf"
LIBREOFFICE_PDF = CORPUS / "ullyminat-normocontrol" / "1771618392_Документ.pdf"
SAMPLES = CORPUS / "py-pdf-sample-files"
GEN_CONTENT_LINES = [
    "Заявление о пересмотре решения по вновь открывшимся",
    "обстоятельствам. Прошу суд пересмотреть решение, так как",
    "после его вынесения стали известны существенные для дела",
    "обстоятельства, которые не были известны заявителю.",
]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_pdfs_text", ROOT / "fixtures" / "generate_pdfs_text.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


GEN = _generator()


@pytest.fixture(scope="session")
def pdfs() -> dict[str, Path]:
    return GEN.generate(GENERATED)  # type: ignore[no-any-return]


def layer_of(path: Path, policy: Policy | None = None) -> pdf_text.TextLayer:
    return pdf_text.read_text_layer(pypdf.PdfReader(path), policy or default_policy())


def judged(path: Path, policy: Policy | None = None) -> list[Issue]:
    issues = Issues()
    pdf_text.check_text_layer(pypdf.PdfReader(path), policy or default_policy(), issues)
    return list(issues)


def fonts(layer: pdf_text.TextLayer, area: str | None = "body") -> Counter[tuple[str, float]]:
    """(font as written, size) → visible characters, in one area (None: every area)."""
    found: Counter[tuple[str, float]] = Counter()
    for page in layer.pages:
        for (where, name, size), combo in page.combos.items():
            if area is None or where == area:
                found[(name, size)] += combo.chars
    return found


def visible(*texts: str) -> int:
    return sum(len("".join(t.split())) for t in texts)


def rules(issues: list[Issue]) -> list[str]:
    return sorted(i.rule for i in issues)


# --- sizes and names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [(14.04, 14.0), (13.98, 14.0), (11.04, 11.0), (10.5, 10.5), (14.23, 14.2), (14.08, 14.1)],
)
def test_sizes_snap_to_half_points_else_tenths(value: float, expected: float) -> None:
    assert pdf_text.snap_size(value) == expected


def test_effective_size_is_perpendicular_glyph_height() -> None:
    assert pdf_text.effective_size(14, (0.0, 1.0, -1.0, 0.0, 0, 0)) == pytest.approx(14)  # 90°
    assert pdf_text.effective_size(1, (12.12, 7.0, -7.0, 12.12, 0, 0)) == pytest.approx(
        14, abs=0.01
    )  # 30° via Tm
    assert pdf_text.effective_size(14, (0.8, 0.0, 0.0, 1.0, 0, 0)) == pytest.approx(14)  # Tz 80 %
    assert pdf_text.effective_size(14, (1.0, 0.0, 0.25, 1.0, 0, 0)) == pytest.approx(14)  # slanted
    assert pdf_text.effective_size(7, (1.0, 0.0, 0.0, 2.0, 0, 0)) == pytest.approx(14)  # stretched upright


def test_family_labels() -> None:
    assert pdf_text.family_label("ABCDEF+Arial-BoldMT") == "Arial"
    assert pdf_text.family_label("Calibri,Bold") == "Calibri"
    assert pdf_text.family_label("TimesNewRomanPS-BoldItalicMT") == "TimesNewRoman"
    assert pdf_text.family_label("BAAAAA+LiberationSerif") == "LiberationSerif"
    assert pdf_text.family_label("CMR10") == "CMR10"


def test_times_new_roman_14_single_spaced_passes(pdfs: dict[str, Path]) -> None:
    layer = layer_of(pdfs["tnr14_single"])
    lines = GEN.body(GEN.RUSSIAN + GEN.KAZAKH, 10)
    assert fonts(layer) == {("TimesNewRomanPSMT", 14.0): visible(*lines[:70])}
    # The page numbers (12 pt, 15 mm from the bottom) are footer text: counted, not judged.
    assert fonts(layer, "footer") == {("TimesNewRomanPSMT", 12.0): 2}
    assert [p.spacing for p in layer.pages] == [1.0, 1.0]
    assert judged(pdfs["tnr14_single"]) == []


def test_every_spelling_of_times_new_roman_is_the_family(pdfs: dict[str, Path]) -> None:
    layer = layer_of(pdfs["tnr_spellings"])
    names = {name for name, _ in fonts(layer)}
    assert names == {
        "Times-Roman",
        "Times-Bold",
        "TimesNewRomanPSMT",
        "TimesNewRomanPS-BoldMT",
        "TimesNewRomanPS-ItalicMT",
        "TimesNewRoman,Bold",
        "TimesNewRomanCyr",
        "Times New Roman",  # /Times#20New#20Roman; and ABCDEF+TimesNewRomanPSMT without its prefix
    }
    summary = pdf_text.summary(layer, default_policy())
    assert {f.family for f in summary.fonts} == {"Times New Roman"}
    assert judged(pdfs["tnr_spellings"]) == []


# --- matrices, rotation, forms ---------------------------------------------------------------------


def test_size_through_tm_cm_forms_and_horizontal_scaling(pdfs: dict[str, Path]) -> None:
    layer = layer_of(pdfs["matrices"])
    runs = [
        "Tm scaled: " + GEN.RUSSIAN[:50],
        "cm scaled 2x: " + GEN.RUSSIAN[:50],
        "cm scaled 0.5x: " + GEN.KAZAKH[:50],
        "Tz 80: " + GEN.RUSSIAN[:50],
        "narrow Tm: " + GEN.KAZAKH[:50],
        "form 2x: " + GEN.KAZAKH[:50],
    ]
    assert fonts(layer) == {("TimesNewRomanPSMT", 14.0): visible(*runs)}
    assert judged(pdfs["matrices"]) == []


def test_rotated_text_measures_its_size(pdfs: dict[str, Path]) -> None:
    layer = layer_of(pdfs["rotated"])
    assert set(fonts(layer)) == {("TimesNewRomanPSMT", 14.0)}
    assert layer.pages[0].visible == visible(
        "rotated 90: " + GEN.RUSSIAN[:60],
        "rotated 30: " + GEN.RUSSIAN[:60],
        "rotated -45 via Tm: " + GEN.KAZAKH[:40],
        "landscape page content: " + GEN.RUSSIAN[:60],
    )
    assert judged(pdfs["rotated"]) == []
    issues = judged(pdfs["rotated_arial12"])
    assert [(i.rule, i.params["font"], i.params["size"]) for i in issues] == [
        ("font.family", "Arial", "12"),
        ("font.size", "Arial", "12"),
    ]


def test_turned_page_is_read_as_shown(pdfs: dict[str, Path]) -> None:
    # /Rotate 90 with the text drawn turned back: upright as shown, so its lines' spacing is
    # measured and its page number is at the foot of the shown page.
    layer = layer_of(pdfs["page_rotate90"])
    lines = GEN.body(GEN.RUSSIAN + GEN.KAZAKH, 10)
    assert fonts(layer) == {("TimesNewRomanPSMT", 14.0): visible(*lines[:20])}
    assert fonts(layer, "footer") == {("TimesNewRomanPSMT", 12.0): 1}
    assert layer.pages[0].spacing == 1.0


# --- wrong fonts and sizes, clones -----------------------------------------------------------------


def test_arial_12_rejected_with_page_and_excerpt(pdfs: dict[str, Path]) -> None:
    issue, size = judged(pdfs["arial12"])  # Arial 12 breaks both rules
    assert (issue.rule, size.rule) == ("font.family", "font.size") and size.location == issue.location
    assert issue.location == {"page": 1, "excerpt": issue.params["excerpt"], "boxes": issue.location["boxes"]}
    # Boxed on its page: the first lines of the text, one box a line, top first.
    boxes = issue.location["boxes"]
    lines = GEN.body(GEN.RUSSIAN, 3)
    assert len(boxes) == min(len(lines), pdf_text.MAX_BOX_RUNS) and {b["page"] for b in boxes} == {1}
    assert [b["y"] for b in boxes] == sorted(b["y"] for b in boxes) and all(b["x"] > 0 for b in boxes)
    assert issue.params["excerpt"].startswith("Прошу суд пересмотреть решение")
    assert (issue.params["font"], issue.params["size"], issue.params["share"]) == ("Arial", "12", "100")
    text = messages.render(issue.rule, "ru", issue.params)
    assert "стр. 1" in text and "Arial 12 пт" in text and "Times New Roman 14 пт" in text
    assert "page 1)" in messages.render(issue.rule, "en", issue.params)
    assert "1-бет)" in messages.render(issue.rule, "kk", issue.params)


def test_family_and_size_are_separate_rules(pdfs: dict[str, Path]) -> None:
    assert [(i.rule, i.params["font"], i.params["size"]) for i in judged(pdfs["helvetica14"])] == [
        ("font.family", "Helvetica", "14")
    ]
    assert [(i.rule, i.params["font"], i.params["size"]) for i in judged(pdfs["tnr12"])] == [
        ("font.size", "Times New Roman", "12")
    ]


def test_liberation_serif_is_a_clone_warning_not_a_reject(pdfs: dict[str, Path]) -> None:
    (issue,) = judged(pdfs["liberation14"])
    assert issue.rule == "font.clone" and issue.params["font"] == "LiberationSerif"
    assert "substitute" in messages.render(issue.rule, "en", issue.params)
    report = validate_file(pdfs["liberation14"], name="Заявление о пересмотре.pdf")
    found = {f.rule: f.severity for f in report.findings}
    assert found["font.clone"] == "warn"
    assert "font.family" not in found and "font.size" not in found


def test_one_deviating_page_is_named(pdfs: dict[str, Path]) -> None:
    issue, size = judged(pdfs["one_page_arial"])
    assert (issue.rule, size.rule) == ("font.family", "font.size")
    assert issue.location["page"] == 3
    assert issue.params["places"] == "3" and issue.params["share"] == "25"


# --- headers, footers, footnotes -------------------------------------------------------------------


def test_margin_band_exempts_running_heads_and_the_share_allows_a_footnote(pdfs: dict[str, Path]) -> None:
    path = pdfs["tnr14_footnote"]
    layer = layer_of(path)
    assert fonts(layer, "header") == {("Arial", 9.0): visible("Дело № 2-1234/2026")}
    assert fonts(layer, "footer") == {("TimesNewRomanPSMT", 12.0): 1}
    assert fonts(layer)[("TimesNewRomanPSMT", 10.0)] > 0  # the footnote is body text in a PDF
    # The footnote is within the allowed share: named at its own rule, not refused.
    assert [(i.rule, i.params["size"]) for i in judged(path)] == [("font.minor_deviation", "10")]
    policy = default_policy()
    strict = dataclasses.replace(policy, fonts=dataclasses.replace(policy.fonts, max_deviating_share=0.0))
    assert [(i.rule, i.params["size"]) for i in judged(path, strict)] == [("font.size", "10")]
    no_band = dataclasses.replace(strict, fonts=dataclasses.replace(strict.fonts, pdf_margin_mm=0.0))
    assert sorted((i.params["font"], i.params["size"]) for i in judged(path, no_band)) == [
        ("Arial", "9"),
        ("Arial", "9"),  # its family and its size
        ("Times New Roman", "10"),
        ("Times New Roman", "12"),
    ]


# --- invisible text and page kinds -----------------------------------------------------------------


def test_invisible_ocr_text_is_counted_apart(pdfs: dict[str, Path]) -> None:
    layer = layer_of(pdfs["ocr_scan"])
    assert layer.pages[0].visible == 0
    assert layer.pages[0].invisible == visible(*GEN.body(GEN.RUSSIAN, 6)[:40])
    assert judged(pdfs["ocr_scan"]) == []


def test_text_an_opaque_page_image_hides_is_not_typed_text(pdfs: dict[str, Path]) -> None:
    # OCR "text under the page image": drawn first in render mode 0, then covered by the scan.
    expected = visible(*GEN.body(GEN.RUSSIAN, 6)[:30])
    hidden = layer_of(pdfs["text_under_image"]).pages[0]
    assert (hidden.visible, hidden.invisible) == (0, expected)
    assert judged(pdfs["text_under_image"]) == []
    assert [p.kind for p in validate_file(pdfs["text_under_image"], name="Заявление.pdf").pages] == ["scan"]
    # A stencil mask paints only its set bits: the text under it shows through, and is judged.
    shown = layer_of(pdfs["text_under_mask"]).pages[0]
    assert (shown.visible, shown.invisible) == (expected, 0)
    assert "font.family" in rules(judged(pdfs["text_under_mask"]))


def test_page_kinds_from_glyphs_and_images(pdfs: dict[str, Path]) -> None:
    report = validate_file(pdfs["mixed"], name="Заявление о пересмотре.pdf")
    assert [p.kind for p in report.pages] == ["text", "scan", "blank"]
    assert report.pages[0].metrics["glyphs"] > 1000 and report.pages[0].metrics["line_spacing"] == 1.0
    assert report.pages[1].metrics["glyphs"] == 0 and report.pages[1].metrics["invisible_glyphs"] > 1000
    assert report.text is not None and report.text.chars == report.pages[0].metrics["glyphs"]
    assert [p.kind for p in validate_file(pdfs["text_with_photo"], name="Заявление.pdf").pages] == ["text"]
    assert [p.kind for p in validate_file(pdfs["blank"], name="Заявление.pdf").pages] == ["blank"]


# --- line spacing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "lines"), [("tnr14_spacing15", "1.5"), ("tnr14_spacing2", "2")])
def test_line_spacing_from_baselines(pdfs: dict[str, Path], key: str, lines: str) -> None:
    (issue,) = judged(pdfs[key])
    assert issue.rule == "spacing.line" and issue.params["lines"] == lines
    assert issue.location["page"] == 1
    assert messages.render(issue.rule, "en", issue.params).startswith("Page 1 (")
    assert default_policy().severity("spacing.line") == "warn"


# --- robustness of the content reader --------------------------------------------------------------


def test_streams_the_fast_reader_cannot_follow_are_read_fully(pdfs: dict[str, Path]) -> None:
    layer = layer_of(pdfs["fallback_comment"])
    lines = GEN.body(GEN.RUSSIAN + GEN.KAZAKH, 10)
    assert layer.pages[0].fallback_streams == 1
    assert fonts(layer) == {
        ("TimesNewRomanPSMT", 14.0): visible(*lines[:10], "Deep (a (b (c (d) c) b) a) nesting")
    }


def test_inline_image_data_is_skipped(pdfs: dict[str, Path]) -> None:
    layer = layer_of(pdfs["inline_image"])
    lines = GEN.body(GEN.RUSSIAN + GEN.KAZAKH, 10)
    assert layer.pages[0].fallback_streams == 0
    assert fonts(layer) == {("TimesNewRomanPSMT", 14.0): visible(*lines[:10])}


def test_a_stream_that_never_tokenizes_is_rejected_in_linear_time() -> None:
    # Operands without an operator, then a stray delimiter: a tokenizer that retried from every
    # position would take hours on this (quadratic); it must give up at once and leave the
    # stream to the full parser.
    data = b"1 " * 400_000 + b") BT /F1 12 Tf (x) Tj ET"
    started = time.process_time()
    assert content._fast_operations(data) is None
    assert time.process_time() - started < 2.0
    assert content._fast_operations(b"BT /F1 12 Tf (x) Tj ET") is not None


def test_fast_and_full_parsers_agree_on_a_word_page() -> None:
    if not WORD_PDF.is_file():
        pytest.skip(f"the corpus is not at {CORPUS}")
    reader = pypdf.PdfReader(WORD_PDF)
    data = content._stream_data(reader.pages[2].get("/Contents"))
    fast = content._fast_operations(data)
    slow = content._slow_operations(data, reader)
    assert fast is not None
    assert [op for _, _, op, _ in fast] == [op for _, _, op, _ in slow]


def _pdfium_visible(path: Path) -> list[int]:
    pdf = pdfium.PdfDocument(str(path))
    try:
        counts = []
        for page in pdf:
            textpage = page.get_textpage()
            counts.append(len("".join(textpage.get_text_range().split())))
            textpage.close()
            page.close()
        return counts
    finally:
        pdf.close()


@pytest.mark.parametrize(
    "name",
    [
        "tnr14_single",
        "tnr_spellings",
        "matrices",
        "rotated",
        "ocr_scan",
        "mixed",
        "fallback_comment",
        "inline_image",
    ],
)
def test_glyph_counts_match_pdfium(pdfs: dict[str, Path], name: str) -> None:
    layer = layer_of(pdfs[name])
    assert [p.visible + p.invisible for p in layer.pages] == _pdfium_visible(pdfs[name])


@needs_corpus
@pytest.mark.parametrize(
    "path",
    [
        WORD_PDF,
        WORD_PDF_2,
        LIBREOFFICE_PDF,
        SAMPLES / "minimal-document.pdf",
        CORPUS / "pdfjs" / "issue12963.pdf",
    ],
    ids=lambda p: p.name,
)
def test_corpus_glyph_counts_match_pdfium(path: Path) -> None:
    layer = layer_of(path)
    assert [p.visible + p.invisible for p in layer.pages] == _pdfium_visible(path)


# --- real documents --------------------------------------------------------------------------------


def _share(found: Counter[tuple[str, float]], keep: Any) -> float:
    total = sum(found.values())
    return sum(n for key, n in found.items() if keep(key)) / total


@needs_corpus
def test_word_365_report_is_times_14_at_one_and_a_half_lines() -> None:
    # A Word-for-365 PDF of a Russian report set in Times New Roman 14 (Word writes 14.04) with
    # 1.5 line spacing, as the Russian GOST asks: no font finding; the spacing is a warning.
    layer = layer_of(WORD_PDF)
    body = fonts(layer)
    assert _share(body, lambda k: k[0].startswith("TimesNewRoman") and k[1] == 14.0) > 0.99
    # Word tags the page numbers (and an empty Calibri footer paragraph) as pagination artifacts.
    assert ("TimesNewRomanPSMT", 14.0) in fonts(layer, "footer")
    assert Counter(p.spacing for p in layer.pages).most_common(1)[0][0] == 1.5
    issues = judged(WORD_PDF)
    # The list dashes Word sets in Symbol are list labels, not text: no font finding.
    assert {i.rule for i in issues} == {"spacing.line"}
    issues = [i for i in issues if i.rule == "spacing.line"]
    top = max(issues, key=lambda i: i.params["chars"])
    assert top.params["lines"] == "1.5" and top.location["page"] == 1


@needs_corpus
def test_word_report_with_small_tables_is_within_the_allowance() -> None:
    # The near miss: body in Times New Roman 14, tables in 11 pt and figure labels in Arial 10 —
    # together under 5 % of the text, the share a court allows for tables and captions.
    layer = layer_of(WORD_PDF_2)
    body = fonts(layer)
    assert body[("TimesNewRomanPSMT", 11.0)] > 800 and body[("ArialMT", 10.0)] > 100
    deviating = _share(body, lambda k: not (k[0].startswith(("TimesNewRoman", "Symbol")) and k[1] == 14.0))
    assert 0.03 < deviating < 0.05
    minor = {(i.rule, i.params["font"], i.params["size"]) for i in judged(WORD_PDF_2) if "font" in i.params}
    assert {r for r, *_ in minor} == {"font.minor_deviation"}  # named, not refused
    assert {("font.minor_deviation", "Times New Roman", "11"), ("font.minor_deviation", "Arial", "10")} <= minor
    policy = default_policy()
    strict = dataclasses.replace(policy, fonts=dataclasses.replace(policy.fonts, max_deviating_share=0.02))
    found = {
        (i.rule, i.params["font"], i.params["size"]) for i in judged(WORD_PDF_2, strict) if "font" in i.params
    }
    assert ("font.size", "Times New Roman", "11") in found and ("font.family", "Arial", "10") in found


@needs_corpus
def test_libreoffice_rendering_with_liberation_serif_warns() -> None:
    layer = layer_of(LIBREOFFICE_PDF)
    assert set(fonts(layer)) == {("LiberationSerif", 14.0), ("LiberationSerif-Bold", 14.0)}
    font_rules = [i.rule for i in judged(LIBREOFFICE_PDF) if i.rule.startswith("font.")]
    assert font_rules == ["font.clone"]
    # The document's paragraphs are set at 1.15 lines (its defaults) and 1.5: baselines 18.5 pt
    # and 24.15 pt apart at 14 pt, that is 1.15 and 1.5 times the 1.15 em of a single line.
    assert Counter(p.spacing for p in layer.pages).most_common(1)[0][0] == 1.15


@needs_corpus
@pytest.mark.parametrize(
    ("name", "font", "size"),
    [
        ("google-doc-document.pdf", "Arial", "11"),  # Google Docs, a glyph per text object
        ("minimal-document.pdf", "CMR10", "10.9"),  # pdfTeX, Computer Modern
        ("002-trivial-libre-office-writer.pdf", "DejaVuSans", "10"),  # LibreOffice Writer
        ("crazyones-pdfa.pdf", "SFRM0900", "9"),  # pdfTeX PDF/A
    ],
)
def test_other_producers_are_read_and_rejected(name: str, font: str, size: str) -> None:
    issues = [i for i in judged(SAMPLES / name) if i.rule == "font.family"]
    top = max(issues, key=lambda i: i.params["chars"])
    assert (top.params["font"], top.params["size"]) == (font, size)
    assert top.params["excerpt"] and " " in top.params["excerpt"]  # words spaced in the quote


@needs_corpus
@pytest.mark.parametrize(
    ("name", "invisible"), [("ocrmypdf/multipage.pdf", 77), ("pdfjs/issue5747.pdf", 693)]
)
def test_scans_with_ocr_layers_have_no_typed_text(name: str, invisible: int) -> None:
    layer = layer_of(CORPUS / name)
    assert layer.chars == 0
    assert sum(p.invisible for p in layer.pages) == invisible
    assert judged(CORPUS / name) == []


# --- fonts named anonymously (Microsoft Print to PDF: CIDFont+F1) ----------------------------------


@pytest.mark.parametrize(
    ("name", "anonymous"),
    [
        ("CIDFont+F1", True),
        ("CIDFont+F12", True),
        ("F1", True),
        ("T1_0", True),
        ("TT2", True),
        ("C2_0", True),
        ("ABCDEF+", True),
        ("(unnamed composite font)", True),
        ("ABCDEF+TimesNewRomanPSMT", False),
        ("Tahoma", False),
        ("Arial", False),
    ],
)
def test_names_that_say_nothing(name: str, anonymous: bool) -> None:
    assert fontprograms.is_anonymous(name) is anonymous


@pytest.mark.parametrize("key", ["anon_type0_dejavu", "anon_truetype_dejavu"])
def test_an_anonymous_font_is_named_by_its_embedded_program(content_docs: dict[str, Path], key: str) -> None:
    path = content_docs[key]
    reader = pypdf.PdfReader(str(path))
    written = {str(f.get_object()["/BaseFont"]) for f in reader.pages[0]["/Resources"]["/Font"].values()}
    assert written <= {"/CIDFont+F1", "/T1_0"}  # the dictionary names nothing
    assert fonts(layer_of(path)) == {("DejaVu Serif", 14.0): visible(*GEN_CONTENT_LINES)}
    found = judged(path)
    assert [(i.rule, i.params["font"]) for i in found] == [("font.family", "DejaVu Serif")]


def test_a_times_new_roman_program_behind_cidfont_f1_passes(content_docs: dict[str, Path]) -> None:
    path = content_docs["anon_type0_times"]
    assert set(fonts(layer_of(path))) == {("Times New Roman", 14.0)}
    assert judged(path) == []
    assert validate_file(path, default_policy()).to_dict()["verdict"] == "accept"


def test_the_program_name_comes_from_the_name_table(content_docs: dict[str, Path]) -> None:
    reader = pypdf.PdfReader(str(content_docs["anon_type0_times"]))
    font = next(iter(reader.pages[0]["/Resources"]["/Font"].values()))
    assert fontprograms.program_name(font) == "Times New Roman"
    plain = pypdf.PdfReader(str(WORD_PDF)) if WORD_PDF.is_file() else None
    if plain is not None:  # a named, subset font of Word: its program names its family
        names = {
            fontprograms.program_name(f)
            for f in plain.pages[0]["/Resources"]["/Font"].values()
            if "Times" in str(f.get_object()["/BaseFont"])
        }
        assert names - {None} == {"Times New Roman"}  # None: a font Word did not embed
