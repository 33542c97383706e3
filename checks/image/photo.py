"""Is a page image a photograph (a scene, a person, an object) rather than a document page?

A document page, however it was scanned or photographed, is mostly paper: the local background
(the page lightened by a 15-pixel maximum filter, which lifts strokes of text to the paper around
them) sits at one level over most of the page. Blur, low contrast, a dark or tinted sheet, noise
and skew all keep that: on every generated and corpus text page the commonest background level
(±12 grey levels) covers at least 92 % of the page. A photograph is continuous tone: sky, skin,
walls and grass each have their own level, and the commonest covers at most 56 % (corpus and
generated photographs alike). `paper_share` below 0.6 makes a page a photograph candidate.

A candidate is still a document when its paper part carries text: a printed page with a large
picture on it has a few hundred to thousands of text-size marks on the paper around the picture,
while the smoothest region of a photograph (sky, a wall) has tens, textured scenes a few hundred.
At least `_TEXT_MARKS` marks on the paper part keep the page a document. Measured figures and
the thresholds are in docs/scans.md ("Photographs").
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .legibility import PAPER_BAND, Measures, background_and_darkening, ink_mask, marks_of

# Below this share of paper a page is a photograph candidate (documents ≥ 0.92, photographs ≤ 0.57).
MAX_PAPER_SHARE = 0.6
# Text-size marks on the paper part that make a candidate a document page with a picture on it
# (pages with a photograph over 60 % of them: 1,100; photographs: at most 340).
_TEXT_MARKS = 600


@dataclass
class PhotoVerdict:
    photograph: bool
    paper_share: float
    paper_marks: int | None  # text-size marks on the paper part, counted for candidates only

    def as_dict(self) -> dict[str, object]:
        return {
            "photograph": self.photograph,
            "paper_share": round(self.paper_share, 3),
            "paper_marks": self.paper_marks,
        }


def judge(grey: np.ndarray, measures: Measures) -> PhotoVerdict:
    """Photograph or document page, from the analysis raster's grey pixels and its measures."""
    share = measures.paper_share
    if share >= MAX_PAPER_SHARE:
        return PhotoVerdict(False, share, None)
    # Only candidates pay for this second look (a few ms): document pages stop above.
    _, background, darkening = background_and_darkening(grey)
    level = measures.paper_level
    low, high = max(0, level - PAPER_BAND), min(255, level + PAPER_BAND)
    paper = cv2.inRange(background, low, high) > 0
    marks = marks_of(ink_mask(darkening, measures) & paper)
    return PhotoVerdict(marks < _TEXT_MARKS, share, marks)
