"""Spreadsheets (.xlsx): the font and size of every non-empty cell, read straight from the XML.

One lxml pass over `xl/styles.xml` (fonts and cell formats), the shared strings and each
worksheet: a cell's font is the font of its cell format (`s` → `cellXfs` → `fontId`); rich-text
runs of a string override the name and size they set. Cells whose text is empty or whitespace
are not counted. A number is counted and quoted as its number format shows it (see
`xlsx.display`), and a cell's key names its sheet, so findings list cells as ranges per sheet.
(openpyxl's read-only mode gives the same cell fonts but not rich-text runs,
and is several times slower; see bench/bench_docx.py.)
"""

from __future__ import annotations

import posixpath
import re
import zipfile

from lxml import etree

from .ooxml import SAFE_PARSER, ZIP_PART_ERRORS
from .textrules import Place, TextInventory, excerpt
from .xlsx import BUILTIN_FORMATS, Cell, display

S_TRANSITIONAL = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
S_STRICT = "http://purl.oclc.org/ooxml/spreadsheetml/main"
R_NAMESPACES = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "http://purl.oclc.org/ooxml/officeDocument/relationships",
)
DEFAULT_FONT = ("Calibri", 11.0)
_SPACE = re.compile(r"\s+")
AREA = "sheet"

Run = tuple[str, str | None, float | None]  # text, font name, size (None: the cell's own)


def _read(zf: zipfile.ZipFile, name: str) -> etree._Element | None:
    try:
        return etree.fromstring(zf.read(name), SAFE_PARSER)
    except (KeyError, etree.XMLSyntaxError, *ZIP_PART_ERRORS):
        return None


def _rels(zf: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    rels_name = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    root = _read(zf, rels_name)
    out: dict[str, tuple[str, str]] = {}
    if root is None:
        return out
    base = posixpath.dirname(part)
    for rel in root:
        target = rel.get("Target", "")
        name = (
            target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
        )
        out[rel.get("Id", "")] = (rel.get("Type", "").rsplit("/", 1)[-1], name)
    return out


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _font_of(el: etree._Element, s: str) -> tuple[str | None, float | None]:
    name_el = el.find(f"{s}name")
    if name_el is None:
        name_el = el.find(f"{s}rFont")
    sz_el = el.find(f"{s}sz")
    return (
        name_el.get("val") if name_el is not None else None,
        _float(sz_el.get("val")) if sz_el is not None else None,
    )


class _Styles:
    def __init__(self, root: etree._Element | None, s: str) -> None:
        self.fonts: list[tuple[str, float]] = []
        self.xf_fonts: list[int] = []
        self.xf_formats: list[str] = []  # number format code of each cell format
        if root is None:
            return
        codes: dict[int, str] = dict(BUILTIN_FORMATS)
        num_fmts = root.find(f"{s}numFmts")
        for fmt in num_fmts.findall(f"{s}numFmt") if num_fmts is not None else []:
            try:
                codes[int(fmt.get("numFmtId", ""))] = fmt.get("formatCode", "General")
            except ValueError:
                continue
        fonts = root.find(f"{s}fonts")
        for font in fonts.findall(f"{s}font") if fonts is not None else []:
            name, size = _font_of(font, s)
            self.fonts.append((name or DEFAULT_FONT[0], size or DEFAULT_FONT[1]))
        xfs = root.find(f"{s}cellXfs")
        for xf in xfs.findall(f"{s}xf") if xfs is not None else []:
            try:
                self.xf_fonts.append(int(xf.get("fontId", "0")))
            except ValueError:
                self.xf_fonts.append(0)
            try:
                self.xf_formats.append(codes.get(int(xf.get("numFmtId", "0")), "General"))
            except ValueError:
                self.xf_formats.append("General")

    def font(self, style: str | None) -> tuple[str, float]:
        try:
            font_id = self.xf_fonts[int(style)] if style else (self.xf_fonts[0] if self.xf_fonts else 0)
            return self.fonts[font_id]
        except (ValueError, IndexError):
            return self.fonts[0] if self.fonts else DEFAULT_FONT

    def number_format(self, style: str | None) -> str:
        try:
            return self.xf_formats[int(style or 0)]
        except (ValueError, IndexError):
            return "General"


def _string_runs(si: etree._Element, s: str) -> list[Run]:
    """A shared or inline string: plain text, or rich-text runs with their own fonts (phonetic
    `rPh` runs are not shown by default and are skipped)."""
    tag_t, tag_r, tag_rpr = f"{s}t", f"{s}r", f"{s}rPr"
    plain: list[str] = []
    runs: list[Run] = []
    for child in si:
        tag = child.tag
        if tag == tag_t:
            plain.append(child.text or "")
        elif tag == tag_r:
            text = ""
            name: str | None = None
            size: float | None = None
            for part in child:
                if part.tag == tag_t:
                    text += part.text or ""
                elif part.tag == tag_rpr:
                    name, size = _font_of(part, s)
            runs.append((text, name, size))
    return runs or [("".join(plain), None, None)]


def read_text(zf: zipfile.ZipFile) -> TextInventory:
    """The text inventory of an open XLSX package: one place per cell, named sheet!cell."""
    inv = TextInventory()
    workbook = _read(zf, "xl/workbook.xml")
    if workbook is None:
        return inv
    ns = etree.QName(workbook).namespace or S_TRANSITIONAL
    s = "{" + (ns if ns in (S_TRANSITIONAL, S_STRICT) else S_TRANSITIONAL) + "}"
    rels = _rels(zf, "xl/workbook.xml")
    by_type = {rtype: name for rtype, name in rels.values()}
    styles = _Styles(_read(zf, by_type.get("styles", "xl/styles.xml")), s)
    props = workbook.find(f"{s}workbookPr")
    date1904 = props is not None and props.get("date1904", "").lower() in ("1", "true")
    shared: list[list[Run]] = []
    sst = _read(zf, by_type.get("sharedStrings", "xl/sharedStrings.xml"))
    if sst is not None:
        shared = [_string_runs(si, s) for si in sst.iterchildren(f"{s}si")]
    sheets = workbook.find(f"{s}sheets")
    for sheet_index, sheet in enumerate(sheets.iterchildren(f"{s}sheet") if sheets is not None else []):
        rid = next((sheet.get("{" + r + "}id") for r in R_NAMESPACES if sheet.get("{" + r + "}id")), None)
        target = rels.get(rid or "")
        if target is None or target[0] != "worksheet":
            continue
        root = _read(zf, target[1])
        if root is None:
            continue
        _read_sheet(root, s, sheet.get("name", f"#{sheet_index + 1}"), sheet_index, styles, shared, inv, date1904)
    return inv


def _visible(text: str) -> int:
    """Characters that are not whitespace."""
    if text.isprintable():
        return len(text) - text.count(" ")
    return len(_SPACE.sub("", text))


def _read_sheet(
    root: etree._Element,
    s: str,
    name: str,
    sheet_index: int,
    styles: _Styles,
    shared: list[list[Run]],
    inv: TextInventory,
    date1904: bool = False,
) -> None:
    tag_v, tag_is = f"{s}v", f"{s}is"
    fonts: dict[str | None, tuple[str, float]] = {}
    formats: dict[str | None, str] = {}
    for order, c in enumerate(root.iter(f"{s}c")):
        value = inline = None
        for child in c:  # a loop, not find(): lxml's find() goes through ElementPath
            if child.tag == tag_v:
                value = child.text
            elif child.tag == tag_is:
                inline = child
        kind = c.get("t")
        runs: list[Run]
        if kind == "s":
            try:
                runs = shared[int(value or "")]
            except (ValueError, IndexError):
                continue
        elif kind == "inlineStr":
            if inline is None:
                continue
            runs = _string_runs(inline, s)
        elif value:
            style = c.get("s")
            if kind in (None, "n"):
                code = formats.get(style)
                if code is None:
                    code = formats[style] = styles.number_format(style)
                value = display(value, code, date1904)
            elif kind == "b":
                value = "TRUE" if value.strip() == "1" else "FALSE"
            runs = [(value, None, None)]
        else:
            continue
        style = c.get("s")
        cell_font = fonts.get(style)
        if cell_font is None:
            cell_font = fonts[style] = styles.font(style)
        ref = c.get("r") or f"#{order + 1}"
        place_key = Cell(sheet_index, name, ref)

        def make_place(
            with_excerpt: bool, _ref: str = ref, _runs: list[Run] = runs, _o: int = order
        ) -> Place:
            return Place(
                sheet=name,
                cell=_ref,
                excerpt=excerpt("".join(r[0] for r in _runs)) if with_excerpt else "",
                order=sheet_index * 100_000_000 + _o,
            )

        for text, font, size in runs:
            n = _visible(text) if text else 0
            if n:
                inv.font(AREA, font or cell_font[0], size or cell_font[1]).add(n, place_key, make_place)
