"""Legacy Word (.doc, OLE2 compound file): opens, is not encrypted, carries no macros or embedded files.

The File Information Block (FIB) at the start of the `WordDocument` stream says whether the
document is encrypted and where its text and piece table live; a document whose FIB points
outside its own streams is damaged (Word refuses it), which is checked here without reading
the text. Embedded objects live in the `ObjectPool` storage, one sub-storage per object, each
naming its class in a `CompObj` stream.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from typing import Any

import olefile

from .findings import Issues

_WORD97_MAGIC = 0xA5EC
_WORD6_MAGICS = {0xA5DC, 0xA699, 0xA697}
# FibBase: wIdent, nFib, unused, lid, pnNext, then the flag word at offset 10.
_FIB_HEAD = struct.Struct("<HHHHHH")
_FLAG_WHICH_TABLE = 0x0200
_FLAG_ENCRYPTED = 0x0100
# Word 97+: FibRgLw97.ccpText and FibRgFcLcb97.fcClx/lcbClx (the piece table).
_CCP_TEXT_OFFSET = 0x4C
_CLX_OFFSET = 0x1A2
# Word 6/95: fcMin/fcMac, the text's byte range in the WordDocument stream.
_FC_MIN_OFFSET = 0x18
_FIB_READ = 1024
# Embedded chart objects carry only the chart's own data; they are part of the document.
_CHART_CLASSES = (b"MSGraph.Chart", b"Excel.Chart")
_PRINTABLE = re.compile(rb"[\x20-\x7e]{4,}")


def _corrupt(issues: Issues, observed: str, reason: str, **params: Any) -> None:
    """`reason` is a phrase key of the message catalogue ([ui]), filled from `params`."""
    issues.add("file.corrupt", observed=observed[:300], format="DOC", reason=f"@ui:{reason}", **params)


def _stream_size(ole: olefile.OleFileIO, name: str) -> int | None:
    if ole.exists(name) and ole.get_type(name) == olefile.STGTY_STREAM:
        return int(ole.get_size(name))
    return None


def _structure_problem(
    ole: olefile.OleFileIO, fib: bytes, stream_size: int, ident: int, flags: int
) -> tuple[str, str, dict[str, str]] | None:
    """Why the FIB does not describe a readable document (phrase key, English, phrase params),
    or None when it does."""
    if ident == _WORD97_MAGIC:
        if len(fib) < _CLX_OFFSET + 8:
            return "bad_doc_header_short", "its header is cut short", {}
        table = "1Table" if flags & _FLAG_WHICH_TABLE else "0Table"
        table_size = _stream_size(ole, table)
        if table_size is None:
            return "bad_doc_table", f"its table stream ({table}) is missing", {"stream": table}
        (ccp_text,) = struct.unpack_from("<i", fib, _CCP_TEXT_OFFSET)
        fc_clx, lcb_clx = struct.unpack_from("<II", fib, _CLX_OFFSET)
        if ccp_text < 0:
            return "bad_doc_length", "its text length is negative", {}
        if lcb_clx == 0 or fc_clx + lcb_clx > table_size:
            return "bad_doc_pieces", "its piece table lies outside the file", {}
        return None
    fc_min, fc_mac = struct.unpack_from("<II", fib, _FC_MIN_OFFSET)
    if not fc_min <= fc_mac <= stream_size:
        return "bad_doc_text", "its text lies outside the file", {}
    return None


def _embedded_objects(ole: olefile.OleFileIO) -> list[str]:
    """Class names of the embedded objects (charts excluded)."""
    pool = sorted(
        {
            tuple(e[:2])
            for e in ole.listdir(streams=True, storages=True)
            if len(e) > 1 and e[0].lower() == "objectpool"
        }
    )
    found = []
    for entry in pool:
        compobj = [*entry, "\x01CompObj"]
        label = ""
        if ole.exists(compobj):
            try:
                strings = _PRINTABLE.findall(ole.openstream(compobj).read(4096))
            except OSError:
                strings = []
            if any(s.startswith(_CHART_CLASSES) for s in strings):
                continue
            label = strings[0].decode("ascii") if strings else ""
        found.append(label or entry[1])
    return found


def check_doc(path: Path, issues: Issues) -> olefile.OleFileIO | None:
    """Returns the open OLE file when it is a readable, unencrypted Word document."""
    try:
        ole = olefile.OleFileIO(str(path))
    except Exception as exc:  # olefile raises many types on damaged input
        _corrupt(issues, str(exc), "bad_structure")
        return None
    try:
        fib = ole.openstream("WordDocument").read(_FIB_READ)
        stream_size = int(ole.get_size("WordDocument"))
    except Exception as exc:
        ole.close()
        _corrupt(issues, str(exc), "bad_doc_stream")
        return None
    if len(fib) < 32:
        ole.close()
        _corrupt(issues, "short FIB", "bad_doc_header_short")
        return None
    ident, _, _, _, _, flags = _FIB_HEAD.unpack_from(fib, 0)
    if ident != _WORD97_MAGIC and ident not in _WORD6_MAGICS:
        ole.close()
        _corrupt(issues, f"wIdent {ident:#06x}", "bad_doc_header")
        return None
    if flags & _FLAG_ENCRYPTED:
        ole.close()
        issues.add("file.encrypted", observed="fEncrypted", detail="@ui:enc_word_password")
        return None
    problem = _structure_problem(ole, fib, stream_size, ident, flags)
    if problem is not None:
        ole.close()
        key, english, params = problem
        _corrupt(issues, english, key, **params)
        return None
    lowered = ["/".join(s).lower() for s in ole.listdir(streams=True, storages=True)]
    if any(s.startswith(("macros/", "_vba_project_cur/")) for s in lowered):
        issues.add(
            "file.active_content",
            location={"part": "Macros"},
            observed="macros (VBA project)",
            what="@ui:act_vba",
        )
    objects = _embedded_objects(ole)
    if objects:
        listed = ", ".join(sorted(set(objects))[:3])
        issues.add(
            "file.active_content",
            location={"part": "ObjectPool"},
            observed=f"an embedded file or object ({listed})",
            what="@ui:act_embedded_object",
            object=listed,
        )
    return ole
