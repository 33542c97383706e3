"""The lines of a DOCX as the document outline reads them, from the shared package and styles.

The body's paragraphs in order (content controls opened), each with the label Word numbers it
with (`w:numPr`, its own or its style's), whether it is a heading (a heading style, or centred and
all bold), and its page counted from explicit breaks (page breaks, `pageBreakBefore`, section
breaks); each table row as one line of cells. Names come from the document's namespace, so a
Strict OOXML document reads like a Transitional one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from ..filing.listparse import Line
from ..ooxml import ZIP_PART_ERRORS
from .numbering import ListLabels
from .package import DocxPackage
from .styles import StyleSheet, Tags

_SPACES = re.compile(r"\s+")
_OFF = ("0", "false")


@dataclass
class DocxLines:
    lines: list[Line] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)  # the text, for the fingerprint (bounded)
    pages: int | None = None  # docProps/app.xml's page count, when it has one
    last_page: int = 1  # pages counted from explicit breaks
    has_body: bool = True


def app_pages(package: DocxPackage) -> int | None:
    """The page count Word saved in docProps/app.xml, if any."""
    try:
        app = package.part("docProps/app.xml")
        pages = next((el.text for el in app.iter() if etree.QName(el).localname == "Pages"), None)
        return int(pages) if pages and pages.strip().isdigit() else None
    except (KeyError, etree.XMLSyntaxError, *ZIP_PART_ERRORS):
        return None


def paragraph_parts(p: Any, t: Tags) -> list[str]:
    """A paragraph's text split at its explicit page breaks."""
    parts = [""]
    for el in p.iter(t.t, t.tab, t.br, t.cr, t.noBreakHyphen):
        tag = el.tag
        if tag == t.t:
            parts[-1] += el.text or ""
        elif tag == t.tab:
            parts[-1] += "\t"
        elif tag == t.br and el.get(t.type) == "page":
            parts.append("")
        elif tag == t.noBreakHyphen:
            parts[-1] += "-"
        else:
            parts[-1] += " "
    return parts


class _Reader:
    def __init__(self, package: DocxPackage, max_chars: int) -> None:
        self.t = package.tags
        self.styles: StyleSheet = package.styles
        try:
            numbering = self.styles.numbering
        except (KeyError, etree.XMLSyntaxError, *ZIP_PART_ERRORS):
            numbering = None  # the text checks say what is wrong with the part
        self.labels = ListLabels(numbering, self.t)
        self.max_chars = max_chars
        self.out = DocxLines()
        self.page = 1
        self.total = 0

    def walk(self, container: Any) -> None:
        t = self.t
        for el in container:
            if el.tag == t.p:
                self.paragraph(el)
            elif el.tag == t.tbl:
                self.table(el)
            elif el.tag == t.sdt:
                content = el.find(t.sdtContent)
                if content is not None:
                    self.walk(content)

    def _val(self, el: Any) -> str | None:
        return None if el is None else el.get(self.t.val)

    def _label(self, ppr: Any, style_id: str | None) -> str:
        t = self.t
        num = ppr.find(t.numPr) if ppr is not None else None
        if num is not None:
            num_id = self._val(num.find(t.numId))
            if num_id and num_id != "0":
                return self.labels.label(num_id, int(self._val(num.find(t.ilvl)) or 0))
            return ""
        inherited = self.styles.list_of(style_id)
        return self.labels.label(*inherited) if inherited else ""

    def _heading(self, p: Any, ppr: Any, style_id: str | None) -> bool:
        t = self.t
        centred = ppr is not None and self._val(ppr.find(t.jc)) == "center"
        runs = [r for r in p.iter(t.r) if r.find(t.t) is not None]
        bold = bool(runs) and all(
            (b := r.find(f"{t.rPr}/{t.b}")) is not None and self._val(b) not in _OFF for r in runs
        )
        return self.styles.is_heading(style_id) or (centred and bold)

    def paragraph(self, p: Any) -> None:
        t = self.t
        out = self.out
        ppr = p.find(t.pPr)
        style_id = self._val(ppr.find(t.pStyle)) if ppr is not None else None
        brk = ppr.find(t.pageBreakBefore) if ppr is not None else None
        if brk is not None and out.lines and self._val(brk) not in _OFF:
            self.page += 1
        parts = paragraph_parts(p, t)
        label = self._label(ppr, style_id)
        heading = self._heading(p, ppr, style_id)
        for k, text in enumerate(parts):
            if k:
                self.page += 1
            self.total += len(text)
            if self.total <= self.max_chars:
                out.texts.append(text)
            if text.strip():
                out.lines.append(Line(text.strip(), self.page, label if k == 0 else "", heading))
        sect = ppr.find(t.sectPr) if ppr is not None else None
        if sect is not None and self._val(sect.find(t.type)) not in ("continuous",):
            self.page += 1

    def table(self, tbl: Any) -> None:
        t = self.t
        out = self.out
        for tr in tbl.iterfind(t.tr):
            cells = []
            for tc in tr.iterfind(t.tc):
                cell_text = " ".join(" ".join(paragraph_parts(p, t)) for p in tc.iter(t.p)).strip()
                cells.append(_SPACES.sub(" ", cell_text))
            self.total += sum(len(c) for c in cells)
            if self.total <= self.max_chars:
                out.texts.append(" ".join(cells))
            if any(cells):
                out.lines.append(Line(" | ".join(c for c in cells if c), self.page, cells=cells))


def read_lines(package: DocxPackage, max_chars: int) -> DocxLines | None:
    """The body's lines and text (at most `max_chars` of text kept); None without a main part."""
    main = package.main
    if main is None:
        return None
    reader = _Reader(package, max_chars)
    reader.out.pages = app_pages(package)
    body = main.find(reader.t.body)
    if body is None:
        reader.out.has_body = False
    else:
        reader.walk(body)
    reader.out.last_page = reader.page
    return reader.out
