"""Page pictures, the child side: draw one page of a PDF, a Word document or a scan as an image.

These functions run inside a sandbox child (`engine/pictures.py` sends them there), so a hostile
file can hang or blow up only that child. An ordinary failure — a damaged file, a page that does
not exist, LibreOffice refusing a document — is answered as a `Failed` with a reason code, not
raised: the child stays warm for the next page.

Every picture comes with the page's size in PDF points as it is displayed (after the page's
/Rotate, or a JPEG's EXIF orientation), so boxes given in points from the top-left corner can be
drawn over it at `picture width_px / page width_pt` pixels per point.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

from ..core.policy import Policy
from . import doc_convert
from .image import raster
from .image.scan import read_resolution

# Decoded pixels a picture may hold (RGB): a page of unusual proportions is drawn narrower than
# asked rather than as a 100-megapixel strip; 24 megapixels is an A4 page at about 600 dpi.
MAX_PIXELS = 24_000_000
# A scan whose resolution is not known is taken as 72 dpi: one pixel is one point.
_UNKNOWN_DPI = 72.0


@dataclass(frozen=True)
class Rendered:
    """One page drawn: the encoded image and the page's displayed size in PDF points."""

    data: bytes
    media_type: str
    width_px: int
    height_px: int
    page_width_pt: float
    page_height_pt: float


@dataclass(frozen=True)
class Failed:
    """No picture: `reason` is a code the pages explain in kk/ru/en; `detail` is for the log."""

    reason: str
    detail: str = ""


def encode(image: Image.Image) -> tuple[bytes, str]:
    """PNG bytes of the picture (lossless, so thin strokes and small print stay as drawn)."""
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=6)
    return out.getvalue(), "image/png"


def _fit(width_px: int, page_w: float, page_h: float) -> int:
    """The width to draw at: as asked, unless the page's height would exceed MAX_PIXELS."""
    height = width_px * page_h / page_w
    if width_px * height <= MAX_PIXELS:
        return width_px
    return max(1, int((MAX_PIXELS * page_w / page_h) ** 0.5))


def _pdf_failure(exc: pdfium.PdfiumError) -> Failed:
    text = str(exc)
    reason = "encrypted" if "password" in text.lower() else "unreadable"
    return Failed(reason, text[:300])


def pdf_page_count(path: Path) -> int | Failed:
    """The number of pages of a PDF."""
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        return _pdf_failure(exc)
    try:
        return len(document)
    finally:
        document.close()


def render_pdf_page(path: Path, page: int, width_px: int) -> Rendered | Failed:
    """Page `page` (1-based) of a PDF drawn `width_px` wide, form fields and annotations included."""
    try:
        document = pdfium.PdfDocument(str(path))
    except pdfium.PdfiumError as exc:
        return _pdf_failure(exc)
    try:
        if not 1 <= page <= len(document):
            return Failed("no_such_page", f"page {page} of {len(document)}")
        pdf_page = document[page - 1]
        page_w, page_h = pdf_page.get_size()  # after /Rotate, as it is displayed
        if page_w <= 0 or page_h <= 0:
            return Failed("unreadable", f"page size {page_w} × {page_h} pt")
        width = _fit(width_px, page_w, page_h)
        bitmap = pdf_page.render(scale=width / page_w, may_draw_forms=True, draw_annots=True)
        image = bitmap.to_pil()
        data, media_type = encode(image)
        return Rendered(data, media_type, image.width, image.height, page_w, page_h)
    except pdfium.PdfiumError as exc:
        return _pdf_failure(exc)
    finally:
        document.close()


def render_jpeg(path: Path, width_px: int, policy: Policy) -> Rendered | Failed:
    """A scan (one page) drawn `width_px` wide, turned as its EXIF orientation says; its size in
    points from its dpi (72 dpi when the file does not say)."""
    try:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as image:
            resolution, _ = read_resolution(image, policy)
            orientation = int(image.getexif().get(0x0112, 1) or 1)
            w, h = image.size
            shown_w, shown_h = (h, w) if orientation in (5, 6, 7, 8) else (w, h)
            dpi_x = resolution.x or _UNKNOWN_DPI
            dpi_y = resolution.y or dpi_x
            page_w, page_h = shown_w / dpi_x * 72, shown_h / dpi_y * 72
            width = _fit(width_px, page_w, page_h)
            height = max(1, round(width * page_h / page_w))
            # DCT scaling decodes at the smallest size not below the picture (never the full scan).
            long_side = min(max(width, height), max(w, h))
            page = raster.decode_opened_jpeg(image, data, long_side)
    except Image.DecompressionBombError as exc:
        return Failed("too_large", str(exc)[:300])
    except (OSError, SyntaxError, ValueError) as exc:
        return Failed("unreadable", str(exc)[:300])
    pixels = page.rgb if page.rgb is not None else page.grey
    picture = Image.fromarray(pixels)
    if picture.size != (width, height):
        picture = picture.resize((width, height), Image.Resampling.LANCZOS)
    encoded, media_type = encode(picture)
    return Rendered(encoded, media_type, width, height, page_w, page_h)


def word_to_pdf(path: Path, fmt: str, soffice: str, timeout: float, memory_mb: int) -> bytes | Failed:
    """The PDF LibreOffice makes of a .docx or .doc, by the same bounded conversion the .doc checks use."""
    try:
        with doc_convert.converted(
            path, to="pdf", soffice=soffice, timeout=timeout, memory_mb=memory_mb, source_suffix=f".{fmt}"
        ) as pdf:
            return pdf.read_bytes()
    except (doc_convert.ConversionError, OSError) as exc:
        return Failed("convert_failed", str(exc)[:300])
