"""Legibility figures of a scan page, measured on its analysis raster (see `raster`).

Every figure is computed at the fixed analysis resolution, so the same page gives the same
figures whether it came from a JPEG file, a PDF or a DOCX, and whatever its dpi:

- `paper`: the paper's grey level (90th percentile of the lightly smoothed page), 0–255.
- ink: pixels darker than their local background (a 15-pixel maximum filter) by more than a
  noise floor and than half the page's stroke contrast. Thresholds relative to the local
  background, not Otsu: Otsu splits blank paper into two halves and calls one of them ink.
- `contrast`: how much darker the cores of strokes are than their background (95th percentile
  of the local darkening over candidate ink pixels), in grey levels.
- `ink_share` and `marks`: the share of ink pixels and the count of connected ink components of
  mark size (a blank page has almost no ink and few marks; a noisy blank page has many tiny
  specks, which are not marks). `faint_marks` counts marks again at the noise floor, so that
  text too faint to read is told from an empty page.
- `sharpness`: edge steepness — the 90th percentile of the gradient magnitude next to ink,
  divided by the contrast. It is about 1 / (edge width in analysis pixels): blur widens edges and
  lowers it; contrast, the amount of text and the dpi do not move it.
- `skew`: the angle (degrees, counter-clockwise positive) that makes the ink's horizontal
  projection sharpest (text lines), searched over ±30°.
- `line_pitch_px`: the distance between text lines (the first strong peak of the autocorrelation
  of the ink's projection at the skew angle), in the scan's own pixels. Letters cannot be measured
  at the analysis resolution, but lines can, and body text is set at about 1.0–1.5 × its size:
  the pitch tells the size of the text as the scan recorded it.
- `ink_box`: the region the text lies in (x, y, w, h in analysis pixels): the ink's extent with
  the outermost 0.5 % of ink on each side left out (a speck or a scanner's edge does not stretch
  it). The findings draw it over the page picture.
- `paper_share`: the share of the page whose local background is within ±12 grey levels of the
  commonest background level — the paper of a document page (≥ 0.92 on every text page measured),
  a small part of a photograph (see `photo`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from .raster import Raster

_BACKGROUND_KERNEL = 15
_MIN_MARK_AREA = 3
_SKEW_RANGE = 30.0
_SKEW_POINTS = 6_000
# Coarse-to-fine search: (half-width, step) in degrees around the previous best angle.
_SKEW_STAGES = ((_SKEW_RANGE, 1.5), (1.5, 0.25), (0.25, 0.05))
# Angles projected at once in that search.
_SKEW_CHUNK = 8
# Text line pitch searched between these lags.
_MIN_PITCH = 3
_MAX_PITCH = 120
# The line pitch is the first autocorrelation peak at least this share of the highest one
# (multiples of the pitch peak too, sometimes higher when the pitch is not a whole bin).
_PITCH_PEAK_SHARE = 0.8
# The commonest background level ± this many grey levels is the paper (`paper_share`).
PAPER_BAND = 12


@dataclass
class Measures:
    paper: float
    contrast: float
    ink_level: float
    noise: float
    ink_share: float
    marks: int
    faint_marks: int
    sharpness: float | None
    skew: float | None
    line_pitch_px: float | None  # text line pitch in source pixels
    paper_share: float = 1.0  # share of the page whose local background is the paper
    paper_level: int = 255  # the commonest local background level
    ink_box: tuple[int, int, int, int] | None = None  # x, y, w, h of the text, analysis pixels

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "paper_level": round(self.paper, 1),
            "ink_level": round(self.ink_level, 1),
            "contrast": round(self.contrast, 1),
            "noise": round(self.noise, 2),
            "ink_share": round(self.ink_share, 5),
            "marks": self.marks,
            "faint_marks": self.faint_marks,
            "sharpness": None if self.sharpness is None else round(self.sharpness, 3),
            "skew_degrees": None if self.skew is None else round(self.skew, 2),
            "line_pitch_px": None if self.line_pitch_px is None else round(self.line_pitch_px, 1),
            "paper_share": round(self.paper_share, 3),
        }


def _percentile(hist: np.ndarray, q: float) -> float:
    cdf = np.cumsum(hist)
    if cdf[-1] == 0:
        return 0.0
    return float(np.searchsorted(cdf, q / 100 * cdf[-1]))


def _count_above(pixels: np.ndarray, level: int) -> int:
    """How many pixels of a uint8 image are brighter than `level` (0–255)."""
    _, mask = cv2.threshold(pixels, level, 1, cv2.THRESH_BINARY)
    return int(cv2.countNonZero(mask))


def _level(pixels: np.ndarray, q: float, lower: int = -1, gallop: bool = False) -> float | None:
    """`_percentile` of the histogram of a uint8 image's levels above `lower`, found by counting.

    The first level whose cumulative count reaches q % of the pixels above `lower`, searched by
    halving (eight counts above a threshold, each a quarter of the time of a histogram). With
    `gallop` the search first steps up from the bottom by 1, 2, 4, ... levels: a median of small
    differences is found in two or three counts. None when no pixel is above `lower`.
    """
    total = pixels.size if lower < 0 else _count_above(pixels, lower)
    if total == 0:
        return None
    target = q / 100 * total
    lo, hi = lower + 1, 255  # the level is in [lo, hi]: every pixel is at most 255

    def reached(level: int) -> bool:
        return total - _count_above(pixels, level) >= target

    if gallop:
        step = 1
        while lo + step - 1 < hi and not reached(lo + step - 1):
            lo, step = lo + step, step * 2
        hi = min(hi, lo + step - 1)
    while lo < hi:
        mid = (lo + hi) // 2
        if reached(mid):
            hi = mid
        else:
            lo = mid + 1
    return float(lo)


def _above(pixels: np.ndarray, level: float) -> np.ndarray:
    """`pixels > level` for a uint8 image, as a bool view of OpenCV's 0/1 threshold."""
    # For whole-number pixels, v > level is v > floor(level).
    _, mask = cv2.threshold(pixels, math.floor(level), 1, cv2.THRESH_BINARY)
    return mask.view(bool)


def _lines(mask: np.ndarray, rng: np.random.Generator) -> tuple[float | None, float | None]:
    """Skew angle of the text lines and their pitch (analysis pixels) from the ink's projections."""
    # Flat indices of the ink in row-major order (the order cv2.findNonZero lists points in, at
    # half its cost); only the sampled ones are split into x and y.
    found = np.flatnonzero(mask)
    if len(found) < 200:
        return None, None
    if len(found) > _SKEW_POINTS:
        found = found[rng.integers(0, len(found), _SKEW_POINTS)]
    ys, xs = np.divmod(found, mask.shape[1])
    x = xs.astype(np.float32) - mask.shape[1] / 2
    y = ys.astype(np.float32)
    span = int(mask.shape[0] + mask.shape[1])

    def profiles(angles: np.ndarray) -> np.ndarray:
        shifts = np.tan(np.radians(angles)).astype(np.float32)
        # Visual counter-clockwise skew: a line rising to the right has y = y0 - x·tan(a).
        along = x[None, :] * shifts[:, None]
        along += y[None, :]
        offsets = (span / 2 + np.arange(len(angles)) * 2 * span)[:, None]
        # The bin of each point: (float32 position + float64 offset) truncated, written straight
        # into int32 without a float64 array of all points at all angles.
        bins = np.empty(along.shape, np.int32)
        np.add(along, offsets, out=bins, dtype=np.float64, casting="unsafe")
        hist = np.bincount(bins.ravel(), minlength=len(angles) * 2 * span)
        return hist[: len(angles) * 2 * span].reshape(len(angles), -1)

    def scores(angles: np.ndarray) -> np.ndarray:
        """Sum of squared profile counts per angle, in exact integers. A few angles at a time:
        an angle's profile does not depend on the others, and small arrays are reused by the
        allocator instead of being mapped afresh (page faults cost more than the arithmetic)."""
        parts = []
        for start in range(0, len(angles), _SKEW_CHUNK):
            counts = profiles(angles[start : start + _SKEW_CHUNK])
            parts.append(np.einsum("ij,ij->i", counts, counts))
        return np.concatenate(parts)

    angle = 0.0
    for half, step in _SKEW_STAGES:
        angles = np.arange(angle - half, angle + half + step / 2, step)
        angle = float(angles[int(np.argmax(scores(angles)))])
    return angle, _pitch(profiles(np.array([angle]))[0].astype(np.float64))


def _pitch(profile: np.ndarray) -> float | None:
    """The text line pitch: the first strong peak of the projection profile's autocorrelation."""
    profile = (
        profile[np.nonzero(profile)[0].min() : np.nonzero(profile)[0].max() + 1] if profile.any() else profile
    )
    if len(profile) < 3 * _MIN_PITCH:
        return None
    centred = profile - profile.mean()
    spectrum = np.fft.rfft(centred, n=2 * len(centred))
    corr = np.fft.irfft(spectrum * np.conj(spectrum))[: len(centred)]
    if corr[0] <= 0:
        return None
    corr = corr / corr[0]
    top = min(len(corr) - 1, _MAX_PITCH)
    lags = np.arange(_MIN_PITCH, top)
    peaks = lags[(corr[lags] > corr[lags - 1]) & (corr[lags] >= corr[lags + 1]) & (corr[lags] > 0.2)]
    if len(peaks) == 0:
        return None
    lag = int(peaks[np.argmax(corr[peaks] >= _PITCH_PEAK_SHARE * corr[peaks].max())])
    # sub-pixel: parabola through the peak and its neighbours
    a, b, c = corr[lag - 1], corr[lag], corr[lag + 1]
    offset = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
    return lag + float(np.clip(offset, -0.5, 0.5))


def _marks(ink: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected ink components of mark size (not specks, not rules or borders) and their heights."""
    if not ink.any():
        return 0, np.empty(0)
    # BBDT labels the same components about twice as fast as OpenCV's default here.
    count, _, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        ink.view(np.uint8), 8, cv2.CV_32S, cv2.CCL_BBDT
    )
    stats = stats[1:count]
    h_img, w_img = ink.shape
    keep = (
        (stats[:, cv2.CC_STAT_AREA] >= _MIN_MARK_AREA)
        & (stats[:, cv2.CC_STAT_HEIGHT] < h_img / 8)
        & (stats[:, cv2.CC_STAT_WIDTH] < w_img / 4)
    )
    return int(keep.sum()), stats[keep, cv2.CC_STAT_HEIGHT].astype(np.float64)


def _extent(counts: np.ndarray, trim: float = 0.005) -> tuple[int, int]:
    """First and last index of a projection's mass with `trim` of it left out at each end."""
    cdf = np.cumsum(counts, dtype=np.int64)
    total = int(cdf[-1])
    low = int(np.searchsorted(cdf, trim * total, side="right"))
    high = int(np.searchsorted(cdf, (1 - trim) * total, side="left"))
    return low, max(low, high)


def ink_extent(ink: np.ndarray) -> tuple[int, int, int, int] | None:
    """Where the ink lies: (x, y, w, h) in the mask's pixels, or None without ink."""
    rows = np.count_nonzero(ink, axis=1)
    if not rows.any():
        return None
    cols = np.count_nonzero(ink, axis=0)
    x0, x1 = _extent(cols)
    y0, y1 = _extent(rows)
    return x0, y0, x1 - x0 + 1, y1 - y0 + 1


def paper_band(background: np.ndarray) -> tuple[int, float]:
    """The commonest local background level and the share of the page within `PAPER_BAND` of it."""
    hist = cv2.calcHist([background], [0], None, [256], [0, 256]).ravel()
    window = np.convolve(hist, np.ones(2 * PAPER_BAND + 1, np.float32), mode="same")
    level = int(np.argmax(window))
    return level, float(window[level]) / background.size


def background_and_darkening(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The lightly smoothed page, its local background (a maximum filter) and how much darker
    than that background each pixel is."""
    smooth = cv2.GaussianBlur(grey, (3, 3), 0)
    background = cv2.dilate(smooth, cv2.getStructuringElement(cv2.MORPH_RECT, (_BACKGROUND_KERNEL,) * 2))
    return smooth, background, cv2.subtract(background, smooth)


def _ink_level(noise: float, contrast: float) -> float:
    """Darkening above which a pixel is ink: over the noise floor and half the stroke contrast."""
    return max(max(6.0, 3.0 * noise), contrast / 2)


def ink_mask(darkening: np.ndarray, measures: Measures) -> np.ndarray:
    """The page's ink as `measure` found it, from `background_and_darkening`'s darkening."""
    return _above(darkening, _ink_level(measures.noise, measures.contrast))


def marks_of(ink: np.ndarray) -> int:
    """Connected ink components of mark size in a bool mask."""
    return _marks(np.ascontiguousarray(ink))[0]


def measure(raster: Raster) -> Measures:
    grey = raster.grey
    smooth, background, darkening = background_and_darkening(grey)
    # Percentiles of grey levels by counting above a few thresholds, not by full histograms.
    paper = _level(smooth, 90) or 0.0
    noise = (_level(cv2.absdiff(grey, smooth), 50, gallop=True) or 0.0) * 1.4826 / 0.6
    floor = max(6.0, 3.0 * noise)
    contrast = _level(darkening, 95, lower=int(floor))
    if contrast is None:  # nothing darker than the noise floor
        contrast = float(darkening.max())
    ink = _above(darkening, _ink_level(noise, contrast))
    ink_share = cv2.countNonZero(ink.view(np.uint8)) / ink.size
    ink_level = max(0.0, paper - contrast)

    marks, _ = _marks(ink)
    # A page that looks empty at the page's own contrast is looked at once more at the noise
    # floor: text too faint to read is not a blank page.
    faint_marks = marks
    if marks < 50:
        faint = _above(darkening, max(3.0, 2.0 * noise))
        faint_marks = _marks(faint)[0]
        # noise specks reach the floor too, but only text lies in lines
        if faint_marks and _lines(faint, np.random.default_rng(0))[1] is None:
            faint_marks = 0

    sharpness: float | None = None
    if marks >= 5 and contrast > 0:
        # Whole-number gradients (16-bit) taken only next to ink: the same figures as a float
        # gradient image of the whole page, without two page-size float arrays.
        gx, gy = cv2.spatialGradient(smooth)  # both 3×3 Sobel derivatives in one pass
        near = cv2.dilate(ink.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
        magnitude = cv2.magnitude(gx[near].astype(np.float32), gy[near].astype(np.float32))
        # Sobel of a unit step is 4; quarter-level bins are fine enough for a percentile.
        levels = np.minimum(magnitude.ravel(), 4 * 255).astype(np.intp)  # what bincount counts in
        sharpness = _percentile(np.bincount(levels, minlength=4 * 256), 90) / 4.0 / contrast

    skew, pitch = _lines(ink, np.random.default_rng(0)) if marks >= 30 else (None, None)
    line_pitch = pitch / raster.scale if pitch is not None else None
    level, share = paper_band(background)
    return Measures(
        paper=paper,
        contrast=contrast,
        ink_level=ink_level,
        noise=noise,
        ink_share=ink_share,
        marks=marks,
        faint_marks=faint_marks,
        sharpness=sharpness,
        skew=skew,
        line_pitch_px=line_pitch,
        paper_share=share,
        paper_level=level,
        ink_box=ink_extent(ink) if marks else None,
    )
