"""The OOXML formatting hierarchy of a DOCX, resolved to effective run and paragraph properties.

Word computes a character's formatting in this order, each level overriding the one before:
document defaults (`w:docDefaults`) → table style (whole table, then the conditional parts that
apply: first/last row/column) → numbering (paragraph properties only) → paragraph style chain
(`w:basedOn`; the default paragraph style when the paragraph names none) → character style chain →
direct run properties. Fonts are four slots (ascii, hAnsi, eastAsia, cs); a theme attribute
(`w:asciiTheme`…) beats a name on the same `w:rFonts` element and is looked up in the theme part.
Sizes are half-points (`w:sz`, and `w:szCs` for complex scripts).

Everything is read with lxml from the XML and memoised per style combination, so a run costs a
dictionary merge of its own direct properties and one cache lookup.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from lxml import etree

W_TRANSITIONAL = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W_STRICT = "http://purl.oclc.org/ooxml/wordprocessingml/main"
A_TRANSITIONAL = "http://schemas.openxmlformats.org/drawingml/2006/main"
A_STRICT = "http://purl.oclc.org/ooxml/drawingml/main"

# Word's own defaults when no level says anything: Times New Roman, 10 pt, single spacing.
DEFAULT_FONT = "Times New Roman"
DEFAULT_HALF_POINTS = 20
SINGLE_LINE = (240, "auto")
# Word 2013+ built-in theme, used when a document names theme fonts but carries no theme part.
_FALLBACK_THEME = {"major": {"latin": "Calibri Light"}, "minor": {"latin": "Calibri"}}

_THEME = "\x00"  # prefix marking a theme font reference in a slot value
SLOTS = ("ascii", "hAnsi", "eastAsia", "cs")
_THEME_ATTRS = {"ascii": "asciiTheme", "hAnsi": "hAnsiTheme", "eastAsia": "eastAsiaTheme", "cs": "cstheme"}
_EA_SCRIPTS = {"ja": "Jpan", "ko": "Hang", "zh-tw": "Hant", "zh-hk": "Hant", "zh-mo": "Hant", "zh": "Hans"}
_BIDI_SCRIPTS = {"ar": "Arab", "fa": "Arab", "ur": "Arab", "he": "Hebr", "yi": "Hebr", "th": "Thai"}
_UNIT = re.compile(r"^\s*(-?[0-9.]+)\s*(pt|mm|cm|in|pc|pi)?\s*$")
_PT_PER_UNIT = {"pt": 1.0, "mm": 72 / 25.4, "cm": 72 / 2.54, "in": 72.0, "pc": 12.0, "pi": 12.0}


class Tags:
    """Qualified tag and attribute names of one WordprocessingML namespace (transitional or strict)."""

    p: str
    r: str
    t: str
    pPr: str
    rPr: str
    pStyle: str
    rStyle: str
    rFonts: str
    sz: str
    szCs: str
    cs: str
    rtl: str
    vanish: str
    lang: str
    spacing: str
    numPr: str
    numId: str
    ilvl: str
    style: str
    basedOn: str
    docDefaults: str
    rPrDefault: str
    pPrDefault: str
    tblStylePr: str
    tbl: str
    tblPr: str
    tblStyle: str
    tblLook: str
    tr: str
    tc: str
    txbxContent: str
    moveFrom: str
    delText: str
    instrText: str
    fldChar: str
    fldSimple: str
    sym: str
    num: str
    abstractNum: str
    abstractNumId: str
    lvl: str
    body: str
    footnote: str
    endnote: str
    hdr: str
    ftr: str
    tab: str
    br: str
    noBreakHyphen: str
    softHyphen: str
    cr: str
    name: str
    outlineLvl: str
    jc: str
    b: str
    sectPr: str
    pageBreakBefore: str
    sdt: str
    sdtContent: str
    numFmt: str
    lvlText: str
    start: str
    lvlOverride: str
    startOverride: str

    def __init__(self, ns: str) -> None:
        w = "{" + ns + "}"
        self.ns = ns
        for name in (
            "p", "r", "t", "pPr", "rPr", "pStyle", "rStyle", "rFonts", "sz", "szCs", "cs", "rtl",
            "vanish", "lang", "spacing", "numPr", "numId", "ilvl", "style", "basedOn", "docDefaults",
            "rPrDefault", "pPrDefault", "tblStylePr", "tbl", "tblPr", "tblStyle", "tblLook", "tr", "tc",
            "txbxContent", "moveFrom", "delText", "instrText", "fldChar", "fldSimple", "sym",
            "num", "abstractNum", "abstractNumId", "lvl", "body", "footnote", "endnote", "hdr", "ftr",
            "tab", "br", "noBreakHyphen", "softHyphen", "cr", "name", "outlineLvl", "jc", "b", "sectPr",
            "pageBreakBefore", "sdt", "sdtContent", "numFmt", "lvlText", "start", "lvlOverride",
            "startOverride",
        ):  # fmt: skip
            setattr(self, name, w + name)
        self.deleted = w + "del"
        self.val = w + "val"
        self.type = w + "type"
        self.styleId = w + "styleId"
        self.default = w + "default"
        self.hint = w + "hint"
        self.line = w + "line"
        self.lineRule = w + "lineRule"
        self.fldCharType = w + "fldCharType"
        self.font = w + "font"
        self.eastAsia = w + "eastAsia"
        self.bidi = w + "bidi"
        self.firstRow = w + "firstRow"
        self.lastRow = w + "lastRow"
        self.firstColumn = w + "firstColumn"
        self.lastColumn = w + "lastColumn"
        # w:rFonts attribute → (slot, is a theme reference)
        self.font_attrs: dict[str, tuple[str, bool]] = {w + s: (s, False) for s in SLOTS}
        self.font_attrs.update({w + a: (s, True) for s, a in _THEME_ATTRS.items()})
        self.font_attrs[w + "hint"] = ("hint", False)
        # w:rPr children that matter → what they set
        self.rpr_kinds: dict[str, str] = {
            w + "rFonts": "fonts", w + "sz": "sz", w + "szCs": "szCs", w + "cs": "csflag",
            w + "rtl": "rtl", w + "vanish": "vanish", w + "lang": "lang", w + "rStyle": "rStyle",
        }  # fmt: skip


def tags_for(root: etree._Element) -> Tags:
    ns = etree.QName(root).namespace or W_TRANSITIONAL
    return Tags(ns if ns in (W_TRANSITIONAL, W_STRICT) else W_TRANSITIONAL)


def _measure(value: str | None, per_point: int, bare_unit: str | None) -> int | None:
    """An integer measure, or the strict format's universal measure ("14pt", "1.5cm") converted;
    `bare_unit` is the unit a bare number with a decimal point is read in (None: not accepted)."""
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        m = _UNIT.match(value)
        unit = (m.group(2) or bare_unit) if m is not None else None
        if m is None or unit is None:
            return None
        return round(float(m.group(1)) * _PT_PER_UNIT[unit] * per_point)


def half_points(value: str | None) -> int | None:
    """`w:sz` value → half-points; accepts the strict format's universal measures ("14pt")."""
    return _measure(value, 2, "pt")


def twips(value: str | None) -> int | None:
    """A twentieth-of-a-point measure (`w:line`, `w:ind` …), universal measures accepted."""
    return _measure(value, 20, None)


def rpr_signature(rpr: etree._Element | None) -> tuple[Any, ...]:
    """A `w:rPr` as a hashable tuple of (tag, *attributes) per child, uninterpreted.

    Runs repeat the same direct formatting; the signature is the cache key of their resolution.
    Building it is the cheapest walk over the children lxml allows (no per-child dispatch).
    """
    if rpr is None:
        return ()
    return tuple([(c.tag, *c.items()) for c in rpr])


def props_from_signature(sig: tuple[Any, ...], t: Tags) -> dict[str, Any]:
    """Interpret an `rpr_signature`: fonts per slot, sizes (half-points), flags, style, languages."""
    d: dict[str, Any] = {}
    for tag, *attrs in sig:
        kind = t.rpr_kinds.get(tag)
        if kind is None:
            continue
        if kind == "fonts":
            names: dict[str, str] = {}
            themes: dict[str, str] = {}
            for attr, value in attrs:
                slot = t.font_attrs.get(attr)
                if slot is None or not value:
                    continue
                if slot[1]:
                    themes[slot[0]] = _THEME + value
                elif slot[0] == "hint":
                    d["hint"] = value
                else:
                    names[slot[0]] = value
            names.update(themes)  # a theme attribute beats a name on the same element
            d.update(names)
            continue
        values = dict(attrs)
        if kind in ("sz", "szCs"):
            hp = half_points(values.get(t.val))
            if hp is not None:
                d[kind] = hp
        elif kind == "rStyle":
            d["rStyle"] = values.get(t.val)
        elif kind == "lang":
            if values.get(t.eastAsia):
                d["lang_ea"] = values[t.eastAsia]
            if values.get(t.bidi):
                d["lang_bidi"] = values[t.bidi]
        else:  # on/off flags: cs, rtl, vanish
            payload = values.get(t.val)
            d[kind] = payload is None or payload.lower() not in ("0", "false", "off", "none")
    return d


def parse_rpr(rpr: etree._Element | None, t: Tags) -> dict[str, Any]:
    """The properties one `w:rPr` sets (only those it sets): fonts per slot, sizes, flags."""
    return props_from_signature(rpr_signature(rpr), t)


def parse_spacing(ppr: etree._Element | None, t: Tags) -> dict[str, Any]:
    """Line spacing a `w:pPr` sets: (`w:line` in 240ths or twips, `w:lineRule`)."""
    if ppr is None:
        return {}
    sp = ppr.find(t.spacing)
    if sp is None:
        return {}
    line = twips(sp.get(t.line))
    if line is None:
        return {}
    return {"line": (line, sp.get(t.lineRule) or "auto")}


class Effective(NamedTuple):
    """A run's resolved formatting: one font per slot, sizes in points, and the flags that matter."""

    ascii: str
    hAnsi: str
    eastAsia: str
    cs: str
    size: float
    size_cs: float
    complex: bool  # w:cs or w:rtl: every character uses the cs slot and size
    vanish: bool
    hint: str


@dataclass
class _Style:
    type: str
    based_on: str | None
    rpr: etree._Element | None
    ppr: etree._Element | None
    conditional: dict[str, tuple[etree._Element | None, etree._Element | None]]


class Theme:
    """Major/minor fonts of the theme part, with the per-script fonts used when `ea`/`cs` are empty."""

    def __init__(self, root: etree._Element | None) -> None:
        self.fonts: dict[str, dict[str, str]] = {}
        if root is None:
            self.fonts = {k: dict(v) for k, v in _FALLBACK_THEME.items()}
            return
        ns = etree.QName(root).namespace
        a = "{" + (A_STRICT if ns == A_STRICT else A_TRANSITIONAL) + "}"
        for kind in ("major", "minor"):
            entry: dict[str, str] = {}
            node = root.find(f".//{a}{kind}Font")
            if node is not None:
                for child in node:
                    local = etree.QName(child).localname
                    face = child.get("typeface") or ""
                    if local in ("latin", "ea", "cs"):
                        entry[local] = face
                    elif local == "font" and child.get("script"):
                        entry["script:" + child.get("script", "")] = face
            self.fonts[kind] = entry or dict(_FALLBACK_THEME[kind])

    def resolve(self, ref: str, lang_ea: str | None, lang_bidi: str | None) -> str | None:
        kind = "major" if ref.startswith("major") else "minor"
        fonts = self.fonts.get(kind, {})
        which = ref[5:].lower()
        if which in ("ascii", "hansi"):
            return fonts.get("latin") or None
        slot, lang, table = (
            ("ea", lang_ea, _EA_SCRIPTS) if which == "eastasia" else ("cs", lang_bidi, _BIDI_SCRIPTS)
        )
        face = fonts.get(slot)
        if face:
            return face
        if lang:
            lang = lang.lower()
            script = table.get(lang) or table.get(lang.split("-")[0])
            if script and fonts.get("script:" + script):
                return fonts["script:" + script]
        return fonts.get("latin") or None


class StyleSheet:
    """styles.xml + theme + numbering of one document, with memoised resolution."""

    def __init__(
        self,
        t: Tags,
        styles: etree._Element | None,
        theme: Callable[[], etree._Element | None],
        numbering: Callable[[], etree._Element | None],
    ) -> None:
        """`theme` and `numbering` load their parts; they are called only if a run or paragraph
        refers to a theme font or a list."""
        self.t = t
        self._load_theme = theme
        self._load_numbering = numbering
        self._theme: Theme | None = None
        self._numbering_index: tuple[dict[str, str], dict[str, etree._Element]] | None = None
        self._numbering_memo: dict[tuple[str, str], dict[str, Any]] = {}
        self._numbering_root: tuple[etree._Element | None] | None = None
        self._raw: dict[str, etree._Element] = {}
        self._parsed: dict[str, _Style] = {}
        self.types: dict[str, str] = {}
        self.default_style: dict[str, str] = {}
        self.defaults_r: dict[str, Any] = {}
        self.defaults_p: dict[str, Any] = {}
        if styles is not None:
            self._read_styles(styles)
        self._rchain: dict[str, dict[str, Any]] = {}
        self._pchain: dict[str, dict[str, Any]] = {}
        self._base_run: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._base_par: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._effective: dict[tuple[Any, ...], Effective] = {}
        self._tables_memo: dict[tuple[Any, str], dict[str, Any]] = {}

    # --- reading -----------------------------------------------------------------------------------

    def _read_styles(self, root: etree._Element) -> None:
        t = self.t
        dd = root.find(t.docDefaults)
        if dd is not None:
            self.defaults_r = parse_rpr(dd.find(f"{t.rPrDefault}/{t.rPr}"), t)
            self.defaults_p = parse_spacing(dd.find(f"{t.pPrDefault}/{t.pPr}"), t)
        for st in root.iter(t.style):
            sid = st.get(t.styleId)
            if sid is None:
                continue
            stype = st.get(t.type) or "paragraph"
            self._raw[sid] = st
            self.types[sid] = stype
            if st.get(t.default) in ("1", "true", "on") and stype not in self.default_style:
                self.default_style[stype] = sid

    def style(self, sid: str) -> _Style | None:
        """A style's parts, read from the XML the first time it is needed."""
        style = self._parsed.get(sid)
        if style is None:
            st = self._raw.get(sid)
            if st is None:
                return None
            t = self.t
            based = st.find(t.basedOn)
            conditional: dict[str, tuple[etree._Element | None, etree._Element | None]] = {}
            for cond in st.findall(t.tblStylePr):
                ctype = cond.get(t.type)
                if ctype:
                    conditional[ctype] = (cond.find(t.rPr), cond.find(t.pPr))
            style = self._parsed[sid] = _Style(
                type=self.types[sid],
                based_on=based.get(t.val) if based is not None else None,
                rpr=st.find(t.rPr),
                ppr=st.find(t.pPr),
                conditional=conditional,
            )
        return style

    @property
    def theme(self) -> Theme:
        if self._theme is None:
            self._theme = Theme(self._load_theme())
        return self._theme

    @property
    def numbering(self) -> etree._Element | None:
        """The numbering part, read the first time a paragraph refers to a list."""
        if self._numbering_root is None:
            self._numbering_root = (self._load_numbering(),)
        return self._numbering_root[0]

    def numbering_spacing(self, ref: tuple[str, str]) -> dict[str, Any]:
        """Line spacing a list level sets (`w:num` → `w:abstractNum` → `w:lvl`/`w:pPr`), read on demand."""
        found = self._numbering_memo.get(ref)
        if found is not None:
            return found
        if self._numbering_index is None:
            self._numbering_index = self._index_numbering(self.numbering)
        nums, abstracts = self._numbering_index
        found = {}
        abstract = abstracts.get(nums.get(ref[0], ""))
        if abstract is not None:
            t = self.t
            for lvl in abstract:
                if lvl.tag == t.lvl and lvl.get(t.ilvl, "0") == ref[1]:
                    found = parse_spacing(next(lvl.iterchildren(t.pPr), None), t)
                    break
        self._numbering_memo[ref] = found
        return found

    def _index_numbering(
        self, root: etree._Element | None
    ) -> tuple[dict[str, str], dict[str, etree._Element]]:
        nums: dict[str, str] = {}
        abstracts: dict[str, etree._Element] = {}
        if root is None:
            return nums, abstracts
        t = self.t
        for child in root:
            if child.tag == t.num:
                ref = next(child.iterchildren(t.abstractNumId), None)
                if ref is not None:
                    nums[child.get(t.numId, "")] = ref.get(t.val, "")
            elif child.tag == t.abstractNum:
                abstracts[child.get(t.abstractNumId, "")] = child
        return nums, abstracts

    # --- style chains --------------------------------------------------------------------------------

    def _chain(self, sid: str, which: str, memo: dict[str, dict[str, Any]]) -> dict[str, Any]:
        if sid in memo:
            return memo[sid]
        memo[sid] = {}  # cycle guard
        style = self.style(sid)
        if style is None:
            return {}
        out: dict[str, Any] = {}
        if style.based_on and style.based_on != sid:
            parent = self.style(style.based_on)
            if parent is not None and parent.type == style.type:
                out.update(self._chain(style.based_on, which, memo))
        if which == "r":
            out.update(parse_rpr(style.rpr, self.t))
        else:
            out.update(parse_spacing(style.ppr, self.t))
            numpr = style.ppr.find(self.t.numPr) if style.ppr is not None else None
            if numpr is not None:
                out["num"] = _num_ref(numpr, self.t)
        memo[sid] = out
        return out

    def run_chain(self, sid: str) -> dict[str, Any]:
        return self._chain(sid, "r", self._rchain)

    def par_chain(self, sid: str) -> dict[str, Any]:
        return self._chain(sid, "p", self._pchain)

    def _table_parts(self, table: tuple[str, tuple[str, ...]] | None, which: str) -> dict[str, Any]:
        """Whole-table properties of the table style chain, then its applicable conditional parts."""
        if table is None:
            return {}
        key = (table, which)
        cached = self._tables_memo.get(key)
        if cached is None:
            cached = self._tables_memo[key] = self._table_parts_uncached(table, which)
        return cached

    def _table_parts_uncached(self, table: tuple[str, tuple[str, ...]], which: str) -> dict[str, Any]:
        sid, conds = table
        chain: list[_Style] = []
        seen: set[str] = set()
        cur: str | None = sid
        while cur and cur not in seen:
            style = self.style(cur)
            if style is None:
                break
            seen.add(cur)
            chain.append(style)
            cur = style.based_on
        out: dict[str, Any] = {}
        for style in reversed(chain):
            if which == "r":
                out.update(parse_rpr(style.rpr, self.t))
            else:
                out.update(parse_spacing(style.ppr, self.t))
        for cond in conds:
            for style in reversed(chain):
                rpr, ppr = style.conditional.get(cond, (None, None))
                out.update(parse_rpr(rpr, self.t) if which == "r" else parse_spacing(ppr, self.t))
        return out

    def paragraph_style(self, sid: str | None) -> str | None:
        if sid is not None and sid in self.types:
            return sid
        return self.default_style.get("paragraph")

    # --- what the outline asks: headings and lists ----------------------------------------------------

    def _based_on_chain(self, sid: str | None) -> list[etree._Element]:
        """A style and the styles it is based on, nearest first (at most 10, a cycle stops it)."""
        chain: list[etree._Element] = []
        t = self.t
        while sid and sid in self._raw and len(chain) < 10:
            st = self._raw[sid]
            if st in chain:
                break
            chain.append(st)
            based = st.find(t.basedOn)
            sid = based.get(t.val) if based is not None else None
        return chain

    def is_heading(self, sid: str | None) -> bool:
        """A heading or title style (by its name, in en/ru/kk), or one at outline level 0."""
        t = self.t
        for st in self._based_on_chain(sid):
            name_el = st.find(t.name)
            name = ((name_el.get(t.val) if name_el is not None else None) or "").lower()
            if name.startswith(("heading", "title", "заголовок", "название", "тақырып")):
                return True
            level = st.find(f"{t.pPr}/{t.outlineLvl}")
            if level is not None and level.get(t.val) == "0":
                return True
        return False

    def list_of(self, sid: str | None) -> tuple[str, int] | None:
        """The list (numId, level) a paragraph style puts its paragraphs in, through its chain."""
        t = self.t
        for st in self._based_on_chain(sid):
            num = st.find(f"{t.pPr}/{t.numPr}")
            if num is not None:
                num_el = num.find(t.numId)
                num_id = num_el.get(t.val) if num_el is not None else None
                if num_id:
                    level = num.find(t.ilvl)
                    return num_id, int((level.get(t.val) if level is not None else None) or 0)
        return None

    # --- effective values ----------------------------------------------------------------------------

    def base_run(
        self, table: tuple[str, tuple[str, ...]] | None, pstyle: str | None, rstyle: str | None
    ) -> dict[str, Any]:
        key = (table, pstyle, rstyle)
        base = self._base_run.get(key)
        if base is None:
            base = dict(self.defaults_r)
            base.update(self._table_parts(table, "r"))
            if pstyle is not None:
                base.update(self.run_chain(pstyle))
            if rstyle is not None and rstyle in self.types:
                base.update(self.run_chain(rstyle))
            self._base_run[key] = base
        return base

    def run(
        self, table: tuple[str, tuple[str, ...]] | None, pstyle: str | None, rpr: etree._Element | None
    ) -> Effective:
        """Effective formatting of a run with direct properties `rpr` in a paragraph of style `pstyle`.

        Memoised on the run's `rpr_signature`: documents repeat the same direct formatting.
        """
        sig = rpr_signature(rpr) if rpr is not None else ()
        key = (table, pstyle, sig)
        eff = self._effective.get(key)
        if eff is None:
            direct = props_from_signature(sig, self.t)
            props = dict(self.base_run(table, pstyle, direct.pop("rStyle", None)))
            props.update(direct)
            eff = self._finish(props)
            self._effective[key] = eff
        return eff

    def _finish(self, props: dict[str, Any]) -> Effective:
        lang_ea, lang_bidi = props.get("lang_ea"), props.get("lang_bidi")
        fonts = []
        for slot in SLOTS:
            value = props.get(slot)
            if isinstance(value, str) and value.startswith(_THEME):
                value = self.theme.resolve(value[1:], lang_ea, lang_bidi)
            fonts.append(value or DEFAULT_FONT)
        sz = props.get("sz", DEFAULT_HALF_POINTS)
        sz_cs = props.get("szCs", sz)
        return Effective(
            ascii=fonts[0],
            hAnsi=fonts[1],
            eastAsia=fonts[2],
            cs=fonts[3],
            size=sz / 2,
            size_cs=sz_cs / 2,
            complex=bool(props.get("csflag") or props.get("rtl")),
            vanish=bool(props.get("vanish")),
            hint=props.get("hint", ""),
        )

    def line_spacing(
        self,
        table: tuple[str, tuple[str, ...]] | None,
        pstyle: str | None,
        num: tuple[str, str] | None,
        direct: dict[str, Any],
    ) -> tuple[int, str]:
        """(`w:line`, `w:lineRule`) of a paragraph after the whole chain; single when nothing says."""
        key = (table, pstyle, num)
        base = self._base_par.get(key)
        if base is None:
            base = dict(self.defaults_p)
            base.update(self._table_parts(table, "p"))
            chain = self.par_chain(pstyle) if pstyle is not None else {}
            ref = num or chain.get("num")
            if ref is not None:
                base.update(self.numbering_spacing(ref))
            if "line" in chain:
                base["line"] = chain["line"]
            self._base_par[key] = base
        line: tuple[int, str] = direct.get("line") or base.get("line") or SINGLE_LINE
        return line


def _num_ref(numpr: etree._Element, t: Tags) -> tuple[str, str] | None:
    num = numpr.find(t.numId)
    if num is None:
        return None
    lvl = numpr.find(t.ilvl)
    return (num.get(t.val, ""), lvl.get(t.val, "0") if lvl is not None else "0")
