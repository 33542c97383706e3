"""Where deviating PDF text is (`location.boxes` of font findings, measured from the glyph runs),
checked against PDFium's character boxes on generated PDFs; and list bullets drawn in symbol
fonts left out of the font inventory, on a generated list and on a Word PDF of the corpus."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pypdf
import pypdfium2 as pdfium
import pytest
from courtdoc.checks.findings import Issue, Issues
from courtdoc.checks.pdf import fontmaps
from courtdoc.checks.pdf import text as pdf_text
from courtdoc.checks.textrules import Place
from courtdoc.core.policy import default_policy
from courtdoc.engine import evidence
from courtdoc.pipeline import validate_file

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
WORD_PDF = CORPUS / "normcontrol-document-parser" / "Марцинкевич ВИ_K42401.pdf"
DEJAVU = Path("/usr/share/fonts/truetype/dejavu")
A4 = (595.28, 841.89)
MM = 72 / 25.4
BODY = [
    "Заявление о пересмотре решения по вновь открывшимся",
    "обстоятельствам. Прошу суд пересмотреть решение, так как",
    "после его вынесения стали известны существенные для дела",
    "обстоятельства, которые не были известны заявителю.",
]
ARIAL_LINE = "Примечание: копия решения прилагается к заявлению."
ITEMS = ["копия решения суда первой инстанции;", "квитанция об оплате пошлины;", "доверенность представителя."]


def _renamed(source: Path, family: str, postscript: str) -> io.BytesIO:
    """A DejaVu program under a Word font's names, as a Word PDF embeds Times New Roman or Arial."""
    from fontTools.ttLib import TTFont

    font = TTFont(str(source))
    for record in font["name"].names:
        if record.nameID in (1, 3, 4, 16):
            record.string = family
        elif record.nameID == 6:
            record.string = postscript
    out = io.BytesIO()
    font.save(out)
    out.seek(0)
    return out


def _register() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "TimesNewRomanPSMT" not in pdfmetrics.getRegisteredFontNames():
        times = _renamed(DEJAVU / "DejaVuSerif.ttf", "Times New Roman", "TimesNewRomanPSMT")
        pdfmetrics.registerFont(TTFont("TimesNewRomanPSMT", times))
        arial = _renamed(DEJAVU / "DejaVuSans.ttf", "Arial", "ArialMT")
        pdfmetrics.registerFont(TTFont("ArialMT", arial))


def _draw(path: Path, bullets: str | None = None, dash_font: str | None = None) -> Path:
    """Two pages of Times New Roman 14 with one Arial 12 line on page 2 (after four body lines);
    with `bullets`, a list on page 1 whose labels are drawn in that font (Word's way: the label
    a run of its own, the item's text after a tab stop); with `dash_font`, a lone dash at a
    line's start before a tab's gap, one inside a line and one a line starts with before a space,
    in that font."""
    from reportlab.pdfgen import canvas

    _register()
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    for page in (1, 2):
        y = A4[1] - 25 * MM
        for n, line in enumerate(BODY * 3):
            c.setFont("TimesNewRomanPSMT", 14)
            c.drawString(30 * MM, y, line)
            y -= 14 * 1.15
            if page == 2 and n == len(BODY) - 1:
                c.setFont("ArialMT", 12)
                c.drawString(30 * MM, y, ARIAL_LINE)
                y -= 14 * 1.15
        if page == 1 and bullets:
            for item in ITEMS:
                c.setFont(bullets, 14)
                c.drawString(35 * MM, y, "•" if bullets == "Symbol" else "–")
                c.setFont("TimesNewRomanPSMT", 14)
                c.drawString(42 * MM, y, item)
                y -= 14 * 1.15
            c.setFont("TimesNewRomanPSMT", 14)
            c.drawString(30 * MM, y, "где")
            c.setFont("Symbol", 14)
            c.drawString(30 * MM + 30, y, "α")  # a Greek alpha inside a line: text, not a label
            y -= 14 * 1.15
        if page == 1 and dash_font:
            c.setFont(dash_font, 14)
            c.drawString(30 * MM, y, "–")
            c.setFont("TimesNewRomanPSMT", 14)
            c.drawString(40 * MM, y, "пункт перечня, набранный вручную;")
            y -= 14 * 1.15
            c.drawString(30 * MM, y, "срок")
            c.setFont(dash_font, 14)
            c.drawString(30 * MM + 32, y, "–")
            c.setFont("TimesNewRomanPSMT", 14)
            c.drawString(30 * MM + 44, y, "десять дней.")
            y -= 14 * 1.15
            c.setFont(dash_font, 14)
            c.drawString(30 * MM, y, "–")  # a dash the line wraps before: a space, not a tab, after it
            c.setFont("TimesNewRomanPSMT", 14)
            c.drawString(30 * MM + 12, y, "так указано в решении.")
        c.showPage()
    c.save()
    return path


def _turned(source: Path, path: Path, rotate: int, crop: tuple[float, float, float, float]) -> Path:
    """The PDF with every page shown turned by `rotate` and cut to the crop box `crop`."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(source))
    for page in writer.pages:
        page.cropbox = pypdf.generic.RectangleObject(crop)
        if rotate:
            page.rotate(rotate)
    writer.write(str(path))
    return path


def _issues(path: Path) -> list[Issue]:
    issues = Issues()
    pdf_text.check_text_layer(pypdf.PdfReader(path), default_policy(), issues)
    return list(issues)


def _font_issue(path: Path) -> Issue:
    found = [i for i in _issues(path) if i.rule.startswith("font.") and i.params["font"] == "Arial"]
    assert found, [i.rule for i in _issues(path)]
    return found[0]


def _pdfium_boxes(path: Path, page: int, words: str) -> Iterator[tuple[float, float, float, float]]:
    """PDFium's boxes of each character of `words` on the page, as displayed (x, y, w, h)."""
    document = pdfium.PdfDocument(str(path))
    try:
        shown_page = document[page - 1]
        textpage = shown_page.get_textpage()
        searcher = textpage.search(words, match_case=True)
        hit = searcher.get_next()
        assert hit is not None, words
        start, count = hit
        shown = evidence._Displayed(shown_page)
        boxes = [shown.box(*textpage.get_charbox(i)) for i in range(start, start + count)]
        searcher.close()
        textpage.close()
        shown_page.close()
        yield from (b for b in boxes if b[2] > 0 and b[3] > 0)
    finally:
        document.close()


def _covers(box: dict[str, Any], inner: tuple[float, float, float, float], slack: float = 0.5) -> bool:
    x, y, w, h = inner
    return (
        box["x"] - slack <= x
        and box["y"] - slack <= y
        and x + w <= box["x"] + box["w"] + slack
        and y + h <= box["y"] + box["h"] + slack
    )


def _inside(box: dict[str, Any], width: float, height: float) -> bool:
    return box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["w"] <= width and box["y"] + box["h"] <= height


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _draw(tmp_path_factory.mktemp("boxes") / "arial_line.pdf")


# --- boxes ---------------------------------------------------------------------------------------


def test_a_deviating_line_is_boxed_where_pdfium_draws_it(plain: Path) -> None:
    issue = _font_issue(plain)
    assert issue.rule == "font.minor_deviation" and issue.location["page"] == 2
    (box,) = issue.location["boxes"]  # one line of Arial, one box
    assert box["page"] == 2 and box["kind"] == "rect"
    assert _inside(box, *A4)
    chars = list(_pdfium_boxes(plain, 2, ARIAL_LINE))
    assert len(chars) > 40 and all(_covers(box, c) for c in chars)
    # Tight enough to show the line, not the paragraph: no taller than two lines of 12 pt.
    left = min(c[0] for c in chars)
    right = max(c[0] + c[2] for c in chars)
    assert box["h"] < 24 and abs(box["x"] - left) < 3 and abs(box["x"] + box["w"] - right) < 6


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
def test_boxes_follow_the_displayed_page(plain: Path, tmp_path: Path, rotate: int) -> None:
    # A crop box that does not start at the origin, and the page shown turned.
    path = _turned(plain, tmp_path / f"turned_{rotate}.pdf", rotate, (20, 30, 580, 830))
    (box,) = _font_issue(path).location["boxes"]
    width, height = (800, 560) if rotate in (90, 270) else (560, 800)
    assert _inside(box, width, height)
    assert all(_covers(box, c) for c in _pdfium_boxes(path, 2, ARIAL_LINE))
    assert (box["w"] > box["h"]) == (rotate in (0, 180))  # a line across the page as shown


def test_a_finding_names_up_to_twenty_runs_of_its_first_page(tmp_path: Path) -> None:
    from reportlab.pdfgen import canvas

    _register()
    path = tmp_path / "arial_pages.pdf"
    c = canvas.Canvas(str(path), pagesize=A4, invariant=1)
    for _ in range(2):
        c.setFont("ArialMT", 12)
        for i, line in enumerate(BODY * 8):  # 32 lines of Arial a page
            c.drawString(30 * MM, A4[1] - 25 * MM - i * 14, line)
        c.showPage()
    c.save()
    issue = _font_issue(path)
    boxes = issue.location["boxes"]
    assert issue.rule == "font.family" and len(boxes) == pdf_text.MAX_BOX_RUNS
    assert {b["page"] for b in boxes} == {1} and [b["y"] for b in boxes] == sorted(b["y"] for b in boxes)
    # The places a finding lists carry no boxes: only where it is first.
    assert all("boxes" not in p for p in issue.observed["places"])


def test_stored_boxes_are_drawn_without_searching(plain: Path) -> None:
    report = validate_file(plain, name="Заявление.pdf")
    (finding,) = [f for f in report.findings if f.rule == "font.minor_deviation"]
    assert finding.location["boxes"] and not evidence.wants_evidence(finding, "pdf")


def test_docx_findings_have_no_stored_boxes() -> None:
    place = Place(paragraph=3, excerpt="Текст")
    assert "boxes" not in place.location(with_boxes=True)


# --- list bullets ----------------------------------------------------------------------------------


def test_bullets_in_symbol_fonts_are_list_labels() -> None:
    assert fontmaps.is_symbol_font("ABCDEF+SymbolMT") and fontmaps.is_symbol_font("Wingdings-Regular")
    assert not fontmaps.is_symbol_font("TimesNewRomanPSMT")
    assert fontmaps.is_bullet("\uf0a7", True) and fontmaps.is_bullet("\ufffd", True)  # Wingdings' square
    assert fontmaps.is_bullet("−", False) and fontmaps.is_bullet("•", False)
    assert not fontmaps.is_bullet("\uf0a7", False) and not fontmaps.is_bullet("α", True)
    assert not fontmaps.is_bullet("o", False)


def test_a_symbol_bullet_list_is_not_a_font_deviation(tmp_path: Path) -> None:
    path = _draw(tmp_path / "bullets.pdf", bullets="Symbol")
    layer = pdf_text.read_text_layer(pypdf.PdfReader(path), default_policy())
    symbol = {k: c.chars for p in layer.pages for k, c in p.combos.items() if k[1] == "Symbol"}
    assert symbol == {("body", "Symbol", 14.0): 1}  # the alpha inside a line; the three bullets are left out
    plain_count = pdf_text.read_text_layer(pypdf.PdfReader(_draw(tmp_path / "no_list.pdf")), default_policy())
    items = sum(len("".join(item.split())) for item in ITEMS)
    # The bullets are still visible glyphs of the page, only not judged.
    assert layer.pages[0].visible == plain_count.pages[0].visible + items + len("где") + 1 + 3


@pytest.mark.parametrize("font", ["ArialMT", "Helvetica"])
def test_a_lone_dash_at_a_line_start_is_a_label_in_any_font(tmp_path: Path, font: str) -> None:
    path = _draw(tmp_path / "dashes.pdf", dash_font=font)
    layer = pdf_text.read_text_layer(pypdf.PdfReader(path), default_policy())
    first = {k: c.chars for k, c in layer.pages[0].combos.items() if k[1] == font}
    # The dashes inside a line and before a space count; the label before a tab's gap does not.
    assert first == {("body", font, 14.0): 2}


@pytest.mark.skipif(not WORD_PDF.is_file(), reason=f"the corpus is not at {CORPUS}")
def test_word_list_dashes_in_symbol_are_not_reported() -> None:
    layer = pdf_text.read_text_layer(pypdf.PdfReader(WORD_PDF), default_policy())
    assert not [k for p in layer.pages for k in p.combos if k[1].startswith("Symbol")]
    assert "font.minor_deviation" not in {i.rule for i in _issues(WORD_PDF)}
