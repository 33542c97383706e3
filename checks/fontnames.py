"""Font names → the policy's verdict on them: the required family, a metric clone, or another font.

Documents name fonts in many spellings ("Times New Roman", "TimesNewRomanPS-BoldMT",
"Times New Roman Cyr"). Names are compared after normalisation (case, spaces, hyphens,
underscores and commas removed, style suffixes such as Bold/Italic dropped) against the
policy's `fonts.aliases` (the required family) and `fonts.clones` (metric-compatible
substitutes such as Liberation Serif).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from ..core.policy import Fonts

Verdict = Literal["ok", "clone", "other"]

_SEPARATORS = re.compile(r"[\s\-_,]+")
_SUBSET = re.compile(r"^[A-Z]{6}\+")
_STYLE_TAIL = re.compile(
    r"(?:bolditalic|boldoblique|semibold|bold|italic|oblique|regular|medium)+(psmt|mt)?$"
)


def normalise(name: str) -> str:
    """`TimesNewRomanPS-BoldMT` → `timesnewromanpsmt`; `ABCDEF+` subset prefixes dropped."""
    key = _SEPARATORS.sub("", _SUBSET.sub("", name.strip())).lower()
    stripped = _STYLE_TAIL.sub(lambda m: m.group(1) or "", key)
    return stripped or key


@dataclass(frozen=True)
class FontJudge:
    """Classifies font names against one policy's `[fonts]` section."""

    family: str
    aliases: frozenset[str]
    clones: frozenset[str]

    @classmethod
    def from_policy(cls, fonts: Fonts) -> FontJudge:
        return _judge(fonts.family, tuple(fonts.aliases), tuple(fonts.clones))

    def verdict(self, name: str) -> Verdict:
        key = normalise(name)
        if key in self.aliases:
            return "ok"
        if key in self.clones:
            return "clone"
        return "other"

    def family_of(self, name: str) -> str:
        """The family name to show: the policy's family for any alias, else the name as written."""
        return self.family if self.verdict(name) == "ok" else name.strip()


@lru_cache(maxsize=16)
def _judge(family: str, aliases: tuple[str, ...], clones: tuple[str, ...]) -> FontJudge:
    return FontJudge(
        family=family,
        aliases=frozenset(normalise(a) for a in (family, *aliases)),
        clones=frozenset(normalise(c) for c in clones),
    )
