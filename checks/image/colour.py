"""Colour of a scan page: `bw`, `grey` or `colour`, and the share of really coloured pixels.

A colour source whose content is grey (black text on slightly yellow or blue paper) counts as
grey: the paper's tint is measured from the lightest part of the page and divided out channel by
channel before chroma (max − min of R, G, B) is taken, so only marks of their own colour remain.
A pixel is coloured when its chroma exceeds `colour.chroma_threshold`; isolated coloured pixels
(colour fringes along black strokes, JPEG chroma noise) are averaged away by the reduction to the
analysis raster. The page is
`colour` when the coloured share reaches `colour.colour_pixel_share`.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ...core.policy import Colour
from .raster import Raster

BILEVEL_MODES = ("1",)


def _histogram(pixels: np.ndarray, channel: int = 0, mask: np.ndarray | None = None) -> np.ndarray:
    """Counts of each level 0–255 of one channel of a uint8 image, where `mask` is set."""
    return cv2.calcHist([pixels], [channel], mask, [256], [0, 256]).ravel().astype(np.int64)


def _percentile(hist: np.ndarray, q: float) -> float:
    cdf = np.cumsum(hist)
    return float(np.searchsorted(cdf, q / 100 * cdf[-1])) if cdf[-1] else 255.0


@dataclass
class ColourResult:
    kind: str  # "bw" | "grey" | "colour"
    colour_source: bool  # the file stores colour (RGB, CMYK, colour palette)
    coloured_share: float  # share of pixels with real colour, after the tint is removed
    tint: tuple[int, int, int] | None  # paper colour that was divided out

    def as_dict(self) -> dict[str, object]:
        return {
            "colour_source": self.colour_source,
            "coloured_share": round(self.coloured_share, 5),
            "paper_tint": list(self.tint) if self.tint is not None else None,
        }


def classify(raster: Raster, policy: Colour, bilevel: bool = False) -> ColourResult:
    if raster.rgb is None:
        kind = "bw" if bilevel or raster.source_mode in BILEVEL_MODES else "grey"
        return ColourResult(kind, False, 0.0, None)
    rgb = raster.rgb
    grey = raster.grey
    # The tint is a page-wide figure: every fourth pixel in each direction is plenty.
    sample_grey = np.ascontiguousarray(grey[::4, ::4])
    sample_rgb = np.ascontiguousarray(rgb[::4, ::4])
    # The light part of the sample as a mask for OpenCV's histograms (no copies of its pixels).
    # v >= p is v > p - 1 for whole-number levels
    _, light = cv2.threshold(
        sample_grey, _percentile(_histogram(sample_grey), 80) - 1, 255, cv2.THRESH_BINARY
    )
    tint = np.array([_percentile(_histogram(sample_rgb, c, light), 50) for c in range(3)])
    gains = 255.0 / np.maximum(tint.astype(np.float32), 32.0)
    ramp = np.arange(256, dtype=np.float32)
    # Per-channel gain with saturation through lookup tables: no float copy of the page.
    r, g, b = (
        cv2.LUT(channel, np.clip(ramp * gain, 0, 255).astype(np.uint8))
        for channel, gain in zip(cv2.split(rgb), gains, strict=True)
    )
    chroma = cv2.subtract(cv2.max(cv2.max(r, g), b), cv2.min(cv2.min(r, g), b))
    # Colour fringes along black strokes and JPEG chroma noise are thinner than a source pixel
    # or two; the pixel-area averaging down to the analysis raster already washes them out, while
    # a seal's rings and a signature's strokes keep their colour.
    _, mask = cv2.threshold(chroma, policy.chroma_threshold, 1, cv2.THRESH_BINARY)
    share = cv2.countNonZero(mask) / mask.size
    kind = "colour" if share >= policy.colour_pixel_share else "grey"
    tint_rgb = (int(tint[0]), int(tint[1]), int(tint[2]))
    return ColourResult(kind, True, share, tint_rgb)
