"""Scan pages of a PDF: dpi of every placed image from the transformation in force when it is drawn,
page coverage by images, 1:1 scale of the page, and the scan checks on each scan page's image.

`survey` walks each page's objects through PDFium (into Form XObjects, composing their matrices)
without decoding anything: for every image it takes the matrix that maps the image's unit square
onto the page, so its dpi per axis is pixels ÷ (length of that axis's image in inches) — the
figure `pdfimages -list` prints, right for rotated and squashed placements, where a bounding box
is not. Coverage is the share of the page (crop box) the image quadrilaterals cover, rasterised on
a coarse grid so overlapping images count once.

A scan page's legibility is measured on its largest image brought to the analysis raster: a
DCTDecode image is decoded from its own JPEG bytes at reduced size, exactly like a JPEG upload;
other filters (CCITT, JBIG2, Flate, ...) are decoded by PDFium. The raster is then turned as the
page shows it (placement rotation, mirroring, page /Rotate) and the placement's residual rotation
is added to the measured skew. Pages with several large images, or an image too large to decode
whole, are rendered by PDFium at the analysis scale instead.

Pages that show nothing (no visible text, and nothing when rendered) are found in the same pass:
a document made only of them is empty (`document.empty`), one such page among others is named
(`document.blank_page`).
"""

from __future__ import annotations

import ctypes
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from PIL import Image

from ...core.policy import Policy
from ...core.report import PageInfo
from ..findings import Issues
from ..image.dpi import MM_PER_INCH, Resolution, match_paper
from ..image.page import ScanContext, check_resolution, check_scan_page
from ..image.raster import Raster, decode_jpeg
from .content import Matrix, multiply
from .document import PdfFile
from .pages import has_ink, page_kind

_COVERAGE_GRID = 128
# An image this large (pixels) is not decoded whole; its page is rendered at analysis scale.
_MAX_DECODE_PIXELS = 60_000_000
# Images smaller than this share of the page are decoration (logos, signatures pasted in).
_SIGNIFICANT_SHARE = 0.1
# A scan image covering at least this share of a standard-size page is that page at 1:1.
_FILLS_PAGE = 0.85
_MAX_FORM_DEPTH = 8
PT_PER_INCH = 72.0
_OBJECT_REPR = re.compile(r" ?<[^<>]*0x[0-9a-f]+>")


@dataclass
class PlacedImage:
    number: int  # order on the page, from 1
    width_px: int
    height_px: int
    matrix: Matrix  # image unit square → page space, forms composed
    filters: list[str]
    bits_per_pixel: int
    colorspace: int  # PDFium FPDF_COLORSPACE_*
    share: float = 0.0  # area of its quadrilateral ÷ page area (before overlap)

    @property
    def width_pt(self) -> float:
        a, b = self.matrix[0], self.matrix[1]
        return math.hypot(a, b)

    @property
    def height_pt(self) -> float:
        c, d = self.matrix[2], self.matrix[3]
        return math.hypot(c, d)

    @property
    def dpi(self) -> tuple[float, float]:
        """Pixels per inch along the image's own x and y axes (as `pdfimages -list`)."""
        x = self.width_px / (self.width_pt / PT_PER_INCH) if self.width_pt > 0 else 0.0
        y = self.height_px / (self.height_pt / PT_PER_INCH) if self.height_pt > 0 else 0.0
        return x, y

    @property
    def angle(self) -> float:
        """Counter-clockwise rotation of the image's x axis on the page, degrees."""
        return math.degrees(math.atan2(self.matrix[1], self.matrix[0]))

    @property
    def mirrored(self) -> bool:
        a, b, c, d = self.matrix[:4]
        return a * d - b * c < 0

    @property
    def colour(self) -> bool:
        return self.bits_per_pixel >= 24 or self.colorspace == pdfium_c.FPDF_COLORSPACE_INDEXED

    @property
    def bilevel(self) -> bool:
        return self.bits_per_pixel == 1 or bool({"JBIG2Decode", "CCITTFaxDecode"} & set(self.filters))

    def corners(self) -> list[tuple[float, float]]:
        a, b, c, d, e, f = self.matrix
        return [(e, f), (a + e, b + f), (a + c + e, b + d + f), (c + e, d + f)]

    def summary(self) -> dict[str, Any]:
        x, y = self.dpi
        return {
            "number": self.number,
            "pixels": [self.width_px, self.height_px],
            "dpi": [round(x, 1), round(y, 1)],
            "filters": self.filters,
            "page_share": round(self.share, 4),
        }


@dataclass
class PageImages:
    number: int
    box: tuple[float, float, float, float]  # crop box, points
    rotation: int  # /Rotate, degrees clockwise
    images: list[PlacedImage] = field(default_factory=list)
    coverage: float = 0.0
    path_objects: int = 0
    # Text objects drawn visibly (an OCR layer under a scan is invisible): a stand-in for the
    # text layer's glyph count when that is not given.
    visible_text_objects: int = 0

    @property
    def size_pt(self) -> tuple[float, float]:
        w, h = self.box[2] - self.box[0], self.box[3] - self.box[1]
        return (h, w) if self.rotation % 180 else (w, h)

    @property
    def size_mm(self) -> tuple[float, float]:
        w, h = self.size_pt
        return w / PT_PER_INCH * MM_PER_INCH, h / PT_PER_INCH * MM_PER_INCH

    def significant(self) -> list[PlacedImage]:
        return sorted(
            (i for i in self.images if i.share >= _SIGNIFICANT_SHARE), key=lambda i: i.share, reverse=True
        )


def _matrix(obj: Any) -> Matrix:
    fs = pdfium_c.FS_MATRIX()
    if not pdfium_c.FPDFPageObj_GetMatrix(obj, fs):
        return (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    return (fs.a, fs.b, fs.c, fs.d, fs.e, fs.f)


def _filters(obj: Any) -> list[str]:
    names = []
    for i in range(pdfium_c.FPDFImageObj_GetImageFilterCount(obj)):
        n = pdfium_c.FPDFImageObj_GetImageFilter(obj, i, None, 0)
        buffer = ctypes.create_string_buffer(n)
        pdfium_c.FPDFImageObj_GetImageFilter(obj, i, buffer, n)
        names.append(buffer.value.decode("ascii", "replace"))
    return names


def _walk(
    container: Any, is_form: bool, outer: Matrix | None, depth: int
) -> Iterator[tuple[int, Any, Matrix | None]]:
    """(type, raw object, matrix in page space for images) for every object, descending into forms."""
    count = (pdfium_c.FPDFFormObj_CountObjects if is_form else pdfium_c.FPDFPage_CountObjects)(container)
    get = pdfium_c.FPDFFormObj_GetObject if is_form else pdfium_c.FPDFPage_GetObject
    for i in range(max(0, count)):
        obj = get(container, i)
        if not obj:
            continue
        kind = pdfium_c.FPDFPageObj_GetType(obj)
        if kind == pdfium_c.FPDF_PAGEOBJ_IMAGE:
            m = _matrix(obj)
            yield kind, obj, m if outer is None else multiply(m, outer)
        elif kind == pdfium_c.FPDF_PAGEOBJ_FORM and depth < _MAX_FORM_DEPTH:
            m = _matrix(obj)
            yield from _walk(obj, True, m if outer is None else multiply(m, outer), depth + 1)
        else:
            yield kind, obj, None


def _images(page: pdfium.PdfPage) -> Iterator[tuple[Any, Matrix]]:
    """Raw image objects of a page, in drawing order, with their page-space matrices."""
    for kind, obj, matrix in _walk(page, False, None, 0):
        if kind == pdfium_c.FPDF_PAGEOBJ_IMAGE and matrix is not None:
            yield obj, matrix


def survey_page(page: pdfium.PdfPage, number: int) -> PageImages:
    """Images placed on one page, their dpi and the page's image coverage (nothing decoded)."""
    x0, y0, x1, y1 = (float(v) for v in page.get_cropbox())
    info = PageImages(number, (x0, y0, x1, y1), int(page.get_rotation()) % 360)
    width, height = max(x1 - x0, 1e-6), max(y1 - y0, 1e-6)
    grid = np.zeros((_COVERAGE_GRID, _COVERAGE_GRID), np.uint8)
    ordinal = 0
    for kind, obj, matrix in _walk(page, False, None, 0):
        if kind == pdfium_c.FPDF_PAGEOBJ_PATH:
            info.path_objects += 1
            continue
        if kind == pdfium_c.FPDF_PAGEOBJ_TEXT:
            if pdfium_c.FPDFTextObj_GetTextRenderMode(obj) != pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE:
                info.visible_text_objects += 1
            continue
        if kind != pdfium_c.FPDF_PAGEOBJ_IMAGE or matrix is None:
            continue
        ordinal += 1
        w, h = ctypes.c_uint(), ctypes.c_uint()
        if not pdfium_c.FPDFImageObj_GetImagePixelSize(obj, w, h) or not w.value or not h.value:
            continue
        meta = pdfium_c.FPDF_IMAGEOBJ_METADATA()
        if not pdfium_c.FPDFImageObj_GetImageMetadata(obj, page, meta):
            meta.bits_per_pixel, meta.colorspace = 0, 0
        image = PlacedImage(
            ordinal, w.value, h.value, matrix, _filters(obj), int(meta.bits_per_pixel), int(meta.colorspace)
        )
        a, b, c, d = matrix[:4]
        image.share = abs(a * d - b * c) / (width * height)
        quad = [
            ((px - x0) / width * _COVERAGE_GRID, (y1 - py) / height * _COVERAGE_GRID)
            for px, py in image.corners()
        ]
        cv2.fillPoly(grid, [np.round(np.array(quad) * 16).astype(np.int32)], 1, shift=4)
        info.images.append(image)
    info.coverage = float(grid.mean())
    return info


def survey(pdf: pdfium.PdfDocument) -> list[PageImages]:
    """Every page's placed images and coverage — for the page kind and for the scan checks."""
    pages = []
    for index in range(len(pdf)):
        page = pdf[index]
        try:
            pages.append(survey_page(page, index + 1))
        finally:
            page.close()
    return pages


# --- decoding a page for analysis ------------------------------------------------------------------


def _bitmap_array(bitmap: pdfium.PdfBitmap) -> np.ndarray:
    array = bitmap.to_numpy()
    if array.ndim == 2:
        return np.array(array)
    if array.shape[2] >= 3:
        return cv2.cvtColor(np.ascontiguousarray(array[:, :, :3]), cv2.COLOR_BGR2RGB)
    return np.array(array[:, :, 0])


def _image_raster(page: pdfium.PdfPage, image: PlacedImage, raw: Any, long_side: int) -> Raster | None:
    if image.width_px * image.height_px > _MAX_DECODE_PIXELS:
        return None
    size = (image.width_px, image.height_px)
    pdf_image = pdfium.PdfImage(raw, page=page, pdf=page.pdf)
    if image.filters == ["DCTDecode"]:
        data = bytes(pdf_image.get_data(decode_simple=False))
        try:
            return decode_jpeg(data, long_side, exif_transpose=False)
        except (OSError, SyntaxError, ValueError):
            pass  # let PDFium try: it is more lenient with damaged streams
    pixels = _bitmap_array(pdf_image.get_bitmap(render=False))  # PDFium frees the bitmap with its page
    mode = "1" if image.bilevel else ("RGB" if pixels.ndim == 3 else "L")
    return Raster.from_array(pixels, mode, size, long_side)


def _displayed(raster: Raster, image: PlacedImage, rotation: int) -> tuple[Raster, float, bool]:
    """Turn an image raster as the page shows it; returns it, the residual rotation, and whether axes swapped."""
    if image.mirrored:
        raster = Raster(
            np.ascontiguousarray(raster.grey[::-1]),
            None if raster.rgb is None else np.ascontiguousarray(raster.rgb[::-1]),
            raster.source_mode,
            raster.source_size,
            raster.scale,
        )
    angle = image.angle - rotation
    turns = round(angle / 90)
    residual = angle - 90 * turns
    return raster.rotated(turns), residual, turns % 2 == 1


def _render_raster(
    page: pdfium.PdfPage, info: PageImages, main: PlacedImage, colour: bool, long_side: int
) -> Raster:
    width, height = info.size_pt
    scale = 2 * long_side / max(width, height)
    bitmap = page.render(scale=scale, grayscale=not colour, rev_byteorder=True)
    try:
        pixels = bitmap.to_numpy()
        pixels = np.array(pixels[:, :, :3]) if pixels.ndim == 3 else np.array(pixels)
    finally:
        bitmap.close()
    dpi = main.dpi
    source = (round(width / PT_PER_INCH * dpi[0]), round(height / PT_PER_INCH * dpi[1]))
    mode = "RGB" if colour else ("1" if main.bilevel else "L")
    return Raster.from_array(pixels, mode, source, long_side)


def _ocr_renderer(page: pdfium.PdfPage, policy: Policy, info: PageImages) -> Any:
    """The page rendered for OCR, on demand; to be called while the page is open."""

    def render() -> Image.Image:
        scale = policy.ocr.render_dpi / PT_PER_INCH
        longest = max(info.size_pt) * scale
        if longest > 6000:
            scale *= 6000 / longest
        bitmap = page.render(scale=scale, grayscale=True)
        try:
            picture: Image.Image = bitmap.to_pil().convert("L")
            return picture
        finally:
            bitmap.close()

    return render


# --- the checks ----------------------------------------------------------------------------------


def _judge_scale(info: PageImages, main: PlacedImage, ctx: ScanContext) -> tuple[float, float] | None:
    """1:1 for a PDF scan page: the page box is a standard sheet and the scan fills it.

    Returns the size for `check_scan_page` to match against paper sizes (the page box), or None
    when the scan is a sheet placed on a larger page, which is reported here.
    """
    page_mm = info.size_mm
    if match_paper(*page_mm, ctx.policy.scan) is None or main.share >= _FILLS_PAGE:
        return page_mm
    w_mm = main.width_pt / PT_PER_INCH * MM_PER_INCH
    h_mm = main.height_pt / PT_PER_INCH * MM_PER_INCH
    if round((main.angle - info.rotation) / 90) % 2:
        w_mm, h_mm = h_mm, w_mm
    ctx.issues.add(
        "scan.page_size",
        location={"page": info.number},
        observed=f"scan {w_mm:.0f}×{h_mm:.0f} mm on a {page_mm[0]:.0f}×{page_mm[1]:.0f} mm page",
        expected="the page is the scanned sheet",
        width_mm=f"{w_mm:.0f}",
        height_mm=f"{h_mm:.0f}",
        page_width_mm=f"{page_mm[0]:.0f}",
        page_height_mm=f"{page_mm[1]:.0f}",
        share=f"{main.share * 100:.0f}",
    )
    return None


def _check_image_dpi(info: PageImages, ctx: ScanContext) -> None:
    for image in info.significant():
        x, y = image.dpi
        check_resolution(
            Resolution(x, y, "placement"),
            (image.width_px, image.height_px),
            {"page": info.number, "image": image.number},
            ctx,
        )


def check_page(page: pdfium.PdfPage, info: PageImages, kind: str, ctx: ScanContext) -> PageInfo:
    """The scan checks on one scan (or mixed) page, open (the caller surveyed it and closes it);
    its dpi is that of its largest image."""
    policy = ctx.policy
    long_side = policy.legibility.analysis_long_side_px
    significant = info.significant()
    main = significant[0] if significant else max(info.images, key=lambda i: i.share)
    raster: Raster | None = None
    residual, swapped, analysed = 0.0, False, "render"
    if len(significant) <= 1:
        raw = next((obj for n, (obj, _) in enumerate(_images(page), start=1) if n == main.number), None)
        try:
            decoded = _image_raster(page, main, raw, long_side) if raw is not None else None
        except pdfium.PdfiumError as exc:
            # Neither Pillow nor PDFium decodes the scan's image data: the page is damaged. A
            # render would show a blank where the image is, so the page is not judged as a scan.
            return _damaged_page(info, kind, main, exc, ctx)
        if decoded is not None:
            raster, residual, swapped = _displayed(decoded, main, info.rotation)
            analysed = "image"
    if raster is None:
        raster = _render_raster(page, info, main, any(i.colour for i in info.images), long_side)
    _check_image_dpi(info, ctx)
    dpi_x, dpi_y = main.dpi
    if swapped:
        dpi_x, dpi_y = dpi_y, dpi_x
    extra = {
        "image_coverage": round(info.coverage, 4),
        "page_size_mm": [round(v, 1) for v in info.size_mm],
        "images": [i.summary() for i in info.images[:20]],
        "placement_rotation": round(residual, 2),
        "analysed": analysed,
    }
    result = check_scan_page(
        raster,
        Resolution(dpi_x, dpi_y, "placement"),
        info.number,
        ctx,
        size_mm=_judge_scale(info, main, ctx),
        bilevel=main.bilevel,
        ocr_image=_ocr_renderer(page, policy, info),
        extra=extra,
        check_dpi=False,
        skew_offset=residual,
    )
    result.kind = kind
    return result


def _damaged_page(
    info: PageImages, kind: str, image: PlacedImage, exc: Exception, ctx: ScanContext
) -> PageInfo:
    """A scan page whose image cannot be decoded: `file.corrupt` at the page and image."""
    ctx.issues.add(
        "file.corrupt",
        location={"page": info.number, "image": image.number},
        # PDFium's message names the image object by its address: not kept (reports are stable).
        observed=f"image {image.number} ({', '.join(image.filters) or 'no filter'}, "
        f"{image.width_px}×{image.height_px} px) does not decode: {_OBJECT_REPR.sub('', str(exc))}"[:300],
        format="PDF",
        reason="@ui:bad_page_image",
        page=info.number,
        image=image.number,
    )
    return PageInfo(
        number=info.number,
        kind=kind,
        metrics={
            "image_coverage": round(info.coverage, 4),
            "page_size_mm": [round(v, 1) for v in info.size_mm],
            "analysed": "damaged",
        },
    )


def check_scan_pages(
    source: Path | PdfFile,
    policy: Policy,
    issues: Issues,
    visible_glyphs: Sequence[int | None] | None = None,
    also: Callable[[pdfium.PdfPage, int], None] | None = None,
) -> list[PageInfo]:
    """Survey every page; run the scan checks on scan pages (and mixed pages that are mostly picture).

    `source` is the inspection's opened `PdfFile` (left open), or a path opened here and closed.
    `also(page, index)` is called with each loaded page after its checks: another reader of the
    pages (the outline) that then does not load them again."""
    if isinstance(source, PdfFile):
        return _check_pages(source, policy, issues, visible_glyphs, also)
    with PdfFile(source) as pdf:
        return _check_pages(pdf, policy, issues, visible_glyphs, also)


def _check_pages(
    pdf: PdfFile,
    policy: Policy,
    issues: Issues,
    visible_glyphs: Sequence[int | None] | None,
    also: Callable[[pdfium.PdfPage, int], None] | None,
) -> list[PageInfo]:
    try:
        count = len(pdf.document)
    except pdfium.PdfiumError:
        return []  # the structure check has said why the file does not open
    ctx = ScanContext(policy, issues)
    pages: list[PageInfo] = []
    empty: list[int] = []  # pages with no visible text that render without a mark
    for index in range(count):
        # Each page is loaded once, for the survey, the checks and the other reader.
        page = pdf.page(index)
        pages.append(_check_one(page, index, policy, ctx, visible_glyphs))
        if pages[-1].kind == "blank" and not has_ink(page):
            empty.append(index + 1)
        if also is not None:
            also(page, index)
    _judge_empty(count, empty, issues)
    return pages


def _judge_empty(count: int, empty: list[int], issues: Issues) -> None:
    """`document.empty` when no page shows anything; else `document.blank_page` for each page
    that shows nothing (blank scan pages are judged by the scan checks, `scan.blank`)."""
    if count and len(empty) == count:
        issues.add("document.empty", observed=f"{count} pages, none with text or a mark")
        return
    for number in empty:
        issues.add("document.blank_page", location={"page": number}, observed="no text, nothing drawn")


def _check_one(
    page: pdfium.PdfPage,
    index: int,
    policy: Policy,
    ctx: ScanContext,
    visible_glyphs: Sequence[int | None] | None,
) -> PageInfo:
    """Survey one page, decide its kind, and run the scan checks when it is judged a scan."""
    info = survey_page(page, index + 1)
    glyphs = (
        visible_glyphs[index]
        if visible_glyphs is not None and index < len(visible_glyphs)
        else info.visible_text_objects
    )
    kind = page_kind(info.coverage, glyphs, policy.scan, info.path_objects)
    judged_as_scan = kind == "scan" or (kind == "mixed" and info.coverage >= policy.scan.mixed_scan_coverage)
    if judged_as_scan and info.images:
        return check_page(page, info, kind, ctx)
    return PageInfo(
        number=index + 1,
        kind=kind,
        metrics={
            "image_coverage": round(info.coverage, 4),
            "page_size_mm": [round(v, 1) for v in info.size_mm],
        },
    )
