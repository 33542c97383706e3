"""The scan-page checks, shared by JPEG files, image pages of PDFs and full-page pictures in DOCX.

`check_scan_page` takes a page already brought to the analysis raster, with its effective dpi
and physical size worked out by the caller (from JPEG metadata, from the PDF placement, from the
DOCX drawing extent), applies every scan rule of the policy and returns the page's report entry.

A legibility finding says where on the displayed page it was measured (`location.boxes`, in PDF
points from the top-left corner): the text region for contrast, blur and text size, the whole
sheet for a blank page, and a line along the measured text direction for a skew. A JPEG's page
is its pixels at its dpi (72 when unknown, as its picture is drawn); a PDF scan's is the page
box, which the scan fills. An image inside a DOCX has no known place on the laid-out page: its
findings have no boxes.
"""

from __future__ import annotations

import math
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

from ...core.policy import Policy
from ...core.report import PageInfo
from ..findings import Issues
from . import ocr
from .colour import ColourResult, classify
from .dpi import Resolution, anisotropic, dpi_in_range, match_paper
from .legibility import Measures, measure
from .photo import PhotoVerdict
from .photo import judge as judge_photo
from .raster import Raster


@dataclass
class ScanContext:
    """Per-file state of the scan checks: the OCR page budget and whether 'OCR not run' was said."""

    policy: Policy
    issues: Issues
    ocr_pages_done: int = 0
    ocr_not_run_said: bool = False
    tesseract: str | None = field(default_factory=ocr.tesseract_path)


def _fmt(value: float) -> str:
    return f"{value:.0f}" if abs(value - round(value)) < 0.05 or value >= 100 else f"{value:.1f}"


def dpi_text(resolution: Resolution) -> str:
    if resolution.x is None or resolution.y is None:
        return "?"
    if abs(resolution.x - resolution.y) / max(resolution.x, resolution.y) <= 0.005:
        return _fmt(resolution.x)
    return f"{_fmt(resolution.x)}×{_fmt(resolution.y)}"


def check_resolution(
    resolution: Resolution, pixels: tuple[int, int], location: dict[str, Any], ctx: ScanContext
) -> None:
    scan = ctx.policy.scan
    required = f"{_fmt(scan.dpi_min)}–{_fmt(scan.dpi_max)} dpi"
    if resolution.x is None or resolution.y is None:
        ctx.issues.add(
            "scan.dpi_unknown",
            location=location,
            observed=f"{pixels[0]}×{pixels[1]} px, no dpi",
            expected=required,
            width=pixels[0],
            height=pixels[1],
            min=_fmt(scan.dpi_min),
            max=_fmt(scan.dpi_max),
        )
        return
    if not (dpi_in_range(resolution.x, scan) and dpi_in_range(resolution.y, scan)):
        ctx.issues.add(
            "scan.dpi",
            location=location,
            observed=f"{dpi_text(resolution)} dpi ({resolution.source})",
            expected=required,
            dpi=dpi_text(resolution),
            min=_fmt(scan.dpi_min),
            max=_fmt(scan.dpi_max),
        )
    if anisotropic(resolution, scan):
        ctx.issues.add(
            "scan.dpi_anisotropic",
            location=location,
            observed=f"{_fmt(resolution.x)}×{_fmt(resolution.y)} dpi",
            expected=f"equal within {scan.anisotropy_tolerance:.0%}",
            x=_fmt(resolution.x),
            y=_fmt(resolution.y),
            tolerance=f"{scan.anisotropy_tolerance * 100:g}",
        )


def check_scale(
    size_mm: tuple[float, float] | None, location: dict[str, Any], ctx: ScanContext
) -> str | None:
    """1:1 scale: the physical page size is a standard paper size. Returns the paper name."""
    if size_mm is None:
        return None
    scan = ctx.policy.scan
    paper = match_paper(size_mm[0], size_mm[1], scan)
    if paper is not None:
        return paper.name
    sizes = ", ".join(scan.paper_sizes_mm)
    ctx.issues.add(
        "scan.scale",
        location=location,
        observed=f"{size_mm[0]:.0f}×{size_mm[1]:.0f} mm",
        expected=sizes,
        width_mm=f"{size_mm[0]:.0f}",
        height_mm=f"{size_mm[1]:.0f}",
        sizes=sizes,
        tolerance=f"{scan.paper_tolerance * 100:g}",
    )
    return None


def _run_ocr(
    ocr_image: Callable[[], Image.Image] | None, location: dict[str, Any], ctx: ScanContext
) -> dict[str, Any]:
    policy = ctx.policy.ocr
    if not policy.enabled:
        return {"run": False, "reason": "disabled by policy"}
    reason = ""
    if ctx.tesseract is None:
        reason = "tesseract is not installed"
    elif ocr_image is None:
        reason = "no page image"
    elif ctx.ocr_pages_done >= policy.max_pages:
        return {"run": False, "reason": f"only the first {policy.max_pages} scan pages are recognised"}
    if not reason and ctx.tesseract is not None and ocr_image is not None:
        ctx.ocr_pages_done += 1
        try:
            result = ocr.recognise(ocr_image(), policy, ctx.tesseract)
        except (subprocess.SubprocessError, OSError) as exc:
            reason = f"tesseract failed: {type(exc).__name__}"
        else:
            weak = result.words < policy.min_words or (
                result.low_confidence is not None and result.low_confidence < policy.min_low_confidence
            )
            if weak:
                ctx.issues.add(
                    "scan.ocr",
                    location=location,
                    observed=f"{result.words} words, P{policy.low_percentile:g} confidence "
                    f"{result.low_confidence if result.low_confidence is not None else 0:.0f}",
                    expected=f">= {policy.min_words} words, P{policy.low_percentile:g} >= "
                    f"{policy.min_low_confidence:g}",
                    words=result.words,
                    confidence=f"{result.low_confidence if result.low_confidence is not None else 0:.0f}",
                    percentile=f"{policy.low_percentile:g}",
                    min_words=policy.min_words,
                    min_confidence=f"{policy.min_low_confidence:g}",
                )
            return result.as_dict()
    if not ctx.ocr_not_run_said:
        ctx.ocr_not_run_said = True
        phrase = {"tesseract is not installed": "@ui:ocr_no_tesseract", "no page image": "@ui:ocr_no_image"}
        ctx.issues.add(
            "scan.ocr_not_run", location=location, observed=reason, reason=phrase.get(reason, "@ui:ocr_failed")
        )
    return {"run": False, "reason": reason}


_PT_PER_MM = 72 / 25.4
_UNKNOWN_DPI = 72.0  # as checks/render.py draws a JPEG whose dpi is not known


@dataclass(frozen=True)
class Geometry:
    """The analysis raster on the displayed page: points per analysis pixel, and the page's size."""

    number: int
    pt_x: float
    pt_y: float
    page_w: float
    page_h: float

    @classmethod
    def of(cls, raster: Raster, number: int, resolution: Resolution, page_mm: Any) -> Geometry | None:
        """From the page box in mm (a PDF page), else the scan's pixels at its dpi (a JPEG)."""
        width, height = raster.size
        if width <= 0 or height <= 0:
            return None
        if page_mm:
            page_w, page_h = float(page_mm[0]) * _PT_PER_MM, float(page_mm[1]) * _PT_PER_MM
        else:
            source_w, source_h = raster.source_size
            dpi_x = resolution.x or _UNKNOWN_DPI
            dpi_y = resolution.y or dpi_x
            page_w, page_h = source_w / dpi_x * 72, source_h / dpi_y * 72
        return cls(number, page_w / width, page_h / height, page_w, page_h)

    def rect(self, x: float, y: float, w: float, h: float, label: str | None = None) -> dict[str, Any]:
        box: dict[str, Any] = {
            "page": self.number,
            "x": round(x * self.pt_x, 1),
            "y": round(y * self.pt_y, 1),
            "w": round(w * self.pt_x, 1),
            "h": round(h * self.pt_y, 1),
            "kind": "rect",
        }
        if label:
            box["label"] = label
        return box

    def line(self, x0: float, y0: float, x1: float, y1: float, label: str | None = None) -> dict[str, Any]:
        box = self.rect(x0, y0, x1 - x0, y1 - y0, label)
        box["kind"] = "line"
        return box

    def sheet(self) -> dict[str, Any]:
        return {"page": self.number, "x": 0.0, "y": 0.0, "w": round(self.page_w, 1),
                "h": round(self.page_h, 1), "kind": "rect"}  # fmt: skip


@dataclass(frozen=True)
class _Page:
    """What a threshold check reads: the page's measures, its dpi and the policy."""

    m: Measures
    resolution: Resolution
    policy: Policy
    geometry: Geometry | None = None

    @property
    def text_pt(self) -> float | None:
        """The body text size the line pitch gives (text is set at about 1.2 × its size)."""
        if self.m.line_pitch_px is None or not self.resolution.y:
            return None
        return self.m.line_pitch_px / self.resolution.y * 72 / 1.2


# A threshold check returns the finding it makes (rule id and its fields) or None.
_Finding = tuple[str, dict[str, Any]]


def _blank(p: _Page) -> _Finding | None:
    m, leg = p.m, p.policy.legibility
    if m.ink_share < leg.min_ink_share and m.marks < leg.min_marks and m.faint_marks < leg.min_marks:
        return "scan.blank", {
            "observed": f"ink {m.ink_share:.2%}, {m.marks} marks",
            "expected": f"ink >= {leg.min_ink_share:.2%} or >= {leg.min_marks} marks",
            "ink": f"{m.ink_share * 100:.2f}",
            "marks": m.marks,
        }
    return None


def _tone(p: _Page) -> _Finding | None:
    """Contrast first; a dark paper or light ink only when the contrast itself is enough."""
    m, leg = p.m, p.policy.legibility
    if m.contrast < leg.min_contrast:
        return "scan.contrast", {
            "observed": f"{m.contrast:.0f} grey levels",
            "expected": f">= {leg.min_contrast:g}",
            "contrast": f"{m.contrast:.0f}",
            "min": f"{leg.min_contrast:g}",
        }
    if m.paper < leg.dark_paper_level:
        return "scan.dark", {
            "observed": f"paper {m.paper:.0f}/255",
            "expected": f">= {leg.dark_paper_level:g}",
            "paper": f"{m.paper:.0f}",
            "min": f"{leg.dark_paper_level:g}",
        }
    if m.ink_level > leg.light_ink_level:
        return "scan.light", {
            "observed": f"ink {m.ink_level:.0f}/255",
            "expected": f"<= {leg.light_ink_level:g}",
            "ink": f"{m.ink_level:.0f}",
            "max": f"{leg.light_ink_level:g}",
        }
    return None


def _blur(p: _Page) -> _Finding | None:
    m, leg = p.m, p.policy.legibility
    if m.sharpness is None or m.sharpness >= leg.min_sharpness:
        return None
    return "scan.blur", {
        "observed": f"sharpness {m.sharpness:.2f}",
        "expected": f">= {leg.min_sharpness:g}",
        "sharpness": f"{m.sharpness:.2f}",
        "min": f"{leg.min_sharpness:g}",
    }


def _skew(p: _Page) -> _Finding | None:
    m, leg = p.m, p.policy.legibility
    if m.skew is None or abs(m.skew) <= leg.max_skew_degrees:
        return None
    return "scan.skew", {
        "observed": f"{m.skew:+.1f}°",
        "expected": f"<= {leg.max_skew_degrees:g}°",
        "angle": f"{abs(m.skew):.1f}",
        "max": f"{leg.max_skew_degrees:g}",
    }


def _text_small(p: _Page) -> _Finding | None:
    m, leg = p.m, p.policy.legibility
    if m.line_pitch_px is None or m.line_pitch_px >= leg.min_line_pitch_px:
        return None
    text_pt = p.text_pt
    return "scan.text_small", {
        "observed": f"line pitch {m.line_pitch_px:.0f} px" + (f" (~{text_pt:.0f} pt)" if text_pt else ""),
        "expected": f">= {leg.min_line_pitch_px:g} px",
        "px": f"{m.line_pitch_px:.0f}",
        "pt": f"{text_pt:.0f}" if text_pt else "?",
        "dpi": dpi_text(p.resolution),
        "min_px": f"{leg.min_line_pitch_px:g}",
        "max": _fmt(p.policy.scan.dpi_max),
    }


# The legibility rules of a page with ink, in the order their findings are reported. Each
# presumes a document page (paper and text): none is applied to a photograph.
_TEXT_PAGE_CHECKS: tuple[Callable[[_Page], _Finding | None], ...] = (_tone, _blur, _skew, _text_small)


def _boxes(rule: str, p: _Page) -> list[dict[str, Any]]:
    """Where a legibility finding was measured, in points of the displayed page."""
    g, box = p.geometry, p.m.ink_box
    if g is None:
        return []
    if rule == "scan.blank":
        return [g.sheet()]
    if box is None:
        return []
    x, y, w, h = box
    if rule == "scan.skew" and p.m.skew is not None:
        # The measured text direction through the middle of the text: a line rising to the
        # right for a counter-clockwise skew (y grows downwards).
        rise = math.tan(math.radians(p.m.skew)) * w / 2
        cy = y + h / 2
        return [g.line(x, cy + rise, x + w, cy - rise, f"{p.m.skew:+.1f}°")]
    return [g.rect(x, y, w, h)]


def _located(location: dict[str, Any], boxes: list[dict[str, Any]]) -> dict[str, Any]:
    return {**location, "boxes": boxes} if boxes else location


def check_legibility(
    raster: Raster,
    resolution: Resolution,
    location: dict[str, Any],
    ctx: ScanContext,
    skew_offset: float = 0.0,
    geometry: Geometry | None = None,
) -> tuple[dict[str, Any], PhotoVerdict | None]:
    """Legibility figures and findings; `skew_offset` is a rotation the placement adds (PDF);
    `geometry` places the analysis raster on the displayed page (boxes of the findings).

    Returns the figures and whether the page is a photograph (None for a blank page).
    """
    m = measure(raster)
    if m.skew is not None and skew_offset:
        m.skew += skew_offset
    figures: dict[str, Any] = m.as_dict()
    page = _Page(m, resolution, ctx.policy, geometry)
    # A photograph first: a smooth one has as little ink as an empty sheet, but no sheet.
    photo = judge_photo(raster.grey, m)
    figures.update(photo.as_dict())
    if photo.photograph:
        figures["blank"] = False
        ctx.issues.add(
            "scan.photograph",
            location=location,
            observed=f"photograph: paper {photo.paper_share:.0%} of the page, {photo.paper_marks} marks on it",
            share=f"{photo.paper_share * 100:.0f}",
        )
        return figures, photo
    if (blank := _blank(page)) is not None:
        ctx.issues.add(blank[0], location=_located(location, _boxes(blank[0], page)), **blank[1])
        figures["blank"] = True
        return figures, None
    figures["blank"] = False
    if page.text_pt is not None:
        figures["text_size_pt"] = round(page.text_pt, 1)
    for check in _TEXT_PAGE_CHECKS:
        if (found := check(page)) is not None:
            ctx.issues.add(found[0], location=_located(location, _boxes(found[0], page)), **found[1])
    return figures, photo


def _check_colour(colour: ColourResult, location: dict[str, Any]) -> Issues:
    """Colour of a document page: allowed for colour marks, needless for a grey page in colour."""
    issues = Issues()
    if colour.kind == "colour":
        issues.add(
            "scan.colour",
            location=location,
            observed=f"colour, {colour.coloured_share:.1%} coloured",
            share=f"{colour.coloured_share * 100:.1f}",
        )
    elif colour.colour_source:
        issues.add(
            "scan.colour_unneeded",
            location=location,
            observed=f"colour file, {colour.coloured_share:.2%} coloured",
            expected="greyscale or black-and-white",
            share=f"{colour.coloured_share * 100:.2f}",
        )
    return issues


def check_scan_page(
    raster: Raster,
    resolution: Resolution,
    number: int,
    ctx: ScanContext,
    *,
    size_mm: tuple[float, float] | None,
    location: dict[str, Any] | None = None,
    bilevel: bool = False,
    ocr_image: Callable[[], Image.Image] | None = None,
    extra: dict[str, Any] | None = None,
    check_dpi: bool = True,
    skew_offset: float = 0.0,
) -> PageInfo:
    """Apply the scan rules to one page and return its report entry (figures in `metrics`)."""
    location = location if location is not None else {"page": number}
    if check_dpi:
        check_resolution(resolution, raster.source_size, location, ctx)
    paper = check_scale(size_mm, location, ctx)
    colour = classify(raster, ctx.policy.colour, bilevel=bilevel)
    # Findings keep their order: colour, then legibility; the colour rules wait for the verdict
    # on a photograph, whose colour is its own (requirement 7 allows colour images in colour).
    mark = len(ctx.issues)
    # A picture inside a DOCX has no known place on the laid-out page: no boxes there.
    geometry = None if "part" in location else Geometry.of(raster, number, resolution, (extra or {}).get("page_size_mm"))
    legibility, photo = check_legibility(raster, resolution, location, ctx, skew_offset, geometry)
    if photo is None or not photo.photograph:
        ctx.issues[mark:mark] = _check_colour(colour, location)
    metrics: dict[str, Any] = {
        "dpi_source": resolution.source,
        "pixels": list(raster.source_size),
        "size_mm": [round(size_mm[0], 1), round(size_mm[1], 1)] if size_mm else None,
        "paper": paper,
        "source_mode": raster.source_mode,
    }
    if resolution.detail:
        metrics["dpi_detail"] = resolution.detail
    metrics.update(colour.as_dict())
    metrics.update(extra or {})
    metrics["legibility"] = legibility
    if photo is None:  # no ink: nothing to recognise
        metrics["ocr"] = {"run": False, "reason": "blank page"}
    elif photo.photograph:
        metrics["ocr"] = {"run": False, "reason": "photograph"}
    else:
        metrics["ocr"] = _run_ocr(ocr_image, location, ctx)
    return PageInfo(number=number, kind="scan", dpi=resolution.as_list(), colour=colour.kind, metrics=metrics)
