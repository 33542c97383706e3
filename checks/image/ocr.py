"""Optional text recognition of a scan page with the Tesseract binary (policy `[ocr]`).

The page is judged by the number of words recognised and by a low percentile of the word
confidences (`ocr.low_percentile`), never by the mean alone: a page where a few headings are read
well and the body is guessed has a fine mean and a poor low percentile.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache

import numpy as np
from PIL import Image

from ...core.policy import Ocr, Policy


@dataclass
class OcrResult:
    words: int
    low_confidence: float | None  # the policy's low percentile of word confidences, 0–100
    mean_confidence: float | None

    def as_dict(self) -> dict[str, object]:
        return {
            "run": True,
            "words": self.words,
            "low_confidence": None if self.low_confidence is None else round(self.low_confidence, 1),
            "mean_confidence": None if self.mean_confidence is None else round(self.mean_confidence, 1),
        }


def tesseract_path() -> str | None:
    return shutil.which("tesseract")


def installed_languages(binary: str) -> frozenset[str]:
    """The language data Tesseract finds (`--list-langs`), under the current TESSDATA_PREFIX."""
    return _languages(binary, os.environ.get("TESSDATA_PREFIX"))


@cache
def _languages(binary: str, tessdata: str | None) -> frozenset[str]:
    try:
        out = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return frozenset()
    # The first line is a heading ("List of available languages in ..."): it has spaces.
    return frozenset(ln.strip() for ln in (out.stdout + out.stderr).splitlines() if ln.strip() and " " not in ln)


def ocr_unavailable_reason(policy: Policy, use: str = "title") -> str | None:
    """Why text recognition of scans cannot run under `policy`, or None when it can.

    `use` is "title" (the title of a scanned document, `[filing]`: it runs with the policy's
    languages that are installed) or "legibility" (scan pages, `[ocr]`: Tesseract needs every
    language named). The cause is "off" (the policy turns it off), "no_tesseract" (the binary
    is not on PATH) or "no_language" (its language data is missing).
    """
    if use == "legibility":
        if not policy.ocr.enabled:
            return "off"
        wanted = [lang for lang in policy.ocr.languages.split("+") if lang]
    else:
        if policy.filing.ocr_timeout_seconds <= 0:
            return "off"
        wanted = list(policy.filing.ocr_languages)
    binary = tesseract_path()
    if binary is None:
        return "no_tesseract"
    installed = installed_languages(binary)
    found = [lang for lang in wanted if lang in installed]
    enough = len(found) == len(wanted) if use == "legibility" else bool(found) or not wanted
    return None if enough else "no_language"


def parse_tsv(text: str, policy: Ocr) -> OcrResult:
    confidences: list[float] = []
    for row in csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE):
        word = (row.get("text") or "").strip()
        try:
            conf = float(row.get("conf") or -1)
        except ValueError:
            continue
        if row.get("level") == "5" and conf >= 0 and any(ch.isalnum() for ch in word):
            confidences.append(conf)
    if not confidences:
        return OcrResult(0, None, None)
    values = np.array(confidences)
    return OcrResult(len(values), float(np.percentile(values, policy.low_percentile)), float(values.mean()))


def recognise(image: Image.Image, policy: Ocr, binary: str) -> OcrResult:
    """Run Tesseract on the policy's band of a page image (PNG through a pipe, TSV back).

    Raises on failure or timeout. One thread: the sandbox runs several files side by side.
    """
    top, bottom = (*policy.page_band, 1.0)[:2] if len(policy.page_band) >= 2 else (0.0, 1.0)
    if 0.0 <= top < bottom <= 1.0 and (top, bottom) != (0.0, 1.0):
        image = image.crop((0, round(image.height * top), image.width, round(image.height * bottom)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    completed = subprocess.run(
        [binary, "stdin", "stdout", "-l", policy.languages, "--psm", "3", "tsv"],
        input=buffer.getvalue(),
        capture_output=True,
        timeout=policy.timeout_seconds,
        check=True,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},
    )
    return parse_tsv(completed.stdout.decode("utf-8", "replace"), policy)
