"""Spreadsheets (.xlsx): the workbook part is present and well-formed."""

from __future__ import annotations

import zipfile

from lxml import etree

from .findings import Issues
from .ooxml import SAFE_PARSER


def check_workbook(zf: zipfile.ZipFile, issues: Issues) -> bool:
    try:
        etree.fromstring(zf.read("xl/workbook.xml"), SAFE_PARSER)
    except KeyError:
        issues.add(
            "file.corrupt", observed="no xl/workbook.xml", format="XLSX", reason="@ui:bad_no_workbook"
        )
        return False
    except (etree.XMLSyntaxError, zipfile.BadZipFile, OSError, EOFError) as exc:
        issues.add(
            "file.corrupt", observed=str(exc)[:300], format="XLSX", reason="@ui:bad_workbook"
        )
        return False
    return True
