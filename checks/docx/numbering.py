"""Word list numbering: the label ("1.", "2)", "а)", "•") Word shows before each list paragraph.

Read from the numbering part the style sheet holds (one parse for the text checks and the
outline), in the document's own namespace (Transitional or Strict OOXML). Labels are counted in
document order: `label` must be called for the list paragraphs as they come.
"""

from __future__ import annotations

import re
from typing import Any

from .styles import Tags

_ROMAN = (
    (1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
    (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"),
)  # fmt: skip
_RU_LETTERS = "абвгдежзиклмнопрстуфхцчшщэюя"
_LEVEL_REF = re.compile(r"%([1-9])")


def format_number(n: int, fmt: str) -> str:
    """A list counter in one of Word's number formats (`w:numFmt`)."""
    if fmt in ("lowerLetter", "upperLetter"):
        s = chr(ord("a") + (n - 1) % 26) * ((n - 1) // 26 + 1)
        return s.upper() if fmt == "upperLetter" else s
    if fmt in ("lowerRoman", "upperRoman"):
        out = ""
        for value, sym in _ROMAN:
            while n >= value:
                out += sym
                n -= value
        return out.upper() if fmt == "upperRoman" else out
    if fmt in ("russianLower", "russianUpper"):
        s = _RU_LETTERS[(n - 1) % len(_RU_LETTERS)]
        return s.upper() if fmt == "russianUpper" else s
    if fmt == "decimalZero":
        return f"{n:02d}"
    return str(n)


Level = tuple[str, str, int]  # number format, label text ("%1."), start


class ListLabels:
    """Computes the label of each list paragraph, counting per list (`w:num`) and level."""

    def __init__(self, root: Any, t: Tags) -> None:
        """`root`: the numbering part's XML (None: the document has no lists)."""
        self.levels: dict[str, dict[int, Level]] = {}
        self.counters: dict[str, list[int]] = {}
        if root is None:
            return
        abstract: dict[str, dict[int, Level]] = {}
        for an in root.iterfind(t.abstractNum):
            levels: dict[int, Level] = {}
            for lvl in an.iterfind(t.lvl):
                ilvl = int(lvl.get(t.ilvl, "0") or 0)
                fmt = _val(lvl.find(t.numFmt), t) or "decimal"
                text = _val(lvl.find(t.lvlText), t) or ""
                start = int(_val(lvl.find(t.start), t) or 1)
                levels[ilvl] = (fmt, text, start)
            abstract[an.get(t.abstractNumId, "")] = levels
        for num in root.iterfind(t.num):
            ref = _val(num.find(t.abstractNumId), t)
            levels = dict(abstract.get(ref or "", {}))
            for override in num.iterfind(t.lvlOverride):
                ilvl = int(override.get(t.ilvl, "0") or 0)
                restart = _val(override.find(t.startOverride), t)
                if restart is not None and ilvl in levels:
                    fmt, text, _ = levels[ilvl]
                    levels[ilvl] = (fmt, text, int(restart))
            self.levels[num.get(t.numId, "")] = levels

    def label(self, num_id: str, ilvl: int) -> str:
        levels = self.levels.get(num_id)
        if not levels or ilvl not in levels:
            return ""
        counters = self.counters.setdefault(num_id, [0] * 9)
        ilvl = min(ilvl, 8)
        for k in range(9):
            if k < ilvl and counters[k] == 0 and k in levels:
                counters[k] = levels[k][2]
        counters[ilvl] = counters[ilvl] + 1 if counters[ilvl] else levels[ilvl][2]
        for k in range(ilvl + 1, 9):
            counters[k] = 0
        fmt, text, _ = levels[ilvl]
        if fmt == "bullet":
            return "•"
        if fmt == "none":
            return ""

        def sub(m: re.Match[str]) -> str:
            k = int(m.group(1)) - 1
            lvl_fmt = levels.get(k, ("decimal", "", 1))[0]
            return format_number(max(counters[k], 1), lvl_fmt)

        return _LEVEL_REF.sub(sub, text)


def _val(el: Any, t: Tags) -> str | None:
    return None if el is None else el.get(t.val)
