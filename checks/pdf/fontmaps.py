"""PDF fonts as the text inventory needs them: the name, the glyph-space scale, and a decoder.

A decoder turns the bytes of a shown string into Unicode text, one character per glyph, so that
the inventory can count visible characters (whitespace is not counted) and quote excerpts.
Decoding is table-driven (`str.translate`), done once per string, never per character in Python.

Sources of the mapping, best first: the font's /ToUnicode CMap; a simple font's /Encoding
(base encoding plus /Differences glyph names); for base-14 and other simple fonts without one,
the standard encoding. Composite (Type0) fonts use 2-byte codes with Identity-H/V, or the
code-space ranges of an embedded CMap. A glyph without any mapping still counts as one visible
character; it shows as "\ufffd" in excerpts.

Word draws list bullets and dashes in a symbol font (Symbol, Wingdings, Webdings, ZapfDingbats):
`FontInfo.symbolic` says so, and `is_bullet` tells a list label's glyph, so that the text layer
can leave list labels out as the DOCX reader does.

A font whose dictionary name says nothing (`CIDFont+F1`, as Windows' "Microsoft Print to PDF"
names every font) is labelled with the name its embedded program gives itself (`fontprograms`).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import Any

from pdfminer.encodingdb import EncodingDB, name2unicode
from pdfminer.fontmetrics import FONT_METRICS
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, StreamObject

from .fontprograms import is_anonymous, program_name

UNKNOWN = "\ufffd"
_FEW_BLANKS = 8
_SUBSET = re.compile(r"^[A-Z]{6}\+")
_HEX = re.compile(rb"<([0-9A-Fa-f]+)>")
_RANGE_LINE = re.compile(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(\[[^\]]*\]|<[0-9A-Fa-f]*>)")
_MAX_RANGE = 65536
_SYMBOL_FONTS = ("Symbol", "ZapfDingbats", "Wingdings", "Webdings", "Dingbats")
# Glyphs a list label is drawn with: bullets, dashes, arrows, check marks, boxes.
BULLETS = frozenset("•‣◦⁃∙·●○◘◙▪▫■□◆◇♦►▸▹▶➢➣➤➔→⇒✓✔✗✘❖★☐☑-‐‑‒–—―−")
_DEFAULT_ASCENT, _DEFAULT_DESCENT = 0.9, -0.22  # in ems, when the font does not say
_ENCODINGS = {"/WinAnsiEncoding", "/MacRomanEncoding", "/StandardEncoding", "/PDFDocEncoding"}


def _resolve(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


class _Table(dict[int, str]):
    """A `str.translate` table that maps codes without an entry to the unknown character."""

    def __missing__(self, key: int) -> str:
        return UNKNOWN


def _utf16(hexdigits: bytes) -> str:
    raw = bytes.fromhex(hexdigits.decode("ascii") + ("0" if len(hexdigits) % 2 else ""))
    return raw.decode("utf-16-be", errors="replace")


def _sections(data: bytes, name: bytes) -> list[bytes]:
    """The bodies of `begin<name> … end<name>` sections (linear, whatever the input)."""
    begin, end = b"begin" + name, b"end" + name
    return [part[part.rfind(begin) + len(begin) :] for part in data.split(end)[:-1] if begin in part]


def parse_tounicode(data: bytes) -> dict[int, str]:
    """Codes → text from a /ToUnicode CMap (bfchar and bfrange sections)."""
    mapping: dict[int, str] = {}
    for block in _sections(data, b"bfchar"):
        pairs = _HEX.findall(block)
        for src, dst in zip(pairs[::2], pairs[1::2], strict=False):
            mapping[int(src, 16)] = _utf16(dst)
    for block in _sections(data, b"bfrange"):
        for lo_hex, hi_hex, dst in _RANGE_LINE.findall(block):
            lo, hi = int(lo_hex, 16), int(hi_hex, 16)
            if hi < lo or hi - lo > _MAX_RANGE:
                continue
            if dst.startswith(b"["):
                for offset, item in enumerate(_HEX.findall(dst)[: hi - lo + 1]):
                    mapping[lo + offset] = _utf16(item)
                continue
            base = _utf16(dst[1:-1])
            if not base:
                continue
            head, last = base[:-1], ord(base[-1])
            for offset in range(hi - lo + 1):
                mapping[lo + offset] = head + chr(min(last + offset, 0x10FFFF))
    return mapping


def _codespace_lengths(data: bytes) -> list[int]:
    """Byte lengths of a CMap's code-space ranges (e.g. [1, 2] for a mixed CJK encoding)."""
    lengths: set[int] = set()
    for block in _sections(data, b"codespacerange"):
        for lo in _HEX.findall(block)[::2]:
            lengths.add((len(lo) + 1) // 2)
    return sorted(lengths)


def _glyph_text(name: str) -> str:
    try:
        return str(name2unicode(name))
    except Exception:  # glyph names like "g123" carry no Unicode value
        return UNKNOWN


def is_symbol_font(name: str) -> bool:
    """A font of pictures rather than letters: `Symbol`, `SymbolMT`, `Wingdings-Regular`…"""
    return name.split("+")[-1].startswith(_SYMBOL_FONTS)


def is_bullet(text: str, symbolic: bool) -> bool:
    """A list label's glyph: a bullet or a dash; in a symbol font also a private-use code (how
    Wingdings' bullets decode) or a glyph without a Unicode value."""
    if text in BULLETS:
        return True
    return symbolic and len(text) == 1 and (text == UNKNOWN or "\ue000" <= text <= "\uf8ff")


def _simple_encoding(font: DictionaryObject, base_font: str) -> dict[int, str]:
    encoding = _resolve(font.get("/Encoding"))
    base = "StandardEncoding" if font.get("/Subtype") == "/Type1" else "WinAnsiEncoding"
    differences: list[Any] = []
    if isinstance(encoding, NameObject) and encoding in _ENCODINGS:
        base = encoding[1:]
    elif isinstance(encoding, DictionaryObject):
        base_name = encoding.get("/BaseEncoding")
        if isinstance(base_name, NameObject) and base_name in _ENCODINGS:
            base = base_name[1:]
        differences = list(_resolve(encoding.get("/Differences")) or [])
    table = {code: str(text) for code, text in EncodingDB.get_encoding(base).items()}
    code = 0
    for item in differences:
        item = _resolve(item)
        if isinstance(item, int | float) and not isinstance(item, bool):
            code = int(item)
        elif isinstance(item, NameObject):
            if 0 <= code < 256:
                table[code] = _glyph_text(item[1:])
            code += 1
    if is_symbol_font(base_font):
        # Symbol fonts: each code is a glyph, whatever it stands for.
        table = {c: table.get(c, UNKNOWN) for c in range(256)}
    return table


@dataclass
class FontInfo:
    """What the inventory needs of one font resource."""

    name: str  # the /BaseFont as written (subset prefix kept), or a description
    code_lengths: tuple[int, ...]  # bytes per code: (1,), (2,) or a CMap's mixed lengths
    table: _Table  # code → text, for `str.translate`
    scale: float = 1.0  # glyph-space height relative to a 1000-unit em (Type 3 fonts)
    # The name without a subset prefix (`ABCDEF+Arial` → `Arial`); for a name that says nothing
    # (`CIDFont+F1`, `T1_0`), the name the embedded font program gives itself, when it has one.
    label: str = ""
    widths: dict[int, float] = field(default_factory=dict)  # code → advance, 1/1000 em
    default_width: float = 500.0
    # Codes drawn as whitespace or as nothing, to count visible glyphs without decoding; None
    # when there are too many of them for counting to be the quicker way.
    blanks: tuple[bytes, ...] | tuple[str, ...] | None = None
    symbolic: bool = False  # a symbol font (`is_symbol_font`)
    ascent: float = _DEFAULT_ASCENT  # the glyphs' extent above and below the baseline, in ems
    descent: float = _DEFAULT_DESCENT

    def __post_init__(self) -> None:
        self.label = _SUBSET.sub("", self.name.strip())
        self.symbolic = is_symbol_font(self.label)
        blank = [code for code, text in self.table.items() if not text.strip()]
        if len(blank) <= _FEW_BLANKS:
            if self.code_lengths == (1,):
                self.blanks = tuple(bytes([c]) for c in blank if 0 <= c < 256)
            elif self.code_lengths == (2,):
                self.blanks = tuple(chr(c) for c in blank if 0 <= c < 0x110000 and not 0xD800 <= c < 0xE000)

    def visible(self, raw: bytes) -> int:
        """Glyphs in `raw` that are not whitespace: counted in C, without decoding when it can be."""
        blanks = self.blanks
        if blanks is not None:
            if self.code_lengths == (1,):
                n = len(raw)
                for code in blanks:
                    n -= raw.count(code)  # type: ignore[arg-type]
                return n
            if self.code_lengths == (2,):
                if len(raw) % 2:
                    raw += b"\x00"
                text = raw.decode("utf-16-be", errors="surrogatepass")
                n = len(text)
                for char in blanks:
                    n -= text.count(char)  # type: ignore[arg-type]
                return n
        return len("".join(self.decode(raw).split()))

    def advance(self, raw: bytes) -> float:
        """The advance of a shown string in ems (only used to place excerpts' word spaces)."""
        n = self.code_lengths[-1]
        codes = raw if n == 1 else [int.from_bytes(raw[i : i + n], "big") for i in range(0, len(raw), n)]
        get = self.widths.get
        default = self.default_width
        return sum(get(c, default) for c in codes) / 1000.0

    def decode(self, raw: bytes) -> str:
        """One character (or ligature text) per glyph code in `raw`."""
        if self.code_lengths == (1,):
            return raw.decode("latin-1").translate(self.table)
        if self.code_lengths == (2,):
            if len(raw) % 2:
                raw += b"\x00"
            return raw.decode("utf-16-be", errors="surrogatepass").translate(self.table)
        # Mixed code lengths: take the shortest code that is in the map, else the longest length.
        out: list[str] = []
        i = 0
        lengths = self.code_lengths
        while i < len(raw):
            for n in lengths:
                code = int.from_bytes(raw[i : i + n], "big")
                if code in self.table or n == lengths[-1]:
                    out.append(self.table[code])
                    i += n
                    break
        return "".join(out)


def font_info(font_obj: Any) -> FontInfo:
    """Read a font resource; never raises (an unreadable font is an unnamed 1-byte font)."""
    font = _resolve(font_obj)
    if not isinstance(font, DictionaryObject):
        return FontInfo("(unreadable font)", (1,), _Table())
    try:
        info = _font_info(font)
    except Exception:  # a broken font dictionary: keep counting glyphs, name it as unreadable
        name = font.get("/BaseFont")
        return FontInfo(
            str(name)[1:] if isinstance(name, NameObject) else "(unreadable font)", (1,), _Table()
        )
    if is_anonymous(info.name):
        info.label = program_name(font) or info.label
        info.symbolic = is_symbol_font(info.label)
    with contextlib.suppress(Exception):  # a broken descriptor: the default extent
        _read_extent(info, font)
    return info


def _read_extent(info: FontInfo, font: DictionaryObject) -> None:
    """Ascent and descent from the font descriptor (the descendant font's for a Type0 font)."""
    holder = font
    if font.get("/Subtype") == "/Type0":
        descendants = _resolve(font.get("/DescendantFonts"))
        if isinstance(descendants, ArrayObject) and descendants:
            holder = _resolve(descendants[0])
    descriptor = _resolve(holder.get("/FontDescriptor")) if isinstance(holder, DictionaryObject) else None
    if not isinstance(descriptor, DictionaryObject):
        return
    ascent = float(_resolve(descriptor.get("/Ascent", 0)) or 0) / 1000
    descent = float(_resolve(descriptor.get("/Descent", 0)) or 0) / 1000
    if 0.3 <= ascent <= 2.0:
        info.ascent = ascent
    if -1.0 <= descent <= 0.0:
        info.descent = min(descent, -0.05)


def _font_info(font: DictionaryObject) -> FontInfo:
    subtype = font.get("/Subtype")
    base = font.get("/BaseFont")
    name = str(base)[1:] if isinstance(base, NameObject) else ""
    tounicode_obj = _resolve(font.get("/ToUnicode"))
    tounicode = parse_tounicode(tounicode_obj.get_data()) if isinstance(tounicode_obj, StreamObject) else {}
    scale = 1.0
    if subtype == "/Type0":
        descendants = _resolve(font.get("/DescendantFonts"))
        if not name and isinstance(descendants, ArrayObject) and descendants:
            child = _resolve(descendants[0])
            if isinstance(child, DictionaryObject) and isinstance(child.get("/BaseFont"), NameObject):
                name = str(child["/BaseFont"])[1:]
        encoding = _resolve(font.get("/Encoding"))
        lengths: tuple[int, ...] = (2,)
        if isinstance(encoding, StreamObject):
            found = _codespace_lengths(encoding.get_data())
            lengths = tuple(found) if found else (2,)
        info = FontInfo(name or "(unnamed composite font)", lengths, _Table(tounicode), scale)
        if isinstance(descendants, ArrayObject) and descendants:
            child = _resolve(descendants[0])
            if isinstance(child, DictionaryObject):
                info.default_width = float(_resolve(child.get("/DW", 1000)))
                info.widths = _cid_widths(_resolve(child.get("/W")))
        return info
    table: dict[int, str] = _simple_encoding(font, name)
    table.update(tounicode)
    if subtype == "/Type3":
        matrix = _resolve(font.get("/FontMatrix"))
        if isinstance(matrix, ArrayObject) and len(matrix) == 6:
            a, b, c, d = (float(_resolve(v)) for v in matrix[:4])
            # Glyph space → text space; a normal font's is 0.001 (a 1000-unit em).
            det = abs(a * d - b * c)
            width = (a * a + b * b) ** 0.5
            scale = (det / width) * 1000 if width else 1.0
        name = name or str(font.get("/Name", ""))[1:] or "(Type 3 font)"
    info = FontInfo(name or "(unnamed font)", (1,), _Table(table), scale)
    widths = _resolve(font.get("/Widths"))
    if isinstance(widths, ArrayObject) and subtype != "/Type3":
        first = int(_resolve(font.get("/FirstChar", 0)))
        info.widths = {first + i: float(_resolve(w)) for i, w in enumerate(widths)}
        descriptor = _resolve(font.get("/FontDescriptor"))
        if isinstance(descriptor, DictionaryObject) and "/MissingWidth" in descriptor:
            info.default_width = float(_resolve(descriptor["/MissingWidth"]))
    elif subtype != "/Type3":
        _standard_widths(info, table)
    return info


def _standard_widths(info: FontInfo, table: dict[int, str]) -> None:
    """A simple font without /Widths (a standard-14 font, or one a producer left out): the
    widths of the standard font it is or stands in for, by the characters its codes show."""
    name = info.label.replace("-", ",").replace("PSMT", "").replace("MT", "")
    base = name.split(",")[0]
    metrics = FONT_METRICS.get(info.label) or FONT_METRICS.get(name) or FONT_METRICS.get(base)
    if metrics is None:
        metrics = FONT_METRICS["Times-Roman" if "Times" in base else "Helvetica"]
    descriptor, by_char = metrics
    info.widths = {code: float(by_char[text]) for code, text in table.items() if text in by_char}
    letters = sorted(float(by_char[c]) for c in "abcdefghijklmnopqrstuvwxyz" if c in by_char)
    if letters:
        info.default_width = letters[len(letters) // 2]  # a letter it has no width for: a typical one
    ascent, descent = descriptor.get("Ascent"), descriptor.get("Descent")
    if isinstance(ascent, int | float) and ascent > 0:
        info.ascent = ascent / 1000
    if isinstance(descent, int | float) and descent < 0:
        info.descent = descent / 1000


def _cid_widths(array: Any) -> dict[int, float]:
    """A CIDFont's /W array: `c [w1 w2 …]` and `c_first c_last w` entries."""
    widths: dict[int, float] = {}
    if not isinstance(array, ArrayObject):
        return widths
    items = [_resolve(i) for i in array]
    i = 0
    while i < len(items) - 1:
        first = items[i]
        nxt = items[i + 1]
        if isinstance(nxt, ArrayObject):
            for offset, w in enumerate(nxt):
                widths[int(first) + offset] = float(_resolve(w))
            i += 2
        elif i + 2 < len(items):
            last, w = int(nxt), float(items[i + 2])
            if 0 <= last - int(first) <= 65535:
                for code in range(int(first), last + 1):
                    widths[code] = w
            i += 3
        else:
            break
    return widths
