"""Every visible character of a DOCX with its effective font and size, and every paragraph's spacing.

Walks the XML of the main document, headers, footers, footnotes and endnotes with lxml. Runs are
found wherever Word puts them — directly in a paragraph, in hyperlinks, insertions (`w:ins`,
`w:moveTo`), content controls (`w:sdt`), smart tags, custom XML, simple fields (`w:fldSimple`),
tables and text boxes (`w:txbxContent`; the `mc:Fallback` copy of a text box is skipped). Not
counted: whitespace, deleted text (`w:del`, `w:moveFrom`), hidden text (`w:vanish`, resolved
through the styles), field codes (between `fldChar begin` and `separate`) and list labels.

Each character is counted in the font slot Word draws it with (`char_slot`): every character of
a `w:rtl`/`w:cs` run in `cs` at `w:szCs`; otherwise ASCII in `ascii`; Latin, Cyrillic and Kazakh
letters in `hAnsi` (or `eastAsia` under `w:hint="eastAsia"`); CJK in `eastAsia`.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ..textrules import Place, TextInventory, excerpt
from .package import MAIN_PART, DocxPackage
from .styles import Effective, StyleSheet, Tags, parse_spacing

MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
_PART_KINDS = {"header": "header", "footer": "footer", "footnotes": "footnote", "endnotes": "endnote"}
_KIND_ORDER = {"body": 0, "header": 1, "footer": 2, "footnote": 3, "endnote": 4}
_TBL_LOOK_BITS = {"firstRow": 0x0020, "lastRow": 0x0040, "firstColumn": 0x0080, "lastColumn": 0x0100}
_DEFAULT_TBL_LOOK = 0x04A0  # Word's default: first row, first column, no vertical banding

_SPACE = re.compile(r"\s+")
_ASCII_VISIBLE = re.compile(r"[\x21-\x7e]")
# Characters that are neither ASCII nor plain hAnsi text (Latin, Greek, Cyrillic, Armenian,
# Latin Extended Additional, punctuation and symbols): the slow path classifies them one by one.
_SPECIAL = re.compile(r"[^\x00-\u058f\u1e00-\u1fff\u2000-\u2bff]")
_HINT_EA_LATIN1 = frozenset(
    [
        0xA1,
        0xA4,
        0xA7,
        0xA8,
        0xAA,
        0xAD,
        0xAF,
        0xD7,
        0xF7,
        *range(0xB0, 0xB5),
        *range(0xB6, 0xBB),
        *range(0xBC, 0xC0),
    ]
)


def char_slot(code: int, hint_ea: bool) -> str:
    """The `w:rFonts` slot Word uses for one character of a run without `w:rtl`/`w:cs`.

    Word's table (MS-OI29500 §2.1.88, on ISO 29500-1 §17.3.2.26): ASCII → ascii; Hebrew, Arabic,
    Syriac and Thaana → ascii (the cs font is used only for `w:rtl`/`w:cs` runs); CJK and Hangul
    → eastAsia; under `w:hint="eastAsia"` some Latin-1 signs, Greek, Cyrillic, general punctuation
    and symbols → eastAsia; everything else → hAnsi.
    """
    if code < 0x80 or 0x0590 <= code <= 0x07BF:
        return "ascii"
    if (
        0x1100 <= code <= 0x11FF
        or 0x2E80 <= code <= 0x9FFF
        or 0xA000 <= code <= 0xA4CF
        or 0xAC00 <= code <= 0xD7AF
        or 0xF900 <= code <= 0xFAFF
        or 0xFE30 <= code <= 0xFE4F
        or 0xFF00 <= code <= 0xFFEF
        or code >= 0x20000
    ):
        return "eastAsia"
    if hint_ea:
        if code <= 0xFF:
            return "eastAsia" if code in _HINT_EA_LATIN1 else "hAnsi"
        if 0x0370 <= code <= 0x04FF or 0x2000 <= code <= 0x2BFF or 0xE000 <= code <= 0xF8FF:
            return "eastAsia"
    return "hAnsi"


class _Plan:
    """What to do with a run's characters, per area and formatting: its tallies per font slot."""

    __slots__ = ("ascii", "complex", "cs", "eff", "hAnsi", "plain", "same", "size", "size_cs", "vanish")

    def __init__(self, inv: TextInventory, area: str, eff: Effective) -> None:
        self.eff = eff
        self.vanish = eff.vanish
        self.complex = eff.complex
        self.plain = eff.hint != "eastAsia"
        self.same = eff.ascii == eff.hAnsi
        self.size = eff.size
        self.size_cs = eff.size_cs
        self.ascii = inv.font(area, eff.ascii, eff.size)
        self.hAnsi = inv.font(area, eff.hAnsi, eff.size)
        self.cs = inv.font(area, eff.cs, eff.size_cs)


@dataclass
class Part:
    name: str
    kind: str  # body, header, footer, footnote, endnote
    label: str | None  # None for the main body; else the part's kind as shown to a filer


class _TableContexts:
    """Table style and conditional parts (first/last row/column) of each table cell, memoised."""

    def __init__(self, sheet: StyleSheet, t: Tags) -> None:
        self.sheet = sheet
        self.t = t
        self._tables: dict[Any, tuple[str | None, int, dict[Any, int]]] = {}
        self._cells: dict[Any, dict[Any, int]] = {}

    def context(self, tc: etree._Element) -> tuple[str, tuple[str, ...]] | None:
        t = self.t
        tr = tc.getparent()
        tbl = tr.getparent() if tr is not None else None
        while tbl is not None and tbl.tag != t.tbl:  # rows wrapped in w:sdt / w:customXml
            tbl = tbl.getparent()
        if tr is None or tbl is None:
            return None
        info = self._tables.get(tbl)
        if info is None:
            info = self._table_info(tbl)
            self._tables[tbl] = info
        style, look, rows = info
        if style is None:
            return None
        conds: list[str] = []
        if look:
            row = rows.get(tr, -1)
            cells = self._cells.get(tr)
            if cells is None:
                cells = self._cells[tr] = {c: i for i, c in enumerate(c for c in tr if c.tag == t.tc)}
            col = cells.get(tc, -1)
            if look & _TBL_LOOK_BITS["firstRow"] and row == 0:
                conds.append("firstRow")
            if look & _TBL_LOOK_BITS["lastRow"] and row == len(rows) - 1 and row > 0:
                conds.append("lastRow")
            if look & _TBL_LOOK_BITS["firstColumn"] and col == 0:
                conds.append("firstCol")
            if look & _TBL_LOOK_BITS["lastColumn"] and col == len(cells) - 1 and col > 0:
                conds.append("lastCol")
        return (style, tuple(conds))

    def _table_info(self, tbl: etree._Element) -> tuple[str | None, int, dict[Any, int]]:
        t = self.t
        tblpr = tbl.find(t.tblPr)
        style_el = tblpr.find(t.tblStyle) if tblpr is not None else None
        style = style_el.get(t.val) if style_el is not None else None
        if style is None or style not in self.sheet.types:
            style = self.sheet.default_style.get("table")
        look_el = tblpr.find(t.tblLook) if tblpr is not None else None
        look = _DEFAULT_TBL_LOOK
        if look_el is not None:
            val = look_el.get(t.val)
            if val:
                try:
                    look = int(val, 16)
                except ValueError:
                    look = _DEFAULT_TBL_LOOK
            else:
                look = 0
                for attr, bit in _TBL_LOOK_BITS.items():
                    if look_el.get("{" + t.ns + "}" + attr) in ("1", "true", "on"):
                        look |= bit
        rows = [r for r in tbl.iter(t.tr) if _nearest(r, t.tbl) is tbl]
        return style, look, {r: i for i, r in enumerate(rows)}


def _nearest(el: etree._Element, tag: str) -> etree._Element | None:
    anc = el.getparent()
    while anc is not None and anc.tag != tag:
        anc = anc.getparent()
    return anc


class _Paragraph:
    """What is gathered while one paragraph is counted: characters by size, its text for excerpts,
    and the places handed out, whose excerpts are filled in at its end."""

    __slots__ = ("chars", "index", "key", "label", "order", "pending", "shown", "total")

    def __init__(self, label: str | None, key: tuple[int, int], index: int, order: int) -> None:
        self.label = label
        self.key = key
        self.index = index
        self.order = order
        self.chars: dict[float, int] = {}
        self.total = 0
        self.shown: list[str] = []  # the paragraph's counted text, for excerpts
        self.pending: list[tuple[Place, str]] = []  # places to quote, with the run that made them

    def make_place(self, with_excerpt: bool) -> Place:
        place = Place(part=self.label, paragraph=self.index, order=self.order)
        if with_excerpt:
            self.pending.append((place, ""))
        return place


class _Walker:
    def __init__(self, sheet: StyleSheet, t: Tags, inv: TextInventory) -> None:
        self.sheet = sheet
        self.t = t
        self.inv = inv
        self.tables = _TableContexts(sheet, t)
        self.skip_tags = frozenset((t.deleted, t.moveFrom, MC_FALLBACK))
        self.paragraphs = 0
        self._code_depth = 0
        self._fields: list[bool] = []
        self._ppr_cache: dict[tuple[Any, ...], tuple[str | None, tuple[str, float]]] = {}
        self._contexts: dict[Any, tuple[str, Any] | None] = {}
        self._plans: dict[tuple[Any, ...], dict[tuple[Any, ...], _Plan]] = {}

    def _paragraph_context(self, p: etree._Element, kind: str) -> tuple[str, Any] | None:
        """(area, table context) of a paragraph; None when it is in a fallback copy or deleted.

        Memoised on the paragraph's parent (the body, a cell, a text box): siblings share it."""
        parent = p.getparent()
        try:
            return self._contexts[parent]
        except KeyError:
            pass
        ctx = self._context_of(parent, kind)
        self._contexts[parent] = ctx
        return ctx

    def _context_of(self, parent: etree._Element | None, kind: str) -> tuple[str, Any] | None:
        t = self.t
        area = kind
        table = None
        in_box = False
        anc = parent
        while anc is not None:
            tag = anc.tag
            if tag in self.skip_tags:
                return None
            if tag == t.txbxContent:
                if not in_box and area == "body":
                    area = "table" if table is not None else "textbox"
                in_box = True
            elif tag == t.tc and not in_box and table is None:
                table = self.tables.context(anc) or ("", ())
                if area == "body":
                    area = "table"
            anc = anc.getparent()
        return area, (table if table and table[0] else None)

    def _paragraph_props(
        self, ppr: etree._Element | None, table: Any
    ) -> tuple[str | None, tuple[str, float]]:
        """(paragraph style, (rule, lines or points)) of a paragraph, memoised on what its `w:pPr` sets."""
        t = self.t
        style_id = spacing = numpr = None
        if ppr is not None:  # a loop over the children: lxml's find() goes through ElementPath
            for child in ppr:
                tag = child.tag
                if tag == t.pStyle:
                    style_id = child.get(t.val)
                elif tag == t.spacing:
                    spacing = (child.get(t.line), child.get(t.lineRule))
                elif tag == t.numPr:
                    num_id = level = None
                    for part in child:
                        if part.tag == t.numId:
                            num_id = part.get(t.val)
                        elif part.tag == t.ilvl:
                            level = part.get(t.val)
                    if num_id is not None:
                        numpr = (num_id, level or "0")
        key = (table, style_id, spacing, numpr)
        props = self._ppr_cache.get(key)
        if props is None:
            pstyle = self.sheet.paragraph_style(style_id)
            value, rule = self.sheet.line_spacing(table, pstyle, numpr, parse_spacing(ppr, t))
            line = (
                ("auto", round(value / 240, 3))
                if rule == "auto"
                else ("exact" if rule == "exact" else "atLeast", value / 20)
            )
            props = self._ppr_cache[key] = (pstyle, line)
        return props

    def walk(self, root: etree._Element, part: Part, part_index: int) -> None:
        """Count every paragraph of one part (the body, a header, a footnotes part …)."""
        self._code_depth = 0  # open fields whose code (not result) we are in
        self._fields = []  # per open field: True once past `separate`
        index = 0
        base_order = _KIND_ORDER.get(part.kind, 5) * 10_000_000 + part_index * 1_000_000
        for p in root.iter(self.t.p):
            ctx = self._paragraph_context(p, part.kind)
            if ctx is None:
                continue
            index += 1
            self._paragraph(p, ctx, _Paragraph(part.label, (part_index, index), index, base_order + index))
        self.paragraphs += index

    def _paragraph(self, p: etree._Element, ctx: tuple[str, Any], par: _Paragraph) -> None:
        """Count one paragraph's runs by font and size, then its line spacing entry."""
        t = self.t
        inv = self.inv
        area, table = ctx
        ppr = None
        for first in p:  # pPr is the first child when present
            if first.tag == t.pPr:
                ppr = first
            break
        pstyle, line = self._paragraph_props(ppr, table)
        # One lookup per run: the paragraph's context picks a table of run formattings → plan.
        par_plans = self._plans.get((area, table, pstyle))
        if par_plans is None:
            par_plans = self._plans[(area, table, pstyle)] = {}
        pending = par.pending
        for r in p.iter(t.r):
            if r.getparent() is not p and self._nested(r, p):
                continue
            rpr, text, syms = self._run_content(r)
            if not text and not syms:
                continue
            # One lookup per run: (area, table, style, direct properties) → plan.
            sig = tuple([(c.tag, *c.items()) for c in rpr]) if rpr is not None else ()
            plan = par_plans.get(sig)
            if plan is None:
                plan = par_plans[sig] = _Plan(inv, area, self.sheet.run(table, pstyle, rpr))
            if plan.vanish:
                continue
            mark = len(pending)
            for font in syms:
                inv.font(area, font, plan.size).add(1, par.key, par.make_place)
                par.total += 1
            if text:
                par.shown.append(text)
                par.total += self._count(text, plan, area, par)
            for i in range(mark, len(pending)):
                pending[i] = (pending[i][0], text)
        if par.total:
            chars = par.chars
            if len(chars) == 1:
                (size,) = chars
            else:
                size = max(chars, key=chars.__getitem__) if chars else 12.0
            inv.line(area, line[0], line[1], size).add(par.total, par.key, par.make_place)
        if pending:
            whole = "".join(par.shown)
            for place, focus in pending:
                place.excerpt = excerpt(whole, focus)

    def _nested(self, r: etree._Element, p: etree._Element) -> bool:
        """True when a run below the paragraph is not its own: in a nested paragraph (a text box),
        deleted text, or the fallback copy of a drawing."""
        skip_tags = self.skip_tags
        tag_p = self.t.p
        anc = r.getparent()
        while anc is not None and anc is not p:
            if anc.tag in skip_tags or anc.tag == tag_p:
                return True
            anc = anc.getparent()
        return False

    def _run_content(self, r: etree._Element) -> tuple[etree._Element | None, str, list[str]]:
        """A run's direct properties, its shown text and its symbol fonts; follows the field
        characters, so that a field's code is not counted and its result is."""
        t = self.t
        rpr = None
        text = ""
        syms: list[str] = []
        for child in r:
            tag = child.tag
            if tag == t.t:
                if self._code_depth == 0:
                    value = child.text
                    if value:
                        text = text + value if text else value
            elif tag == t.rPr:
                rpr = child
            elif tag == t.fldChar:
                self._field_char(child.get(t.fldCharType))
            elif tag == t.sym and self._code_depth == 0:
                font = child.get(t.font)
                if font:
                    syms.append(font)
        return rpr, text, syms

    def _field_char(self, ftype: str | None) -> None:
        fields = self._fields
        if ftype == "begin":
            fields.append(False)
            self._code_depth += 1
        elif ftype == "separate" and fields and not fields[-1]:
            fields[-1] = True
            self._code_depth -= 1
        elif ftype == "end" and fields and not fields.pop():
            self._code_depth -= 1

    def _count(self, text: str, plan: _Plan, area: str, par: _Paragraph) -> int:
        """Add a run's visible characters to the tallies of the font slots that draw them; returns
        how many. Plain text (ASCII, or Latin/Cyrillic without a slot hint) is counted in bulk."""
        key, make_place, chars = par.key, par.make_place, par.chars
        if plan.complex:
            n = len(_SPACE.sub("", text))
            if n:
                plan.cs.add(n, key, make_place)
                chars[plan.size_cs] = chars.get(plan.size_cs, 0) + n
            return n
        if text.isascii():
            n = len(text) - text.count(" ") if text.isprintable() else len(_ASCII_VISIBLE.findall(text))
            if n:
                plan.ascii.add(n, key, make_place)
                chars[plan.size] = chars.get(plan.size, 0) + n
            return n
        if plan.plain and _SPECIAL.search(text) is None:
            n = len(text) - text.count(" ") if text.isprintable() else len(_SPACE.sub("", text))
            if plan.same:
                if n:
                    plan.hAnsi.add(n, key, make_place)
            else:
                n_ascii = len(_ASCII_VISIBLE.findall(text))
                if n_ascii:
                    plan.ascii.add(n_ascii, key, make_place)
                if n > n_ascii:
                    plan.hAnsi.add(n - n_ascii, key, make_place)
            if n:
                chars[plan.size] = chars.get(plan.size, 0) + n
            return n
        n = 0
        for (_, font, size), k in self._classify(text, plan.eff).items():
            self.inv.font(area, font, size).add(k, key, make_place)
            chars[size] = chars.get(size, 0) + k
            n += k
        return n

    @staticmethod
    def _classify(text: str, eff: Effective) -> dict[tuple[str, str, float], int]:
        counts: dict[tuple[str, str, float], int] = {}
        hint_ea = eff.hint == "eastAsia"
        # Word: an eastAsia font "Times New Roman" with equal ascii and hAnsi fonts → ascii for all.
        all_ascii = eff.eastAsia == "Times New Roman" and eff.ascii == eff.hAnsi
        for ch in text:
            if ch.isspace():
                continue
            slot = "ascii" if all_ascii else char_slot(ord(ch), hint_ea)
            key = (slot, getattr(eff, slot), eff.size_cs if slot == "cs" else eff.size)
            counts[key] = counts.get(key, 0) + 1
        return counts


def read_text(source: zipfile.ZipFile | DocxPackage, main: etree._Element | None = None) -> TextInventory:
    """The text inventory of an open DOCX package (`main` is the parsed main part, if at hand)."""
    package = source if isinstance(source, DocxPackage) else DocxPackage(source, main)
    inv = TextInventory()
    main = package.main
    if main is None:
        return inv
    parts: list[Part] = [Part(MAIN_PART, "body", None)]
    for rtype, target in package.rels(MAIN_PART):
        kind = _PART_KINDS.get(rtype)
        if kind is not None and target in package.zf.NameToInfo:
            parts.append(Part(target, kind, kind))
    walker = _Walker(package.styles, package.tags, inv)
    parts.sort(key=lambda p: (_KIND_ORDER[p.kind], p.name))
    for i, part in enumerate(parts):
        root = main if part.name == MAIN_PART else package.read(part.name)
        if root is not None:
            walker.walk(root, part, i)
    return inv
