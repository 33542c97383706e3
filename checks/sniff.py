"""Content sniffing: what a file really is, from its magic bytes and container contents.

The extension is what the filer claims; this module says what the bytes are: a ZIP is looked
into for its OOXML main part (docx vs docm vs xlsx …), an OLE2 compound file for its streams
(Word document vs Excel workbook vs an encrypted OOXML package).
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import olefile

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# OOXML main-part content types → format.
_OOXML_MAIN_TYPES: dict[str, str] = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": "docx",
    "application/vnd.ms-word.document.macroenabled.main+xml": "docm",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml": "dotx",
    "application/vnd.ms-word.template.macroenabledtemplate.main+xml": "dotm",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": "xlsx",
    "application/vnd.ms-excel.sheet.macroenabled.main+xml": "xlsm",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml": "xltx",
    "application/vnd.ms-excel.template.macroenabled.main+xml": "xltm",
    "application/vnd.ms-excel.sheet.binary.macroenabled.main": "xlsb",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": "pptx",
    "application/vnd.ms-powerpoint.presentation.macroenabled.main+xml": "pptm",
}

# Human-readable names used in messages ("its content is …").
FORMAT_NAMES: dict[str, str] = {
    "pdf": "PDF",
    "jpeg": "JPEG",
    "docx": "Word DOCX",
    "docm": "Word DOCM (macro-enabled)",
    "dotx": "Word template DOTX",
    "dotm": "Word template DOTM (macro-enabled)",
    "xlsx": "Excel XLSX",
    "xlsm": "Excel XLSM (macro-enabled)",
    "xltx": "Excel template XLTX",
    "xltm": "Excel template XLTM (macro-enabled)",
    "xlsb": "Excel XLSB (binary, macro-enabled)",
    "pptx": "PowerPoint PPTX",
    "pptm": "PowerPoint PPTM (macro-enabled)",
    "odt": "OpenDocument text (ODT)",
    "ods": "OpenDocument spreadsheet (ODS)",
    "odf": "OpenDocument",
    "zip": "ZIP archive",
    "doc": "Word 97–2003 DOC",
    "xls": "Excel 97–2003 XLS",
    "ppt": "PowerPoint 97–2003 PPT",
    "ole-encrypted": "password-protected Office package",
    "ole": "OLE compound file (not a Word document)",
    "png": "PNG",
    "gif": "GIF",
    "tiff": "TIFF",
    "bmp": "BMP",
    "webp": "WebP",
    "heic": "HEIC",
    "jp2": "JPEG 2000",
    "rtf": "RTF",
    "wri": "Windows Write",
    "exe": "Windows program",
    "elf": "Linux program",
    "html": "HTML",
    "xml": "XML",
    "empty": "empty",
    "unknown": "an unrecognised format",
}


# Formats whose name is words (not just a format's own name): translated in the catalogue.
TRANSLATED_FORMATS = frozenset(
    {"docm", "dotx", "dotm", "xlsm", "xltx", "xltm", "xlsb", "pptm", "odt", "ods", "odf", "zip"}
    | {"ole-encrypted", "ole", "exe", "elf", "empty", "unknown"}
)


# Macro-enabled and template variants are the same markup as the format they vary: a DOCM is
# read as a DOCX, an XLSM as an XLSX (never run: only their XML is parsed), so a variant named
# as the allowed format is refused for the mismatch and still checked for everything else.
READ_AS: dict[str, str] = {
    "docm": "docx",
    "dotx": "docx",
    "dotm": "docx",
    "xlsm": "xlsx",
    "xltx": "xlsx",
    "xltm": "xlsx",
}


@dataclass(frozen=True)
class Sniffed:
    format: str
    detail: str = ""
    part: str = ""  # the damaged part of a broken package, when one was named

    @property
    def display(self) -> str:
        return FORMAT_NAMES.get(self.format, self.format)

    @property
    def reader(self) -> str:
        """The format whose checks can read this content (itself, or the format a variant is of)."""
        return READ_AS.get(self.format, self.format)

    @property
    def phrase(self) -> str:
        """The format's name for a message: a catalogue phrase where it needs translating."""
        return (
            f"@ui:fmt_{self.format.replace('-', '_')}" if self.format in TRANSLATED_FORMATS else self.display
        )


def sniff(path: Path) -> Sniffed:
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if not head:
        return Sniffed("empty")
    # Programs first: a PDF header hidden inside an executable does not make it a document.
    if head.startswith((b"MZ", b"\x7fELF")):
        return Sniffed("exe" if head.startswith(b"MZ") else "elf")
    # PDF readers accept the header anywhere in the first 1024 bytes.
    if b"%PDF-" in head[:1024]:
        return Sniffed("pdf")
    if head.startswith(b"\xff\xd8\xff"):
        return Sniffed("jpeg")
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return _sniff_zip(path)
    if head.startswith(OLE_MAGIC):
        return _sniff_ole(path)
    for magic, fmt in _SIMPLE_MAGIC:
        if head.startswith(magic):
            return Sniffed(fmt)
    if head[4:12] in (b"ftypheic", b"ftypheix", b"ftypmif1", b"ftyphevc"):
        return Sniffed("heic")
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return Sniffed("webp")
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        return Sniffed("html")
    if stripped.startswith(b"<?xml"):
        return Sniffed("xml")
    return Sniffed("unknown")


_SIMPLE_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"II*\x00", "tiff"),
    (b"MM\x00*", "tiff"),
    (b"BM", "bmp"),
    (b"\x00\x00\x00\x0cjP  ", "jp2"),
    (b"{\\rtf", "rtf"),
    (b"MZ", "exe"),
    (b"\x7fELF", "elf"),
    (b"\x31\xbe\x00\x00", "wri"),
    (b"\x32\xbe\x00\x00", "wri"),
)

_CT_OVERRIDE = re.compile(rb'<Override\b[^>]*?ContentType="([^"]+)"', re.IGNORECASE)


def _sniff_zip(path: Path) -> Sniffed:
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            if not names:
                return Sniffed("zip", "broken: the archive has no parts")
            if "mimetype" in names:
                mimetype = zf.read("mimetype")[:100].decode("ascii", "replace")
                if "opendocument.text" in mimetype:
                    return Sniffed("odt")
                if "opendocument.spreadsheet" in mimetype:
                    return Sniffed("ods")
                return Sniffed("odf", mimetype)
            damaged = ""
            if "[Content_Types].xml" in names:
                info = zf.getinfo("[Content_Types].xml")
                if info.file_size <= 1_048_576:
                    try:
                        types = zf.read(info)
                    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                        # A damaged part (bad deflate data or checksum): the part names still tell
                        # the format, and the package check names the part for the filer.
                        types, damaged = b"", f"broken: {exc}"
                    for ct in _CT_OVERRIDE.findall(types):
                        fmt = _OOXML_MAIN_TYPES.get(ct.decode("ascii", "replace").lower())
                        if fmt:
                            return Sniffed(fmt)
            # Strict OOXML or unusual packages: fall back to the conventional part names.
            if "word/document.xml" in names:
                return Sniffed("docx")
            if "xl/workbook.xml" in names:
                return Sniffed("xlsx")
            if "xl/workbook.bin" in names:
                return Sniffed("xlsb")
            return Sniffed("zip", damaged, "[Content_Types].xml" if damaged else "")
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError, NotImplementedError) as exc:
        return Sniffed("zip", f"broken: {exc}")


def _sniff_ole(path: Path) -> Sniffed:
    try:
        with olefile.OleFileIO(str(path)) as ole:
            streams = {"/".join(s).lower() for s in ole.listdir(streams=True, storages=True)}
    except Exception as exc:  # olefile raises many types on damaged input
        return Sniffed("ole", f"broken: {exc}")
    if "encryptedpackage" in streams or "encryptioninfo" in streams:
        return Sniffed("ole-encrypted")
    if "worddocument" in streams:
        return Sniffed("doc")
    if "workbook" in streams or "book" in streams:
        return Sniffed("xls")
    if "powerpoint document" in streams:
        return Sniffed("ppt")
    return Sniffed("ole")
