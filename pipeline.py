"""The single entry to checking: route a file to its checkers, and decide file and filing verdicts.

`validate_file` runs the cheap checks (size, extension, name) in-process, then parses the file
in a bounded child process (`sandbox`), where the content is sniffed and the format's checkers
run in a fixed order. Severities come from the policy, messages from the catalogue; a crash,
a timeout or a memory blow-up while parsing becomes a finding on that file, never a crash of
the run. `validate_filing` adds the checks that look at the files together.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import messages
from .checks import common, doc, doc_convert, ooxml, outline, textrules, xlsx, xlsx_fonts
from .checks.docx import images as docx_images
from .checks.docx import package as docx_package
from .checks.docx import text as docx_text
from .checks.filing import metadata as filing_metadata
from .checks.filing import rules as filing_rules
from .checks.findings import Issue, Issues
from .checks.image import scan as image_scan
from .checks.pdf import scan as pdf_scan
from .checks.pdf import structure as pdf_structure
from .checks.pdf import text as pdf_text
from .checks.sniff import Sniffed, sniff
from .policy import Policy, default_policy
from .report import FileReport, FilingReport, Finding, PageInfo, TextSummary, decide
from .sandbox import SandboxMemory, SandboxPool, SandboxTimeout, shared_pool


@dataclass
class Inspection:
    """What the sandboxed part of the check found; returned from the child process."""

    format: str | None
    issues: Issues = field(default_factory=Issues)
    text: TextSummary | None = None
    pages: list[PageInfo] = field(default_factory=list)
    outline: dict[str, Any] | None = None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


# --- the sandboxed part --------------------------------------------------------------------------


def _inspect_pdf(path: Path, policy: Policy, result: Inspection) -> None:
    reader = pdf_structure.open_pdf(path, result.issues)
    if reader is None:
        return
    pdf_structure.find_active_content(reader, result.issues)
    # Text layer: every visible character's font and effective size, line spacing from baselines;
    # the font and spacing rules. Its per-page visible glyph counts decide the page kinds below.
    layer = pdf_text.check_text_layer(reader, policy, result.issues)
    result.text = pdf_text.summary(layer, policy)
    # Scan pages: every image's dpi from its placement, page coverage, page kind, and the scan
    # checks on scan pages (and mixed pages that are mostly picture).
    result.pages = pdf_scan.check_scan_pages(path, policy, result.issues, visible_glyphs=layer.visible_glyphs)
    pdf_text.page_metrics(layer, result.pages)


def _inspect_ooxml(path: Path, policy: Policy, result: Inspection, display: str) -> zipfile.ZipFile | None:
    zf = ooxml.open_package(path, policy, result.issues, display)
    if zf is None:
        return None
    if not ooxml.check_xml_parts(zf, result.issues, display):
        zf.close()
        return None
    ooxml.check_active_content(zf, result.issues)
    return zf


def _inspect_docx(path: Path, policy: Policy, result: Inspection) -> None:
    zf = _inspect_ooxml(path, policy, result, "DOCX")
    if zf is None:
        return
    with zf:
        main = docx_package.read_main_part(zf, result.issues)
        if main is not None:
            inventory = docx_text.read_text(zf, main)
            result.text = textrules.judge_text(inventory, policy, result.issues)
            result.pages = docx_images.check_page_images(zf, main, policy, result.issues)  # full-page scans


def _inspect_xlsx(path: Path, policy: Policy, result: Inspection) -> None:
    zf = _inspect_ooxml(path, policy, result, "XLSX")
    if zf is None:
        return
    with zf:
        if xlsx.check_workbook(zf, result.issues):
            inventory = xlsx_fonts.read_text(zf)
            result.text = textrules.judge_text(inventory, policy, result.issues, spreadsheet=True)


def _inspect_doc(path: Path, policy: Policy, result: Inspection) -> None:
    ole = doc.check_doc(path, result.issues)
    if ole is None:
        return
    ole.close()
    if any(issue.rule == "file.active_content" for issue in result.issues):
        return  # refused for its macros or objects; such a file is not handed to LibreOffice
    # The text is checked on a .docx that LibreOffice makes from it; never a silent pass.
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
                path, soffice=soffice, timeout=bounds.convert_timeout_seconds, memory_mb=bounds.convert_memory_mb
            ) as converted,
            zipfile.ZipFile(converted) as zf,
        ):
            inventory = docx_text.read_text(zf)
    except (doc_convert.ConversionError, zipfile.BadZipFile, OSError) as exc:
        result.issues.add("doc.unsupported", observed=str(exc)[:300], detail="@ui:doc_convert_failed")
        return
    result.text = textrules.judge_text(inventory, policy, result.issues)


def _inspect_jpeg(path: Path, policy: Policy, result: Inspection) -> None:
    # One reduced decode reads every byte (a truncated file is named by jpeg.open_jpeg) and
    # feeds the scan checks: dpi, 1:1 scale, colour, legibility.
    result.pages = image_scan.check_jpeg_file(path, policy, result.issues)


_INSPECTORS = {
    "pdf": _inspect_pdf,
    "docx": _inspect_docx,
    "xlsx": _inspect_xlsx,
    "doc": _inspect_doc,
    "jpeg": _inspect_jpeg,
}


def _content_matches(ext: str, sniffed: Sniffed, policy: Policy, issues: Issues) -> bool:
    # A password-protected DOCX/XLSX is an OLE "EncryptedPackage": say it is encrypted, which
    # is what the filer can fix, rather than that it is the wrong format.
    if sniffed.format == "ole-encrypted" and ext in ("docx", "xlsx"):
        issues.add(
            "file.encrypted", observed="EncryptedPackage", detail="@ui:enc_ooxml_password", kind=ext.upper()
        )
        return False
    if sniffed.detail.startswith("broken:") and sniffed.format in ("zip", "ole"):
        expected = policy.limits.extension_formats.get(ext, [])
        if any(fmt in ("docx", "xlsx", "doc") for fmt in expected):
            issues.add(
                "file.corrupt",
                observed=sniffed.detail[:300],
                format=ext.upper(),
                reason="@ui:bad_package",
            )
            return False
    return common.check_content_type(ext, sniffed, policy, issues)


def _outline(path: Path, fmt: str | None, policy: Policy, result: Inspection) -> dict[str, Any] | None:
    """The document's outline for the filing checks; never fails the file. A file already
    refused as a file (damaged, encrypted, hostile, not its format) is not read further."""
    if any(i.rule.startswith("file.") and policy.rules.get(i.rule) == "reject" for i in result.issues):
        return None
    try:
        found = outline.extract(path, fmt, policy)
    except Exception:  # the outline is an aid to the filing checks, not a verdict on the file
        return None
    return found.to_dict() if found is not None else None


def inspect(path: Path, ext: str, policy: Policy) -> Inspection:
    """Sniff the content and run the format's checkers in order. Runs inside the sandbox."""
    sniffed = sniff(path)
    result = Inspection(format=sniffed.format if sniffed.format in _INSPECTORS else None)
    if not _content_matches(ext, sniffed, policy, result.issues):
        return result
    inspector = _INSPECTORS.get(sniffed.format)
    if inspector is not None:
        inspector(path, policy, result)
    result.outline = _outline(path, sniffed.format, policy, result)
    return result


# --- the parent side ------------------------------------------------------------------------------


def _finding(issue: Issue, policy: Policy, lang: str) -> Finding | None:
    severity = policy.severity(issue.rule)
    if severity == "off":
        return None
    return Finding(
        rule=issue.rule,
        severity=severity,
        message=messages.render(issue.rule, lang, issue.params),
        location=issue.location,
        observed=issue.observed,
        expected=issue.expected,
    )


def render_findings(issues: Iterable[Issue], policy: Policy, lang: str) -> list[Finding]:
    return [f for f in (_finding(i, policy, lang) for i in issues) if f is not None]


def _run_bounded(path: Path, ext: str, policy: Policy, pool: SandboxPool | None) -> Inspection:
    bounds = policy.sandbox
    pool = pool or shared_pool(bounds.memory_limit_mb, bounds.recycle_rss_mb)
    try:
        result: Inspection = pool.run(inspect, (path, ext, policy), timeout=bounds.time_limit_seconds)
        return result
    except SandboxTimeout:
        failed = Inspection(format=None)
        failed.issues.add(
            "file.check_timeout",
            observed=f"> {bounds.time_limit_seconds:g} s",
            expected=f"<= {bounds.time_limit_seconds:g} s",
            limit_s=f"{bounds.time_limit_seconds:g}",
        )
        return failed
    except SandboxMemory:
        failed = Inspection(format=None)
        failed.issues.add(
            "file.check_memory",
            observed=f"> {bounds.memory_limit_mb} MB",
            expected=f"<= {bounds.memory_limit_mb} MB",
            limit_mb=str(bounds.memory_limit_mb),
        )
        return failed
    except Exception as exc:  # any other sandbox failure is this file's problem, not the run's
        failed = Inspection(format=None)
        failed.issues.add("file.check_failed", observed=str(exc)[:300], reason="@ui:fail_crash")
        return failed


def validate_file(
    path: str | Path,
    policy: Policy | None = None,
    *,
    name: str | None = None,
    lang: str = "en",
    pool: SandboxPool | None = None,
) -> FileReport:
    """Check one file; `name` is the name the filer gave it (defaults to the path's name)."""
    policy = policy or default_policy()
    path = Path(path)
    name = name or path.name
    size = path.stat().st_size
    issues = Issues()
    inspection = Inspection(format=None)
    # Everything the name and the size tell is said at once; the content is parsed only when
    # the file has an allowed extension and a size within the limit.
    size_ok = common.check_size(size, policy, issues)
    ext = common.check_extension(name, policy, issues)
    common.check_name(name, policy, issues)
    if size_ok and ext is not None:
        inspection = _run_bounded(path, ext, policy, pool)
        issues.extend(inspection.issues)
        filing_rules.check_outline(name, inspection.outline, policy, issues)
    findings = render_findings(issues, policy, lang)
    return FileReport(
        name=name,
        size=size,
        sha256=sha256_file(path),
        format=inspection.format,
        verdict=decide(findings),
        findings=findings,
        text=inspection.text,
        pages=inspection.pages,
        outline=inspection.outline,
    )


def filing_checks(
    reports: Sequence[FileReport],
    declared: Sequence[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    policy: Policy | None = None,
    today: dt.date | None = None,
) -> tuple[Issues, list[dict[str, Any]]]:
    """Checks on the files together (see checks/filing/rules.py), and the matching table.

    `declared` is the filer's list of documents; `metadata` the filing's metadata (file roles,
    proceeding, dates, and possibly its own `declared` list, which `declared` overrides).
    Raises `MetadataError` when the metadata is malformed."""
    policy = policy or default_policy()
    meta = filing_metadata.parse_metadata(metadata or {})
    if declared is not None:
        meta.declared = filing_metadata.parse_declared(list(declared))
    docs = [filing_rules.FiledDocument(r.name, r.sha256, r.outline) for r in reports]
    issues = Issues()
    rows = filing_rules.check_filing(docs, meta, policy, issues, today)
    return issues, rows


def filing_issues(
    reports: Sequence[FileReport],
    declared: Sequence[dict[str, Any]] | None,
    metadata: dict[str, Any] | None = None,
    *,
    policy: Policy | None = None,
    today: dt.date | None = None,
) -> Issues:
    """Checks on the files together: duplicates, declared documents, time limits."""
    return filing_checks(reports, declared, metadata, policy=policy, today=today)[0]


def validate_filing(
    paths: Sequence[str | Path],
    policy: Policy | None = None,
    declared: Sequence[dict[str, Any]] | None = None,
    *,
    names: Sequence[str] | None = None,
    lang: str = "en",
    reports: Sequence[FileReport] | None = None,
    filing_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    today: dt.date | None = None,
) -> FilingReport:
    """Check every file (unless their reports are given) and the filing as a whole.

    Raises `MetadataError` (a ValueError naming the key) when `metadata` is malformed; validate
    it at intake with `checks.filing.metadata.parse_metadata` to refuse it before any work."""
    policy = policy or default_policy()
    if reports is None:
        names = names or [Path(p).name for p in paths]
        reports = [validate_file(p, policy, name=n, lang=lang) for p, n in zip(paths, names, strict=True)]
    issues, matching = filing_checks(reports, declared, metadata, policy=policy, today=today)
    findings = render_findings(issues, policy, lang)
    verdict = decide(findings + [f for r in reports for f in r.findings])
    return FilingReport(
        policy=policy.summary(),
        verdict=verdict,
        findings=findings,
        files=list(reports),
        id=filing_id,
        lang=lang,
        matching=matching,
    )
