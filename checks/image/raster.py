"""A scan page brought to the fixed analysis resolution, the one input every legibility measure reads.

Every path that produces a page image — a JPEG file, a JPEG stream inside a PDF, a PDF image of
any other filter decoded by PDFium, an image inside a DOCX — ends in `Raster.from_array`, which
scales the page with pixel-area averaging so that its long side is the policy's
`legibility.analysis_long_side_px`. Measures are therefore comparable between paths and do not
drift with the scan's dpi. JPEG data is decoded at reduced size by DCT scaling (Pillow `draft`),
so a full-resolution page is never held in memory on that path.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import cv2
import numpy as np
from PIL import Image, ImageFile

COLOUR_MODES = ("RGB", "RGBA", "RGBX", "CMYK", "YCbCr", "LAB", "HSV", "P", "PA")


@dataclass
class Raster:
    """The page at analysis resolution: grey always, RGB only for colour sources."""

    grey: np.ndarray  # uint8, H×W
    rgb: np.ndarray | None  # uint8, H×W×3, or None for grey/bilevel sources
    source_mode: str  # Pillow-style mode of the source: "1", "L", "P", "RGB", "CMYK", ...
    source_size: tuple[int, int]  # width, height of the source in pixels, as displayed
    scale: float  # analysis pixels per source pixel (≤ 1)

    @property
    def size(self) -> tuple[int, int]:
        return int(self.grey.shape[1]), int(self.grey.shape[0])

    @classmethod
    def from_array(
        cls,
        pixels: np.ndarray,
        source_mode: str,
        source_size: tuple[int, int],
        long_side: int,
    ) -> Raster:
        """Scale a decoded page (grey H×W or RGB H×W×3, any size ≥ analysis) to the analysis size."""
        height, width = pixels.shape[:2]
        factor = long_side / max(width, height)
        step = int(1 / factor) if factor < 0.5 else 1
        if step >= 2:
            # Whole k×k blocks first (OpenCV's fast integer path, and what a JPEG DCT scale does),
            # then the small remaining reduction; losing under k edge pixels does not matter.
            pixels = pixels[: height - height % step, : width - width % step]
            reduced = (pixels.shape[1] // step, pixels.shape[0] // step)
            pixels = cv2.resize(pixels, reduced, interpolation=cv2.INTER_AREA)
            height, width = pixels.shape[:2]
            factor = long_side / max(width, height)
        if factor < 1:
            target = (max(1, round(width * factor)), max(1, round(height * factor)))
            # Under 2× the remaining reduction is linear: OpenCV's area filter is ten times slower
            # at fractional factors, and at these factors the two differ by less than the noise.
            interpolation = cv2.INTER_AREA if factor < 0.5 else cv2.INTER_LINEAR
            pixels = cv2.resize(pixels, target, interpolation=interpolation)
        pixels = np.ascontiguousarray(pixels)
        if pixels.ndim == 3:
            rgb: np.ndarray | None = pixels
            grey = cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)
        else:
            rgb, grey = None, pixels
        scale = grey.shape[1] / source_size[0] if source_size[0] else 1.0
        return cls(grey, rgb, source_mode, source_size, scale)

    def rotated(self, quarter_turns: int) -> Raster:
        """The raster turned counter-clockwise by `quarter_turns` × 90°."""
        k = quarter_turns % 4
        if k == 0:
            return self
        grey = np.ascontiguousarray(np.rot90(self.grey, k))
        rgb = np.ascontiguousarray(np.rot90(self.rgb, k)) if self.rgb is not None else None
        size = self.source_size if k % 2 == 0 else (self.source_size[1], self.source_size[0])
        return Raster(grey, rgb, self.source_mode, size, self.scale)

    def mirrored(self) -> Raster:
        grey = np.ascontiguousarray(self.grey[:, ::-1])
        rgb = np.ascontiguousarray(self.rgb[:, ::-1]) if self.rgb is not None else None
        return Raster(grey, rgb, self.source_mode, self.source_size, self.scale)


def pil_to_array(image: Image.Image) -> tuple[np.ndarray, str]:
    """Pixels of any Pillow image as grey or RGB uint8, and the source mode to report."""
    mode = image.mode
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in image.info):
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        background.alpha_composite(image.convert("RGBA"))
        image = background
    if mode == "P":
        palette = image.getpalette() or []
        triples = [palette[i : i + 3] for i in range(0, len(palette), 3)]
        grey_palette = all(t[0] == t[1] == t[2] for t in triples if len(t) == 3)
        image = image.convert("L" if grey_palette else "RGB")
    elif mode in ("1", "L", "I", "I;16", "F", "LA"):
        image = image.convert("L") if mode != "I;16" else image.point(lambda v: v / 256).convert("L")
    else:
        image = image.convert("RGB")
    return np.asarray(image), mode


def _draft_size(width: int, height: int, long_side: int) -> tuple[int, int]:
    factor = long_side / max(width, height)
    return max(1, math.ceil(width * factor)), max(1, math.ceil(height * factor))


_REDUCED_READ = {
    ("L", 2): cv2.IMREAD_REDUCED_GRAYSCALE_2,
    ("L", 4): cv2.IMREAD_REDUCED_GRAYSCALE_4,
    ("L", 8): cv2.IMREAD_REDUCED_GRAYSCALE_8,
    ("RGB", 2): cv2.IMREAD_REDUCED_COLOR_2,
    ("RGB", 4): cv2.IMREAD_REDUCED_COLOR_4,
    ("RGB", 8): cv2.IMREAD_REDUCED_COLOR_8,
}


def _decode_reduced(data: bytes, mode: str, width: int, height: int, long_side: int) -> np.ndarray | None:
    """The pixels Pillow's `draft` + `load` give for a grey or YCbCr/RGB JPEG, decoded by OpenCV.

    Both use libjpeg's scaled inverse DCT at the scale `draft` picks, so the pixels are the same;
    OpenCV decodes in one call, without Pillow's chunked feeding and copies. None when the stream
    is not one OpenCV should read here (other modes, no reduction, no end marker: libjpeg would
    pad a cut-short stream with grey where Pillow reports it), or when OpenCV fails.
    """
    draft_w, draft_h = _draft_size(width, height, long_side)
    ratio = min(width // draft_w, height // draft_h)
    scale = next(s for s in (8, 4, 2, 1) if ratio >= s)
    flag = _REDUCED_READ.get((mode, scale))
    if flag is None or not data.rstrip(b"\x00\r\n ").endswith(b"\xff\xd9"):
        return None
    pixels = cv2.imdecode(np.frombuffer(data, np.uint8), flag | cv2.IMREAD_IGNORE_ORIENTATION)
    expected = (-(-height // scale), -(-width // scale))
    if pixels is None or pixels.shape[:2] != expected:
        return None
    if mode == "RGB":
        return cv2.cvtColor(pixels, cv2.COLOR_BGR2RGB) if pixels.ndim == 3 else None
    return pixels if pixels.ndim == 2 else None


def decode_jpeg(
    source: str | Path | bytes | IO[bytes], long_side: int, exif_transpose: bool = True
) -> Raster:
    """Decode a JPEG at the smallest DCT scale not below the analysis size, honouring EXIF orientation."""
    if isinstance(source, (str, Path)):
        data = Path(source).read_bytes()
    elif isinstance(source, bytes):
        data = source
    else:
        data = source.read()
    with Image.open(io.BytesIO(data)) as image:
        return decode_opened_jpeg(image, data, long_side, exif_transpose)


def decode_opened_jpeg(
    image: ImageFile.ImageFile, data: bytes, long_side: int, exif_transpose: bool = True
) -> Raster:
    """`decode_jpeg` for a JPEG already opened by Pillow from `data` (its headers read once)."""
    mode = image.mode
    orientation = image.getexif().get(0x0112, 1) if exif_transpose else 1
    colour = mode not in ("L", "1", "I", "I;16")
    width, height = image.size
    pixels: np.ndarray | None = None
    if max(width, height) > long_side:
        if image.format == "JPEG" and len(image.tile) == 1:
            pixels = _decode_reduced(data, mode, width, height, long_side)
        if pixels is None:
            image.draft("RGB" if colour else "L", _draft_size(width, height, long_side))
    if pixels is None:
        image.load()
        pixels, _ = pil_to_array(image)
    raster = Raster.from_array(pixels, mode, (width, height), long_side)
    return orient(raster, orientation)


def orient(raster: Raster, orientation: int) -> Raster:
    """Apply an EXIF orientation (1–8) to a raster, as a viewer shows the image."""
    if orientation in (2, 4, 5, 7):
        raster = raster.mirrored()
    turns = {3: 2, 4: 2, 5: 1, 6: 3, 7: 3, 8: 1}.get(orientation, 0)
    return raster.rotated(turns)


def from_pil(image: Image.Image, long_side: int) -> Raster:
    """A raster from an already opened Pillow image (DOCX pictures), honouring EXIF orientation."""
    orientation = image.getexif().get(0x0112, 1)
    width, height = image.size
    if image.format == "JPEG" and max(width, height) > long_side:
        image.draft("RGB" if image.mode not in ("L", "1") else "L", _draft_size(width, height, long_side))
    elif max(width, height) > 2 * long_side:
        image = image.copy() if image.format is None else image
        image.thumbnail((2 * long_side, 2 * long_side), Image.Resampling.BOX)
    pixels, mode = pil_to_array(image)
    return orient(Raster.from_array(pixels, mode, (width, height), long_side), orientation)
