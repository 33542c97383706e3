"""Evidence on the drawn page: where a text finding's words are, as boxes over the page picture.

A font or spacing finding of a Word document or a PDF says which paragraph it is about and
quotes its first words (`location.excerpt`), not where they are on a page: a Word document has
no pages until it is laid out. `locate` finds them on the PDF that the page pictures are drawn
from (the PDF itself, or the PDF LibreOffice made of a Word document, cached by
`engine.pictures`) with PDFium's text search, and returns one box per line of text, in PDF
points from the top-left corner of the page as displayed — what `location.boxes` holds.

The search runs in a sandbox child (`find_boxes`), like the drawing: a hostile PDF costs at most
the policy's time and memory bounds. An excerpt LibreOffice lays out differently (a line break,
a hyphen) is looked for again by its first words. A paragraph goes on below the quoted words
while its lines run to the right margin: its following lines are boxed too.

A finding that already says where it is (`location.boxes`: a scan's measured region, a PDF font
finding's glyph runs measured by the text layer) is drawn with its own boxes and never searched
(`wants_evidence` is false for it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pypdfium2 as pdfium

from ..checks import render
from ..checks.boxes import merge_into_lines
from ..core.policy import Policy
from ..core.report import Finding
from . import pictures
from .sandbox import SandboxPool

#: Rules whose findings are located by their text on the drawn page.
TEXT_RULES = ("font.", "spacing.")
TEXT_FORMATS = ("pdf", "docx", "doc")
_PREFIXES = (60, 40, 24, 12)  # characters of the excerpt tried, longest first
_MIN_QUERY = 6
_MAX_LINES = 40  # lines of one paragraph boxed at most
_FULL_LINE = 0.9  # a line reaching this share of the text's right edge continues its paragraph


@dataclass(frozen=True)
class Query:
    """A finding's words to find: on `page` (from 1) when it says, else on any page."""

    excerpt: str
    page: int | None = None


@dataclass(frozen=True)
class Found:
    """Where a query's words are: the page (from 1), the page's displayed size and the boxes."""

    page: int
    page_width_pt: float
    page_height_pt: float
    boxes: list[dict[str, Any]]


def wants_evidence(finding: Finding, fmt: str | None) -> bool:
    """A text finding of a document whose words can be searched on its drawn pages."""
    return (
        fmt in TEXT_FORMATS
        and finding.rule.startswith(TEXT_RULES)
        and bool(finding.location.get("excerpt"))
        and not finding.location.get("boxes")
    )


def query_of(finding: Finding) -> Query:
    location = finding.location
    page = location.get("page")
    return Query(str(location.get("excerpt") or ""), int(page) if isinstance(page, int) else None)


# --- the child side -------------------------------------------------------------------------------


def _queries(excerpt: str) -> list[str]:
    """The excerpt without its ellipsis, then its first words, longest first."""
    text = " ".join(excerpt.replace("…", " ").split())
    out: list[str] = []
    for size in _PREFIXES:
        part = text[:size]
        if len(part) < len(text):  # cut at a word's end, not inside it
            part = part.rsplit(" ", 1)[0] if " " in part else part
        if len(part) >= _MIN_QUERY and part not in out:
            out.append(part)
    return out


class _Displayed:
    """PDF user space → points from the top-left corner of the page as displayed."""

    def __init__(self, page: pdfium.PdfPage) -> None:
        self.left, self.bottom, self.right, self.top = page.get_cropbox()
        self.rotation = page.get_rotation() % 360
        self.width, self.height = page.get_size()

    def box(self, left: float, bottom: float, right: float, top: float) -> tuple[float, float, float, float]:
        """(x, y, w, h) of a rectangle given by its PDF corners."""
        x0, x1 = left - self.left, right - self.left
        y0, y1 = self.top - top, self.top - bottom  # from the crop box's top edge, downwards
        w, h = self.right - self.left, self.top - self.bottom
        if self.rotation == 90:  # turned clockwise: the old left edge is now the top
            x0, x1, y0, y1 = h - y1, h - y0, x0, x1
        elif self.rotation == 180:
            x0, x1, y0, y1 = w - x1, w - x0, h - y1, h - y0
        elif self.rotation == 270:
            x0, x1, y0, y1 = y0, y1, w - x1, w - x0
        return x0, y0, x1 - x0, y1 - y0


def _page_lines(text: pdfium.PdfTextPage) -> list[list[float]]:
    """Every line of text on the page, top first."""
    count = text.count_chars()
    if count <= 0:
        return []
    rects = [text.get_rect(i) for i in range(text.count_rects(0, count))]
    return sorted(merge_into_lines(rects), key=lambda line: -line[3])


def _paragraph(found: list[list[float]], page_lines: list[list[float]]) -> list[list[float]]:
    """The found lines, and the lines below them while each line before runs to the margin."""
    if not found or not page_lines:
        return found
    # The quoted words' lines as whole lines of the page (a paragraph's line, not its first word).
    snapped = []
    for line in found:
        middle = (line[1] + line[3]) / 2
        whole = next((p for p in page_lines if p[1] <= middle <= p[3]), line)
        if whole not in snapped:
            snapped.append(whole)
    found = snapped
    margin = max(line[2] for line in page_lines)
    indent = min(line[0] for line in page_lines)
    width = margin - indent
    last = min(found, key=lambda line: line[1])
    below = [line for line in page_lines if line[3] <= (last[1] + last[3]) / 2]
    lines = list(found)
    pitch = None
    for line in below:
        if len(lines) >= _MAX_LINES or last[2] - indent < _FULL_LINE * width:
            break
        gap = last[1] - line[1]
        if pitch is not None and gap > 1.6 * pitch:  # a paragraph's spacing, not its next line
            break
        pitch = gap if pitch is None else pitch
        lines.append(line)
        last = line
    return lines


def _search(document: pdfium.PdfDocument, query: Query) -> Found | None:
    pages = [query.page] if query.page is not None else range(1, len(document) + 1)
    for wanted in _queries(query.excerpt):
        for number in pages:
            if not 1 <= number <= len(document):
                continue
            page = document[number - 1]
            text = page.get_textpage()
            try:
                searcher = text.search(wanted, match_case=True)
                try:
                    hit = searcher.get_next()
                finally:
                    searcher.close()
                if hit is None:
                    continue
                start, count = hit
                found = merge_into_lines(text.get_rect(i) for i in range(text.count_rects(start, count)))
                lines = _paragraph(found, _page_lines(text))
                shown = _Displayed(page)
                boxes = []
                for left, bottom, right, top in lines:
                    x, y, w, h = shown.box(left - 1, bottom - 1, right + 1, top + 1)
                    boxes.append({"page": number, "x": round(x, 1), "y": round(y, 1),
                                  "w": round(w, 1), "h": round(h, 1), "kind": "rect"})  # fmt: skip
                return Found(number, float(shown.width), float(shown.height), boxes)
            finally:
                text.close()
                page.close()
    return None


def find_boxes(pdf: Path, queries: Sequence[Query]) -> list[Found | None] | render.Failed:
    """Child side: each query's words found on the PDF (None where they are not found)."""
    try:
        document = pdfium.PdfDocument(str(pdf))
    except pdfium.PdfiumError as exc:
        return render.Failed("unreadable", str(exc)[:300])
    try:
        return [_search(document, query) for query in queries]
    except pdfium.PdfiumError as exc:
        return render.Failed("unreadable", str(exc)[:300])
    finally:
        document.close()


# --- the parent side -----------------------------------------------------------------------------


def locate(
    path: str | Path,
    fmt: str,
    queries: Sequence[Query],
    policy: Policy,
    cache_dir: str | Path,
    pool: SandboxPool | None = None,
    *,
    sha256: str | None = None,
    max_cache_bytes: int = pictures.DEFAULT_CACHE_BYTES,
) -> list[Found | None] | pictures.NoPicture:
    """Where each query's words are on the pages of the file at `path` as `engine.pictures`
    draws them; a `NoPicture` when the file has no drawn pages (no LibreOffice, a damaged file)."""
    if fmt.lower() not in TEXT_FORMATS:
        return pictures.NoPicture("unsupported", f"format {fmt!r}")
    job = pictures._Job.start(path, fmt, policy, cache_dir, pool, sha256, max_cache_bytes)
    if isinstance(job, pictures.NoPicture):
        return job
    if not queries:
        return []
    source = job.pdf_source()
    if isinstance(source, render.Failed):
        return pictures.NoPicture(source.reason, source.detail)
    found = pictures._bounded(job.pool, find_boxes, (source, list(queries)), job.timeout)
    if isinstance(found, render.Failed):
        return pictures.NoPicture(found.reason, found.detail)
    return list(found)
