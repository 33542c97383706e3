"""Full-page scans inside a DOCX: pictures whose placed extent covers most of the page, checked as scan pages.

A filer sometimes pastes scanned pages into a Word document. Such a picture is a scan page like
any other: its effective dpi is its pixels divided by its placed extent (`wp:extent`, EMU) per
axis, its physical size is that extent, and its colour and legibility are measured on the same
analysis raster as JPEG files and PDF pages. A picture is a full-page scan when its extent
covers `scan.docx_page_coverage` of the page (the section's `w:pgSz`); logos and small pictures
are not judged.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from dataclasses import dataclass

from lxml import etree
from PIL import Image

from ...core.policy import Policy
from ...core.report import PageInfo
from ..findings import Issues
from ..image.dpi import MM_PER_INCH, Resolution
from ..image.page import ScanContext, check_scan_page
from ..image.raster import Raster, decode_jpeg, from_pil
from ..ooxml import SAFE_PARSER, ZIP_PART_ERRORS

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
WP = "http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing"
A = "http://schemas.openxmlformats.org/drawingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
EMU_PER_INCH = 914_400
TWIPS_PER_INCH = 1440
RELS_PART = "word/_rels/document.xml.rels"
# A picture part larger than this is not decoded (the package's own bounds apply first).
_MAX_PART_BYTES = 64 * 1024 * 1024
_JPEG_MAGIC = b"\xff\xd8\xff"
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass
class Picture:
    number: int  # order in the body, from 1
    part: str  # e.g. word/media/image1.jpeg
    width_in: float
    height_in: float


def _page_size_in(main: etree._Element) -> tuple[float, float]:
    """The page size of the document's (last) section, inches; A4 when not given."""
    sizes = main.findall(f".//{{{W}}}sectPr/{{{W}}}pgSz")
    if sizes:
        size = sizes[-1]
        try:
            return int(size.get(f"{{{W}}}w", "11906")) / TWIPS_PER_INCH, int(
                size.get(f"{{{W}}}h", "16838")
            ) / TWIPS_PER_INCH
        except ValueError:
            pass
    return 11906 / TWIPS_PER_INCH, 16838 / TWIPS_PER_INCH


def _targets(zf: zipfile.ZipFile) -> dict[str, str]:
    try:
        rels = etree.fromstring(zf.read(RELS_PART), SAFE_PARSER)
    except (KeyError, etree.XMLSyntaxError, *ZIP_PART_ERRORS):
        return {}
    out = {}
    for rel in rels.findall(f"{{{PKG_REL}}}Relationship"):
        if rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target", "")
        part = (
            target.lstrip("/")
            if target.startswith("/")
            else posixpath.normpath(posixpath.join("word", target))
        )
        out[rel.get("Id", "")] = part
    return out


def pictures(zf: zipfile.ZipFile, main: etree._Element) -> list[Picture]:
    """Every inline or anchored picture of the body, with its placed extent."""
    targets = _targets(zf)
    found: list[Picture] = []
    for holder in main.iter(f"{{{WP}}}inline", f"{{{WP}}}anchor"):
        extent = holder.find(f"{{{WP}}}extent")
        blip = holder.find(f".//{{{A}}}blip")
        if extent is None or blip is None:
            continue
        part = targets.get(blip.get(f"{{{R}}}embed", ""))
        try:
            cx, cy = int(extent.get("cx", "0")), int(extent.get("cy", "0"))
        except ValueError:
            continue
        if part is None or cx <= 0 or cy <= 0:
            continue
        found.append(Picture(len(found) + 1, part, cx / EMU_PER_INCH, cy / EMU_PER_INCH))
    return found


class DamagedPicture(Exception):
    """A JPEG or PNG picture whose data does not decode (cut short or damaged)."""


def _raster(zf: zipfile.ZipFile, part: str, long_side: int) -> Raster | None:
    """The picture at analysis size; None when it is not read here (too large, missing, a
    format Pillow does not draw, such as EMF); raises DamagedPicture when it is damaged."""
    try:
        info = zf.getinfo(part)
        if info.file_size > _MAX_PART_BYTES:
            return None
        data = zf.read(part)
    except (KeyError, OSError, EOFError, zipfile.BadZipFile, zlib.error):
        return None  # the package check has named a part that does not inflate
    try:
        if data[:3] == _JPEG_MAGIC:
            return decode_jpeg(data, long_side)
        with Image.open(io.BytesIO(data)) as image:
            return from_pil(image, long_side)
    except Image.DecompressionBombError:
        return None
    except (OSError, SyntaxError, ValueError) as exc:
        if data.startswith((_JPEG_MAGIC, _PNG_MAGIC)):
            raise DamagedPicture(f"{type(exc).__name__}: {exc}"[:300]) from exc
        return None


def check_page_images(
    zf: zipfile.ZipFile, main: etree._Element, policy: Policy, issues: Issues
) -> list[PageInfo]:
    """Scan checks on every full-page picture; returns one page entry per such picture."""
    page_w, page_h = _page_size_in(main)
    ctx = ScanContext(policy, issues)
    pages: list[PageInfo] = []
    for picture in pictures(zf, main):
        if picture.width_in * picture.height_in < policy.scan.docx_page_coverage * page_w * page_h:
            continue
        location = {"part": picture.part, "image": picture.number}
        try:
            raster = _raster(zf, picture.part, policy.legibility.analysis_long_side_px)
        except DamagedPicture as exc:
            issues.add(
                "file.corrupt",
                location=location,
                observed=str(exc),
                format="DOCX",
                reason="@ui:bad_picture",
                part=picture.part,
                image=picture.number,
            )
            continue
        if raster is None:
            continue
        width_px, height_px = raster.source_size
        resolution = Resolution(width_px / picture.width_in, height_px / picture.height_in, "placement")
        page = check_scan_page(
            raster,
            resolution,
            len(pages) + 1,
            ctx,
            size_mm=(picture.width_in * MM_PER_INCH, picture.height_in * MM_PER_INCH),
            location=location,
            extra={
                "part": picture.part,
                "picture": picture.number,
                "page_share": round(picture.width_in * picture.height_in / (page_w * page_h), 3),
            },
        )
        pages.append(page)
    return pages
