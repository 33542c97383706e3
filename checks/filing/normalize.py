"""Comparable tokens for document titles and file names written in Kazakh, Russian or English.

A title or a file name becomes a list of weighted tokens: the text is lower-cased (ё → е),
abbreviations are expanded (дов-ть → доверенность), page and copy counts ("на 3 л.",
"3 парақта", "в 2 экз.") and noise words (копия, көшірме, scan …) are dropped, every word is
reduced to a Latin phonetic skeleton (so «Доверенность», «Doverennost» and «doverennost'»
agree, and so do Kazakh letters and their Latin spellings: қ/q/k, ң/ng/n, ұ/ү/u …) and to a
crude stem (so «решение» and «решения», «анықтама» and «анықтамасы» agree). Phrases naming a
document type in any of the three languages (доверенность, сенімхат, power of attorney) become
one concept token, so a Russian entry matches a Kazakh file name. `similarity` compares two
token lists with a soft Dice score in [0, 1].
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

# (key, weight, concepts): concepts is non-empty for a document-type token.
Token = tuple[str, float, frozenset[str]]


class Tokens(tuple[Token, ...]):
    """The tokens of one text, with their total weight and document types computed once."""

    weight: float
    types: frozenset[str]

    def __new__(cls, items: Iterable[Token]) -> Tokens:
        self = super().__new__(cls, items)
        self.weight = sum(t[1] for t in self)
        self.types = frozenset().union(*(t[2] for t in self))
        return self

    def __getitem__(self, index: Any) -> Any:
        item = super().__getitem__(index)
        return Tokens(item) if isinstance(index, slice) else item


CONCEPT_WEIGHT = 2.0
WORD_WEIGHT = 1.0
NUMBER_WEIGHT = 0.3
_MIN_STEM = 3

_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r",
    "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "c", "ч": "ch", "ш": "sh", "щ": "sh",
    "ъ": "", "ы": "i", "ь": "", "э": "e", "ю": "u", "я": "a",
    "ә": "a", "ғ": "g", "қ": "k", "ң": "n", "ө": "o", "ұ": "u", "ү": "u", "һ": "h", "і": "i",
    "є": "e", "ї": "i", "ў": "u",
}  # fmt: skip
# Latin letters that NFKD does not decompose, and Kazakh Latin (2021) spellings.
_LATIN_SPECIAL = {"ı": "i", "ş": "sh", "ç": "ch", "ß": "ss", "ø": "o", "æ": "ae", "œ": "oe", "'": ""}
# Applied in order to the Latin form: transliteration variants collapse to one spelling.
_REDUCTIONS = (
    ("shch", "sh"), ("sch", "sh"), ("zh", "z"), ("kh", "h"), ("x", "h"), ("tsh", "c"), ("ts", "c"),
    ("tch", "c"), ("ch", "c"), ("yu", "u"), ("ju", "u"), ("iu", "u"), ("ya", "a"), ("ja", "a"),
    ("ia", "a"), ("yo", "o"), ("jo", "o"), ("ye", "e"), ("je", "e"), ("ng", "n"), ("ph", "f"),
    ("y", "i"), ("j", "i"), ("w", "v"), ("q", "k"), ("gh", "g"),
)  # fmt: skip
_DOUBLE = re.compile(r"(.)\1+")
# Inflection endings on the Latin skeleton, stripped once (longest first) while the stem keeps
# at least _MIN_STEM letters: Russian case endings and vowels, the English plural. Kazakh
# suffixes chain (анықтама-сы, сенімхат-тың), so words are also `compatible` when one is the
# other plus a short suffix.
_ENDINGS = tuple(
    sorted(
        {"ami", "ogo", "ego", "omu", "emu", "oi", "ei", "ii", "ie", "om", "em", "ah", "ih", "ov", "ev",
         "a", "e", "i", "u", "o", "s"},
        key=len,
        reverse=True,
    )
)  # fmt: skip

_WORDS = re.compile(r"[^\W_]+", re.UNICODE)
_LETTER_DIGIT = re.compile(r"(?<=\D)(?=\d)|(?<=\d)(?=\D)")
_CAMEL = re.compile(r"(?<=[a-zа-яёәғқңөұүһі])(?=[A-ZА-ЯЁӘҒҚҢӨҰҮҺІ])")

# Page and copy counts inside a title: "на 3 л.", "на 3-х листах", "(3 л.)", "3 парақта",
# "3 бет", "on 3 pages", "в 2 экз.", "2 данада".
PAGES_PATTERN = re.compile(
    r"(?:\(\s*)?(?:\bна\s+|\bon\s+)?(?P<n>\d{1,4})\s*(?:-?\s*(?:х|ти|ми|и))?\s*"
    r"(?P<unit>листах|листа|лист(?:ов)?|л\b\.?|парақта|парақтан|парақ(?:қа)?|п\.|беттен|бетте|бет\b|"
    r"pages|page|pp\b\.?|p\b\.?|sheets?)\s*\)?",
    re.IGNORECASE,
)
COPIES_PATTERN = re.compile(
    r"(?:\bв\s+)?\d{1,3}\s*(?:-?\s*(?:х|ти|ми))?\s*(?:экз\b\.?|экземпляр\w*|данада|дана\b|copies|copy\b)",
    re.IGNORECASE,
)

STOP_WORDS = frozenset(
    [
        "о",
        "об",
        "от",
        "на",
        "в",
        "во",
        "по",
        "с",
        "со",
        "к",
        "ко",
        "и",
        "или",
        "для",
        "из",
        "за",
        "у",
        "при",
        "до",
        "без",
        "а",
        "также",
        "его",
        "ее",
        "её",
        "их",
        "туралы",
        "бойынша",
        "және",
        "мен",
        "бен",
        "пен",
        "үшін",
        "немесе",
        "жөнінде",
        "қатысты",
        "of",
        "the",
        "for",
        "on",
        "and",
        "or",
        "a",
        "an",
        "to",
        "from",
        "in",
        "by",
        "with",
        "at",
        "as",
        "no",
        "nr",
    ]
)


def _fold_latin(text: str) -> str:
    out = []
    for ch in text:
        if ch in _CYRILLIC:
            out.append(_CYRILLIC[ch])
        elif ch in _LATIN_SPECIAL:
            out.append(_LATIN_SPECIAL[ch])
        elif ch.isascii():
            out.append(ch)
        else:
            base = unicodedata.normalize("NFKD", ch)
            out.append("".join(c for c in base if not unicodedata.combining(c)))
    return "".join(out)


@lru_cache(maxsize=8192)
def skeleton(word: str) -> str:
    """A lower-case word → its Latin phonetic skeleton (transliteration variants collapsed)."""
    latin = _DOUBLE.sub(r"\1", _fold_latin(word.lower()))
    for a, b in _REDUCTIONS:
        if a in latin:
            latin = latin.replace(a, b)
    return _DOUBLE.sub(r"\1", latin)


_ENDING_SET = frozenset(_ENDINGS)
_ENDING_LENGTHS = tuple(sorted({len(e) for e in _ENDINGS}, reverse=True))


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """The skeleton of a word with one inflection ending (the longest that fits) removed."""
    s = skeleton(word)
    for n in _ENDING_LENGTHS:
        if len(s) - n >= _MIN_STEM and s[-n:] in _ENDING_SET:
            return s[:-n]
    return s


def compatible(a: str, b: str) -> bool:
    """The same word in another form: equal, one the other plus a short suffix, or differing
    only in the last letter of the shorter (Kazakh к/г, қ/ғ, п/б before a suffix)."""
    if a == b:
        return True
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if len(short) < 3 or short.isdigit() or long.isdigit():
        return False
    extra = len(long) - len(short)
    if long.startswith(short):
        return extra <= (4 if len(short) >= 4 else 1)
    return len(short) >= 5 and extra <= 4 and long[: len(short) - 1] == short[:-1]


def split_words(text: str, *, camel: bool = False) -> list[str]:
    """Lower-case words and numbers of a text (underscores and punctuation separate them)."""
    if camel:
        text = _CAMEL.sub(" ", text)
    text = unicodedata.normalize("NFC", text).lower().replace("ё", "е")
    words: list[str] = []
    for w in _WORDS.findall(text):
        words.extend(p for p in _LETTER_DIGIT.split(w) if p)
    return words


_DIGIT = re.compile(r"\d")


def strip_counts(text: str) -> str:
    """Remove page and copy counts ("на 3 л.", "3 парақта", "в 2 экз.") from a title."""
    if not _DIGIT.search(text):
        return text
    return COPIES_PATTERN.sub(" ", PAGES_PATTERN.sub(" ", text))


@dataclass
class Lexicon:
    """Document types, abbreviations and noise words compiled for fast tokenisation."""

    phrases: dict[str, list[tuple[tuple[str, ...], frozenset[str]]]] = field(default_factory=dict)
    noise: dict[str, list[str]] = field(default_factory=dict)
    abbreviations: re.Pattern[str] | None = None
    expansions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(
        cls,
        document_types: Mapping[str, Iterable[str]],
        noise_words: Iterable[str] = (),
        abbreviations: Mapping[str, str] | None = None,
    ) -> Lexicon:
        lex = cls()
        for phrase in noise_words:
            for w in split_words(phrase):
                n = stem(w)
                lex.noise.setdefault(n[:3], []).append(n)
        expansions = {k.lower(): v.lower() for k, v in (abbreviations or {}).items()}
        if expansions:
            alternatives = "|".join(re.escape(k) for k in sorted(expansions, key=len, reverse=True))
            lex.abbreviations = re.compile(r"(?<![^\W_])(?:" + alternatives + r")(?![^\W_])")
            lex.expansions = expansions
        by_phrase: dict[tuple[str, ...], set[str]] = {}
        for concept, phrases in document_types.items():
            for phrase in phrases:
                key = tuple(stem(w) for w in split_words(lex.expand(phrase)) if w not in STOP_WORDS)
                if key:
                    by_phrase.setdefault(key, set()).add(concept)
        for key, concepts in by_phrase.items():
            lex.phrases.setdefault(key[0][:3], []).append((key, frozenset(concepts)))
        for candidates in lex.phrases.values():
            candidates.sort(key=lambda kc: -len(kc[0]))
        return lex

    def expand(self, text: str) -> str:
        text = unicodedata.normalize("NFC", text).lower().replace("ё", "е")
        if self.abbreviations is not None:
            text = self.abbreviations.sub(lambda m: self.expansions[m.group(0)], text)
        return text

    def tokens(self, text: str, *, filename: bool = False) -> Tokens:
        """Weighted tokens of a title or a file name (give `filename=True` for names)."""
        return self._tokens(text, filename)

    @lru_cache(maxsize=1024)  # noqa: B019 — a lexicon lives as long as its policy
    def _tokens(self, text: str, filename: bool) -> Tokens:
        if filename:
            text = _strip_extension(text)
            text = _CAMEL.sub(" ", text)
        text = strip_counts(self.expand(text))
        stems: list[str] = []
        numbers: list[str] = []
        for w in split_words(text):
            if w in STOP_WORDS:
                continue
            if w.isdigit():
                numbers.append(w.lstrip("0") or "0")
                continue
            if len(w) < 2:
                continue
            s = stem(w)
            if any(compatible(n, s) for n in self.noise.get(s[:3], ())):
                continue
            stems.append(s)
        out: list[Token] = []
        i = 0
        while i < len(stems):
            match = self._phrase_at(stems, i)
            if match is not None:
                length, concepts = match
                out.append(("#" + "|".join(sorted(concepts)), CONCEPT_WEIGHT, concepts))
                i += length
                continue
            out.append((stems[i], WORD_WEIGHT, frozenset()))
            i += 1
        out.extend((n, NUMBER_WEIGHT, frozenset()) for n in numbers)
        return Tokens(out)

    def _phrase_at(self, stems: list[str], i: int) -> tuple[int, frozenset[str]] | None:
        """The longest phrase starting at stems[i]; among equally long ones, the most exact."""
        best: tuple[int, int, frozenset[str]] | None = None
        for key, concepts in self.phrases.get(stems[i][:3], ()):
            window = stems[i : i + len(key)]
            if len(window) < len(key) or not all(compatible(k, t) for k, t in zip(key, window, strict=True)):
                continue
            exact = sum(k == t for k, t in zip(key, window, strict=True))
            if best is None or (len(key), exact) > best[:2]:
                best = (len(key), exact, concepts)
        return (best[0], best[2]) if best else None

    def concepts(self, tokens: Iterable[Token]) -> frozenset[str]:
        if isinstance(tokens, Tokens):
            return tokens.types
        return frozenset().union(*(t[2] for t in tokens))

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other


def _strip_extension(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem_part, dot, ext = base.rpartition(".")
    if dot and stem_part and 1 <= len(ext) <= 5 and ext.isalnum():
        return stem_part
    return base


def _one_edit(a: str, b: str) -> bool:
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


@lru_cache(maxsize=8192)  # bounded small: a bulk run replays millions of names
def token_similarity(a: Token, b: Token) -> float:
    ka, _, ca = a
    kb, _, cb = b
    if ca or cb:
        return 1.0 if ca & cb else 0.0
    if ka == kb:
        return 1.0
    if ka.isdigit() or kb.isdigit() or ka[0] != kb[0]:
        return 0.0
    if compatible(ka, kb):
        return 0.9
    n = min(len(ka), len(kb))
    lcp = 0
    while lcp < n and ka[lcp] == kb[lcp]:
        lcp += 1
    longest = max(len(ka), len(kb))
    if lcp >= 4 and lcp / longest >= 0.7:
        return lcp / longest
    if n >= 5 and _one_edit(ka, kb):
        return 0.8
    return 0.0


def similarity(a: Sequence[Token], b: Sequence[Token]) -> float:
    """Soft Dice of two token lists in [0, 1]; a side covered completely scores at least 0.85
    (when it carries a document type or two words); different document types cap it at 0.3."""
    if not a or not b:
        return 0.0
    ta = a if isinstance(a, Tokens) else Tokens(a)
    tb = b if isinstance(b, Tokens) else Tokens(b)
    best_b = [0.0] * len(tb)
    got_a = 0.0
    for x in ta:
        best = 0.0
        for j, y in enumerate(tb):
            sim = 1.0 if x == y else token_similarity(x, y)
            if sim > best:
                best = sim
            if sim > best_b[j]:
                best_b[j] = sim
        got_a += x[1] * best
    got_b = sum(y[1] * s for y, s in zip(tb, best_b, strict=True))
    wa, wb = ta.weight, tb.weight
    score = (got_a + got_b) / (wa + wb)
    if wa >= 2.0:
        score = max(score, 0.85 * got_a / wa)
    if wb >= 2.0:
        score = max(score, 0.85 * got_b / wb)
    if ta.types and tb.types and not ta.types & tb.types:
        score = min(score, 0.3)
    return round(score, 4)


def clear_caches() -> None:
    """Forget every cached word form and token comparison (for measurements)."""
    skeleton.cache_clear()
    stem.cache_clear()
    token_similarity.cache_clear()
