"""PDF structure: opens at all, not cut short, encryption, and active or embedded content.

Whether the file opens, and whether it needs a password, is PDFium's answer (the engine of the
viewers a court uses), with every page loaded; pypdf then reads the structure. A file is cut
short when it has no `%%EOF`, or an update after the last one was cut off (bytes after the end
that are not objects are tolerated, as viewers do).

Active content is found by walking the document's object structure (catalog name trees,
open actions, additional actions, annotations, form fields and XFA) rather than grepping bytes,
so names hidden in compressed object streams are seen and words in page text are not mistaken
for them.
"""

from __future__ import annotations

import mmap
import re
from pathlib import Path
from typing import Any

import pypdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pypdf.constants import UserAccessPermissions
from pypdf.errors import PyPdfError
from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject

from ..findings import Issues
from .document import PdfFile

_EOF_WINDOW = 4096
# After the last end marker, any of these means an incremental update that was cut off.
_UNFINISHED = re.compile(rb"\bendobj\b|\bstartxref\b|\d+\s+\d+\s+obj\b")
# Kinds of active content, as phrase keys of the message catalogue ([ui]), with the English
# wording kept in `observed`.
_KINDS = {
    "act_js": "JavaScript",
    "act_launch": "a command to launch a program",
    "act_goto_embedded": "a link into an embedded file",
    "act_attached_file": "an attached file",
    "act_embedded_files": "attached files (EmbeddedFiles)",
    "act_rich_media": "embedded multimedia (RichMedia)",
    "act_multimedia": "embedded multimedia",
    "act_xfa": "an XFA form (it can carry scripts)",
}
_HOSTILE_ACTIONS = {"/JavaScript": "act_js", "/Launch": "act_launch", "/GoToE": "act_goto_embedded"}
_HOSTILE_ANNOTS = {
    "/FileAttachment": "act_attached_file",
    "/RichMedia": "act_rich_media",
    "/Screen": "act_multimedia",
}
_MAX_ACTION_CHAIN = 50
_MAX_FIELDS = 10_000


def _resolve(obj: Any) -> Any:
    return obj.get_object() if isinstance(obj, IndirectObject) else obj


def _cut_short(path: Path) -> bool:
    """True when the file has no end marker, or an update after the last one was cut off.

    Readers tolerate bytes after the last `%%EOF` (scanners and mail gateways append some),
    so only objects or cross-reference data after it mean a truncated upload.
    """
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - _EOF_WINDOW))
        tail = fh.read()
        end = tail.rfind(b"%%EOF")
        if end >= 0:
            return _UNFINISHED.search(tail, end) is not None
        if size <= _EOF_WINDOW:
            return True
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
            end = data.rfind(b"%%EOF")
            if end < 0:
                return True
            return _UNFINISHED.search(data, end) is not None


def _open_in_viewer(pdf: PdfFile, issues: Issues) -> bool:
    """Open the document and load every page with PDFium, as a viewer would.

    PDFium is the authority on whether the court's viewer opens the file without a password.
    Loading a page parses its content, so a page that inflates without end is met here,
    inside the sandbox's bounds. The document stays open for the checks that follow.
    """
    try:
        document = pdf.document
    except pdfium.PdfiumError as exc:
        if exc.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            issues.add("file.encrypted", observed="user password", detail="@ui:enc_pdf_password")
        elif exc.err_code == pdfium_c.FPDF_ERR_SECURITY:
            issues.add("file.encrypted", observed="security handler", detail="@ui:enc_pdf_handler")
        else:
            issues.add("file.corrupt", observed=str(exc)[:300], format="PDF", reason="@ui:bad_structure")
        return False
    pages = len(document)
    if pages == 0:
        issues.add("file.corrupt", observed="0 pages", format="PDF", reason="@ui:bad_no_pages")
        return False
    for index in range(pages):
        try:
            pdf.page(index)
        except pdfium.PdfiumError as exc:
            issues.add(
                "file.corrupt",
                location={"page": index + 1},
                observed=str(exc)[:300],
                format="PDF",
                reason="@ui:bad_page",
                page=index + 1,
            )
            return False
    return True


def _content_not_encrypted(reader: pypdf.PdfReader) -> bool:
    """True when only attached files are encrypted (/StmF and /StrF are /Identity)."""
    try:
        encrypt = _resolve(reader.trailer["/Encrypt"])
        return bool(encrypt.get("/StmF") == "/Identity" and encrypt.get("/StrF") == "/Identity")
    except (PyPdfError, KeyError, AttributeError, TypeError, ValueError):
        return False


def open_pdf(pdf: PdfFile, issues: Issues) -> pypdf.PdfReader | None:
    """Open the PDF, handle encryption; returns a readable reader (kept as `pdf.reader`) or None
    (issue recorded)."""
    reader = _open_pdf(pdf, issues)
    pdf.reader = reader
    return reader


def _open_pdf(pdf: PdfFile, issues: Issues) -> pypdf.PdfReader | None:
    path = pdf.path
    if _cut_short(path):
        issues.add("file.corrupt", observed="no %%EOF", format="PDF", reason="@ui:bad_cut_short")
        return None
    if not _open_in_viewer(pdf, issues):
        return None
    try:
        reader = pypdf.PdfReader(str(path), strict=False)
        if reader.is_encrypted:
            result = reader.decrypt("")
            if result == pypdf.PasswordType.NOT_DECRYPTED:
                if not _content_not_encrypted(reader):
                    # PDFium opened it without a password, yet the same standard algorithm does
                    # not decrypt it with the empty password here: the encryption dictionary
                    # contradicts itself (e.g. a key defined twice, each reader taking another).
                    issues.add(
                        "file.corrupt",
                        observed="the empty user password PDFium accepts does not decrypt it",
                        format="PDF",
                        reason="@ui:bad_encryption",
                    )
                    return None
                # The document opens without a password; only its attachments are locked.
                reader._override_encryption = True
            else:
                restricted = _restrictions(reader)
                issues.add(
                    "file.owner_password",
                    observed=", ".join(restricted) or "owner password",
                    detail=[f"@ui:own_{r}" for r in restricted] or "@ui:own_unspecified",
                )
        if len(reader.pages) == 0:
            issues.add("file.corrupt", observed="0 pages", format="PDF", reason="@ui:bad_no_pages")
            return None
    except pypdf.errors.DependencyError as exc:
        issues.add("file.check_failed", observed=str(exc), reason="@ui:fail_dependency")
        return None
    except (
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        IndexError,
        OSError,
        OverflowError,  # an offset too large for a file position (a damaged xref or startxref)
        RecursionError,
    ) as exc:
        issues.add(
            "file.corrupt",
            observed=f"{type(exc).__name__}: {exc}"[:300],
            format="PDF",
            reason="@ui:bad_structure",
        )
        return None
    return reader


def _restrictions(reader: pypdf.PdfReader) -> list[str]:
    try:
        perms = reader.user_access_permissions
    except Exception:  # the /P entry is sometimes malformed; restrictions are only informative
        return []
    if perms is None:
        return []
    missing = []
    if not perms & UserAccessPermissions.PRINT:
        missing.append("printing")
    if not perms & UserAccessPermissions.EXTRACT:
        missing.append("copying")
    if not perms & UserAccessPermissions.MODIFY:
        missing.append("editing")
    return missing


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
            kinds.append("act_js")
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


def _form_actions(root: Any) -> list[str]:
    """Scripts of the interactive form: an XFA form, and actions on fields (not only on widgets)."""
    form = _resolve(root.get("/AcroForm"))
    if not isinstance(form, DictionaryObject):
        return []
    kinds = ["act_xfa"] if "/XFA" in form else []
    todo = list(_resolve(form.get("/Fields")) or [])
    seen = 0
    while todo and seen < _MAX_FIELDS:
        seen += 1
        field = _resolve(todo.pop())
        if not isinstance(field, DictionaryObject):
            continue
        if "/A" in field:
            kinds += _action_kinds(field["/A"])
        kinds += _additional_actions(field)
        kids = _resolve(field.get("/Kids"))
        if isinstance(kids, ArrayObject):
            todo.extend(kids)
    return kinds


def find_active_content(reader: pypdf.PdfReader, issues: Issues) -> None:
    found: list[tuple[str, dict[str, Any]]] = []
    try:
        root = _resolve(reader.trailer["/Root"])
        names = _resolve(root.get("/Names"))
        if isinstance(names, DictionaryObject):
            if "/JavaScript" in names:
                found.append(("act_js", {}))
            if "/EmbeddedFiles" in names:
                found.append(("act_embedded_files", {}))
        if "/OpenAction" in root:
            found += [(k, {}) for k in _action_kinds(root["/OpenAction"])]
        found += [(k, {}) for k in _additional_actions(root)]
        found += [(k, {}) for k in _form_actions(root)]
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
    except (
        PyPdfError,
        ValueError,
        KeyError,
        TypeError,
        AttributeError,
        OverflowError,
        RecursionError,
    ) as exc:
        issues.add(
            "file.corrupt",
            observed=f"{type(exc).__name__}: {exc}"[:300],
            format="PDF",
            reason="@ui:bad_structure",
        )
        return
    seen: set[str] = set()
    for what, location in found:
        if what in seen:
            continue
        seen.add(what)
        issues.add("file.active_content", location=location, observed=_KINDS[what], what=f"@ui:{what}")
