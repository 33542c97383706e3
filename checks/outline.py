"""A document's outline: what the filing-level checks need to know about a file, kept small.

From a PDF (pypdfium2 text, page sizes, fonts: the inspection's one opened document), a DOCX
(its body's lines with their Word numbering labels, tables and explicit page breaks, read by
`docx.lines` from the inspection's one opened package and style sheet) or a scan (OCR of the top
of the first page through `image.ocr`, only when the `tesseract` program is installed and
`ocr.title_timeout_seconds` is above 0) this reads:

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
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.policy import Policy
from .docx.lines import read_lines
from .docx.package import DocxPackage
from .filing.listparse import Line, read_attachments
from .filing.normalize import Lexicon
from .filing.rules import lexicon_for
from .image import ocr
from .pdf.document import PdfFile
from .pdf.pages import has_ink

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


class PdfPages:
    """The outline's reading of a PDF's pages — size, orientation, fonts and text — page by page:
    fed by the scan checks' pass over the loaded pages, or by `read_pdf`'s own.

    Never raises while fed: what a page raised is kept and raised by `outline`, so the outline
    is lost and not the checks that share the pass."""

    def __init__(self) -> None:
        self.count = 0
        self.lines: list[Line] = []
        self.layout: list[tuple[list[float], str, list[str]]] = []
        self.texts: list[str] = []
        self.total = 0
        self.first_page_scan = False
        self.error: Exception | None = None

    def add(self, page: Any, index: int) -> None:
        if self.error is not None:
            return
        if index != self.count:
            self.error = ValueError(f"page {index + 1} given after page {self.count}")
            return
        try:
            self._read(page, index)
        except Exception as exc:  # kept for `outline`; the pass goes on for the other checks
            self.error = exc
        self.count += 1

    def _read(self, page: Any, index: int) -> None:
        width, height = page.get_size()
        if page.get_rotation() in (90, 270):
            width, height = height, width
        size = [
            round(min(width, height) * 25.4 / 72 / 5) * 5,
            round(max(width, height) * 25.4 / 72 / 5) * 5,
        ]
        orientation = "landscape" if width > height * 1.02 else "portrait"
        fonts: list[str] = []
        if index < MAX_TEXT_PAGES and self.total < MAX_TEXT_CHARS:
            import pypdfium2.raw as raw

            textpage = page.get_textpage()
            try:
                chars = textpage.count_chars()
                text = textpage.get_text_range() if chars else ""
                fonts = _page_fonts(textpage, raw, chars) if chars else []
            finally:
                textpage.close()
            self.total += len(text)
            self.texts.append(text)
            self.lines.extend(Line(t, index + 1) for t in re.split(r"\r\n|\r|\n", text) if t.strip())
            if index == 0 and not text.strip():
                # A first page without text is read as a scan only when something shows on it:
                # a blank page is not called a scan (the document says it has no text).
                self.first_page_scan = has_ink(page)
        else:
            fonts = ["?"]
        self.layout.append((size, orientation, fonts))

    def outline(self, source: PdfFile, policy: Policy) -> Outline:
        """The outline of the document whose every page was read."""
        if self.error is not None:
            raise self.error
        pdf = source.document
        if self.count != len(pdf):
            raise ValueError(f"{self.count} of {len(pdf)} pages read")
        outline = Outline(pages=len(pdf), pages_exact=True)
        producer = pdf.get_metadata_value("Producer") if hasattr(pdf, "get_metadata_value") else ""
        outline.producer = (producer or "")[:80] or None
        outline.layout = _layout(self.layout)
        if self.first_page_scan:
            outline.ocr = "unavailable"
            found = _title_ocr(policy)
            if found is not None:
                read = _ocr_pdf_top(source, policy, found)
                outline.ocr = "done" if read else "empty"
                if read:
                    title, _ = find_title([Line(t) for t in read], lexicon_for(policy), "ocr")
                    outline.title, outline.title_source = title, "ocr" if title else None
                    outline.head = [t[:MAX_LINE] for t in read][:HEAD_LINES]
        if self.lines:
            _finish(outline, self.lines, policy, "\n".join(self.texts))
        return outline


def _pdf(source: PdfFile, policy: Policy, pages: PdfPages | None) -> Outline:
    """From the pages already read (by the scan checks' pass), or read here."""
    if pages is None or (pages.error is None and pages.count != len(source.document)):
        pages = PdfPages()
        for index in range(len(source.document)):
            pages.add(source.page(index), index)
    return pages.outline(source, policy)


# --- DOCX -----------------------------------------------------------------------------------------


def _docx(package: DocxPackage, policy: Policy) -> Outline | None:
    read = read_lines(package, MAX_TEXT_CHARS)
    if read is None:
        return None  # no readable main part: the file checks say so
    outline = Outline(pages=read.pages)
    if not read.has_body:
        return outline
    if outline.pages is None:
        outline.pages = read.last_page
    _finish(outline, read.lines, policy, "\n".join(read.texts))
    return outline


# --- scans (OCR) ----------------------------------------------------------------------------------


def _title_ocr(policy: Policy) -> ocr.Tesseract | None:
    """Tesseract, when the policy reads scan titles and it is installed."""
    return ocr.tesseract() if ocr.ocr_unavailable_reason(policy) is None else None


def _ocr_lines(image: Any, policy: Policy, found: ocr.Tesseract) -> list[str]:
    """The lines read in the top of a page image that hold a word (two letters or more)."""
    lines = ocr.read_top_lines(image, policy.ocr, found)
    return [ln.strip() for ln in lines if len(_LETTERS.findall(ln)) >= 2][: HEAD_LINES * 2]


def _ocr_pdf_top(source: PdfFile, policy: Policy, found: ocr.Tesseract) -> list[str]:
    page = source.page(0)
    width = page.get_width() or 595
    image = page.render(scale=min(1700 / width, 4.0)).to_pil()
    return _ocr_lines(image, policy, found)


def _jpeg(path: Path, policy: Policy) -> Outline:
    outline = Outline(pages=1, pages_exact=True, ocr="unavailable")
    found = _title_ocr(policy)
    if found is None:
        return outline
    from PIL import Image, ImageOps

    with Image.open(path) as im:
        image = ImageOps.exif_transpose(im)
        lines = _ocr_lines(image, policy, found)
    outline.ocr = "done" if lines else "empty"
    if lines:
        outline.head = [t[:MAX_LINE] for t in lines][:HEAD_LINES]
        outline.title, outline.title_source = find_title([Line(t) for t in lines], lexicon_for(policy), "ocr")
    return outline


def extract(
    path: Path,
    fmt: str | None,
    policy: Policy,
    *,
    pdf: PdfFile | None = None,
    pdf_pages: PdfPages | None = None,
    docx: DocxPackage | None = None,
) -> Outline | None:
    """The outline of a file of sniffed format `fmt`; None for formats without one.

    `pdf` / `docx`: the file as the inspection already opened it (read, not closed); without
    it the file is opened here. `pdf_pages`: its pages as the scan checks' pass read them."""
    if fmt == "pdf":
        if pdf is not None:
            return _pdf(pdf, policy, pdf_pages)
        with PdfFile(path) as own:
            return _pdf(own, policy, None)
    if fmt == "docx":
        if docx is not None:
            return _docx(docx, policy)
        with zipfile.ZipFile(path) as zf:
            return _docx(DocxPackage(zf), policy)
    if fmt == "jpeg":
        return _jpeg(path, policy)
    return None
