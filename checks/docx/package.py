"""A DOCX package opened once for every check that reads it: the text checks and the outline.

`read_main_part` checks that the main document part is present and well-formed XML, and that the
document shows something (`document.empty`: no text, picture, object or table anywhere, as in
Word's new blank document). `DocxPackage` holds the open ZIP with every part parsed at most once
(a part that does not read raises the same error for each reader, which decides what it
tolerates), the part relationships, the namespace of the document (Transitional or Strict OOXML:
`Tags`) and one style sheet (styles, theme, numbering) that resolves formatting for both.
"""

from __future__ import annotations

import posixpath
import zipfile
from functools import cached_property

from lxml import etree

from ..findings import Issues
from ..ooxml import SAFE_PARSER
from .styles import W_TRANSITIONAL, StyleSheet, Tags, tags_for

MAIN_PART = "word/document.xml"
# Elements that show something on the page without a text node of their own, or bring content
# from elsewhere (an embedded HTML or RTF chunk, a subdocument); any namespace: Transitional and
# Strict OOXML, VML, DrawingML.
_CONTENT = tuple(
    "{*}" + name
    for name in (
        "drawing",
        "pict",
        "object",
        "sym",
        "tbl",
        "footnoteReference",
        "endnoteReference",
        "AlternateContent",
        "txbxContent",
        "oMath",
        "control",
        "altChunk",
        "subDoc",
        "contentPart",
    )
)


def read_main_part(zf: zipfile.ZipFile, issues: Issues) -> etree._Element | None:
    """The main part, parsed; `file.corrupt` when it is missing or not XML, `document.empty`
    when the document it makes shows nothing."""
    try:
        main = etree.fromstring(zf.read(MAIN_PART), SAFE_PARSER)
    except KeyError:
        issues.add(
            "file.corrupt", observed=f"no {MAIN_PART}", format="DOCX", reason="@ui:bad_no_document"
        )
    except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError, EOFError) as exc:
        issues.add(
            "file.corrupt", observed=str(exc)[:300], format="DOCX", reason="@ui:bad_document"
        )
    else:
        if is_empty(zf, main):
            issues.add(
                "document.empty", observed="no text, picture, object or table in the body, headers or footers"
            )
        return main
    return None


def _shows_something(root: etree._Element) -> bool:
    """True when a part holds visible text or anything drawn: a non-blank text node (of the
    document or of an equation), a picture, shape, embedded object, symbol, table or note mark."""
    for node in root.iter("{*}t"):
        if node.text and node.text.strip():
            return True
    return next(root.iter(*_CONTENT), None) is not None


def is_empty(zf: zipfile.ZipFile, main: etree._Element) -> bool:
    """No text and nothing drawn in the body, nor in any header or footer (Word's new blank
    document: one empty paragraph and the section properties)."""
    if _shows_something(main):
        return False
    for kind, part in _rels(zf, MAIN_PART):
        if kind in ("header", "footer"):
            try:
                root = etree.fromstring(zf.read(part), SAFE_PARSER)
            except (KeyError, etree.XMLSyntaxError, zipfile.BadZipFile, OSError, EOFError):
                return False  # a part that does not read is not called empty on a guess
            if _shows_something(root):
                return False
    return True


class DocxPackage:
    """An open DOCX: its parts parsed on demand and kept, its relationships, namespace and styles."""

    def __init__(self, zf: zipfile.ZipFile, main: etree._Element | None = None) -> None:
        """`main`: the main part, when already parsed (`read_main_part`)."""
        self.zf = zf
        self._parts: dict[str, etree._Element | BaseException] = {}
        self._rels: dict[str, list[tuple[str, str]]] = {}
        if main is not None:
            self._parts[MAIN_PART] = main

    def part(self, name: str) -> etree._Element:
        """A part's XML, parsed the first time; raises what reading or parsing it raised (KeyError
        for a missing part), the same error for every caller."""
        found = self._parts.get(name)
        if found is None:
            try:
                found = etree.fromstring(self.zf.read(name), SAFE_PARSER)
            except Exception as exc:  # kept and raised to each caller, who decides what it tolerates
                found = exc
            self._parts[name] = found
        if isinstance(found, BaseException):
            raise found
        return found

    def read(self, name: str | None) -> etree._Element | None:
        """A part's XML, or None when it is missing, damaged or not well-formed."""
        if not name:
            return None
        try:
            return self.part(name)
        except (KeyError, etree.XMLSyntaxError, zipfile.BadZipFile, OSError, EOFError):
            return None

    @property
    def main(self) -> etree._Element | None:
        return self.read(MAIN_PART)

    def rels(self, part: str) -> list[tuple[str, str]]:
        """(relationship type suffix, target part name) of a part's internal relationships."""
        found = self._rels.get(part)
        if found is None:
            found = self._rels[part] = _rels(self.zf, part)
        return found

    def related(self, rtype: str, default: str | None = None) -> str | None:
        """The main part's first related part of a type (`styles`, `numbering`, `theme` …)."""
        return next((target for kind, target in self.rels(MAIN_PART) if kind == rtype), default)

    @cached_property
    def tags(self) -> Tags:
        """The WordprocessingML names of this document's namespace (of its main part)."""
        main = self.main
        return tags_for(main) if main is not None else Tags(W_TRANSITIONAL)

    @cached_property
    def styles(self) -> StyleSheet:
        """The one style sheet of the document; theme and numbering read only when needed."""
        return StyleSheet(
            self.tags,
            self.read(self.related("styles", "word/styles.xml")),
            lambda: self.read(self.related("theme", "word/theme/theme1.xml")),
            lambda: self.read(self.related("numbering")),
        )


def _rels(zf: zipfile.ZipFile, part: str) -> list[tuple[str, str]]:
    rels_name = posixpath.join(posixpath.dirname(part), "_rels", posixpath.basename(part) + ".rels")
    try:
        root = etree.fromstring(zf.read(rels_name), SAFE_PARSER)
    except (KeyError, etree.XMLSyntaxError):
        return []
    out = []
    base = posixpath.dirname(part)
    for rel in root:
        if rel.get("TargetMode", "").lower() == "external":
            continue
        target = rel.get("Target", "")
        name = (
            target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
        )
        out.append((rel.get("Type", "").rsplit("/", 1)[-1], name))
    return out
