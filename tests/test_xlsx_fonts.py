"""Spreadsheet cell fonts: every non-empty cell's font, rich-text runs, sheet and cell in findings."""

from __future__ import annotations

import datetime as dt
import warnings
import zipfile
from collections import Counter
from pathlib import Path

import openpyxl
import pytest
from courtdoc.checks import textrules, xlsx, xlsx_fonts
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
    assert "Ячейки Расчёт!B1:B10 («1000»" in calibri.message  # one range, the sheet named once
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


# --- cells quoted as displayed, places as ranges ----------------------------------------------------


def _workbook(path: Path, cells: dict[str, list[tuple[str, object, str]]], font: str = "Arial") -> Path:
    """A workbook whose cells (sheet -> [(ref, value, number format)]) are all in `font` 11 pt."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for sheet, values in cells.items():
        ws = wb.create_sheet(sheet)
        for ref, value, number_format in values:
            ws[ref] = value
            ws[ref].number_format = number_format
            ws[ref].font = openpyxl.styles.Font(name=font, size=11)
    wb.save(path)
    return path


def _excerpts(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        inv = xlsx_fonts.read_text(zf)
    return {p.cell or "": p.excerpt for tally in inv.fonts.values() for p in tally.places}


@pytest.mark.parametrize(
    ("value", "number_format", "shown"),
    [
        (0.62293333333333334, "General", "0.6229333333"),
        (0.62293333333333334, "0.00%", "62.29%"),
        (0.5, "0%", "50%"),
        (1234567.891, "#,##0.00", "1,234,567.89"),
        (1234567.891, "#,##0", "1,234,568"),
        (3.14159, "0.000", "3.142"),
        (-1234.5, "#,##0.00_);(#,##0.00)", "(1,234.50)"),
        (-1234.5, "#,##0.00", "-1,234.50"),
        (12345.678, "0.00E+00", "1.23E+04"),
        (7, "000", "007"),
        (dt.date(2024, 3, 12), "dd.mm.yyyy", "12.03.2024"),
        (dt.datetime(2024, 3, 12, 14, 5), "dd.mm.yyyy hh:mm", "12.03.2024 14:05"),
        (dt.date(2024, 3, 12), "d mmmm yyyy", "12 March 2024"),
        (dt.date(2024, 3, 12), "mm-dd-yy", "03-12-24"),
        (dt.time(18, 30), "h:mm AM/PM", "6:30 PM"),
        (1500.0, '#,##0.00 "₸"', "1,500.00 ₸"),
    ],
)
def test_number_cells_are_quoted_as_displayed(tmp_path: Path, value: object, number_format: str, shown: str) -> None:
    path = _workbook(tmp_path / "formats.xlsx", {"Sheet1": [("B2", value, number_format)]})
    assert _excerpts(path) == {"B2": shown}


def test_builtin_formats_and_booleans_as_displayed(tmp_path: Path) -> None:
    """Built-in format ids (no numFmt element in the file) and TRUE/FALSE cells."""
    path = _workbook(
        tmp_path / "builtin.xlsx",
        {"S": [("A1", 0.25, "0.00%"), ("A2", 1234.5, "#,##0.00"), ("A3", True, "General")]},
    )
    with zipfile.ZipFile(path) as zf:
        styles = zf.read("xl/styles.xml").decode()
    assert 'numFmtId="10"' in styles and 'numFmtId="4"' in styles and "<numFmt " not in styles
    assert _excerpts(path) == {"A1": "25.00%", "A2": "1,234.50", "A3": "TRUE"}
    dated = _workbook(tmp_path / "dated.xlsx", {"S": [("A4", 45363, "d-mmm-yy")]})
    assert _excerpts(dated) == {"A4": "12-Mar-24"}  # id 15, a serial number stored as such


def test_1904_date_system(tmp_path: Path) -> None:
    path = _workbook(tmp_path / "mac.xlsx", {"S": [("A1", dt.date(2024, 3, 12), "yyyy-mm-dd")]})
    wb = openpyxl.load_workbook(path)
    wb.epoch = openpyxl.utils.datetime.MAC_EPOCH
    wb["S"]["A1"].value = dt.date(2024, 3, 12)
    wb.save(path)
    with zipfile.ZipFile(path) as zf:
        assert b'date1904="1"' in zf.read("xl/workbook.xml")
    assert _excerpts(path) == {"A1": "2024-03-12"}


def test_finding_quotes_displayed_value_and_names_ranges_per_sheet(tmp_path: Path) -> None:
    cells: dict[str, list[tuple[str, object, str]]] = {
        "Sheet1": [(f"{col}{row}", 0.62293333333333334, "0.00%") for row in range(1, 5) for col in "ABC"]
        + [("E2", 0.5, "0%")],
        "Итоги 2024": [("B1", 1234.5, "#,##0.00")],
    }
    path = _workbook(tmp_path / "Расчёт.xlsx", cells)
    report = validate_file(path, name="Расчёт суммы иска.xlsx", lang="en")
    (finding,) = report.findings
    assert finding.rule == "font.spreadsheet" and finding.location["cell"] == "A1"
    assert finding.message.startswith("Cells Sheet1!A1:C4, E2; 'Итоги 2024'!B1 («62.29%»;")
    assert "0.6229" not in finding.message


def test_ranges_join_rows_and_list_the_rest() -> None:
    cells = [xlsx.Cell(0, "S", f"{c}{r}") for r in range(1, 4) for c in "AB"] + [xlsx.Cell(0, "S", "D1")]
    assert xlsx.places_text(cells) == "S!A1:B3, D1"
    column = [xlsx.Cell(1, "T", f"A{r}") for r in range(1, 40, 2)]  # every other row: no range
    assert xlsx.places_text(column, limit=3) == "T!A1, A3, A5 … (+17)"
    assert xlsx.places_text([xlsx.Cell(0, "A1", "C3")]) == "'A1'!C3"  # a name that reads as a cell
