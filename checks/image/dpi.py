"""Resolution and physical size of a scan page: dpi from metadata, dpi inferred from paper sizes, 1:1 scale.

A JPEG states its resolution in two places: the JFIF header (density in dots per inch or per
centimetre) and the EXIF block (XResolution/YResolution with ResolutionUnit inch or cm). Values
that programs write when nobody knows the resolution (0, 1, 72, 96 — the policy's
`scan.dpi_not_stated`) say nothing. When the two places disagree we take the one that makes the
pixels a standard paper size; when neither (or both) does, the JFIF value: the JFIF header is
rewritten by every encoder that writes the pixels, while EXIF is often copied unchanged from the
camera or the original scan. When nothing is stated, the dpi is inferred from the pixel size:
the pixels must be a standard paper size (both orientations) with both axes agreeing within
2 %; among several fits (the A series share one aspect ratio) the one nearest a common scanner
resolution wins.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ...core.policy import Scan

MM_PER_INCH = 25.4
# Resolutions scanners and phones offer; used to choose among paper sizes that fit equally.
COMMON_DPI: tuple[float, ...] = (75, 100, 150, 200, 240, 300, 400, 600, 1200)
INFER_AGREEMENT = 0.02

EXIF_ORIENTATION = 0x0112
EXIF_X_RESOLUTION = 0x011A
EXIF_Y_RESOLUTION = 0x011B
EXIF_RESOLUTION_UNIT = 0x0128


@dataclass(frozen=True)
class Resolution:
    """Effective dpi per axis and where it came from: `metadata`, `inferred`, `placement` or `unknown`."""

    x: float | None
    y: float | None
    source: str
    detail: str = ""

    @property
    def known(self) -> bool:
        return self.x is not None and self.y is not None

    def as_list(self) -> list[float] | None:
        if self.x is None or self.y is None:
            return None
        return [round(self.x, 1), round(self.y, 1)]


@dataclass(frozen=True)
class PaperMatch:
    name: str
    orientation: str  # "portrait" | "landscape"
    error: float  # the larger relative deviation of the two sides


def stated(value: float | None, scan: Scan) -> bool:
    """A resolution value that says something (not missing, not a placeholder)."""
    if value is None or not math.isfinite(value) or value <= 0:
        return False
    return all(abs(value - placeholder) > 0.5 for placeholder in scan.dpi_not_stated)


def _ratio(value: Any) -> float | None:
    try:
        result = float(value)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return result if math.isfinite(result) else None


def jfif_density(info: Mapping[Any, Any]) -> tuple[float, float] | None:
    """JFIF density in dpi (unit 1 = per inch, 2 = per cm); unit 0 is only an aspect ratio."""
    density = info.get("jfif_density")
    unit = info.get("jfif_unit")
    if not density or unit not in (1, 2):
        return None
    factor = MM_PER_INCH / 10 if unit == 2 else 1.0
    return float(density[0]) * factor, float(density[1]) * factor


def exif_resolution(exif: Any) -> tuple[float, float] | None:
    """EXIF XResolution/YResolution in dpi (ResolutionUnit 2 = inch, the default; 3 = cm; 1 = none)."""
    if exif is None:
        return None
    x = _ratio(exif.get(EXIF_X_RESOLUTION))
    y = _ratio(exif.get(EXIF_Y_RESOLUTION))
    if x is None or y is None:
        return None
    unit = exif.get(EXIF_RESOLUTION_UNIT, 2)
    if unit == 1:
        return None
    factor = MM_PER_INCH / 10 if unit == 3 else 1.0
    return x * factor, y * factor


def match_paper(width_mm: float, height_mm: float, scan: Scan) -> PaperMatch | None:
    """The standard paper size this physical size is (within `scan.paper_tolerance`), if any."""
    best: PaperMatch | None = None
    for name, (short, long) in scan.paper_sizes_mm.items():
        for orientation, (w, h) in (("portrait", (short, long)), ("landscape", (long, short))):
            error = max(abs(width_mm - w) / w, abs(height_mm - h) / h)
            if error <= scan.paper_tolerance and (best is None or error < best.error):
                best = PaperMatch(name, orientation, error)
    return best


def infer_from_pixels(width_px: int, height_px: int, scan: Scan) -> tuple[float, PaperMatch] | None:
    """The dpi at which these pixels are a standard paper size, both axes agreeing within 2 %."""
    candidates: list[tuple[float, float, PaperMatch]] = []
    for name, (short, long) in scan.paper_sizes_mm.items():
        for orientation, (w, h) in (("portrait", (short, long)), ("landscape", (long, short))):
            dpi_x = width_px / (w / MM_PER_INCH)
            dpi_y = height_px / (h / MM_PER_INCH)
            if abs(dpi_x - dpi_y) / max(dpi_x, dpi_y) > INFER_AGREEMENT:
                continue
            dpi = (dpi_x + dpi_y) / 2
            nearest = min(abs(dpi - c) / c for c in COMMON_DPI)
            candidates.append((nearest, dpi, PaperMatch(name, orientation, abs(dpi_x - dpi_y) / dpi)))
    if not candidates:
        return None
    _, dpi, paper = min(candidates, key=lambda c: c[0])
    return dpi, paper


def physical_size_mm(width_px: int, height_px: int, resolution: Resolution) -> tuple[float, float] | None:
    if resolution.x is None or resolution.y is None:
        return None
    return width_px / resolution.x * MM_PER_INCH, height_px / resolution.y * MM_PER_INCH


def _fits_paper(width_px: int, height_px: int, dpi: tuple[float, float], scan: Scan) -> bool:
    size = (width_px / dpi[0] * MM_PER_INCH, height_px / dpi[1] * MM_PER_INCH)
    return match_paper(size[0], size[1], scan) is not None


def jpeg_resolution(
    width_px: int,
    height_px: int,
    jfif: tuple[float, float] | None,
    exif: tuple[float, float] | None,
    scan: Scan,
) -> Resolution:
    """Decide a JPEG's effective dpi from its JFIF and EXIF values and its pixel size (see module doc)."""
    sources = []
    if jfif is not None and stated(jfif[0], scan) and stated(jfif[1], scan):
        sources.append(("JFIF", jfif))
    if exif is not None and stated(exif[0], scan) and stated(exif[1], scan):
        sources.append(("EXIF", exif))
    if len(sources) == 2 and not all(
        math.isclose(a, b, rel_tol=0.005) for a, b in zip(*(s[1] for s in sources), strict=True)
    ):
        fitting = [s for s in sources if _fits_paper(width_px, height_px, s[1], scan)]
        chosen = fitting[0] if len(fitting) == 1 else sources[0]
        other = sources[1] if chosen is sources[0] else sources[0]
        detail = (
            f"{chosen[0]} {chosen[1][0]:g}×{chosen[1][1]:g} chosen over "
            f"{other[0]} {other[1][0]:g}×{other[1][1]:g}"
        )
        return Resolution(chosen[1][0], chosen[1][1], "metadata", detail)
    if sources:
        name, (x, y) = sources[0]
        return Resolution(x, y, "metadata", name)
    inferred = infer_from_pixels(width_px, height_px, scan)
    if inferred is not None:
        dpi, paper = inferred
        return Resolution(dpi, dpi, "inferred", f"{paper.name} {paper.orientation}")
    return Resolution(None, None, "unknown")


def anisotropic(resolution: Resolution, scan: Scan) -> bool:
    if resolution.x is None or resolution.y is None:
        return False
    return abs(resolution.x - resolution.y) / max(resolution.x, resolution.y) > scan.anisotropy_tolerance


def dpi_in_range(value: float, scan: Scan) -> bool:
    low = scan.dpi_min * (1 - scan.dpi_tolerance)
    high = scan.dpi_max * (1 + scan.dpi_tolerance)
    return low <= value <= high
