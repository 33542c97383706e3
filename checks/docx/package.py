"""A DOCX package opened once for every check that reads it: the text checks and the outline.

`read_main_part` checks that the main document part is present and well-formed XML. `DocxPackage`
holds the open ZIP with every part parsed at most once (a part that does not read raises the same
error for each reader, which decides what it tolerates), the part relationships, the namespace of
the document (Transitional or Strict OOXML: `Tags`) and one style sheet (styles, theme,
numbering) that resolves formatting for both.
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


def read_main_part(zf: zipfile.ZipFile, issues: Issues) -> etree._Element | None:
    try:
        return etree.fromstring(zf.read(MAIN_PART), SAFE_PARSER)
    except KeyError:
        issues.add(
            "file.corrupt", observed=f"no {MAIN_PART}", format="DOCX", reason="@ui:bad_no_document"
        )
    except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError, EOFError) as exc:
        issues.add(
            "file.corrupt", observed=str(exc)[:300], format="DOCX", reason="@ui:bad_document"
        )
    return None


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
