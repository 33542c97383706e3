"""What kind each PDF page is — `text`, `scan`, `mixed` or `blank` — from image coverage and visible text.

The scan survey (`scan.survey`) gives each page's image coverage and vector drawing count; the
text layer check gives its visible glyph count (invisible text — an OCR layer under a scan —
does not make a page a text page). One function decides, so both checks and the report agree.
"""

from __future__ import annotations

from ...core.policy import Scan

# A page with no text and no picture but this many drawn paths is text set as outlines or a drawing.
_VECTOR_PAGE_PATHS = 50


def page_kind(image_coverage: float, visible_glyphs: int | None, scan: Scan, path_objects: int = 0) -> str:
    """`scan` / `mixed` / `text` / `blank` for one page (glyphs None: the text layer was not read)."""
    glyphs = visible_glyphs or 0
    has_text = glyphs >= scan.text_min_glyphs
    if image_coverage >= scan.page_image_coverage:
        return "mixed" if has_text else "scan"
    if glyphs > 0:
        return "text"
    if image_coverage > scan.blank_max_coverage:
        return "scan"
    if path_objects >= _VECTOR_PAGE_PATHS:
        return "text"
    return "blank"
