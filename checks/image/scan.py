"""A JPEG file as a scanned page: effective dpi, 1:1 scale, colour and legibility.

The file is decoded once, at reduced size by DCT scaling; a decoding failure is handed to
`jpeg.open_jpeg`, which names it (cut short, damaged, too large) for the filer.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from ...core.policy import Policy
from ...core.report import PageInfo
from ..findings import Issues
from . import jpeg
from .dpi import Resolution, exif_resolution, jfif_density, jpeg_resolution, physical_size_mm
from .page import ScanContext, check_scan_page
from .raster import decode_opened_jpeg


def read_resolution(image: Image.Image, policy: Policy) -> tuple[Resolution, dict[str, Any]]:
    """The JPEG's effective dpi and the raw metadata it was decided from (for the report)."""
    exif = image.getexif()
    jfif = jfif_density(image.info)
    exif_dpi = exif_resolution(exif)
    # EXIF orientation 5–8 turns the image a quarter: the displayed axes swap.
    orientation = int(exif.get(0x0112, 1) or 1)
    width, height = image.size
    resolution = jpeg_resolution(width, height, jfif, exif_dpi, policy.scan)
    if orientation in (5, 6, 7, 8):
        resolution = Resolution(resolution.y, resolution.x, resolution.source, resolution.detail)
    raw = {
        "jfif_dpi": [round(v, 2) for v in jfif] if jfif else None,
        "exif_dpi": [round(v, 2) for v in exif_dpi] if exif_dpi else None,
        "exif_orientation": orientation,
    }
    return resolution, raw


def check_jpeg_file(path: Path, policy: Policy, issues: Issues) -> list[PageInfo]:
    """Check a JPEG upload as one scan page; returns its page entry (empty when it does not decode)."""
    long_side = policy.legibility.analysis_long_side_px
    try:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as image:  # headers read once, for the dpi and the decode
            resolution, raw = read_resolution(image, policy)
            raster = decode_opened_jpeg(image, data, long_side)
    except Image.DecompressionBombError:
        jpeg.open_jpeg(path, issues)
        return []
    except (OSError, SyntaxError, ValueError):
        if (opened := jpeg.open_jpeg(path, issues)) is not None:  # Pillow was stricter than the check
            opened.close()
        return []
    ctx = ScanContext(policy, issues)
    width, height = raster.source_size
    size = physical_size_mm(width, height, resolution)

    def ocr_image() -> Image.Image:
        target = int(max(width, height) * min(1.0, policy.ocr.render_dpi / max(resolution.x or 300, 1)))
        with Image.open(path) as image:
            image.draft("L", (target, target))
            return image.convert("L")

    page = check_scan_page(
        raster,
        resolution,
        1,
        ctx,
        size_mm=size if resolution.source == "metadata" else None,
        ocr_image=ocr_image,
        extra=raw,
    )
    return [page]
