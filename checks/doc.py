"""Legacy Word (.doc, OLE2 compound file): opens, is not encrypted, carries no macros or embedded files."""

from __future__ import annotations

import struct
from pathlib import Path

import olefile

from .findings import Issues

_WORD97_MAGIC = 0xA5EC
_WORD6_MAGICS = {0xA5DC, 0xA699, 0xA697}
_FLAG_ENCRYPTED = 0x0100


def check_doc(path: Path, issues: Issues) -> olefile.OleFileIO | None:
    """Returns the open OLE file when it is a readable, unencrypted Word document."""
    try:
        ole = olefile.OleFileIO(str(path))
    except Exception as exc:  # olefile raises many types on damaged input
        issues.add("file.corrupt", observed=str(exc)[:300], format="DOC", reason="its structure is broken")
        return None
    try:
        fib = ole.openstream("WordDocument").read(64)
    except Exception as exc:
        ole.close()
        issues.add(
            "file.corrupt", observed=str(exc)[:300], format="DOC", reason="its text stream cannot be read"
        )
        return None
    if len(fib) < 12:
        ole.close()
        issues.add("file.corrupt", observed="short FIB", format="DOC", reason="its header is cut short")
        return None
    ident, _, _, _, flags = struct.unpack_from("<HHHHH", fib, 0)
    if ident != _WORD97_MAGIC and ident not in _WORD6_MAGICS:
        ole.close()
        issues.add(
            "file.corrupt",
            observed=f"wIdent {ident:#06x}",
            format="DOC",
            reason="its header is not a Word header",
        )
        return None
    if flags & _FLAG_ENCRYPTED:
        ole.close()
        issues.add("file.encrypted", observed="fEncrypted", detail="Word document with a password")
        return None
    streams = ["/".join(s) for s in ole.listdir(streams=True, storages=True)]
    lowered = [s.lower() for s in streams]
    if any(s.startswith(("macros", "_vba_project_cur")) for s in lowered):
        issues.add(
            "file.active_content",
            location={"part": "Macros"},
            observed="macros (VBA project)",
            what="macros (VBA project)",
        )
    if any(s.startswith("objectpool/") and s.endswith("\x01ole10native") for s in lowered):
        issues.add(
            "file.active_content",
            location={"part": "ObjectPool"},
            observed="an embedded file or object",
            what="an embedded file or object (OLE package)",
        )
    return ole
