"""Spreadsheet cell fonts: every non-empty cell's font, rich-text runs, sheet and cell in findings."""

from __future__ import annotations

import warnings
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
from courtdoc.checks import textrules, xlsx_fonts
from courtdoc.checks.findings import Issues
from courtdoc.core.policy import default_policy
from courtdoc.pipeline import validate_file


def visible(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())


def fonts_of(path: Path) -> dict[tuple[str, float | None], int]:
    with zipfile.ZipFile(path) as zf:
        summary = textrules.summary(xlsx_fonts.read_text(zf), default_policy())
    return {(f.name, f.size): f.chars for f in summary.fonts}


def test_times_14_workbook_has_no_findings(text_docs: dict[str, Path]) -> None:
    report = validate_file(text_docs["xlsx_tnr14"], name="Реестр документов.xlsx")
    assert report.findings == [] and report.verdict == "accept"
    assert report.text is not None
    expected = sum(
        visible(
            f"{'Суд рассмотрел заявление о пересмотре решения по вновь открывшимся обстоятельствам.'[:30]} {r}-{c}"
        )
        for r in range(1, 21)
        for c in range(1, 4)
    )
    assert report.text.chars == expected
    assert [(f.family, f.size) for f in report.text.fonts] == [("Times New Roman", 14.0)]


def test_mixed_workbook_cells_named(text_docs: dict[str, Path]) -> None:
    found = fonts_of(text_docs["xlsx_mixed"])
    numbers = sum(len(str(row * 1000)) for row in range(1, 11))
    assert found[("Calibri", 11.0)] == numbers  # numbers in the default font
    assert found[("Arial", 10.0)] == visible("Итого по делу")
    assert found[("Courier New", 14.0)] == len("1000")  # a rich-text run
    assert found[("Times New Roman", 14.0)] == sum(
        visible(f"Статья {row}") for row in range(1, 11)
    ) + visible("Сумма:")
    report = validate_file(text_docs["xlsx_mixed"], name="Расчёт суммы иска.xlsx", lang="ru")
    assert report.verdict == "accept"  # spreadsheets: warn by default
    assert {f.rule for f in report.findings} == {"font.spreadsheet"}
    assert {f.severity for f in report.findings} == {"warn"}
    calibri = next(f for f in report.findings if "Calibri" in f.message)
    assert calibri.location == {"sheet": "Расчёт", "cell": "B1", "excerpt": "1000"}
    assert "Расчёт!B1, Расчёт!B2" in calibri.message and "(+2)" in calibri.message
    arial = next(f for f in report.findings if "Arial" in f.message)
    assert arial.location["sheet"] == "Итого" and arial.location["cell"] == "B3"


def test_whitespace_cells_not_counted(text_docs: dict[str, Path]) -> None:
    with zipfile.ZipFile(text_docs["xlsx_mixed"]) as zf:
        inv = xlsx_fonts.read_text(zf)
    cells = {p.cell for tally in inv.fonts.values() for p in tally.places}
    assert "A12" not in cells


@pytest.mark.parametrize("name", ["SampleSS.xlsx", "simple-monthly-budget.xlsx", "WithEmbeded.xlsx"])
def test_corpus_cells_per_font_agree_with_openpyxl(text_corpus: Path, name: str) -> None:
    """The direct XML pass finds the same font for every non-empty cell as openpyxl's full load."""
    path = text_corpus / "apache-poi" / name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wb = openpyxl.load_workbook(path, data_only=True)
    expected: Counter[tuple[str, float]] = Counter()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.value is not None and str(cell.value).strip():
                    expected[(cell.font.name, float(cell.font.sz))] += 1
    with zipfile.ZipFile(path) as zf:
        inv = xlsx_fonts.read_text(zf)
    assert {(k[1], k[2]): len(t.keys) for k, t in inv.fonts.items()} == dict(expected)


def test_corpus_strict_workbook(text_corpus: Path) -> None:
    # ISO strict namespaces (openpyxl cannot read this file).
    found = fonts_of(text_corpus / "apache-poi" / "sample.strict.xlsx")
    assert found[("Calibri", 11.0)] > 100 and ("Courier", 11.0) in found
    issues = Issues()
    with zipfile.ZipFile(text_corpus / "apache-poi" / "sample.strict.xlsx") as zf:
        textrules.judge_text(xlsx_fonts.read_text(zf), default_policy(), issues, spreadsheet=True)
    assert issues and {i.rule for i in issues} == {"font.spreadsheet"}
    assert all(i.location.get("sheet") and i.location.get("cell") for i in issues)
