"""A fast walk over a PDF page's content streams: text runs with their matrices, and images.

Each text-showing operator (`Tj`, `TJ`, `'`, `"`) becomes one `Run`: the font resource, the
size set by `Tf`, the combined text and graphics matrix (Tm × CTM, including form XObject
matrices), the render mode, the shown bytes, and the page part when the PDF tags it (Word and
Acrobat mark running heads and page numbers as /Artifact /Pagination). Image XObjects and
inline images are recorded with their matrix; opaque image XObjects also with how many runs came
before them, so that text an image is painted over can be told hidden.

Speed: the stream is cut into operator + operands by one regular expression (the work per
token happens in the regex engine); Python runs once per operator, and operands are parsed
only for the operators that matter here. A stream the fast tokenizer cannot follow (odd
nesting, garbage) is re-read with pypdf's content-stream parser, so nothing is skipped.
Glyph advances are not tracked: a run's position is where it starts.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

from pypdf.generic import (
    ArrayObject,
    ContentStream,
    DictionaryObject,
    IndirectObject,
    StreamObject,
)

from .fontmaps import FontInfo, font_info

Matrix = tuple[float, float, float, float, float, float]
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
MAX_FORM_DEPTH = 12

_WS = rb"[\x00\t\n\f\r ]"
_STR = rb"\((?:[^()\\]++|\\.|\((?:[^()\\]++|\\.|\((?:[^()\\]++|\\.)*+\))*+\))*+\)"
_HEXSTR = rb"<[0-9A-Fa-f\x00\t\n\f\r ]*+>"
# Numbers are taken loosely ("1.2.3" too); an operator whose operands do not convert is skipped.
_NUM = rb"[-+.0-9]++"
_NAME = rb"/[^\x00\t\n\f\r ()<>\[\]{}/%]*+"
_DICT_ITEM = rb"[^<>()]++|" + _STR + rb"|<[0-9A-Fa-f\x00\t\n\f\r ]*+>"
_DICT = rb"<<(?:" + _DICT_ITEM + rb"|<<(?:" + _DICT_ITEM + rb")*+>>)*+>>"
_ARRAY = rb"\[(?:" + b"|".join([_WS + b"++", _NUM, _STR, _HEXSTR, _NAME, rb"true|false|null"]) + rb")*+\]"
_OPERAND = rb"(?:" + b"|".join([_NUM, _NAME, _STR, _ARRAY, _DICT, _HEXSTR]) + rb")"
# One operation: (operands, whitespace, operator, junk). The last group takes what is not an
# operation — operands without an operator, a stray delimiter — so that `findall` moves on from
# it at once (a pattern that could fail there would be retried at every following position,
# quadratic on a hostile stream); any junk sends the stream to the full parser.
_OPERATION = re.compile(
    rb"(?:((?:" + _WS + rb"*+" + _OPERAND + rb")*+)(" + _WS + rb"*+)([A-Za-z'\"][A-Za-z0-9*'\"]*+)"
    rb"|((?:" + _WS + rb"*+" + _OPERAND + rb")++|" + _WS + rb"*+[^\x00\t\n\f\r ]))",
    re.S,
)
_JUNK = itemgetter(3)
_INLINE_IMAGE = re.compile(rb"(?:^|[\x00\t\n\f\r ])BI[\x00\t\n\f\r /]")
_STRINGS = re.compile(rb"(" + _STR + rb")|<([0-9A-Fa-f\x00\t\n\f\r ]*)>", re.S)
_SHOWN_ITEMS = re.compile(rb"(" + _STR + rb")|<([0-9A-Fa-f\x00\t\n\f\r ]*)>|([-+.0-9]+)", re.S)
# A TJ adjustment this large (thousandths of an em, leftward is negative) is a word space.
_WORD_GAP = -180.0
_ESCAPE = re.compile(rb"\\(?:([0-7]{1,3})|(\r\n|\r|\n)|(.))", re.S)
_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}
_HANDLED = frozenset(b"TJ Tj Tm Tf BT Td TD q Q cm T* ' \" Tr TL BDC BMC EMC Do EI".split())
_INLINE_END = re.compile(rb"[\x00\t\n\f\r ]EI(?=[\x00\t\n\f\r ]|\Z)")
_HEX_PIECES = re.compile(rb"<([0-9A-Fa-f\x00\t\n\f\r ]*)>")
_HEX_WS = re.compile(rb"[^0-9A-Fa-f]")


def multiply(m1: Matrix, m2: Matrix) -> Matrix:
    """m1 × m2 in PDF's row-vector convention (apply m1, then m2)."""
    a1, b1, c1, d1, e1, f1 = m1
    a2, b2, c2, d2, e2, f2 = m2
    return (
        a1 * a2 + b1 * c2,
        a1 * b2 + b1 * d2,
        c1 * a2 + d1 * c2,
        c1 * b2 + d1 * d2,
        e1 * a2 + f1 * c2 + e2,
        e1 * b2 + f1 * d2 + f2,
    )


def _unescape_match(m: re.Match[bytes]) -> bytes:
    octal, newline, char = m.groups()
    if octal is not None:
        return bytes([int(octal, 8) & 0xFF])
    if newline is not None:
        return b""
    return _ESCAPES.get(char, char)


def literal_bytes(token: bytes) -> bytes:
    """The bytes of a literal string token `(...)`."""
    body = token[1:-1]
    return _ESCAPE.sub(_unescape_match, body) if b"\\" in body else body


def hex_bytes(digits: bytes) -> bytes:
    digits = _HEX_WS.sub(b"", digits)
    if len(digits) % 2:
        digits += b"0"
    return bytes.fromhex(digits.decode("ascii"))


def shown_bytes(args: bytes) -> bytes:
    """All string bytes among the operands of a text-showing operator, in order."""
    first = args.find(b"(")
    if first < 0:
        # Hex strings only (Word writes glyph ids so): one conversion for the whole array.
        pieces = _HEX_PIECES.findall(args)
        joined = b"".join(pieces)
        if not any(len(p) & 1 for p in pieces) and not _HEX_WS.search(joined):
            return bytes.fromhex(joined.decode("ascii"))
        return b"".join(hex_bytes(p) for p in pieces)
    if b"\\" not in args and args.count(b"(") == 1 and b"<" not in args:
        return args[first + 1 : args.rindex(b")")]  # one plain literal string: the common case
    parts = [literal_bytes(lit) if lit else hex_bytes(hexdigits) for lit, hexdigits in _STRINGS.findall(args)]
    return b"".join(parts)


# One text-showing operator: (font, Tf size, Tm × CTM when the string starts, render mode
# (3 and 7 draw nothing), the shown string bytes (all strings of a TJ array), the page part
# when tagged as such: "header" / "footer" / "pagination" or None). A plain tuple: pages have
# thousands of runs, and building one is the cheapest thing Python can do.
# The operator's operands come last, to re-read its kerning when quoting an excerpt.
Run = tuple[FontInfo, float, Matrix, int, bytes, "str | None", Any]


# The text state a content stream starts with: (font, Tf size, render mode, leading).
TextState = tuple["FontInfo | None", float, int, float]
_START: TextState = (None, 0.0, 0, 0.0)


@dataclass
class PageContent:
    runs: list[Run] = field(default_factory=list)
    images: list[Matrix] = field(default_factory=list)  # image space (unit square) → page
    # Opaque images (no mask, no soft mask) with the number of runs drawn before them: text they
    # are drawn over is hidden (OCR "text under the page image" layers are drawn so).
    covers: list[tuple[int, Matrix]] = field(default_factory=list)
    fallback_streams: int = 0  # streams read with the slow parser
    errors: list[str] = field(default_factory=list)


def _resolve(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _stream_data(contents: Any) -> bytes:
    contents = _resolve(contents)
    if isinstance(contents, StreamObject):
        return bytes(contents.get_data())
    if isinstance(contents, ArrayObject):
        return b"\n".join(
            bytes(s.get_data()) for s in (_resolve(c) for c in contents) if isinstance(s, StreamObject)
        )
    return b""


class _Resources:
    """Lazy lookups in a resource dictionary, with fonts cached across pages by object."""

    def __init__(self, resources: Any, font_cache: dict[Any, FontInfo]) -> None:
        res = _resolve(resources)
        self.fonts = _resolve(res.get("/Font")) if isinstance(res, DictionaryObject) else None
        self.xobjects = _resolve(res.get("/XObject")) if isinstance(res, DictionaryObject) else None
        self.raw = res
        self.font_cache = font_cache

    def font(self, name: str) -> FontInfo | None:
        if not isinstance(self.fonts, DictionaryObject):
            return None
        ref = self.fonts.get(name)
        if ref is None:
            return None
        key = (ref.idnum, ref.generation) if isinstance(ref, IndirectObject) else id(ref)
        info = self.font_cache.get(key)
        if info is None:
            info = self.font_cache[key] = font_info(ref)
        return info

    def xobject(self, name: str) -> tuple[Any, Any] | None:
        if not isinstance(self.xobjects, DictionaryObject):
            return None
        ref = self.xobjects.get(name)
        if ref is None:
            return None
        key = (ref.idnum, ref.generation) if isinstance(ref, IndirectObject) else id(ref)
        return key, _resolve(ref)


def _fast_operations(data: bytes) -> list[tuple[bytes, bytes, bytes, bytes]] | None:
    """[(operands, whitespace, operator, "")], or None when the stream does not tokenize cleanly."""
    if data.find(b"BI") < 0 or _INLINE_IMAGE.search(data) is None:
        ops = _OPERATION.findall(data)
        return None if any(map(_JUNK, ops)) else ops
    # Inline images: their binary data is skipped from ID to EI, then tokenizing goes on.
    out: list[tuple[bytes, bytes, bytes, bytes]] = []
    pos = 0
    while True:
        end = data.find(b"ID", pos)
        while end >= 0 and not (
            (end == 0 or data[end - 1 : end].isspace()) and data[end + 2 : end + 3].isspace()
        ):
            end = data.find(b"ID", end + 2)
        ops = _OPERATION.findall(data[pos : end + 2] if end >= 0 else data[pos:])
        if any(map(_JUNK, ops)):
            return None
        out.extend(ops)
        if end < 0:
            return out
        stop = _INLINE_END.search(data, end + 2)
        if stop is None:
            return out
        out.append((b"", b"", b"EI", b""))
        pos = stop.end()


def _slow_operations(data: bytes, reader: Any) -> list[tuple[list[Any], bytes, bytes, bytes]]:
    stream = ContentStream(None, reader)
    stream.set_data(data)
    return [(list(operands), b"", op, b"") for operands, op in stream.operations]


class Scanner:
    """Walks the content of one page (and the forms it draws) into a `PageContent`."""

    def __init__(self, reader: Any, font_cache: dict[Any, FontInfo]) -> None:
        self.reader = reader
        self.font_cache = font_cache

    def scan_page(self, page: Any) -> PageContent:
        out = PageContent()
        resources = _Resources(page.get("/Resources"), self.font_cache)
        try:
            data = _stream_data(page.get("/Contents"))
        except Exception as exc:  # a broken content stream: reported, the page counts as empty
            out.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            return out
        self._scan(data, resources, IDENTITY, _START, out, 0, frozenset())
        return out

    def _scan(
        self,
        data: bytes,
        resources: _Resources,
        ctm: Matrix,
        state: TextState,
        out: PageContent,
        depth: int,
        forms: frozenset[Any],
    ) -> None:
        fast = _fast_operations(data)
        if fast is not None:
            self._run_ops(fast, True, resources, ctm, state, out, depth, forms)
            return
        out.fallback_streams += 1
        try:
            slow = _slow_operations(data, self.reader)
        except Exception as exc:  # pypdf could not parse it either: the rest of the stream is lost
            out.errors.append(f"{type(exc).__name__}: {exc}"[:200])
            return
        self._run_ops(slow, False, resources, ctm, state, out, depth, forms)

    def _run_ops(
        self,
        ops: list[Any],
        fast: bool,
        resources: _Resources,
        ctm: Matrix,
        state: TextState,
        out: PageContent,
        depth: int,
        forms: frozenset[Any],
    ) -> None:
        runs = out.runs
        stack: list[tuple[Matrix, FontInfo | None, float, int, float]] = []
        font, size, mode, leading = state
        tm: Matrix = IDENTITY
        tlm: Matrix = IDENTITY
        marks: list[str | None] = []
        part: str | None = None
        numbers: Callable[[Any], list[float]] = _numbers_fast if fast else _numbers_slow
        plain = ctm is IDENTITY  # no graphics transformation: the text matrix is the page's
        fonts_seen: dict[Any, tuple[FontInfo | None, float]] = {}

        for args, _, op, _ in ops:
            if op not in _HANDLED:
                continue  # painting, colour, clipping...: nothing the text layer needs
            try:
                if op == b"TJ" or op == b"Tj":
                    if font is not None:
                        raw = shown_bytes(args) if fast else _slow_shown(args)
                        if raw:
                            runs.append(
                                (font, size, tm if plain else multiply(tm, ctm), mode, raw, part, args)
                            )
                elif op == b"Tm":
                    v = args.split() if fast else numbers(args)
                    if len(v) != 6:
                        continue
                    tm = tlm = (float(v[0]), float(v[1]), float(v[2]), float(v[3]), float(v[4]), float(v[5]))
                elif op == b"Tf":
                    known = fonts_seen.get(args) if fast else None
                    if known is None:
                        name, value = _font_operands(args, fast)
                        known = (resources.font(name), value)
                        if fast:
                            fonts_seen[args] = known
                    font, size = known
                elif op == b"BT":
                    tm = tlm = IDENTITY
                elif op == b"Td" or op == b"TD":
                    tx, ty = numbers(args)[:2]
                    a, b, c, d, e, f = tlm
                    tm = tlm = (a, b, c, d, tx * a + ty * c + e, tx * b + ty * d + f)
                    if op == b"TD":
                        leading = -ty
                elif op == b"q":
                    stack.append((ctm, font, size, mode, leading))
                elif op == b"Q":
                    if stack:
                        ctm, font, size, mode, leading = stack.pop()
                        plain = ctm is IDENTITY
                elif op == b"cm":
                    v = numbers(args)
                    ctm = multiply((v[0], v[1], v[2], v[3], v[4], v[5]), ctm)
                    plain = False
                elif op == b"T*" or op == b"'" or op == b'"':
                    a, b, c, d, e, f = tlm
                    tm = tlm = (a, b, c, d, -leading * c + e, -leading * d + f)
                    if op != b"T*" and font is not None:
                        raw = shown_bytes(args) if fast else _slow_shown(args)
                        if raw:
                            runs.append(
                                (font, size, tm if plain else multiply(tm, ctm), mode, raw, part, args)
                            )
                elif op == b"Tr":
                    mode = int(numbers(args)[0])
                elif op == b"TL":
                    leading = numbers(args)[0]
                elif op == b"BDC" or op == b"BMC":
                    kind = _mark_kind(args, fast)
                    marks.append(kind)
                    if kind is not None:
                        part = kind
                elif op == b"EMC":
                    if marks:
                        marks.pop()
                    part = next((k for k in reversed(marks) if k is not None), None)
                elif op == b"Do":
                    self._draw(args, fast, resources, ctm, (font, size, mode, leading), out, depth, forms)
                elif op == b"EI":
                    out.images.append(ctm)
            except (ValueError, IndexError, TypeError, KeyError, AttributeError):
                # A malformed operator is skipped, as viewers do.
                continue

    def _draw(
        self,
        args: Any,
        fast: bool,
        resources: _Resources,
        ctm: Matrix,
        state: TextState,
        out: PageContent,
        depth: int,
        forms: frozenset[Any],
    ) -> None:
        name = (args.split()[-1].decode("latin-1") if fast else str(args[-1])) if args else ""
        found = resources.xobject(name)
        if found is None:
            return
        key, xobject = found
        if not isinstance(xobject, StreamObject):
            return
        subtype = xobject.get("/Subtype")
        if subtype == "/Image":
            out.images.append(ctm)
            if not xobject.get("/ImageMask") and "/SMask" not in xobject and "/Mask" not in xobject:
                out.covers.append((len(out.runs), ctm))
            return
        if subtype != "/Form" or depth >= MAX_FORM_DEPTH or key in forms:
            return
        matrix = _resolve(xobject.get("/Matrix"))
        form_ctm = ctm
        if isinstance(matrix, ArrayObject) and len(matrix) == 6:
            m = [float(_resolve(v)) for v in matrix]
            form_ctm = multiply((m[0], m[1], m[2], m[3], m[4], m[5]), ctm)
        form_resources = resources
        if "/Resources" in xobject:
            form_resources = _Resources(xobject["/Resources"], self.font_cache)
        # A form starts with the graphics state in force where it is drawn (font, render mode...).
        self._scan(bytes(xobject.get_data()), form_resources, form_ctm, state, out, depth + 1, forms | {key})


def _numbers_fast(args: bytes) -> list[float]:
    return list(map(float, args.split()))


def _numbers_slow(args: list[Any]) -> list[float]:
    return [float(_resolve(a)) for a in args]


def _font_operands(args: Any, fast: bool) -> tuple[str, float]:
    if fast:
        tokens = args.split()
        return tokens[-2].decode("latin-1"), float(tokens[-1])
    return str(args[-2]), float(args[-1])


def shown_pieces(args: Any) -> list[bytes]:
    """The shown strings split where a TJ adjustment opens a word space (for quoting: producers
    such as pdfTeX and LibreOffice space words by kerning rather than by a space character)."""
    if not isinstance(args, bytes):
        pieces: list[bytes] = [b""]
        for operand in args:
            for item in operand if isinstance(operand, list) else [operand]:
                if isinstance(item, int | float):
                    if float(item) <= _WORD_GAP and pieces[-1]:
                        pieces.append(b"")
                else:
                    pieces[-1] += _string_bytes(item)
        return [p for p in pieces if p]
    pieces = [b""]
    for lit, hexdigits, number in _SHOWN_ITEMS.findall(args):
        if number:
            try:
                if float(number) <= _WORD_GAP and pieces[-1]:
                    pieces.append(b"")
            except ValueError:
                continue
        else:
            pieces[-1] += literal_bytes(lit) if lit else hex_bytes(hexdigits)
    return [p for p in pieces if p]


def shown_kerning(args: Any) -> float:
    """The sum of a TJ array's adjustments, in thousandths of an em (positive moves left)."""
    if isinstance(args, bytes):
        if b"[" not in args:
            return 0.0
        total = 0.0
        for _, _, number in _SHOWN_ITEMS.findall(args):
            if number:
                try:
                    total += float(number)
                except ValueError:
                    continue
        return total
    return sum(
        float(item)
        for operand in args
        if isinstance(operand, list)
        for item in operand
        if isinstance(item, int | float)
    )


def _slow_shown(args: list[Any]) -> bytes:
    parts: list[bytes] = []
    for operand in args:
        if isinstance(operand, list):
            parts.extend(_string_bytes(o) for o in operand if not isinstance(o, int | float))
        elif not isinstance(operand, int | float):
            parts.append(_string_bytes(operand))
    return b"".join(parts)


def _string_bytes(obj: Any) -> bytes:
    if hasattr(obj, "original_bytes"):
        return bytes(obj.original_bytes)
    if isinstance(obj, bytes):
        return obj
    return str(obj).encode("latin-1", errors="replace")


def _mark_kind(args: Any, fast: bool) -> str | None:
    """'header', 'footer' or 'pagination' for a tagged running head or page number, else None."""
    text = bytes(args) if fast else repr(args).encode("latin-1", errors="replace")
    if b"Artifact" not in text[:16]:
        return None
    if b"/Header" in text:
        return "header"
    if b"/Footer" in text:
        return "footer"
    if b"/Pagination" in text:
        return "pagination"
    return None
