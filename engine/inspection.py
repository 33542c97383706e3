"""The sandboxed half of the pipeline: sniff a file and run its format's checkers, in order.

`pipeline.validate_file` sends each file here, into a bounded child process of the sandbox
pool; only the child imports the format checkers and their heavy libraries (PDFium, OpenCV,
NumPy), so the parent — the CLI, the API, a worker — starts fast. What this returns is an
`Inspection`: the issues found and the measurements for the report.

Each file is parsed once per format: a PDF is opened once by PDFium (`pdf.document.PdfFile`) and
read by the structure, text, scan and outline checks in turn; a DOCX package is opened once and
its parts and styles parsed once (`docx.package.DocxPackage`) for the text checks and the
outline. An inspector returns what it opened (`Opened`), and it is closed once the outline is
read; the scan checks' pass over a PDF's pages also reads them for the outline.

A filer learns everything wrong with a file in one round, so a refusal stops the checks only
when the file cannot or must not be read: an archive bomb, an encrypted or damaged file, a
format the court does not take. A file with active content (macros, embedded objects) is still
read for its text, and a file renamed to another allowed extension (a DOCX named .doc, a JPEG
named .pdf, a DOCM named .docx) is refused for the mismatch and checked as what it really is.
"""

from __future__ import annotations

import zipfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..checks import common, doc, doc_convert, ooxml, outline, textrules, xlsx, xlsx_fonts
from ..checks.docx import images as docx_images
from ..checks.docx import package as docx_package
from ..checks.docx import text as docx_text
from ..checks.docx.package import DocxPackage
from ..checks.findings import Inspection, Issues
from ..checks.image import scan as image_scan
from ..checks.pdf import scan as pdf_scan
from ..checks.pdf import structure as pdf_structure
from ..checks.pdf import text as pdf_text
from ..checks.pdf.document import PdfFile
from ..checks.sniff import Sniffed, sniff
from ..core.policy import Policy


@dataclass
class Opened:
    """The file as the checks opened it, for the outline to read."""

    pdf: PdfFile | None = None
    pdf_pages: outline.PdfPages | None = None  # the PDF's pages as the scan checks' pass read them
    docx: DocxPackage | None = None


def _inspect_pdf(path: Path, policy: Policy, result: Inspection, stack: ExitStack) -> Opened:
    pdf = stack.enter_context(PdfFile(path))
    opened = Opened(pdf=pdf)
    reader = pdf_structure.open_pdf(pdf, result.issues)
    if reader is None:
        return opened
    pdf_structure.find_active_content(reader, result.issues)
    # Text layer: every visible character's font and effective size, line spacing from baselines;
    # the font and spacing rules. Its per-page visible glyph counts decide the page kinds below.
    layer = pdf_text.check_text_layer(reader, policy, result.issues)
    result.text = pdf_text.summary(layer, policy)
    # Scan pages: every image's dpi from its placement, page coverage, page kind, and the scan
    # checks on scan pages (and mixed pages that are mostly picture).
    # The same pass reads each page for the outline.
    opened.pdf_pages = outline.PdfPages()
    result.pages = pdf_scan.check_scan_pages(
        pdf, policy, result.issues, visible_glyphs=layer.visible_glyphs, also=opened.pdf_pages.add
    )
    pdf_text.page_metrics(layer, result.pages)
    return opened


def _inspect_ooxml(path: Path, policy: Policy, result: Inspection, display: str) -> zipfile.ZipFile | None:
    zf = ooxml.open_package(path, policy, result.issues, display)
    if zf is None:
        return None
    if not ooxml.check_xml_parts(zf, result.issues, display):
        zf.close()
        return None
    ooxml.check_active_content(zf, result.issues)
    return zf


def _inspect_docx(path: Path, policy: Policy, result: Inspection, stack: ExitStack) -> Opened | None:
    zf = _inspect_ooxml(path, policy, result, "DOCX")
    if zf is None:
        return None
    stack.enter_context(zf)
    main = docx_package.read_main_part(zf, result.issues)
    if main is None:
        return None
    package = DocxPackage(zf, main)
    inventory = docx_text.read_text(package)
    result.text = textrules.judge_text(inventory, policy, result.issues)
    result.pages = docx_images.check_page_images(zf, main, policy, result.issues)  # full-page scans
    return Opened(docx=package)


def _inspect_xlsx(path: Path, policy: Policy, result: Inspection, stack: ExitStack) -> None:
    zf = _inspect_ooxml(path, policy, result, "XLSX")
    if zf is None:
        return
    with zf:
        if xlsx.check_workbook(zf, result.issues):
            inventory = xlsx_fonts.read_text(zf)
            result.text = textrules.judge_text(inventory, policy, result.issues, spreadsheet=True)


def _inspect_doc(path: Path, policy: Policy, result: Inspection, stack: ExitStack) -> None:
    ole = doc.check_doc(path, result.issues)
    if ole is None:
        return
    ole.close()
    # The text is checked on a .docx that LibreOffice makes from it; never a silent pass. A
    # document with macros or objects (already refused for them) is converted too: LibreOffice
    # runs no unsigned macro (its default security level), and the conversion is bounded.
    soffice = doc_convert.find_soffice()
    if soffice is None:
        result.issues.add(
            "doc.unsupported",
            observed="LibreOffice is not installed",
            detail="@ui:doc_no_converter",
        )
        return
    bounds = policy.doc
    try:
        with (
            doc_convert.converted_docx(
                path,
                soffice=soffice,
                timeout=bounds.convert_timeout_seconds,
                memory_mb=bounds.convert_memory_mb,
            ) as converted,
            zipfile.ZipFile(converted) as zf,
        ):
            # An empty .doc converts to an empty DOCX: document.empty, as for a DOCX; the main
            # part parsed for that is the one the text is read from.
            main = docx_package.read_main_part(zf, result.issues)
            inventory = docx_text.read_text(zf, main)
    except (doc_convert.ConversionError, zipfile.BadZipFile, OSError) as exc:
        result.issues.add("doc.unsupported", observed=str(exc)[:300], detail="@ui:doc_convert_failed")
        return
    result.text = textrules.judge_text(inventory, policy, result.issues)


def _inspect_jpeg(path: Path, policy: Policy, result: Inspection, stack: ExitStack) -> None:
    # One reduced decode reads every byte (a truncated file is named by jpeg.open_jpeg) and
    # feeds the scan checks: dpi, 1:1 scale, colour, legibility.
    result.pages = image_scan.check_jpeg_file(path, policy, result.issues)


class _Inspector(Protocol):
    def __call__(self, path: Path, policy: Policy, result: Inspection, stack: ExitStack) -> Opened | None: ...


_INSPECTORS: dict[str, _Inspector] = {
    "pdf": _inspect_pdf,
    "docx": _inspect_docx,
    "xlsx": _inspect_xlsx,
    "doc": _inspect_doc,
    "jpeg": _inspect_jpeg,
}


def _reader(ext: str, sniffed: Sniffed, policy: Policy, issues: Issues) -> str | None:
    """The format whose checks read the file, or None when it must not be read further."""
    # A password-protected DOCX/XLSX is an OLE "EncryptedPackage": say it is encrypted, which
    # is what the filer can fix, rather than that it is the wrong format.
    if sniffed.format == "ole-encrypted" and ext in ("docx", "xlsx"):
        issues.add(
            "file.encrypted", observed="EncryptedPackage", detail="@ui:enc_ooxml_password", kind=ext.upper()
        )
        return None
    if sniffed.detail.startswith("broken:") and sniffed.format in ("zip", "ole"):
        expected = policy.limits.extension_formats.get(ext, [])
        if any(fmt in ("docx", "xlsx", "doc") for fmt in expected):
            where = {"part": sniffed.part} if sniffed.part else {}
            issues.add(
                "file.corrupt",
                location=where,
                observed=sniffed.detail[:300],
                format=ext.upper(),
                reason="@ui:bad_part" if sniffed.part else "@ui:bad_package",
                **where,
            )
            return None
    if common.check_content_type(ext, sniffed, policy, issues):
        return sniffed.reader
    # Refused for the mismatch; content of a format the court takes is checked as what it is.
    if sniffed.reader in _INSPECTORS and sniffed.reader in common.allowed_formats(policy):
        return sniffed.reader
    return None


# Refusals that leave the file readable: its other checks and its outline still run.
_READABLE_REFUSALS = frozenset({"file.active_content", "file.content_mismatch"})


def _outline(
    path: Path, fmt: str | None, policy: Policy, result: Inspection, opened: Opened | None
) -> dict[str, Any] | None:
    """The document's outline for the filing checks, from the file as the checks opened it;
    never fails the file. A file already refused as a file (damaged, encrypted, hostile, not its
    format) is not read further; one refused only for active content or its extension is."""
    if any(
        i.rule.startswith("file.") and i.rule not in _READABLE_REFUSALS and policy.rules.get(i.rule) == "reject"
        for i in result.issues
    ):
        return None
    try:
        opened = opened or Opened()
        found = outline.extract(
            path, fmt, policy, pdf=opened.pdf, pdf_pages=opened.pdf_pages, docx=opened.docx
        )
    except Exception:  # the outline is an aid to the filing checks, not a verdict on the file
        return None
    return found.to_dict() if found is not None else None


def inspect(path: Path, ext: str, policy: Policy) -> Inspection:
    """Sniff the content and run the format's checkers in order. Runs inside the sandbox."""
    sniffed = sniff(path)
    result = Inspection(format=sniffed.format if sniffed.format in _INSPECTORS else None)
    reader = _reader(ext, sniffed, policy, result.issues)
    if reader is None:
        return result
    inspector = _INSPECTORS.get(reader)
    with ExitStack() as stack:
        opened = inspector(path, policy, result, stack) if inspector is not None else None
        result.outline = _outline(path, reader, policy, result, opened)
    return result
