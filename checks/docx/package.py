"""DOCX main document part: present and well-formed XML."""

from __future__ import annotations

import zipfile

from lxml import etree

from ..findings import Issues
from ..ooxml import SAFE_PARSER

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
