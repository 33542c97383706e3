"""Text measurements → font, size and line-spacing findings, and the report's text summary.

Format readers (DOCX, DOC via DOCX, XLSX) fill a `TextInventory`: characters counted per area
(body, table, text box, header, footer, footnote, endnote, sheet), font name and size, with the
first places each combination occurs. The rules here judge the inventory against the policy:

* a combination is *deviating* when its family is not the required one (aliases count as the
  family, metric clones are judged separately) or its size is off by more than the tolerance;
  it is reported under every rule it breaks: a text in Cambria 12 pt gets a `font.family`
  finding (set the font) and a `font.size` finding (set the size), so a filer who follows every
  message gets a conforming document in one round;
* parts listed in `fonts.exempt_parts` / `spacing.exempt_parts` are not judged;
* when the deviating characters are more than `max_deviating_share` of the judged characters,
  every deviating combination becomes a finding (per rule it breaks) naming its first place, an
  excerpt, and the other places; when they are at most that share (a smaller table or caption
  is allowed) each becomes a `font.minor_deviation` finding with the same detail, which does
  not refuse the document by default.

Only whitespace-free characters are counted: a space has no visible font.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from ..core.policy import Policy
from ..core.report import FontUsage, TextSummary
from .findings import Issues
from .fontnames import FontJudge
from .xlsx import Cell, places_text

MAX_LISTED_PLACES = 8  # places named in a finding's message
MAX_SAMPLES = 3  # places kept with an excerpt per combination
EXCERPT_CHARS = 60
_TOLERANCE_EPS = 1e-9


@dataclass
class Place:
    """Where text is: a part (None for the main body), paragraph, page, or sheet and cell."""

    part: str | None = None
    paragraph: int | None = None
    page: int | None = None
    sheet: str | None = None
    cell: str | None = None
    excerpt: str = ""
    order: int = 0  # document order, for sorting places gathered from several tallies
    # Where the text is drawn (a PDF's glyph runs): `location.boxes`, measured when asked for.
    boxes: Callable[[], list[dict[str, Any]]] | None = None

    def location(self, with_boxes: bool = False) -> dict[str, Any]:
        """The place as a finding's location; with its boxes for the place a finding names first."""
        loc: dict[str, Any] = {}
        for key in ("page", "paragraph", "sheet", "cell", "part"):
            value = getattr(self, key)
            if value is not None:
                loc[key] = value
        if self.excerpt:
            loc["excerpt"] = self.excerpt
        if with_boxes and self.boxes is not None:
            boxes = self.boxes()
            if boxes:
                loc["boxes"] = boxes
        return loc

    def label(self) -> str:
        """A short, language-neutral name for lists: `12`, `footer:3`, `Sheet1!B4`."""
        if self.cell is not None:
            return f"{self.sheet}!{self.cell}" if self.sheet else self.cell
        number = str(self.paragraph if self.paragraph is not None else self.page or "?")
        return f"{self.part}:{number}" if self.part else number


class Tally:
    """Characters of one combination and the distinct places it occurs, the first ones kept."""

    __slots__ = ("chars", "keys", "places")

    def __init__(self) -> None:
        self.chars = 0
        self.keys: set[Hashable] = set()
        self.places: list[Place] = []

    def add(self, chars: int, key: Hashable, make_place: Callable[[bool], Place]) -> None:
        """`make_place(with_excerpt)` is called only for the first places of this combination."""
        self.chars += chars
        if key not in self.keys:
            self.keys.add(key)
            if len(self.places) < MAX_LISTED_PLACES:
                self.places.append(make_place(len(self.places) < MAX_SAMPLES))

    def merge(self, other: Tally) -> None:
        """Add another tally; places stay in document order, the first ones kept."""
        self.chars += other.chars
        self.keys |= other.keys
        self.places = sorted(self.places + other.places, key=lambda p: p.order)[:MAX_LISTED_PLACES]


@dataclass
class TextInventory:
    """What a document's text is set in. Keys: fonts (area, font name, size in pt);
    spacing (area, rule "auto"/"exact"/"atLeast", value in lines or points, font size in pt)."""

    fonts: dict[tuple[str, str, float | None], Tally] = field(default_factory=dict)
    spacing: dict[tuple[str, str, float, float], Tally] = field(default_factory=dict)

    def font(self, area: str, name: str, size: float | None) -> Tally:
        key = (area, name, size)
        tally = self.fonts.get(key)
        if tally is None:
            tally = self.fonts[key] = Tally()
        return tally

    def line(self, area: str, rule: str, value: float, size: float) -> Tally:
        key = (area, rule, value, size)
        tally = self.spacing.get(key)
        if tally is None:
            tally = self.spacing[key] = Tally()
        return tally

    @property
    def chars(self) -> int:
        return sum(t.chars for t in self.fonts.values())


def excerpt(text: str, focus: str = "", limit: int = EXCERPT_CHARS) -> str:
    """A short excerpt of `text` around `focus` (the deviating run), on one line."""
    text = " ".join(text.split())
    focus = " ".join(focus.split())
    if len(text) <= limit:
        return text
    start = text.find(focus) if focus else 0
    if start < 0:
        start = 0
    if len(focus) >= limit:
        return focus[: limit - 1].rstrip() + "…"
    begin = max(0, start - (limit - len(focus)) // 2)
    end = min(len(text), begin + limit)
    begin = max(0, end - limit)
    out = text[begin:end].strip()
    return ("…" if begin > 0 else "") + out + ("…" if end < len(text) else "")


def _fmt(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _share(part: int, whole: int) -> str:
    pct = 100.0 * part / whole if whole else 0.0
    return f"{pct:.1f}".rstrip("0").rstrip(".") if pct >= 0.1 else "<0.1"


def _places(tally: Tally) -> str:
    cells = [k for k in tally.keys if isinstance(k, Cell)]
    if cells and len(cells) == len(tally.keys):
        return places_text(cells, MAX_LISTED_PLACES)  # spreadsheet cells: ranges per sheet
    labels = ", ".join(p.label() for p in tally.places)
    more = len(tally.keys) - len(tally.places)
    return f"{labels} … (+{more})" if more > 0 else labels


def _where(tally: Tally) -> str:
    """How the places are named in the message: pages (a PDF) or paragraphs; the catalogue's
    [ui] phrase `at_pages` / `at_paragraphs` puts the list in the reader's language."""
    on_pages = bool(tally.places) and all(
        p.page is not None and p.paragraph is None and p.cell is None for p in tally.places
    )
    return "@ui:at_pages" if on_pages else "@ui:at_paragraphs"


def _first(tally: Tally) -> Place:
    return tally.places[0] if tally.places else Place()


def _tally_params(tally: Tally, total: int) -> dict[str, Any]:
    """The message parameters every grouped text finding has: its first excerpt, how many
    characters and what share, and where."""
    return {
        "excerpt": _first(tally).excerpt,
        "chars": tally.chars,
        "share": _share(tally.chars, total),
        "places": _places(tally),
        "where": _where(tally),
    }


def _merge_by(
    items: dict[Any, Tally], exempt: set[str], key: Callable[[Any], Any]
) -> tuple[dict[Any, Tally], int]:
    merged: dict[Any, Tally] = {}
    total = 0
    for k, tally in items.items():
        if k[0] in exempt or tally.chars == 0:
            continue
        total += tally.chars
        target = merged.setdefault(key(k), Tally())
        target.merge(tally)
    return merged, total


def _broken(verdict: str, size_ok: bool) -> tuple[str, ...]:
    """The font rules a combination breaks: its family, its size, or both."""
    return (("font.family",) if verdict == "other" else ()) + (() if size_ok else ("font.size",))


def judge_fonts(inv: TextInventory, policy: Policy, issues: Issues, *, spreadsheet: bool = False) -> None:
    """font.family / font.size (each deviation under every rule it breaks), font.clone, and
    font.minor_deviation for deviations within the allowance; font.spreadsheet for a workbook."""
    fonts = policy.fonts
    judge = FontJudge.from_policy(fonts)
    combos, total = _merge_by(inv.fonts, set(fonts.exempt_parts), lambda k: (k[1], k[2]))
    if total == 0:
        return
    deviating: list[tuple[tuple[str, ...], str, float | None, Tally]] = []
    clones: list[tuple[tuple[str, ...], str, float | None, Tally]] = []
    for (name, size), tally in combos.items():
        verdict = judge.verdict(name)
        size_ok = size is not None and abs(size - fonts.size_pt) <= fonts.size_tolerance_pt + _TOLERANCE_EPS
        broken = _broken(verdict, size_ok)
        if broken:
            deviating.append((broken, name, size, tally))
        if verdict == "clone":
            clones.append((("font.clone",), name, size, tally))
    limit = fonts.max_deviating_share * total
    deviating_chars = sum(t.chars for *_, t in deviating)
    reported = deviating_chars > limit
    if spreadsheet:
        # One rule for a workbook, whose message sets family and size at once.
        deviating = [(("font.spreadsheet",), name, size, t) for _, name, size, t in deviating]
    elif not reported:
        # Within the allowance: each deviation said at its own rule, which accepts by default.
        deviating = [(("font.minor_deviation",), name, size, t) for _, name, size, t in deviating]
        reported = True
    for group, shown in ((deviating, reported), (clones, sum(t.chars for *_, t in clones) > limit)):
        if not shown:
            continue
        for rules, name, size, tally in sorted(group, key=lambda g: -g[3].chars):
            for rule in rules:
                issues.add(
                    rule,
                    location=_first(tally).location(with_boxes=True),
                    observed={
                        "font": name,
                        "size_pt": size,
                        "chars": tally.chars,
                        "places": [p.location() for p in tally.places],
                    },
                    expected={"font": fonts.family, "size_pt": fonts.size_pt},
                    font=name,
                    size=_fmt(size),
                    **_tally_params(tally, total),
                    family=fonts.family,
                    required_size=_fmt(fonts.size_pt),
                    tolerance=_fmt(fonts.size_tolerance_pt),
                    allowance=_fmt(100.0 * fonts.max_deviating_share),
                    deviating=_share(deviating_chars, total),
                )


def line_multiple(rule: str, value: float, size: float, single_line_em: float) -> float:
    """Spacing as a multiple of single spacing: `auto` is already one; points are divided by
    the single line height of the font size; `atLeast` below one line is one line."""
    if rule == "auto":
        return value
    single = size * single_line_em
    multiple = value / single if single > 0 else 1.0
    return max(multiple, 1.0) if rule == "atLeast" else multiple


def _spacing_label(rule: str, value: float, multiple: float) -> str:
    if rule == "auto":
        return _fmt_lines(value)
    sign = "=" if rule == "exact" else "≥"
    return f"{_fmt_lines(multiple)} ({sign} {_fmt(value)} pt)"


def _fmt_lines(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def judge_spacing(inv: TextInventory, policy: Policy, issues: Issues) -> None:
    sp = policy.spacing
    by_value: dict[str, tuple[float, Tally]] = {}
    total = 0
    deviating = 0
    for (area, rule, value, size), tally in inv.spacing.items():
        if area in sp.exempt_parts:
            continue
        total += tally.chars
        multiple = line_multiple(rule, value, size, sp.single_line_em)
        if abs(multiple - sp.line) <= sp.tolerance + _TOLERANCE_EPS:
            continue
        deviating += tally.chars
        label = _spacing_label(rule, value, multiple)
        entry = by_value.setdefault(label, (multiple, Tally()))
        entry[1].merge(tally)
    if total == 0 or deviating <= sp.max_deviating_share * total:
        return
    for label, (multiple, tally) in sorted(by_value.items(), key=lambda kv: -kv[1][1].chars):
        issues.add(
            "spacing.line",
            location=_first(tally).location(),
            observed={
                "lines": round(multiple, 3),
                "spacing": label,
                "chars": tally.chars,
                "places": [p.location() for p in tally.places],
            },
            expected={"lines": sp.line, "tolerance": sp.tolerance},
            lines=label,
            required=_fmt_lines(sp.line),
            where_lead=_where(tally) + "_lead",
            **_tally_params(tally, total),
        )


def summary(inv: TextInventory, policy: Policy) -> TextSummary:
    """Every character counted (all parts, exempt ones too), by font name and size."""
    judge = FontJudge.from_policy(policy.fonts)
    by_font: dict[tuple[str, float | None], int] = {}
    for (_, name, size), tally in inv.fonts.items():
        by_font[(name, size)] = by_font.get((name, size), 0) + tally.chars
    fonts = [
        FontUsage(family=judge.family_of(name), name=name, size=size, chars=chars)
        for (name, size), chars in sorted(by_font.items(), key=lambda kv: (-kv[1], kv[0][0]))
        if chars > 0
    ]
    return TextSummary(chars=sum(by_font.values()), fonts=fonts)


def judge_text(
    inv: TextInventory, policy: Policy, issues: Issues, *, spreadsheet: bool = False
) -> TextSummary:
    """All text rules for one document (line spacing is not judged in spreadsheets); its summary."""
    judge_fonts(inv, policy, issues, spreadsheet=spreadsheet)
    if not spreadsheet:
        judge_spacing(inv, policy, issues)
    return summary(inv, policy)
