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

import posixpath
import re
import zipfile
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ..ooxml import SAFE_PARSER
from ..textrules import Place, TextInventory, excerpt
from .styles import Effective, StyleSheet, Tags, parse_spacing, tags_for

MC_FALLBACK = "{http://schemas.openxmlformats.org/markup-compatibility/2006}Fallback"
MAIN_PART = "word/document.xml"
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


def _rels(zf: zipfile.ZipFile, part: str) -> list[tuple[str, str]]:
    """(relationship type suffix, target part name) of a part's internal relationships."""
    rels_name = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    try:
        root = etree.fromstring(zf.read(rels_name), SAFE_PARSER)
    except (KeyError, etree.XMLSyntaxError):
        return []
    out = []
    base = posixpath.dirname(part)
    for rel in root:
        if rel.get("TargetMode", "").lower() == "external":
            continue
        target = rel.get("Target", "")
        name = (
            target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
        )
        out.append((rel.get("Type", "").rsplit("/", 1)[-1], name))
    return out


def _read(zf: zipfile.ZipFile, name: str | None) -> etree._Element | None:
    if not name:
        return None
    try:
        return etree.fromstring(zf.read(name), SAFE_PARSER)
    except (KeyError, etree.XMLSyntaxError, zipfile.BadZipFile, OSError, EOFError):
        return None


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


class _Walker:
    def __init__(self, sheet: StyleSheet, t: Tags, inv: TextInventory) -> None:
        self.sheet = sheet
        self.t = t
        self.inv = inv
        self.tables = _TableContexts(sheet, t)
        self.skip_tags = frozenset((t.deleted, t.moveFrom, MC_FALLBACK))
        self.paragraphs = 0
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
        t = self.t
        sheet = self.sheet
        inv = self.inv
        skip_tags = self.skip_tags
        tag_t, tag_rpr, tag_fld, tag_sym, tag_p = t.t, t.rPr, t.fldChar, t.sym, t.p
        code_depth = 0  # open fields whose code (not result) we are in
        fields: list[bool] = []  # per open field: True once past `separate`
        index = 0
        plans = self._plans
        base_order = _KIND_ORDER.get(part.kind, 5) * 10_000_000 + part_index * 1_000_000
        for p in root.iter(tag_p):
            ctx = self._paragraph_context(p, part.kind)
            if ctx is None:
                continue
            index += 1
            area, table = ctx
            ppr = None
            for first in p:  # pPr is the first child when present
                if first.tag == t.pPr:
                    ppr = first
                break
            pstyle, line = self._paragraph_props(ppr, table)
            par_chars: dict[float, int] = {}
            par_total = 0
            shown: list[str] = []  # the paragraph's counted text, for excerpts
            pending: list[tuple[Place, str]] = []
            place_key = (part_index, index)
            order = base_order + index
            # One lookup per run: the paragraph's context picks a table of run formattings → plan.
            par_plans = plans.get((area, table, pstyle))
            if par_plans is None:
                par_plans = plans[(area, table, pstyle)] = {}

            def make_place(
                with_excerpt: bool,
                _pending: list[tuple[Place, str]] = pending,
                _i: int = index,
                _o: int = order,
            ) -> Place:
                place = Place(part=part.label, paragraph=_i, order=_o)
                if with_excerpt:
                    _pending.append((place, ""))
                return place

            for r in p.iter(t.r):
                parent = r.getparent()
                if parent is not p:
                    anc = parent
                    nested = False
                    while anc is not None and anc is not p:
                        if anc.tag in skip_tags or anc.tag == tag_p:
                            nested = True
                            break
                        anc = anc.getparent()
                    if nested:
                        continue
                rpr = None
                text = ""
                syms: list[str] = []
                for child in r:
                    tag = child.tag
                    if tag == tag_t:
                        if code_depth == 0:
                            value = child.text
                            if value:
                                text = text + value if text else value
                    elif tag == tag_rpr:
                        rpr = child
                    elif tag == tag_fld:
                        ftype = child.get(t.fldCharType)
                        if ftype == "begin":
                            fields.append(False)
                            code_depth += 1
                        elif ftype == "separate" and fields and not fields[-1]:
                            fields[-1] = True
                            code_depth -= 1
                        elif ftype == "end" and fields and not fields.pop():
                            code_depth -= 1
                    elif tag == tag_sym and code_depth == 0:
                        font = child.get(t.font)
                        if font:
                            syms.append(font)
                if not text and not syms:
                    continue
                # One lookup per run: (area, table, style, direct properties) → plan.
                sig = tuple([(c.tag, *c.items()) for c in rpr]) if rpr is not None else ()
                plan = par_plans.get(sig)
                if plan is None:
                    plan = par_plans[sig] = _Plan(inv, area, sheet.run(table, pstyle, rpr))
                if plan.vanish:
                    continue
                mark = len(pending)
                for font in syms:
                    inv.font(area, font, plan.size).add(1, place_key, make_place)
                    par_total += 1
                if text:
                    shown.append(text)
                    if plan.complex:
                        n = len(_SPACE.sub("", text))
                        if n:
                            plan.cs.add(n, place_key, make_place)
                            par_chars[plan.size_cs] = par_chars.get(plan.size_cs, 0) + n
                    elif text.isascii():
                        n = (
                            len(text) - text.count(" ")
                            if text.isprintable()
                            else len(_ASCII_VISIBLE.findall(text))
                        )
                        if n:
                            plan.ascii.add(n, place_key, make_place)
                            par_chars[plan.size] = par_chars.get(plan.size, 0) + n
                    elif plan.plain and _SPECIAL.search(text) is None:
                        n = len(text) - text.count(" ") if text.isprintable() else len(_SPACE.sub("", text))
                        if plan.same:
                            if n:
                                plan.hAnsi.add(n, place_key, make_place)
                        else:
                            n_ascii = len(_ASCII_VISIBLE.findall(text))
                            if n_ascii:
                                plan.ascii.add(n_ascii, place_key, make_place)
                            if n > n_ascii:
                                plan.hAnsi.add(n - n_ascii, place_key, make_place)
                        if n:
                            par_chars[plan.size] = par_chars.get(plan.size, 0) + n
                    else:
                        n = 0
                        for (_, font, size), k in self._classify(text, plan.eff).items():
                            inv.font(area, font, size).add(k, place_key, make_place)
                            par_chars[size] = par_chars.get(size, 0) + k
                            n += k
                    par_total += n
                for i in range(mark, len(pending)):
                    pending[i] = (pending[i][0], text)
            if par_total:
                if len(par_chars) == 1:
                    (size,) = par_chars
                else:
                    size = max(par_chars, key=par_chars.__getitem__) if par_chars else 12.0
                inv.line(area, line[0], line[1], size).add(par_total, place_key, make_place)
            if pending:
                whole = "".join(shown)
                for place, focus in pending:
                    place.excerpt = excerpt(whole, focus)
        self.paragraphs += index

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


def read_text(zf: zipfile.ZipFile, main: etree._Element | None = None) -> TextInventory:
    """The text inventory of an open DOCX package (`main` is the parsed main part, if at hand)."""
    inv = TextInventory()
    if main is None:
        main = _read(zf, MAIN_PART)
        if main is None:
            return inv
    t = tags_for(main)
    rels = _rels(zf, MAIN_PART)
    by_type: dict[str, str] = {}
    parts: list[Part] = [Part(MAIN_PART, "body", None)]
    for rtype, target in rels:
        by_type.setdefault(rtype, target)
        kind = _PART_KINDS.get(rtype)
        if kind is not None and target in zf.NameToInfo:
            parts.append(Part(target, kind, kind))
    sheet = StyleSheet(
        t,
        _read(zf, by_type.get("styles", "word/styles.xml")),
        lambda: _read(zf, by_type.get("theme", "word/theme/theme1.xml")),
        lambda: _read(zf, by_type.get("numbering")),
    )
    walker = _Walker(sheet, t, inv)
    parts.sort(key=lambda p: (_KIND_ORDER[p.kind], p.name))
    for i, part in enumerate(parts):
        root = main if part.name == MAIN_PART else _read(zf, part.name)
        if root is not None:
            walker.walk(root, part, i)
    return inv
