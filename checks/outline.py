"""A document's outline: what the filing-level checks need to know about a file, kept small.

From a PDF (pypdfium2 text, page sizes, fonts), a DOCX (word/document.xml paragraphs with
their Word numbering labels, tables, explicit page breaks) or a scan (OCR of the top of the
first page, only when the `tesseract` program is installed) this reads:

- the document's own title (first heading or first prominent line naming a document),
- the first lines of the first page,
- the pages on which a document title begins (a file bundling several documents),
- for PDFs, runs of pages with the same size, orientation and source (fonts or scan),
- the application's list of attachments, when the document has one,
- a fingerprint of the normalised text (exact hash and a shingle sketch) to find the same
  text in two different files.

The outline travels in the file report (JSON), so every part of it is bounded in size.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from lxml import etree

from ..core.policy import Policy
from .filing.listparse import Line, read_attachments
from .filing.normalize import Lexicon
from .filing.rules import lexicon_for
from .image.ocr import ocr_unavailable_reason
from .ooxml import SAFE_PARSER, ZIP_PART_ERRORS

MAX_TEXT_PAGES = 300
MAX_TEXT_CHARS = 2_000_000
MAX_LINE = 120
HEAD_LINES = 8
TITLE_SCAN_LINES = 30
MAX_TITLE = 200
MAX_STARTS = 50
MAX_RUNS = 50
SKETCH_K = 64
SHINGLE = 4
OCR_TOP_SHARE = 0.22
OCR_WIDTH = 800

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_LETTERS = re.compile(r"[^\W\d_]")
_WORD = re.compile(r"[^\W\d_]+")
# A title goes on to the next line when that line says what it is about: "ЗАЯВЛЕНИЕ / о пересмотре …".
_TITLE_CONTINUATION = frozenset(
    ["о", "об", "по", "на", "в", "во", "от", "за", "к", "about", "on", "of", "for", "to", "regarding"]
)
# A table-of-contents line: "Заключение ........ 49", "Заключение<TAB>49".
_TOC_LINE = re.compile(r"(?:\t|\.{4,}|…)\s*\d+\s*$")
_LIST_MARK = re.compile(r"^\s*(?:\d{1,3}\s*[.)]|№\s*\d|[-–—•·*▪●])")


@dataclass
class Outline:
    title: str | None = None
    title_source: str | None = None  # "heading" | "text" | "ocr"
    head: list[str] = field(default_factory=list)
    pages: int | None = None
    pages_exact: bool = False
    page_starts: list[dict[str, Any]] = field(default_factory=list)
    layout: list[dict[str, Any]] = field(default_factory=list)
    producer: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    # How the list of attachments ended and why its count may be doubtful: {end, doubts}.
    attachments_reading: dict[str, Any] | None = None
    fingerprint: dict[str, Any] | None = None
    ocr: str | None = None  # for a page without text: "done", "empty" or "unavailable"

    def to_dict(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "title_source": self.title_source,
            "head": self.head,
            "pages": self.pages,
            "pages_exact": self.pages_exact,
            "page_starts": self.page_starts,
            "layout": self.layout,
            "producer": self.producer,
            "attachments": self.attachments,
            "attachments_reading": self.attachments_reading,
            "fingerprint": self.fingerprint,
            "ocr": self.ocr,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Outline:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


# --- shared text analysis -------------------------------------------------------------------------


def _caps(text: str) -> bool:
    letters = _LETTERS.findall(text)
    return len(letters) >= 3 and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


def _titleish(line: Line) -> bool:
    text = line.text.strip()
    inner_colon = ":" in text.rstrip(":")
    return (
        bool(text)
        and not inner_colon
        and not _LIST_MARK.match(text)
        and not _TOC_LINE.search(text)
        and len(text.split()) <= 14
    )


def find_title(lines: list[Line], lexicon: Lexicon, source: str = "text") -> tuple[str | None, str | None]:
    """The document's own title among the first lines of its first page."""
    first = [ln for ln in lines if ln.page == lines[0].page and ln.cells is None and ln.text.strip()]
    first = first[:TITLE_SCAN_LINES]

    def result(k: int, how: str) -> tuple[str, str]:
        text = first[k].text.strip()
        if len(text.split()) <= 3 and k + 1 < len(first):
            nxt = first[k + 1].text.strip()
            words = nxt.split()
            if words and (words[0] in _TITLE_CONTINUATION or words[-1].lower() in ("туралы", "бойынша")):
                text = f"{text} {nxt}"
        return text[:MAX_TITLE], ("ocr" if source == "ocr" else how)

    for k, line in enumerate(first):
        if not _titleish(line) or not (line.heading or _caps(line.text) or len(line.text.split()) <= 4):
            continue
        if lexicon.concepts(lexicon.tokens(line.text)):
            return result(k, "heading" if line.heading else "text")
    for k, line in enumerate(first):
        if (line.heading or _caps(line.text)) and _titleish(line):
            return result(k, "heading" if line.heading else "text")
    for k, line in enumerate(first):
        if len(_LETTERS.findall(line.text)) >= 3:
            return result(k, "text")
    return None, None


def find_page_starts(
    lines: list[Line], lexicon: Lexicon, start_types: set[str], title_lines: int
) -> list[dict[str, Any]]:
    """Pages whose first lines carry a document title of a type that starts a document."""
    starts: list[dict[str, Any]] = []
    seen_on_page: dict[int, int] = {}
    for line in lines:
        if line.cells is not None or not line.text.strip():
            continue
        count = seen_on_page.get(line.page, 0)
        if count >= title_lines:
            continue
        seen_on_page[line.page] = count + 1
        if starts and starts[-1]["page"] == line.page:
            continue
        text = line.text.strip()
        if not _titleish(line) or len(text.split()) > 8 or not (line.heading or _caps(text)):
            continue
        tokens = lexicon.tokens(text)
        if not tokens:
            continue
        ends = (tokens[0], tokens[-1])
        if any(t[2] & start_types for t in ends):
            starts.append({"page": line.page, "title": text[:80]})
            if len(starts) >= MAX_STARTS:
                break
    return starts


def fingerprint(text: str) -> dict[str, Any] | None:
    """Exact hash and bottom-k sketch of 4-word shingles of the normalised text."""
    words = _WORD.findall(unicodedata.normalize("NFC", text).lower().replace("ё", "е"))
    if not words:
        return None
    digest = hashlib.sha256(" ".join(words).encode("utf-8")).hexdigest()
    hashes: set[int] = set()
    if len(words) >= SHINGLE:
        for k in range(len(words) - SHINGLE + 1):
            hashes.add(zlib.crc32(" ".join(words[k : k + SHINGLE]).encode("utf-8")))
    return {"words": len(words), "sha256": digest, "sketch": sorted(hashes)[:SKETCH_K]}


def _finish(outline: Outline, lines: list[Line], policy: Policy, text: str, source: str = "text") -> None:
    lexicon = lexicon_for(policy)
    rules = policy.filing
    lines = [ln for ln in lines if ln.text.strip() or ln.cells]
    if lines:
        outline.title, outline.title_source = find_title(lines, lexicon, source)
        first_page = lines[0].page
        outline.head = [
            ln.text.strip()[:MAX_LINE] for ln in lines if ln.page == first_page and ln.cells is None
        ][:HEAD_LINES]
        outline.page_starts = find_page_starts(lines, lexicon, set(rules.start_types), rules.title_lines)
        reading = read_attachments(lines, lambda text: bool(lexicon.tokens(text).types))
        outline.attachments = [e.to_dict() for e in reading.entries]
        outline.attachments_reading = reading.to_dict() if reading.entries else None
    outline.fingerprint = fingerprint(text) if source != "ocr" else None


# --- PDF ------------------------------------------------------------------------------------------


def _pdf_font(textpage: Any, raw: Any, index: int) -> str:
    buf = ctypes.create_string_buffer(128)
    flags = ctypes.c_int()
    n = raw.FPDFText_GetFontInfo(textpage.raw, index, buf, 128, ctypes.byref(flags))
    return buf.value.decode("utf-8", "replace") if n else ""


def _page_fonts(textpage: Any, raw: Any, chars: int) -> list[str]:
    samples = sorted({int(chars * k / 8) for k in range(8)})
    counts: dict[str, int] = {}
    for i in samples:
        name = _pdf_font(textpage, raw, i)
        name = name.split("+", 1)[-1] if len(name) > 7 and name[6:7] == "+" else name
        if name:
            counts[name] = counts.get(name, 0) + 1
    return sorted(counts, key=lambda n: -counts[n])


def _layout(pages: list[tuple[list[float], str, list[str]]]) -> list[dict[str, Any]]:
    """Runs of pages with the same size, orientation and source. Sources: "scan", or a group of
    pages whose fonts overlap from page to page (named after its first page's main font)."""
    runs: list[dict[str, Any]] = []
    group_name = ""
    previous_fonts: set[str] = set()
    for number, (size, orientation, fonts) in enumerate(pages, start=1):
        if not fonts:
            source = "scan"
        elif previous_fonts and set(fonts) & previous_fonts and group_name != "scan":
            source = group_name
        else:
            source = "fonts:" + fonts[0][:40]
        group_name = source
        previous_fonts = set(fonts)
        key = (size, orientation, source)
        if runs and (runs[-1]["size_mm"], runs[-1]["orientation"], runs[-1]["source"]) == key:
            runs[-1]["pages"][1] = number
        elif len(runs) < MAX_RUNS:
            runs.append(
                {"pages": [number, number], "size_mm": size, "orientation": orientation, "source": source}
            )
        else:
            runs[-1]["pages"][1] = number
    return runs


def _pdf(path: Path, policy: Policy) -> Outline:
    import pypdfium2 as pdfium
    import pypdfium2.raw as raw

    pdf = pdfium.PdfDocument(str(path))
    try:
        outline = Outline(pages=len(pdf), pages_exact=True)
        producer = pdf.get_metadata_value("Producer") if hasattr(pdf, "get_metadata_value") else ""
        outline.producer = (producer or "")[:80] or None
        lines: list[Line] = []
        layout_pages: list[tuple[list[float], str, list[str]]] = []
        texts: list[str] = []
        total = 0
        first_page_scan = False
        for index in range(len(pdf)):
            page = pdf[index]
            try:
                width, height = page.get_size()
                if page.get_rotation() in (90, 270):
                    width, height = height, width
                size = [
                    round(min(width, height) * 25.4 / 72 / 5) * 5,
                    round(max(width, height) * 25.4 / 72 / 5) * 5,
                ]
                orientation = "landscape" if width > height * 1.02 else "portrait"
                fonts: list[str] = []
                if index < MAX_TEXT_PAGES and total < MAX_TEXT_CHARS:
                    textpage = page.get_textpage()
                    try:
                        chars = textpage.count_chars()
                        text = textpage.get_text_range() if chars else ""
                        fonts = _page_fonts(textpage, raw, chars) if chars else []
                    finally:
                        textpage.close()
                    total += len(text)
                    texts.append(text)
                    lines.extend(Line(t, index + 1) for t in re.split(r"\r\n|\r|\n", text) if t.strip())
                    if index == 0 and not text.strip():
                        first_page_scan = True
                else:
                    fonts = ["?"]
                layout_pages.append((size, orientation, fonts))
            finally:
                page.close()
        outline.layout = _layout(layout_pages)
        if first_page_scan:
            outline.ocr = "unavailable"
            if ocr_unavailable_reason(policy) is None:
                ocr = _ocr_pdf_top(pdf, policy)
                outline.ocr = "done" if ocr else "empty"
                if ocr:
                    title, _ = find_title([Line(t) for t in ocr], lexicon_for(policy), "ocr")
                    outline.title, outline.title_source = title, "ocr" if title else None
                    outline.head = [t[:MAX_LINE] for t in ocr][:HEAD_LINES]
        if lines:
            _finish(outline, lines, policy, "\n".join(texts))
        return outline
    finally:
        pdf.close()


# --- DOCX -----------------------------------------------------------------------------------------


_ROMAN = (
    (1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
    (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"),
)  # fmt: skip
_RU_LETTERS = "абвгдежзиклмнопрстуфхцчшщэюя"


def _format_number(n: int, fmt: str) -> str:
    if fmt in ("lowerLetter", "upperLetter"):
        s = chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return s.upper() if fmt == "upperLetter" else s
    if fmt in ("lowerRoman", "upperRoman"):
        out = ""
        for value, sym in _ROMAN:
            while n >= value:
                out += sym
                n -= value
        return out.upper() if fmt == "upperRoman" else out
    if fmt in ("russianLower", "russianUpper"):
        s = _RU_LETTERS[(n - 1) % len(_RU_LETTERS)]
        return s.upper() if fmt == "russianUpper" else s
    if fmt == "decimalZero":
        return f"{n:02d}"
    return str(n)


class _Numbering:
    """Word list numbering: computes the label ("1.", "2)", "а)", "•") of each list paragraph."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.levels: dict[str, dict[int, tuple[str, str, int]]] = {}
        self.counters: dict[str, list[int]] = {}
        try:
            root = etree.fromstring(zf.read("word/numbering.xml"), SAFE_PARSER)
        except (KeyError, etree.XMLSyntaxError, *ZIP_PART_ERRORS):
            return
        abstract: dict[str, dict[int, tuple[str, str, int]]] = {}
        for an in root.iterfind(f"{_W}abstractNum"):
            levels: dict[int, tuple[str, str, int]] = {}
            for lvl in an.iterfind(f"{_W}lvl"):
                ilvl = int(lvl.get(f"{_W}ilvl", "0") or 0)
                fmt = _val(lvl.find(f"{_W}numFmt")) or "decimal"
                text = _val(lvl.find(f"{_W}lvlText")) or ""
                start = int(_val(lvl.find(f"{_W}start")) or 1)
                levels[ilvl] = (fmt, text, start)
            abstract[an.get(f"{_W}abstractNumId", "")] = levels
        for num in root.iterfind(f"{_W}num"):
            ref = _val(num.find(f"{_W}abstractNumId"))
            levels = dict(abstract.get(ref or "", {}))
            for override in num.iterfind(f"{_W}lvlOverride"):
                ilvl = int(override.get(f"{_W}ilvl", "0") or 0)
                restart = _val(override.find(f"{_W}startOverride"))
                if restart is not None and ilvl in levels:
                    fmt, text, _ = levels[ilvl]
                    levels[ilvl] = (fmt, text, int(restart))
            self.levels[num.get(f"{_W}numId", "")] = levels

    def label(self, num_id: str, ilvl: int) -> str:
        levels = self.levels.get(num_id)
        if not levels or ilvl not in levels:
            return ""
        counters = self.counters.setdefault(num_id, [0] * 9)
        ilvl = min(ilvl, 8)
        for k in range(9):
            if k < ilvl and counters[k] == 0 and k in levels:
                counters[k] = levels[k][2]
        counters[ilvl] = counters[ilvl] + 1 if counters[ilvl] else levels[ilvl][2]
        for k in range(ilvl + 1, 9):
            counters[k] = 0
        fmt, text, _ = levels[ilvl]
        if fmt == "bullet":
            return "•"
        if fmt == "none":
            return ""

        def sub(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            lvl_fmt = levels.get(k, ("decimal", "", 1))[0]
            return _format_number(max(counters[k], 1), lvl_fmt)

        return re.sub(r"%([1-9])", sub, text)


def _val(el: Any) -> str | None:
    return None if el is None else el.get(f"{_W}val")


class _Styles:
    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.styles: dict[str, Any] = {}
        try:
            root = etree.fromstring(zf.read("word/styles.xml"), SAFE_PARSER)
        except (KeyError, etree.XMLSyntaxError, *ZIP_PART_ERRORS):
            return
        for st in root.iterfind(f"{_W}style"):
            self.styles[st.get(f"{_W}styleId", "")] = st

    def _chain(self, style_id: str | None) -> list[Any]:
        chain: list[Any] = []
        while style_id and style_id in self.styles and len(chain) < 10:
            st = self.styles[style_id]
            if st in chain:
                break
            chain.append(st)
            style_id = _val(st.find(f"{_W}basedOn"))
        return chain

    def heading(self, style_id: str | None) -> bool:
        for st in self._chain(style_id):
            name = (_val(st.find(f"{_W}name")) or "").lower()
            if name.startswith(("heading", "title", "заголовок", "название", "тақырып")):
                return True
            if _val(st.find(f"{_W}pPr/{_W}outlineLvl")) == "0":
                return True
        return False

    def num_pr(self, style_id: str | None) -> tuple[str, int] | None:
        for st in self._chain(style_id):
            num = st.find(f"{_W}pPr/{_W}numPr")
            if num is not None:
                num_id = _val(num.find(f"{_W}numId"))
                if num_id:
                    return num_id, int(_val(num.find(f"{_W}ilvl")) or 0)
        return None


def _docx_paragraph(p: Any) -> tuple[list[str], int]:
    """The paragraph's text split at explicit page breaks, and how many breaks it holds."""
    parts = [""]
    for el in p.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr", f"{_W}noBreakHyphen"):
        tag = el.tag
        if tag == f"{_W}t":
            parts[-1] += el.text or ""
        elif tag == f"{_W}tab":
            parts[-1] += "\t"
        elif tag == f"{_W}br" and el.get(f"{_W}type") == "page":
            parts.append("")
        elif tag == f"{_W}noBreakHyphen":
            parts[-1] += "-"
        else:
            parts[-1] += " "
    return parts, len(parts) - 1


def _docx(path: Path, policy: Policy) -> Outline:
    outline = Outline()
    lines: list[Line] = []
    texts: list[str] = []
    with zipfile.ZipFile(path) as zf:
        root = etree.fromstring(zf.read("word/document.xml"), SAFE_PARSER)
        numbering = _Numbering(zf)
        styles = _Styles(zf)
        try:
            app = etree.fromstring(zf.read("docProps/app.xml"), SAFE_PARSER)
            pages = next((el.text for el in app.iter() if etree.QName(el).localname == "Pages"), None)
            outline.pages = int(pages) if pages and pages.strip().isdigit() else None
        except (KeyError, etree.XMLSyntaxError, *ZIP_PART_ERRORS):
            pass
    body = root.find(f"{_W}body")
    if body is None:
        return outline
    page = 1
    total = 0

    def paragraph(p: Any) -> None:
        nonlocal page, total
        ppr = p.find(f"{_W}pPr")
        style_id = _val(ppr.find(f"{_W}pStyle")) if ppr is not None else None
        brk = ppr.find(f"{_W}pageBreakBefore") if ppr is not None else None
        if brk is not None and lines and _val(brk) not in ("0", "false"):
            page += 1
        parts, _ = _docx_paragraph(p)
        num = ppr.find(f"{_W}numPr") if ppr is not None else None
        label = ""
        if num is not None:
            num_id = _val(num.find(f"{_W}numId"))
            if num_id and num_id != "0":
                label = numbering.label(num_id, int(_val(num.find(f"{_W}ilvl")) or 0))
        else:
            inherited = styles.num_pr(style_id)
            if inherited:
                label = numbering.label(*inherited)
        centred = ppr is not None and _val(ppr.find(f"{_W}jc")) == "center"
        runs = [r for r in p.iter(f"{_W}r") if r.find(f"{_W}t") is not None]
        bold = bool(runs) and all(
            (b := r.find(f"{_W}rPr/{_W}b")) is not None and _val(b) not in ("0", "false") for r in runs
        )
        heading = styles.heading(style_id) or (centred and bold)
        for k, text in enumerate(parts):
            if k:
                page += 1
            total += len(text)
            if total <= MAX_TEXT_CHARS:
                texts.append(text)
            if text.strip():
                lines.append(Line(text.strip(), page, label if k == 0 else "", heading))
        sect = ppr.find(f"{_W}sectPr") if ppr is not None else None
        if sect is not None and _val(sect.find(f"{_W}type")) not in ("continuous",):
            page += 1

    def table(tbl: Any) -> None:
        nonlocal total
        for tr in tbl.iterfind(f"{_W}tr"):
            cells = []
            for tc in tr.iterfind(f"{_W}tc"):
                cell_text = " ".join(" ".join(_docx_paragraph(p)[0]) for p in tc.iter(f"{_W}p")).strip()
                cells.append(re.sub(r"\s+", " ", cell_text))
            total += sum(len(c) for c in cells)
            if total <= MAX_TEXT_CHARS:
                texts.append(" ".join(cells))
            if any(cells):
                lines.append(Line(" | ".join(c for c in cells if c), page, cells=cells))

    def walk(container: Any) -> None:
        for el in container:
            if el.tag == f"{_W}p":
                paragraph(el)
            elif el.tag == f"{_W}tbl":
                table(el)
            elif el.tag == f"{_W}sdt":
                content = el.find(f"{_W}sdtContent")
                if content is not None:
                    walk(content)

    walk(body)
    if outline.pages is None:
        outline.pages = page
    _finish(outline, lines, policy, "\n".join(texts))
    return outline


# --- scans (OCR) ----------------------------------------------------------------------------------


@cache
def _tesseract() -> tuple[str, tuple[str, ...]] | None:
    exe = shutil.which("tesseract")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    langs = tuple(ln.strip() for ln in (out.stdout + out.stderr).splitlines() if ln.strip() and " " not in ln)
    return exe, langs


def ocr_available() -> bool:
    return _tesseract() is not None


def _ocr_image(image: Any, policy: Policy) -> list[str]:
    """OCR of the top of a page image with Tesseract; [] when it is missing or fails."""
    found = _tesseract()
    if found is None:
        return []
    exe, installed = found
    langs = [lang for lang in policy.filing.ocr_languages if lang in installed] or ["eng"]
    from PIL import ImageOps

    top = image.crop((0, 0, image.width, max(1, int(image.height * OCR_TOP_SHARE))))
    top = ImageOps.grayscale(top)
    if top.width > OCR_WIDTH:
        top = top.resize((OCR_WIDTH, max(1, int(top.height * OCR_WIDTH / top.width))))
    with tempfile.TemporaryDirectory(prefix="courtdoc-ocr-") as tmp:
        png = Path(tmp) / "top.png"
        top.save(png)
        try:
            out = subprocess.run(
                [exe, str(png), "stdout", "-l", "+".join(langs), "--psm", "4"],
                capture_output=True,
                text=True,
                timeout=policy.filing.ocr_timeout_seconds,
                check=False,
                env={**os.environ, "OMP_THREAD_LIMIT": "1"},  # one core: the sandbox runs files in parallel
            )
        except (OSError, subprocess.SubprocessError):
            return []
    return [ln.strip() for ln in out.stdout.splitlines() if len(_LETTERS.findall(ln)) >= 2][: HEAD_LINES * 2]


def _ocr_pdf_top(pdf: Any, policy: Policy) -> list[str]:
    if not ocr_available():
        return []
    page = pdf[0]
    try:
        width = page.get_width() or 595
        image = page.render(scale=min(1700 / width, 4.0)).to_pil()
    finally:
        page.close()
    return _ocr_image(image, policy)


def _jpeg(path: Path, policy: Policy) -> Outline:
    outline = Outline(pages=1, pages_exact=True, ocr="unavailable")
    if ocr_unavailable_reason(policy) is not None:
        return outline
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        image = ImageOps.exif_transpose(im)
        lines = _ocr_image(image, policy)
    outline.ocr = "done" if lines else "empty"
    if lines:
        outline.head = [t[:MAX_LINE] for t in lines][:HEAD_LINES]
        outline.title, outline.title_source = find_title([Line(t) for t in lines], lexicon_for(policy), "ocr")
    return outline


_EXTRACTORS = {"pdf": _pdf, "docx": _docx, "jpeg": _jpeg}


def extract(path: Path, fmt: str | None, policy: Policy) -> Outline | None:
    """The outline of a file of sniffed format `fmt`; None for formats without one."""
    extractor = _EXTRACTORS.get(fmt or "")
    return extractor(path, policy) if extractor else None
