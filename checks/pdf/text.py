"""The text layer of a PDF: every visible character's font and effective size, page by page,
the line spacing measured from baselines, and the font and spacing rules applied to them.

**Sizes.** A glyph's height on the page is the `Tf` size times the height of the combined
matrix Tm × CTM (form XObject matrices included): for the 2×2 part [a b; c d] that height is
|ad − bc| / √(a² + b²) — the distance between the baseline and the top of the text-space unit
square, measured perpendicular to the baseline. It is right for text scaled through `Tm` with
`Tf 1`, through `cm`, rotated by any angle, and unchanged by horizontal scaling (`Tz`, a narrow
`Tm`). Sizes are snapped to the nearest half point when within 0.05 pt of it (Word writes
14 pt as 14.04, other producers 13.98) and otherwise rounded to 0.1 pt.

**What counts.** Characters are counted per text-showing operator (a run), not one by one:
a run's glyph codes are counted in C with the font's whitespace codes taken off (a space has no
visible font); the text is decoded only for the excerpts a finding quotes. Text drawn
invisibly (render mode 3 or 7 — the OCR layer a scanner lays under its picture) is counted apart
and never judged as typed text; so is text that an opaque image covering at least a quarter of
the page is painted over (OCR "text under the page image" layers are drawn in mode 0 first).

**List labels.** Word draws a list's bullet or dash as a run of its own, in the list's font —
often Symbol or Wingdings. Like the DOCX reader, which skips list labels, the text layer leaves
out a run of one glyph that is a bullet or dash in a symbol font (Symbol, Wingdings, Webdings,
ZapfDingbats), or, in any font, one that starts a line with a tab's gap (`LABEL_GAP_EM`) before
the text that follows: it is still a visible glyph of the page, but not text whose font is
judged. A Greek letter set in Symbol inside a line is text, and so is a dash a line happens to
start with (a space follows it, not a tab).

**Where.** The first `MAX_BOX_RUNS` runs of each (area, font, size) on a page are kept with their
matrices; when a font finding names that page first, they become its `location.boxes` (one box
per line, in points from the top-left corner of the page as displayed): `run_boxes`.

**Headers and footers.** A PDF does not say which text was a page header, except when it is
tagged (Word and Acrobat mark running heads and page numbers as pagination artifacts). Text so
tagged, and text whose baseline lies within `fonts.pdf_margin_mm` of the top or bottom edge of
the page as displayed (crop box, /Rotate applied), is counted in the `header` / `footer` areas,
which the policy exempts. The margin band exempts text only on a page that has something in its
body too (visible text outside the band, or a picture covering a quarter of the page): the only
text of a page — one line near its top, a page smaller than the two bands — is body text.
Footnotes cannot be told from body text: they count against the allowed deviating share.

**Line spacing.** On each page, the baselines of upright body text are collected (a superscript
merges into its line), and consecutive gaps of lines of the same size are divided by
size × `spacing.single_line_em` (1.15 for Times New Roman: Word's and LibreOffice's single
spacing puts baselines 1.15 × the font size apart — measured on the Word and LibreOffice PDFs of
the corpus). The page's spacing is the most frequent value, which paragraph spacing and headings
do not move; pages with fewer than `MIN_SPACING_GAPS` gaps are not judged.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from itertools import pairwise
from typing import Any

from ...core.policy import Policy
from ...core.report import FontUsage, PageInfo, TextSummary
from ..boxes import merge_into_lines
from ..findings import Issues
from ..fontnames import FontJudge
from ..textrules import Place, TextInventory, judge_fonts, judge_spacing
from .content import Matrix, Run, Scanner, multiply, shown_kerning, shown_pieces
from .fontmaps import FontInfo, is_bullet

INVISIBLE_MODES = frozenset({3, 7})
MIN_SPACING_GAPS = 3
EXCERPT_CHARS = 60
MAX_QUOTED_LINES = 6
LABEL_GAP_EM = 0.6  # a label's tab: the next text starts this far (in ems) after a lone dash
MAX_BOX_RUNS = 20  # runs of a combination kept per page to box its text on the page
BOX_PAD = 1.0  # points added around a line's box
_SUBSET = re.compile(r"^[A-Z]{6}\+")
_STYLE = re.compile(r"[-,](?:[A-Za-z]*)$")
_FOUNDRY = re.compile(r"(?:PSMT|PS|MT)$")
MM = 72 / 25.4
# Areas of text in the margin band until the page is read whole (`_settle_band`).
BAND_HEADER, BAND_FOOTER = "band:header", "band:footer"
_BAND_AREAS = {BAND_HEADER: "header", BAND_FOOTER: "footer"}


def snap_size(value: float) -> float:
    """14.04 → 14, 13.98 → 14, 10.5 → 10.5, 14.23 → 14.2."""
    half = round(value * 2) / 2
    if abs(value - half) <= 0.05:
        return half
    return round(value, 1)


def effective_size(size: float, matrix: Matrix) -> float:
    """Tf size × the glyph height of the combined matrix (perpendicular to the baseline)."""
    a, b, c, d = matrix[0], matrix[1], matrix[2], matrix[3]
    width = math.hypot(a, b)
    if width == 0:
        return 0.0
    return abs(size) * abs(a * d - b * c) / width


def family_label(name: str) -> str:
    """A family-like name for grouping findings: `Arial-BoldMT` → `Arial`, `Calibri,Bold` → `Calibri`."""
    base = _STYLE.sub("", _SUBSET.sub("", name.strip()))
    stripped = _FOUNDRY.sub("", base)
    return stripped if len(stripped) >= 3 else base


def display_matrix(page: Any) -> tuple[Matrix, float, float]:
    """User space → the page as displayed (crop box origin at bottom left, /Rotate applied);
    and the displayed width and height."""
    try:
        box = page.cropbox
        x0, y0, x1, y1 = float(box.left), float(box.bottom), float(box.right), float(box.top)
    except Exception:  # a broken box: assume A4 from the origin
        x0, y0, x1, y1 = 0.0, 0.0, 595.0, 842.0
    try:
        rotate = int(page.get("/Rotate", 0) or 0) % 360
    except (TypeError, ValueError):
        rotate = 0
    if rotate == 90:
        return (0.0, -1.0, 1.0, 0.0, -y0, x1), y1 - y0, x1 - x0
    if rotate == 180:
        return (-1.0, 0.0, 0.0, -1.0, x1, y1), x1 - x0, y1 - y0
    if rotate == 270:
        return (0.0, 1.0, -1.0, 0.0, y1, -x0), y1 - y0, x1 - x0
    return (1.0, 0.0, 0.0, 1.0, -x0, -y0), x1 - x0, y1 - y0


Quoted = tuple[FontInfo, bytes, Any, Matrix, float, float]  # font, bytes, operands, em matrix, x, y


@dataclass
class Combo:
    """Characters of one (area, font, size) on one page, and its first runs, kept to be quoted
    (decoded only when a finding quotes them)."""

    chars: int = 0
    quoted: int = 0  # visible characters of the runs kept
    runs: list[Quoted] = field(default_factory=list)
    spots: list[Quoted] = field(default_factory=list)  # the first runs, to box on the page

    def keep(self, run: Quoted, visible: int) -> None:
        self.runs.append(run)
        self.quoted += visible

    def text(self) -> str:
        """The kept runs as text, with a space where the layout shows one between words."""
        text = ""
        x_end = y_prev = 0.0
        for font, raw, args, m, x, y in self.runs:
            pieces = shown_pieces(args)
            piece = " ".join(font.decode(p) for p in pieces) if len(pieces) > 1 else font.decode(raw)
            em = math.hypot(m[0], m[1])
            if text and not text[-1].isspace():
                # Same line (a horizontal baseline, slanted glyphs too) and no gap: no space.
                same_line = (
                    m[1] == 0 and abs(y - y_prev) < 0.3 * em and x_end - 2 * em < x < x_end + 0.15 * em
                )
                if not same_line:
                    text += " "
            text += piece
            x_end, y_prev = x + font.advance(raw) * em, y
        return text


@dataclass
class PageText:
    number: int
    width: float = 0.0  # the page as displayed, in points
    height: float = 0.0
    visible: int = 0  # visible glyphs (whitespace not counted), every area
    invisible: int = 0  # glyphs drawn invisibly: an OCR layer
    combos: dict[tuple[str, str, float], Combo] = field(default_factory=dict)  # (area, font, size)
    spacing: float | None = None  # the page's line spacing in lines, when measurable
    spacing_size: float = 0.0
    spacing_chars: int = 0
    spacing_quote: Combo | None = None  # the first body line, to quote
    fallback_streams: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class TextLayer:
    pages: list[PageText] = field(default_factory=list)

    @property
    def visible_glyphs(self) -> list[int]:
        return [p.visible for p in self.pages]

    @property
    def chars(self) -> int:
        return sum(p.visible for p in self.pages)


def _part(tag: str | None, y: float, height: float, band: float) -> str:
    if tag == "header" or tag == "footer":
        return tag
    if tag == "pagination":
        return "header" if y > height / 2 else "footer"
    if band > 0:
        if y >= height - band:
            return "header"
        if y <= band:
            return "footer"
    return "body"


def _line_spacing(lines: dict[float, list[float]], single_em: float) -> tuple[float | None, float]:
    """The most frequent gap between consecutive baselines, in lines; and the lines' size.

    `lines`: baseline y → [chars, size of its largest run, chars of that run].
    """
    ordered = sorted(lines.items(), key=lambda kv: -kv[0])
    kept: list[tuple[float, float, float]] = []  # (y, chars, size)
    for y, (chars, size, _) in ordered:
        if kept and kept[-1][0] - y < 0.5 * max(size, kept[-1][2]):
            prev = kept[-1]
            # A superscript or a subscript joins the line it belongs to.
            kept[-1] = (prev[0], prev[1] + chars, prev[2]) if prev[1] >= chars else (y, prev[1] + chars, size)
            continue
        kept.append((y, chars, size))
    votes: Counter[tuple[float, float]] = Counter()
    for (y1, _, s1), (y2, _, s2) in pairwise(kept):
        if s1 <= 0 or abs(s1 - s2) > 0.5:
            continue
        lines_gap = (y1 - y2) / (s1 * single_em)
        if 0.5 <= lines_gap <= 3.2:
            votes[(round(lines_gap * 20) / 20, s1)] += 1
    if sum(votes.values()) < MIN_SPACING_GAPS:
        return None, 0.0
    (value, size), _ = votes.most_common(1)[0]
    return value, size


def _page_area(page: Any) -> float:
    try:
        box = page.cropbox
        return abs(float(box.width) * float(box.height))
    except Exception:  # a broken box: A4
        return 595.0 * 842.0


def _covers(found: list[tuple[int, Matrix]], page_area: float) -> list[tuple[int, Matrix]]:
    """Opaque images drawn after some text and large enough to hide it (a quarter of the page):
    each as (runs before it, the inverse of its matrix — page → image unit square)."""
    out: list[tuple[int, Matrix]] = []
    for before, (a, b, c, d, e, f) in found:
        det = a * d - b * c
        if before == 0 or abs(det) < 0.25 * page_area:
            continue
        ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
        out.append((before, (ia, ib, ic, id_, -(e * ia + f * ic), -(e * ib + f * id_))))
    return out


def _covered(index: int, matrix: Matrix, covers: list[tuple[int, Matrix]]) -> bool:
    """True when an opaque image drawn after this run covers where the run starts."""
    x, y = matrix[4], matrix[5]
    for before, (a, b, c, d, e, f) in covers:
        if index < before:
            u, v = x * a + y * c + e, x * b + y * d + f
            if 0.0 <= u <= 1.0 and 0.0 <= v <= 1.0:
                return True
    return False


@dataclass(slots=True)
class _Frame:
    """How a page's user space maps to the page as displayed, and its header and footer bands."""

    turned: bool  # displayed rotated (/Rotate): matrices are mapped, not only shifted
    to_display: Matrix
    dx: float
    dy: float
    width: float
    height: float
    top_band: float
    bottom_band: float
    band: float

    @classmethod
    def of(cls, page: Any, band: float) -> _Frame:
        to_display, width, height = display_matrix(page)
        return cls(
            turned=to_display[:4] != (1.0, 0.0, 0.0, 1.0),
            to_display=to_display,
            dx=to_display[4],
            dy=to_display[5],
            width=width,
            height=height,
            top_band=height - band,
            bottom_band=band,
            band=band,
        )

    def area(self, tag: str | None, y: float) -> str:
        if tag is None:
            return "header" if y >= self.top_band else "footer" if y <= self.bottom_band else "body"
        return _part(tag, y, self.height, self.band)


class _Lines:
    """Baselines of a page's upright body text, for its line spacing, and the first lines' text."""

    __slots__ = ("by_y", "quotes")

    def __init__(self) -> None:
        self.by_y: dict[float, list[float]] = {}  # baseline → [chars, size of its largest run, its chars]
        self.quotes: dict[float, Combo] = {}  # the text of the first lines met, to quote one

    def add(self, y: float, visible: int, size: float) -> Combo | None:
        """Count a run on its baseline; returns the line's quote when it still wants the run's text."""
        baseline = round(y, 1)
        line = self.by_y.get(baseline)
        if line is None:
            self.by_y[baseline] = [visible, size, visible]
        else:
            line[0] += visible
            if visible > line[2]:
                line[1], line[2] = size, visible
        quote = self.quotes.get(baseline)
        if quote is None and len(self.quotes) < MAX_QUOTED_LINES:
            quote = self.quotes[baseline] = Combo()
        return quote if quote is not None and quote.quoted < EXCERPT_CHARS else None

    def measure(self, out: PageText, single_em: float) -> None:
        """The page's line spacing (the most frequent gap), when there are lines enough."""
        if not self.by_y:
            return
        out.spacing, out.spacing_size = _line_spacing(self.by_y, single_em)
        if out.spacing is not None:
            out.spacing_chars = sum(int(v[0]) for v in self.by_y.values())
            out.spacing_quote = self.quotes[max(self.quotes)] if self.quotes else None


class _PageReader:
    """Turns a page's runs into a `PageText`."""

    def __init__(self, policy: Policy) -> None:
        self.band = max(0.0, policy.fonts.pdf_margin_mm) * MM
        self.single_em = policy.spacing.single_line_em
        self.sizes: dict[tuple[float, float, float, float, float], float] = {}
        self.runs: list[Run] = []  # the page's runs, to look past a lone dash

    def read(self, number: int, page: Any, scanner: Scanner) -> PageText:
        out = PageText(number)
        content = scanner.scan_page(page)
        out.fallback_streams = content.fallback_streams
        out.errors = content.errors
        frame = _Frame.of(page, self.band)
        out.width, out.height = frame.width, frame.height
        lines = _Lines()
        covers = _covers(content.covers, _page_area(page))
        banded: list[tuple[float, int, float, Quoted]] = []  # upright margin-band lines
        self.runs = content.runs
        for index, (font, tf, matrix, mode, raw, tag, args) in enumerate(content.runs):
            visible = font.visible(raw)
            if not visible:
                continue
            if mode in INVISIBLE_MODES or (covers and _covered(index, matrix, covers)):
                out.invisible += visible
                continue
            out.visible += visible
            self._count(out, frame, lines, banded, font, tf, matrix, raw, tag, args, visible, index)
        _settle_band(out, lines, banded, _has_picture(content.images, _page_area(page)))
        lines.measure(out, self.single_em)
        return out

    def _list_label(self, font: FontInfo, raw: bytes, line_start: bool, index: int) -> bool:
        """A run of one glyph that is a list's label (Word draws one as a run of its own): a
        bullet or dash in a symbol font; in another font, one that starts a line with a tab's
        gap before the text (a dash a line happens to start with is followed by a space)."""
        if not (font.symbolic or line_start):
            return False
        if not is_bullet(font.decode(raw).strip(), font.symbolic):
            return False
        return font.symbolic or _tab_after(self.runs, index)

    def _count(
        self,
        out: PageText,
        frame: _Frame,
        lines: _Lines,
        banded: list[tuple[float, int, float, Quoted]],
        font: FontInfo,
        tf: float,
        matrix: Matrix,
        raw: bytes,
        tag: str | None,
        args: Any,
        visible: int,
        index: int,
    ) -> None:
        """One visible run: its characters to its (area, font, size), its first ones kept to
        quote; upright body text to its baseline."""
        turned = frame.turned
        m = multiply(matrix, frame.to_display) if turned else matrix
        key4 = (tf * font.scale, m[0], m[1], m[2], m[3])
        size = self.sizes.get(key4)
        if size is None:
            size = self.sizes[key4] = snap_size(effective_size(key4[0], m))
        y = m[5] if turned else m[5] + frame.dy
        if tag is None:
            # Text in the margin band: a header or footer only if the page has a body (`_settle_band`).
            area = BAND_HEADER if y >= frame.top_band else BAND_FOOTER if y <= frame.bottom_band else "body"
        else:
            area = frame.area(tag, y)
        upright = m[1] == 0 and m[2] == 0 and m[0] > 0 and m[3] > 0
        if visible == 1:
            line_start = area == "body" and upright and round(y, 1) not in lines.by_y
            if self._list_label(font, raw, line_start, index):
                return  # a list's bullet or dash: not the text's font, as a Word list label is not
        key = (area, font.label, size)
        combo = out.combos.get(key)
        if combo is None:
            combo = out.combos[key] = Combo()
        combo.chars += visible
        quote = None
        if area == "body" and upright:
            quote = lines.add(y, visible, size)  # upright body text makes the measured lines
        in_band = upright and area in _BAND_AREAS
        spot = len(combo.spots) < MAX_BOX_RUNS
        if spot or combo.quoted < EXCERPT_CHARS or quote is not None or in_band:
            em_matrix = (m[0] * tf, m[1] * tf, m[2] * tf, m[3] * tf, m[4], m[5])
            run = (font, raw, args, em_matrix, m[4] if turned else m[4] + frame.dx, y)
            if spot:
                combo.spots.append(run)
            if combo.quoted < EXCERPT_CHARS:
                combo.keep(run, visible)
            if quote is not None:
                quote.keep(run, visible)
            if in_band:
                banded.append((y, visible, size, run))


def _tab_after(runs: list[Run], index: int) -> bool:
    """The next visible run starts on the same baseline, a tab's width (`LABEL_GAP_EM`) or more
    after the end of this one: a list label's gap, wider than a space after a dash."""
    font, tf, (a, b, _, _, e, f), *_ = runs[index]
    raw = runs[index][4]
    em = abs(tf) * math.hypot(a, b)
    if em == 0:
        return False
    ux, uy = a * abs(tf) / em, b * abs(tf) / em  # the baseline's direction
    end = font.advance(raw) * em
    for nfont, _, nm, _, nraw, *_ in runs[index + 1 : index + 8]:
        if not nfont.visible(nraw):
            continue
        dx, dy = nm[4] - e, nm[5] - f
        along, across = dx * ux + dy * uy, dy * ux - dx * uy
        return abs(across) < 0.3 * em and along - end >= LABEL_GAP_EM * em
    return False


def _has_picture(images: list[Matrix], page_area: float) -> bool:
    """An image covering at least a quarter of the page: the page's body is a picture."""
    return any(abs(a * d - b * c) >= 0.25 * page_area for a, b, c, d, _, _ in images)


def _settle_band(
    out: PageText, lines: _Lines, banded: list[tuple[float, int, float, Quoted]], picture: bool
) -> None:
    """Margin-band text becomes the page's header and footer when the page has a body (visible
    text outside the band, or a picture); otherwise it is the page's body text, and its lines
    count for the page's line spacing."""
    has_body = picture or any(area == "body" for area, _, _ in out.combos)
    moved = {key: combo for key, combo in out.combos.items() if key[0] in _BAND_AREAS}
    if not moved:
        return
    for key, combo in moved.items():
        del out.combos[key]
        area = _BAND_AREAS[key[0]] if has_body else "body"
        target = out.combos.setdefault((area, key[1], key[2]), Combo())
        target.chars += combo.chars
        target.runs.extend(combo.runs)
        target.quoted += combo.quoted
        target.spots.extend(combo.spots[: MAX_BOX_RUNS - len(target.spots)])
    if not has_body:
        for y, visible, size, run in banded:
            quote = lines.add(y, visible, size)
            if quote is not None:
                quote.keep(run, visible)


def read_text_layer(reader: Any, policy: Policy) -> TextLayer:
    """Inventory every page of an opened pypdf reader."""
    scanner = Scanner(reader, {})
    page_reader = _PageReader(policy)
    layer = TextLayer()
    try:
        count = len(reader.pages)
    except Exception:  # the page tree is broken: the structure check has reported it
        return layer
    for index in range(count):
        try:
            layer.pages.append(page_reader.read(index + 1, reader.pages[index], scanner))
        except Exception as exc:  # one unreadable page does not stop the others being read
            broken = PageText(index + 1)
            broken.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            layer.pages.append(broken)
    return layer


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1].rstrip() + "…"


def _place(place: Place, quote: Combo | None, page: PageText | None, with_excerpt: bool) -> Place:
    """A place for the rules; its excerpt is decoded only for the places a finding quotes, its
    boxes measured only when a finding names it first."""
    if with_excerpt and quote is not None:
        place.excerpt = _excerpt(quote.text())
        if page is not None and quote.spots:
            place.boxes = partial(run_boxes, quote.spots, page.number, page.width, page.height)
    return place


def _run_rect(run: Quoted) -> tuple[float, float, float, float]:
    """A run's glyphs as [left, bottom, right, top] on the displayed page (origin bottom left):
    its advance (TJ kerning taken off) by the font's ascent and descent, through its matrix."""
    font, raw, args, m, x, y = run
    advance = font.advance(raw) - shown_kerning(args) / 1000.0
    xs, ys = [], []
    for u, v in ((0.0, font.descent), (advance, font.descent), (0.0, font.ascent), (advance, font.ascent)):
        xs.append(x + u * m[0] + v * m[2])
        ys.append(y + u * m[1] + v * m[3])
    return min(xs), min(ys), max(xs), max(ys)


def run_boxes(runs: list[Quoted], page: int, width: float, height: float) -> list[dict[str, Any]]:
    """The runs' rectangles merged into one box per line, in points from the top-left corner of
    the page as displayed (what `location.boxes` holds), cut to the page."""
    lines = merge_into_lines(map(_run_rect, runs))
    boxes: list[dict[str, Any]] = []
    for left, bottom, right, top in sorted(lines, key=lambda line: -line[3]):
        x0, x1 = max(0.0, left - BOX_PAD), min(width, right + BOX_PAD)
        y0, y1 = max(0.0, height - top - BOX_PAD), min(height, height - bottom + BOX_PAD)
        if x1 > x0 and y1 > y0:  # off the page: nothing to draw
            boxes.append({"page": page, "x": round(x0, 1), "y": round(y0, 1),
                          "w": round(x1 - x0, 1), "h": round(y1 - y0, 1), "kind": "rect"})  # fmt: skip
    return boxes


def inventory(layer: TextLayer, policy: Policy) -> TextInventory:
    """The layer as the shared text rules read it: fonts by area, family and size, with pages
    as places; each measured page's spacing as a line-spacing entry of its body characters."""
    inv = TextInventory()
    judge = FontJudge.from_policy(policy.fonts)
    order = 0
    for page in layer.pages:
        for (area, name, size), combo in page.combos.items():
            order += 1
            place = Place(part=None if area == "body" else area, page=page.number, order=order)
            inv.font(area, judge.family_of(family_label(name)), size).add(
                combo.chars, page.number, partial(_place, place, combo, page)
            )
        if page.spacing is not None:
            order += 1
            place = Place(page=page.number, order=order)
            inv.line("body", "auto", page.spacing, page.spacing_size).add(
                page.spacing_chars, page.number, partial(_place, place, page.spacing_quote, None)
            )
    return inv


def summary(layer: TextLayer, policy: Policy) -> TextSummary:
    """Every visible character by font name (as written, subset prefix dropped) and size."""
    judge = FontJudge.from_policy(policy.fonts)
    by_font: Counter[tuple[str, float]] = Counter()
    for page in layer.pages:
        for (_, name, size), combo in page.combos.items():
            by_font[(name, size)] += combo.chars
    fonts = [
        FontUsage(family=judge.family_of(family_label(name)), name=name, size=size, chars=chars)
        for (name, size), chars in sorted(by_font.items(), key=lambda kv: (-kv[1], kv[0][0]))
    ]
    return TextSummary(chars=sum(by_font.values()), fonts=fonts)


def check_text_layer(reader: Any, policy: Policy, issues: Issues) -> TextLayer:
    """Read the text layer, judge fonts, sizes and line spacing; returns the layer."""
    layer = read_text_layer(reader, policy)
    inv = inventory(layer, policy)
    judge_fonts(inv, policy, issues)
    judge_spacing(inv, policy, issues)
    return layer


def page_metrics(layer: TextLayer, pages: list[PageInfo]) -> None:
    """Add each page's glyph counts and measured line spacing to its report entry."""
    by_number = {p.number: p for p in layer.pages}
    for info in pages:
        page = by_number.get(info.number)
        if page is None:
            continue
        info.metrics["glyphs"] = page.visible
        info.metrics["invisible_glyphs"] = page.invisible
        if page.spacing is not None:
            info.metrics["line_spacing"] = page.spacing
