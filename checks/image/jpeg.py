"""JPEG files: the image decodes completely (a truncated upload is caught here)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from ..findings import Issues


def open_jpeg(path: Path, issues: Issues) -> Image.Image | None:
    """Decode the whole file at reduced scale (DCT scaling), which still reads every byte."""
    try:
        image = Image.open(path)
        image.draft("L", (max(1, image.width // 8), max(1, image.height // 8)))
        image.load()
    except Image.DecompressionBombError as exc:
        # Pillow's guard refuses images above twice MAX_IMAGE_PIXELS before decoding them;
        # the figure shown is what such an image needs decoded in colour (3 bytes a pixel).
        limit = 2 * (Image.MAX_IMAGE_PIXELS or 0) * 3 / 1_048_576
        issues.add("file.check_memory", observed=str(exc)[:200], limit_mb=f"{limit:.0f}")
        return None
    except (OSError, SyntaxError, ValueError) as exc:
        reason = "@ui:bad_image_cut" if "truncated" in str(exc) else "@ui:bad_image"
        issues.add("file.corrupt", observed=str(exc)[:300], format="JPEG", reason=reason)
        return None
    return image
