"""Text recognition with the Tesseract binary, for every check that reads a picture (policy `[ocr]`).

Two uses, one integration (the binary found once, run on one core, PNG in through a pipe):

- the scan check (`recognise`): a band of each of the first scan pages; the page is judged by the
  number of words recognised and by a low percentile of the word confidences
  (`ocr.low_percentile`), never by the mean alone: a page where a few headings are read well and
  the body is guessed has a fine mean and a poor low percentile;
- the title of a scan for the filing checks (`read_top_lines`): the lines of the top of its first
  page (`ocr.title_timeout_seconds`, `ocr.title_languages`).
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


# The title is read from this top share of the first page, brought to this width.
TITLE_TOP_SHARE = 0.22
TITLE_WIDTH = 800


@dataclass(frozen=True)
class Tesseract:
    binary: str
    languages: tuple[str, ...]  # the installed language models


def tesseract_path() -> str | None:
    return shutil.which("tesseract")


@cache
def tesseract() -> Tesseract | None:
    """The installed binary and its languages, asked once a process; None when it is missing or
    does not answer."""
    binary = tesseract_path()
    if binary is None:
        return None
    try:
        out = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    langs = tuple(ln.strip() for ln in (out.stdout + out.stderr).splitlines() if ln.strip() and " " not in ln)
    return Tesseract(binary, langs)


def _run(binary: str, image: Image.Image, args: list[str], timeout: float, check: bool) -> bytes:
    """Tesseract on one image (PNG through a pipe), its stdout. One thread: the sandbox runs
    several files side by side."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    completed = subprocess.run(
        [binary, "stdin", "stdout", *args],
        input=buffer.getvalue(),
        capture_output=True,
        timeout=timeout,
        check=check,
        env={**os.environ, "OMP_THREAD_LIMIT": "1"},
    )
    return completed.stdout


def read_top_lines(image: Image.Image, policy: Ocr, found: Tesseract) -> list[str]:
    """The lines Tesseract reads in the top of a page image (its title, for the filing checks);
    [] when it fails or runs out of time. Only the policy's languages that are installed are
    used (English when none is)."""
    langs = [lang for lang in policy.title_languages if lang in found.languages] or ["eng"]
    from PIL import ImageOps

    top = image.crop((0, 0, image.width, max(1, int(image.height * TITLE_TOP_SHARE))))
    top = ImageOps.grayscale(top)
    if top.width > TITLE_WIDTH:
        top = top.resize((TITLE_WIDTH, max(1, int(top.height * TITLE_WIDTH / top.width))))
    try:
        out = _run(found.binary, top, ["-l", "+".join(langs), "--psm", "4"], policy.title_timeout_seconds, False)
    except (OSError, subprocess.SubprocessError):
        return []
    return out.decode("utf-8", "replace").splitlines()


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

    `use` is "title" (the title of a scanned document, `[ocr] title_*`: it runs with the policy's
    languages that are installed) or "legibility" (scan pages, `[ocr]`: Tesseract needs every
    language named). The cause is "off" (the policy turns it off), "no_tesseract" (the binary
    is not on PATH) or "no_language" (its language data is missing).
    """
    if use == "legibility":
        if not policy.ocr.enabled:
            return "off"
        wanted = [lang for lang in policy.ocr.languages.split("+") if lang]
    else:
        if policy.ocr.title_timeout_seconds <= 0:
            return "off"
        wanted = list(policy.ocr.title_languages)
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
    out = _run(binary, image, ["-l", policy.languages, "--psm", "3", "tsv"], policy.timeout_seconds, True)
    return parse_tsv(out.decode("utf-8", "replace"), policy)
