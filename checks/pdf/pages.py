"""What kind each PDF page is — `text`, `scan`, `mixed` or `blank` — from image coverage and visible text.

The scan survey (`scan.survey`) gives each page's image coverage and vector drawing count; the
text layer check gives its visible glyph count (invisible text — an OCR layer under a scan —
does not make a page a text page). One function decides, so both checks and the report agree.

A `blank` page may still carry a mark: a signature line, a small stamp picture, an annotation.
`has_ink` renders such a page (at 72 dpi, grey) and says whether anything shows on it, for the
empty-document and blank-page rules.
"""

from __future__ import annotations

from typing import Any

import pypdfium2.raw as pdfium_c

from ...core.policy import Scan

# A rendered pixel at least this dark (0 black, 255 white) is a mark; a faint tint of the whole
# page (a light background colour) is not.
_INK_LEVEL = 240
_MAX_RENDER_PX = 2000  # a poster-size page is drawn smaller

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


def has_ink(page: Any) -> bool:
    """True when anything shows on a loaded PDFium page. A page that places a picture shows it
    (a scan page is not rendered again for this); otherwise the page is rendered (annotations
    included) at 72 dpi in grey and any pixel darker than `_INK_LEVEL` is a mark. A page that
    cannot be rendered counts as marked (it is not called blank on a guess)."""
    try:
        for index in range(max(0, pdfium_c.FPDFPage_CountObjects(page.raw))):
            obj = pdfium_c.FPDFPage_GetObject(page.raw, index)
            if obj and pdfium_c.FPDFPageObj_GetType(obj) == pdfium_c.FPDF_PAGEOBJ_IMAGE:
                return True
        longest = max(page.get_width(), page.get_height(), 1.0)
        bitmap = page.render(scale=min(1.0, _MAX_RENDER_PX / longest), grayscale=True, draw_annots=True)
    except Exception:  # PDFium could not draw it: not judged blank
        return True
    try:
        pixels = bitmap.to_numpy()
        return bool(pixels.size == 0 or int(pixels.min()) < _INK_LEVEL)
    finally:
        bitmap.close()
