"""PDF structure: opens at all, not cut short, encryption, and active or embedded content.

Active content is found by walking the document's object structure (catalog name trees,
open actions, additional actions, annotations) rather than grepping bytes, so names hidden
in compressed object streams are seen and words in page text are not mistaken for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pypdf
from pypdf.constants import UserAccessPermissions
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from ..findings import Issues

_EOF_WINDOW = 4096
_HOSTILE_ACTIONS = {
    "/JavaScript": "JavaScript",
    "/Launch": "a command to launch a program",
    "/GoToE": "a link into an embedded file",
}
_HOSTILE_ANNOTS = {
    "/FileAttachment": "an attached file",
    "/RichMedia": "embedded multimedia (RichMedia)",
    "/Screen": "embedded multimedia",
}
_MAX_ACTION_CHAIN = 50


def _resolve(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def open_pdf(path: Path, issues: Issues) -> pypdf.PdfReader | None:
    """Open the PDF, handle encryption; returns a readable reader or None (issue recorded)."""
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - _EOF_WINDOW))
        tail = fh.read()
    if b"%%EOF" not in tail:
        issues.add(
            "file.corrupt", observed="no %%EOF", format="PDF", reason="the file is cut short (it has no end)"
        )
        return None
    try:
        reader = pypdf.PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            result = reader.decrypt("")
            if result == pypdf.PasswordType.NOT_DECRYPTED:
                issues.add("file.encrypted", observed="user password", detail="PDF with an open password")
                return None
            restricted = _restrictions(reader)
            issues.add(
                "file.owner_password", observed=restricted or "owner password", detail=restricted or "-"
            )
        if len(reader.pages) == 0:
            issues.add("file.corrupt", observed="0 pages", format="PDF", reason="it has no pages")
            return None
    except pypdf.errors.DependencyError as exc:
        issues.add("file.check_failed", observed=str(exc), reason=str(exc))
        return None
    except (
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        OSError,
        RecursionError,
    ) as exc:
        issues.add(
            "file.corrupt",
            observed=f"{type(exc).__name__}: {exc}"[:300],
            format="PDF",
            reason="its structure is broken",
        )
        return None
    return reader


def _restrictions(reader: pypdf.PdfReader) -> str:
    try:
        perms = reader.user_access_permissions
    except Exception:  # the /P entry is sometimes malformed; restrictions are only informative
        return ""
    if perms is None:
        return ""
    missing = []
    if not perms & UserAccessPermissions.PRINT:
        missing.append("printing")
    if not perms & UserAccessPermissions.EXTRACT:
        missing.append("copying")
    if not perms & UserAccessPermissions.MODIFY:
        missing.append("editing")
    return ", ".join(missing)


def _action_kinds(action: Any) -> list[str]:
    """Hostile kinds in an action and its /Next chain."""
    kinds: list[str] = []
    todo = [action]
    steps = 0
    while todo and steps < _MAX_ACTION_CHAIN:
        steps += 1
        act = _resolve(todo.pop())
        if isinstance(act, ArrayObject):
            todo.extend(act)
            continue
        if not isinstance(act, DictionaryObject):
            continue
        subtype = act.get("/S")
        if subtype in _HOSTILE_ACTIONS:
            kinds.append(_HOSTILE_ACTIONS[subtype])
        elif "/JS" in act:
            kinds.append("JavaScript")
        if "/Next" in act:
            todo.append(act["/Next"])
    return kinds


def _additional_actions(holder: Any) -> list[str]:
    aa = _resolve(holder.get("/AA")) if isinstance(holder, DictionaryObject) else None
    kinds: list[str] = []
    if isinstance(aa, DictionaryObject):
        for value in aa.values():
            kinds += _action_kinds(value)
    return kinds


def find_active_content(reader: pypdf.PdfReader, issues: Issues) -> None:
    found: list[tuple[str, dict[str, Any]]] = []
    try:
        root = _resolve(reader.trailer["/Root"])
        names = _resolve(root.get("/Names"))
        if isinstance(names, DictionaryObject):
            if "/JavaScript" in names:
                found.append(("JavaScript", {}))
            if "/EmbeddedFiles" in names:
                found.append(("attached files (EmbeddedFiles)", {}))
        if "/OpenAction" in root:
            found += [(k, {}) for k in _action_kinds(root["/OpenAction"])]
        found += [(k, {}) for k in _additional_actions(root)]
        for number, page in enumerate(reader.pages, start=1):
            found += [(k, {"page": number}) for k in _additional_actions(page)]
            annots = _resolve(page.get("/Annots"))
            if not isinstance(annots, ArrayObject):
                continue
            for annot_ref in annots:
                annot = _resolve(annot_ref)
                if not isinstance(annot, DictionaryObject):
                    continue
                subtype = annot.get("/Subtype")
                if subtype in _HOSTILE_ANNOTS:
                    found.append((_HOSTILE_ANNOTS[subtype], {"page": number}))
                if "/A" in annot:
                    found += [(k, {"page": number}) for k in _action_kinds(annot["/A"])]
                found += [(k, {"page": number}) for k in _additional_actions(annot)]
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        issues.add(
            "file.corrupt",
            observed=f"{type(exc).__name__}: {exc}"[:300],
            format="PDF",
            reason="its structure is broken",
        )
        return
    seen: set[str] = set()
    for what, location in found:
        if what in seen:
            continue
        seen.add(what)
        issues.add("file.active_content", location=location, observed=what, what=what)
