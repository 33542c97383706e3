"""Package-level checks for OOXML files (DOCX, XLSX): archive bounds, hostile XML, active content.

Everything here runs before any document XML is parsed: an archive bomb is refused from the
sizes its directory declares (Python's `zipfile` never inflates a part beyond its declared size),
then every part is inflated once in chunks to verify its checksum, and a DOCTYPE (entity
expansion, the "billion laughs") is refused from a byte scan of each XML part.
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from pathlib import Path

from lxml import etree

from ..core.policy import Policy
from .findings import Issues

#: What reading a damaged ZIP part can raise: a bad header or CRC, a truncated or garbled deflate
#: stream, a flag bit that claims the part is encrypted (RuntimeError), an unknown compression.
ZIP_PART_ERRORS: tuple[type[BaseException], ...] = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    ValueError,
    NotImplementedError,
    RuntimeError,
    zlib.error,
)

# Office never writes a DTD; one in a part means an entity-expansion attack or a forged file.
_DOCTYPE = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_DDE = re.compile(rb"(<w:instrText[^>]*>\s*|w:instr=\"\s*)DDE(AUTO)?\b", re.IGNORECASE)
_REL = re.compile(rb"<Relationship\b[^>]*>", re.IGNORECASE)
# Word parts that may hold fields (a DDE field runs a program when the document opens).
_FIELD_PARTS = re.compile(r"word/(document|header\d*|footer\d*|footnotes|endnotes)\.xml")
_ATTR = re.compile(rb'(\w+)="([^"]*)"')

# Relationship types that pull content from outside the file when it is opened.
_EXTERNAL_ACTIVE_TYPES = ("attachedTemplate", "oleObject", "subDocument", "frame", "package")

_CHUNK_BYTES = 1 << 20

SAFE_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)


def open_package(path: Path, policy: Policy, issues: Issues, display: str) -> zipfile.ZipFile | None:
    """Open the ZIP and bound it; returns None (with an issue recorded) when it must not be parsed."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        issues.add("file.corrupt", observed=str(exc), format=display, reason=_reason_zip(exc))
        return None
    infos = zf.infolist()
    bounds = policy.archive
    total = sum(i.file_size for i in infos)
    judged = [i for i in infos if i.file_size >= bounds.ratio_min_entry_bytes]
    worst = max(judged, key=lambda i: i.file_size / max(i.compress_size, 1), default=None)
    ratio = worst.file_size / max(worst.compress_size, 1) if worst is not None else 0.0
    over = ""
    location: dict[str, str] = {}
    if len(infos) > bounds.max_entries:
        over = f"{len(infos)} parts > {bounds.max_entries}"
    elif total > bounds.max_total_uncompressed_bytes:
        over = f"{total} bytes > {bounds.max_total_uncompressed_bytes}"
    elif worst is not None and ratio > bounds.max_entry_ratio:
        over = f"{worst.filename}: ratio {ratio:.0f}:1 > {bounds.max_entry_ratio:g}:1"
        location = {"part": worst.filename}
    if over:
        issues.add(
            "file.archive_bomb",
            location=location,
            observed=over,
            expected={
                "max_total_uncompressed_bytes": bounds.max_total_uncompressed_bytes,
                "max_entries": bounds.max_entries,
                "max_entry_ratio": bounds.max_entry_ratio,
            },
            size_mb=f"{total / 1_048_576:.0f}",
            parts=len(infos),
            ratio=f"{ratio:.0f}",
            limit_mb=f"{bounds.max_total_uncompressed_bytes / 1_048_576:.0f}",
            limit_parts=bounds.max_entries,
            limit_ratio=f"{bounds.max_entry_ratio:g}",
        )
        zf.close()
        return None
    return zf


def _reason_zip(exc: Exception) -> str:
    text = str(exc).lower()
    if "central directory" in text or "not a zip" in text:
        return "@ui:bad_package_incomplete"
    return "@ui:bad_package"


def _damaged(issues: Issues, part: str, observed: str, display: str, reason: str) -> bool:
    issues.add(
        "file.corrupt",
        location={"part": part},
        observed=observed[:300],
        format=display,
        reason=reason,
        part=part,
    )
    return False


def check_xml_parts(zf: zipfile.ZipFile, issues: Issues, display: str) -> bool:
    """Read every part through once: each must inflate to its checksum, no XML part may declare
    a DTD, and the package's own indexes (content types, relationships) must be well-formed XML.

    Returns False (with an issue recorded) at the first part that fails. The sizes were bounded
    by `open_package`, and `zipfile` never inflates beyond a part's declared size.
    """
    for info in zf.infolist():
        name = info.filename
        if not name:  # a directory entry whose name was lost (zipfile cannot even ask if it is a folder)
            issues.add(
                "file.corrupt", observed="a part with no name", format=display, reason="@ui:bad_package"
            )
            return False
        if info.is_dir():
            continue
        is_xml = name.lower().endswith((".xml", ".rels", ".vml"))
        is_index = name == "[Content_Types].xml" or name.endswith(".rels")
        try:
            declares_dtd = False
            index_data: list[bytes] | None = [] if is_index else None
            tail = b""
            with zf.open(info) as fh:
                while chunk := fh.read(_CHUNK_BYTES):
                    if is_xml and not declares_dtd:
                        declares_dtd = _DOCTYPE.search(tail + chunk) is not None
                        tail = chunk[-16:]
                    if index_data is not None:
                        index_data.append(chunk)
        except ZIP_PART_ERRORS as exc:
            return _damaged(issues, name, str(exc), display, "@ui:bad_part")
        if declares_dtd:
            return _damaged(
                issues,
                name,
                "DOCTYPE declaration",
                display,
                "@ui:bad_part_dtd",
            )
        if index_data is not None:
            try:
                etree.fromstring(b"".join(index_data), SAFE_PARSER)
            except etree.XMLSyntaxError as exc:
                return _damaged(issues, name, str(exc), display, "@ui:bad_part_xml")
    if "[Content_Types].xml" not in zf.NameToInfo:
        return _damaged(issues, "[Content_Types].xml", "missing", display, "@ui:bad_no_content_types")
    return True


def _relationships(zf: zipfile.ZipFile, rels_name: str) -> list[dict[str, str]]:
    data = zf.read(rels_name)
    out = []
    for tag in _REL.findall(data):
        out.append({k.decode(): v.decode("utf-8", "replace") for k, v in _ATTR.findall(tag)})
    return out


def check_active_content(zf: zipfile.ZipFile, issues: Issues) -> None:
    """Macros, ActiveX, embedded objects, external templates/objects and DDE fields.

    One finding per kind (the first part where it was seen); the kind is a phrase key of the
    message catalogue, the English wording goes to `observed`.
    """
    names = zf.namelist()
    found: list[tuple[str, str, str, dict[str, str]]] = []  # kind, observed, part, phrase params
    chart_data: set[str] = set()
    rels_parts = [n for n in names if n.endswith(".rels")]
    for rels_name in rels_parts:
        source_dir = posixpath.dirname(posixpath.dirname(rels_name))
        for rel in _relationships(zf, rels_name):
            rtype = rel.get("Type", "").rsplit("/", 1)[-1]
            target = rel.get("Target", "")
            if rel.get("TargetMode", "").lower() == "external":
                if rtype in _EXTERNAL_ACTIVE_TYPES:
                    link = f"{rtype}: {target[:80]}"
                    found.append(
                        (
                            "act_external_link",
                            f"a link to an outside file ({link})",
                            rels_name,
                            {"link": link},
                        )
                    )
                continue
            # Embedded workbooks that only hold a chart's data are not attachments.
            if "/charts/" in rels_name or rels_name.startswith(("word/charts/", "xl/charts/")):
                chart_data.add(posixpath.normpath(posixpath.join(source_dir, target)))
    for name in names:
        lower = name.lower()
        if lower.endswith("vbaproject.bin") or lower.endswith("vbadata.xml"):
            found.append(("act_vba", "macros (VBA project)", name, {}))
        elif "/activex/" in lower:
            found.append(("act_activex", "ActiveX controls", name, {}))
        elif "/embeddings/" in lower and posixpath.normpath(name) not in chart_data:
            obj = posixpath.basename(name)
            found.append(
                ("act_embedded_object", f"an embedded file or object ({obj})", name, {"object": obj})
            )
        elif lower.startswith("xl/macrosheets/"):
            found.append(("act_xlm", "Excel 4.0 macro sheets", name, {}))
    for name in names:
        if _FIELD_PARTS.fullmatch(name):
            with zf.open(name) as fh:
                if _DDE.search(fh.read()):
                    found.append(
                        ("act_dde", "a DDE field that runs a command when the document is opened", name, {})
                    )
                    break
    seen: set[str] = set()
    for kind, observed, part, params in found:
        if kind in seen:
            continue
        seen.add(kind)
        issues.add(
            "file.active_content", location={"part": part}, observed=observed, what=f"@ui:{kind}", **params
        )
