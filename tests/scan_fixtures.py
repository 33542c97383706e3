"""Generated scan fixtures for the scan tests: made once per generator version under fixtures/generated/.

Text pages come from `fixtures/generate_scans.py`; photographs (continuous-tone pictures that
are no document page: landscapes, still lifes, portraits, a shop sign) are synthesised here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from functools import cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
GENERATOR = ROOT / "fixtures" / "generate_scans.py"
OUT = ROOT / "fixtures" / "generated" / "scans"


@cache
def generated() -> Path:
    """The generated scan fixtures (regenerated when the generator changes)."""
    stamp = OUT / ".stamp"
    digest = hashlib.sha256(GENERATOR.read_bytes()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == digest):
        spec = importlib.util.spec_from_file_location("generate_scans", GENERATOR)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
        module.generate(OUT, "tests")
        stamp.write_text(digest)
    return OUT


# --- photographs: continuous-tone pictures that are not document pages -------------------------
PHOTOS = ROOT / "fixtures" / "generated" / "photos"
PHOTO_SIZES = {"camera": (2400, 1800), "phone": (1512, 2016), "small": (640, 480)}
# Scenes are drawn at this long side at most and scaled up: full-size drawing costs minutes.
_SCENE_LONG_SIDE = 1000


def _smooth_field(rng: np.random.Generator, size: tuple[int, int], scales: tuple[int, ...]) -> np.ndarray:
    """Noise summed over several scales with falling weight (about 1/f, as natural scenes are), 0–1."""
    width, height = size
    field = np.zeros((height, width), np.float32)
    for i, scale in enumerate(scales):
        small = rng.standard_normal((max(2, height // scale), max(2, width // scale))).astype(np.float32)
        field += cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC) / (i + 1)
    field -= field.min()
    return field / max(float(field.max()), 1e-6)


def _landscape(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """Sky graded to the horizon, a sun, hills with grass texture, a lake reflecting the sky."""
    width, height = size
    y = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    x = np.linspace(0, 1, width, dtype=np.float32)[None, :]
    sky = np.stack([80 + 120 * y + 0 * x, 130 + 90 * y + 0 * x, 220 + 20 * y + 0 * x], axis=-1)
    clouds = _smooth_field(rng, size, (width // 6, width // 12, width // 30))[..., None]
    sky = sky * (1 - 0.35 * clouds) + 250 * 0.35 * clouds
    horizon = 0.45 + 0.08 * np.sin(x * 7 + rng.uniform(0, 6)) + 0.05 * np.sin(x * 19 + rng.uniform(0, 6))
    ground_mask = (y > horizon).astype(np.float32)[..., None]
    grass = _smooth_field(rng, size, (width // 8, width // 40, 6, 2))[..., None]
    shade = (y - horizon).clip(0, 1)[..., None]
    ground = np.concatenate(
        [40 + 90 * grass + 60 * shade, 90 + 100 * grass + 20 * shade, 30 + 50 * grass], axis=-1
    )
    image = sky * (1 - ground_mask) + ground * ground_mask
    sun = np.zeros((height, width), np.float32)
    cv2.circle(sun, (int(width * rng.uniform(0.2, 0.8)), int(height * 0.2)), max(4, width // 25), 1.0, -1)
    sun = cv2.GaussianBlur(sun, (0, 0), max(1.0, width / 200))[..., None]
    image = image * (1 - sun) + np.array([255, 245, 210], np.float32) * sun
    lake = np.zeros((height, width), np.uint8)
    cv2.ellipse(lake, (width // 2, int(height * 0.82)), (width // 4, height // 14), 0, 0, 360, 1, -1)
    lake_f = cv2.GaussianBlur(lake.astype(np.float32), (0, 0), max(1.0, width / 400))[..., None]
    return image * (1 - lake_f) + np.flipud(sky) * 0.8 * lake_f


def _still_life(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A table top with shaded objects (a car-like box, balls, a bottle) under soft light."""
    width, height = size
    base = rng.uniform(60, 200, 3).astype(np.float32)
    wall = _smooth_field(rng, size, (width // 3, width // 10))[..., None] * 60 + base * 0.6
    image = np.ascontiguousarray(wall)
    light = np.linspace(1.2, 0.6, width, dtype=np.float32)[None, :, None]
    for _ in range(int(rng.integers(4, 9))):
        colour = rng.uniform(20, 240, 3)
        centre = (int(rng.uniform(0.1, 0.9) * width), int(rng.uniform(0.2, 0.9) * height))
        axes = (int(rng.uniform(0.05, 0.2) * width), int(rng.uniform(0.05, 0.2) * height))
        mask = np.zeros((height, width), np.uint8)
        if rng.random() < 0.5:
            cv2.ellipse(mask, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
        else:
            x0, y0 = centre[0] - axes[0], centre[1] - axes[1]
            cv2.rectangle(mask, (x0, y0), (x0 + 2 * axes[0], y0 + 2 * axes[1]), 1, -1)
        dist = cv2.distanceTransform(mask, cv2.DIST_L2, 5)
        shading = (dist / max(float(dist.max()), 1.0)) ** 0.5
        obj = colour * (0.45 + 0.55 * shading[..., None])
        soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), max(1.0, width / 800))[..., None]
        image = image * (1 - soft) + obj * soft
    return image * light


def _portrait(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A face-like oval with skin shading and hair before a blurred background (shallow focus)."""
    width, height = size
    background = _smooth_field(rng, size, (width // 4, width // 12))[..., None] * rng.uniform(60, 180, 3)
    image = cv2.GaussianBlur(background.astype(np.float32), (0, 0), width / 150)
    skin = np.array([225, 180, 150], np.float32) * rng.uniform(0.6, 1.05)
    face = np.zeros((height, width), np.uint8)
    cv2.ellipse(face, (width // 2, height // 2), (width // 6, height // 4), 0, 0, 360, 1, -1)
    dist = cv2.distanceTransform(face, cv2.DIST_L2, 5)
    shade = (dist / max(float(dist.max()), 1.0)) ** 0.4
    soft = cv2.GaussianBlur(face.astype(np.float32), (0, 0), max(1.0, width / 500))[..., None]
    image = image * (1 - soft) + skin * (0.55 + 0.45 * shade[..., None]) * soft
    hair = np.zeros((height, width), np.uint8)
    cv2.ellipse(hair, (width // 2, height // 2 - height // 6), (width // 5, height // 8), 0, 180, 360, 1, -1)
    texture = _smooth_field(rng, size, (4, 2))[..., None]
    hair_f = hair.astype(np.float32)[..., None]
    image = image * (1 - hair_f) + (30 + 50 * texture) * hair_f
    for dx in (-1, 1):  # eyes
        cv2.circle(
            image,
            (width // 2 + dx * width // 14, height // 2 - height // 20),
            max(2, width // 80),
            (40, 30, 25),
            -1,
        )
    return image


def _sign(rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """A building front under a sky with a few big letters on it (a photo that shows some text)."""
    image = _still_life(rng, size)
    width, height = size
    letters = np.zeros((height, width), np.uint8)
    cv2.putText(
        letters,
        "CAFE 24",
        (width // 6, height // 2),
        cv2.FONT_HERSHEY_DUPLEX,
        width / 300,
        255,
        max(2, width // 150),
        cv2.LINE_AA,
    )
    alpha = (letters.astype(np.float32) / 255)[..., None]
    return image * (1 - alpha) + np.array([150, 30, 30], np.float32) * alpha


PHOTO_SCENES = {"landscape": _landscape, "still_life": _still_life, "portrait": _portrait, "sign": _sign}


def photograph(scene: str, size: tuple[int, int], seed: int, grey: bool = False) -> Image.Image:
    """A synthetic continuous-tone photograph: the scene, lens blur, sensor noise, RGB or grey."""
    rng = np.random.default_rng(seed)
    factor = min(1.0, _SCENE_LONG_SIDE / max(size))
    drawn = (round(size[0] * factor), round(size[1] * factor))
    image = PHOTO_SCENES[scene](rng, drawn).astype(np.float32)
    if drawn != size:
        image = cv2.resize(image, size, interpolation=cv2.INTER_CUBIC)
    image = cv2.GaussianBlur(image, (0, 0), 0.8)
    image += rng.normal(0, 3.0, image.shape).astype(np.float32)
    pixels = np.clip(image, 0, 255).astype(np.uint8)
    picture = Image.fromarray(pixels, "RGB")
    return picture.convert("L") if grey else picture


@cache
def photographs() -> Path:
    """The synthetic photographs as JPEG files (camera dpi tags of 72 or 300 or none) and image PDFs."""
    source = Path(__file__).read_bytes()
    stamp = PHOTOS / ".stamp"
    digest = hashlib.sha256(source).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return PHOTOS
    PHOTOS.mkdir(parents=True, exist_ok=True)
    for old in PHOTOS.iterdir():
        old.unlink()
    seed = 0
    for scene in PHOTO_SCENES:
        for kind, size in PHOTO_SIZES.items():
            for grey in (False, True):
                seed += 1
                picture = photograph(scene, size, seed, grey)
                name = f"{scene}_{kind}_{'grey' if grey else 'colour'}"
                dpi = {"camera": (72, 72), "phone": (300, 300)}.get(kind)
                extra = {"dpi": dpi} if dpi else {}
                picture.save(PHOTOS / f"{name}.jpg", quality=int(85 - 10 * (seed % 3)), **extra)
                if kind == "small":
                    picture.save(PHOTOS / f"{name}.pdf", resolution=96.0)
    stamp.write_text(digest)
    return PHOTOS
