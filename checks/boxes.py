"""Text rectangles merged into lines, for the `location.boxes` of a finding.

Both the PDF text layer (the glyph runs a check judged) and the evidence located on a drawn page
(PDFium's character rectangles of a quoted excerpt) mark text line by line: a rectangle joins the
line whose vertical extent holds its middle.
"""

from __future__ import annotations

from collections.abc import Iterable

Rect = tuple[float, float, float, float]


def merge_into_lines(rects: Iterable[Rect]) -> list[list[float]]:
    """Rectangles (left, bottom, right, top; y up) merged into one per line, in the order each
    line was first met: [left, bottom, right, top]."""
    lines: list[list[float]] = []
    for left, bottom, right, top in rects:
        middle = (bottom + top) / 2
        for line in lines:
            if line[1] <= middle <= line[3]:
                line[0], line[1] = min(line[0], left), min(line[1], bottom)
                line[2], line[3] = max(line[2], right), max(line[3], top)
                break
        else:
            lines.append([left, bottom, right, top])
    return lines
