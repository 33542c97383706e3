"""The name a PDF font gives itself inside its embedded program, for fonts whose dictionary name
says nothing.

Some producers name every font after its resource: Windows' "Microsoft Print to PDF" writes
`CIDFont+F1`, `CIDFont+F2` …, others `F1`, `T1_0`, `TT2`, `C2_0` or a bare subset tag. Such a
name cannot be judged, but the embedded font program still carries its own: the TrueType /
OpenType `name` table (typographic family, name ID 16, else family, ID 1; else the full name,
ID 4, or the PostScript name, ID 6), a CFF font's name and FamilyName, a Type 1 font's
/FamilyName or /FontName. `program_name` reads it from the font descriptor's /FontFile2,
/FontFile3 or /FontFile stream (a composite font's descriptor is its descendant's); it never
raises, and returns None when the font embeds no program or the program names nothing.
"""

from __future__ import annotations

import io
import re
from typing import Any

from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject, NameObject, StreamObject

# Subset tag (six capitals and '+') and Print to PDF's "CIDFont+" prefix.
_PREFIX = re.compile(r"^(?:[A-Z]{6}\+|CIDFont\+)+")
# Resource-style names that identify nothing: F1, T1_0, TT2, C2_0, R7, Font3, CIDFont, a bare tag.
_ANONYMOUS = re.compile(r"^(?:(?:F|f|T1_|T3_|TT|C\d_|R|Font|font)\d+(?:_\d+)?|CIDFont|[A-Z]{6}|\(.*\))?$")
_TYPE1_FAMILY = re.compile(rb"/FamilyName\s*\(((?:[^()\\]|\\.){1,120})\)")
_TYPE1_NAME = re.compile(rb"/FontName\s*/([^\s/\[\]()<>{}]{1,120})")
# A Type 1 program's clear-text part is small; the name is near its start.
_TYPE1_HEAD = 16_384
_MAX_PROGRAM = 30_000_000


def is_anonymous(name: str) -> bool:
    """True for a font name that names no font: `CIDFont+F1`, `F1`, `T1_0`, `ABCDEF+`, ``."""
    return bool(_ANONYMOUS.match(_PREFIX.sub("", name.strip())))


def _resolve(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _descriptor(font: DictionaryObject) -> DictionaryObject | None:
    if font.get("/Subtype") == "/Type0":
        descendants = _resolve(font.get("/DescendantFonts"))
        if not isinstance(descendants, ArrayObject) or not descendants:
            return None
        child = _resolve(descendants[0])
        if not isinstance(child, DictionaryObject):
            return None
        font = child
    descriptor = _resolve(font.get("/FontDescriptor"))
    return descriptor if isinstance(descriptor, DictionaryObject) else None


def _clean(name: object) -> str | None:
    text = str(name or "").replace("\x00", "").strip()
    text = _PREFIX.sub("", text)
    return text if text and not is_anonymous(text) else None


def _sfnt_name(data: bytes) -> str | None:
    """Family (ID 16, else 1), else full name (4), else PostScript name (6) of a TrueType or
    OpenType font (of the first font of a collection)."""
    from fontTools.ttLib import TTCollection, TTFont

    stream = io.BytesIO(data)
    if data[:4] == b"ttcf":
        fonts = TTCollection(stream, lazy=True).fonts
        if not fonts:
            return None
        font = fonts[0]
    else:
        font = TTFont(stream, lazy=True, fontNumber=0)
    if "name" not in font:
        if "CFF " in font:
            return _cff_font_name(font["CFF "].cff)
        return None
    table = font["name"]
    for name_id in (16, 1, 4, 6):
        record = table.getDebugName(name_id)
        found = _clean(record)
        if found:
            return found
    return None


def _cff_font_name(cff: Any) -> str | None:
    names = list(getattr(cff, "fontNames", []) or [])
    if names:
        top = cff[names[0]]
        for value in (getattr(top, "FamilyName", None), getattr(top, "FullName", None), names[0]):
            found = _clean(value)
            if found:
                return found
    return None


def _bare_cff_name(data: bytes) -> str | None:
    from fontTools.cffLib import CFFFontSet

    cff = CFFFontSet()
    cff.decompile(io.BytesIO(data), None)
    return _cff_font_name(cff)


def _type1_name(data: bytes) -> str | None:
    head = data[:_TYPE1_HEAD]
    family = _TYPE1_FAMILY.search(head)
    if family is not None:
        found = _clean(family.group(1).decode("latin-1"))
        if found:
            return found
    name = _TYPE1_NAME.search(head)
    return _clean(name.group(1).decode("latin-1")) if name is not None else None


def program_name(font_obj: Any) -> str | None:
    """The name the font's embedded program gives itself, or None."""
    try:
        font = _resolve(font_obj)
        if not isinstance(font, DictionaryObject):
            return None
        descriptor = _descriptor(font)
        if descriptor is None:
            return None
        for key, read in (("/FontFile2", _sfnt_name), ("/FontFile3", None), ("/FontFile", _type1_name)):
            stream = _resolve(descriptor.get(key))
            if not isinstance(stream, StreamObject):
                continue
            length = _resolve(stream.get("/Length1", 0))
            if isinstance(length, int) and length > _MAX_PROGRAM:
                return None
            data = bytes(stream.get_data())
            if read is None:  # FontFile3: bare CFF (Type1C, CIDFontType0C) or OpenType
                subtype = stream.get("/Subtype")
                read = (
                    _sfnt_name
                    if subtype == NameObject("/OpenType") or data[:4] == b"OTTO"
                    else _bare_cff_name
                )
            return read(data)
    except Exception:  # a damaged program: the dictionary name stands
        return None
    return None
