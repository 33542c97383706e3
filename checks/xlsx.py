"""Spreadsheets (.xlsx): the workbook part is present and well-formed; cells as a reader sees them.

A finding quotes a cell as its number format shows it (`62.29%`, `1,234.50`, `12.03.2024`), not
as it is stored (`0.62293333333333334`), and names cells as ranges per sheet
(`Sheet1!A1:C4, E2`).
"""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from collections.abc import Iterable
from typing import NamedTuple

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


# --- cells as displayed -------------------------------------------------------------------------
# A number is stored as a float (`0.62293333333333334`) and shown through its cell's number
# format (`62.29%`); findings quote what the filer sees. The built-in formats are those of
# ECMA-376 Part 1, 18.8.30 (ids a file may use without declaring them).

BUILTIN_FORMATS: dict[int, str] = {
    0: "General", 1: "0", 2: "0.00", 3: "#,##0", 4: "#,##0.00",
    5: '"$"#,##0_);("$"#,##0)', 6: '"$"#,##0_);[Red]("$"#,##0)',
    7: '"$"#,##0.00_);("$"#,##0.00)', 8: '"$"#,##0.00_);[Red]("$"#,##0.00)',
    9: "0%", 10: "0.00%", 11: "0.00E+00", 12: "# ?/?", 13: "# ??/??",
    14: "mm-dd-yy", 15: "d-mmm-yy", 16: "d-mmm", 17: "mmm-yy", 18: "h:mm AM/PM",
    19: "h:mm:ss AM/PM", 20: "h:mm", 21: "h:mm:ss", 22: "m/d/yy h:mm",
    37: "#,##0_);(#,##0)", 38: "#,##0_);[Red](#,##0)", 39: "#,##0.00_);(#,##0.00)",
    40: "#,##0.00_);[Red](#,##0.00)", 45: "mm:ss", 46: "[h]:mm:ss", 47: "mmss.0",
    48: "##0.0E+0", 49: "@",
}  # fmt: skip

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# One token of a format section: a quoted or escaped literal, a bracket, a fill or padding
# character, or one character.
_TOKEN = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|[_*].|.', re.S)
_DATE_TOKEN = re.compile(
    r'"[^"]*"|\\.|\[[hms]+\]|\[[^\]]*\]|[_*].|yyyy|yy|e|m{1,5}|d{1,4}|h{1,2}|s{1,2}|am/pm|a/p|\.0+|.',
    re.S | re.I,
)
_DATE_CHARS = re.compile(r"[ymdhse]", re.I)


def _sections(code: str) -> list[str]:
    """A format code's sections (positive; negative; zero; text), split on `;` outside quotes."""
    out, current = [], ""
    for token in _TOKEN.findall(code):
        if token == ";":
            out.append(current)
            current = ""
        else:
            current += token
    return [*out, current]


def _literal(token: str) -> str | None:
    """The text a literal token shows; None for a token that is not a literal."""
    if token.startswith('"'):
        return token[1:-1]
    if token.startswith("\\"):
        return token[1:]
    if token.startswith("_"):
        return " "
    if token.startswith("*"):
        return ""
    if token.startswith("["):
        # [$€-407]: a currency or locale tag shows its symbol; colours and conditions show nothing.
        return token[2:-1].split("-", 1)[0] if token.startswith("[$") else ""
    return None


def is_date_format(code: str) -> bool:
    section = _sections(code)[0]
    plain = "".join(t for t in _TOKEN.findall(section) if _literal(t) is None or t.lower() in ("[h]", "[mm]", "[ss]"))
    return bool(_DATE_CHARS.search(re.sub(r"[Ee][+-]", "", plain.replace("General", ""))))


def general(value: float) -> str:
    """Excel's General format: integers as they are, other numbers to about ten digits."""
    if value == int(value) and abs(value) < 1e11:
        return str(int(value))
    text = f"{value:.10g}"
    if "e" in text:
        mantissa, exp = text.split("e")
        return f"{mantissa}E{exp[0]}{exp[1:].lstrip('0').zfill(2)}"
    return text


def _number(value: float, section: str) -> str:
    tokens = _TOKEN.findall(section)
    if any(t == "@" for t in tokens):
        return general(value)
    places = [i for i, t in enumerate(tokens) if t in ("0", "#", "?")]
    if not places:  # literal text only ("-" for zero in accounting formats)
        return "".join(t if _literal(t) is None else str(_literal(t)) for t in tokens).strip()
    exponent = next(
        (i for i in range(1, len(tokens) - 1) if tokens[i] in ("E", "e") and tokens[i + 1] in ("+", "-")), None
    )
    first, last = places[0], places[-1]
    if exponent is not None and first < exponent:
        mask = "".join(t for t in tokens[first:exponent] if t in "0#?.") + "E" + "".join(
            t for t in tokens[exponent + 2 : last + 1] if t in "0#"
        )
    else:
        mask = "".join(t for t in tokens[first : last + 1] if t in "0#?.,")
    while last + 1 < len(tokens) and tokens[last + 1] == ",":  # trailing commas scale by 1000
        value /= 1000
        last += 1
    prefix = "".join(t if _literal(t) is None else str(_literal(t)) for t in tokens[:first])
    suffix = "".join(t if _literal(t) is None else str(_literal(t)) for t in tokens[last + 1 :])
    value *= 100 ** sum(t == "%" for t in tokens)
    if "/" in section and "?" in mask + "".join(tokens):  # fractions are rare: shown in General
        body = general(value)
    elif "E" in mask.upper():
        mantissa, _, exp_mask = mask.partition("E")
        decimals = len(mantissa.split(".", 1)[1]) if "." in mantissa else 0
        head, exp = f"{value:.{decimals}E}".split("E")
        body = f"{head}E{exp[0]}{exp[1:].lstrip('0').zfill(max(1, len(exp_mask)))}"
    else:
        whole, _, frac = mask.partition(".")
        most = sum(ch in "0#?" for ch in frac)
        least = frac.count("0")
        body = f"{value:,.{most}f}" if "," in whole.strip(",") else f"{value:.{most}f}"
        if most > least:
            int_part, _, dec = body.partition(".")
            dec = dec[:least] + dec[least:].rstrip("0")
            body = int_part + ("." + dec if dec else ("." if frac and least == 0 and "#" not in frac else ""))
        int_digits = whole.count("0")
        int_part, dot, dec = body.partition(".")
        if int_digits == 0 and int_part == "0":
            int_part = ""
        elif int_digits > 1 and "," not in int_part:
            int_part = int_part.zfill(int_digits)
        body = int_part + dot + dec
    return (prefix + body + suffix).strip()


def _date(value: float, section: str, date1904: bool) -> str:
    if value < 0:
        return general(value)
    base = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    if not date1904 and value < 60:  # the 1900 leap-year bug: serials before March 1900
        value += 1
    moment = base + dt.timedelta(milliseconds=round(value * 86_400_000))
    tokens = _DATE_TOKEN.findall(section)
    lowered = [t.lower() for t in tokens]
    twelve = any(t in ("am/pm", "a/p") for t in lowered)
    kinds = [t[0] if t[0] in "ymdhs" or t.startswith("[") else "" for t in lowered]
    out: list[str] = []
    for i, (token, low) in enumerate(zip(tokens, lowered, strict=True)):
        literal = _literal(token) if not re.fullmatch(r"\[[hms]+\]", low) else None
        if literal is not None:
            out.append(literal)
            continue
        if low.startswith("m") and len(low) <= 2:
            before = next((k for k in reversed(kinds[:i]) if k), "")
            after = next((k for k in kinds[i + 1 :] if k), "")
            if before == "h" or after == "s":
                out.append(f"{moment.minute:0{len(low)}d}")
                continue
        hour = moment.hour % 12 or 12 if twelve else moment.hour
        elapsed = (moment - base).total_seconds() if date1904 else value * 86_400
        match low:
            case "yyyy" | "e":
                out.append(f"{moment.year:04d}")
            case "yy":
                out.append(f"{moment.year % 100:02d}")
            case "m" | "mm":
                out.append(f"{moment.month:0{len(low)}d}")
            case "mmm":
                out.append(_MONTHS[moment.month - 1][:3])
            case "mmmm":
                out.append(_MONTHS[moment.month - 1])
            case "mmmmm":
                out.append(_MONTHS[moment.month - 1][0])
            case "d" | "dd":
                out.append(f"{moment.day:0{len(low)}d}")
            case "ddd":
                out.append(_DAYS[moment.weekday()][:3])
            case "dddd":
                out.append(_DAYS[moment.weekday()])
            case "h" | "hh":
                out.append(f"{hour:0{len(low)}d}")
            case "s" | "ss":
                out.append(f"{moment.second:0{len(low)}d}")
            case "am/pm":
                out.append("AM" if moment.hour < 12 else "PM")
            case "a/p":
                out.append("A" if moment.hour < 12 else "P")
            case _ if low.startswith("[h"):
                out.append(str(int(elapsed // 3600)))
            case _ if low.startswith("[m"):
                out.append(str(int(elapsed // 60)))
            case _ if low.startswith("[s"):
                out.append(str(int(elapsed)))
            case _ if low.startswith(".0"):
                out.append(f"{moment.microsecond / 1e6:.{len(low) - 1}f}"[1:])
            case _:
                out.append(token)
    return "".join(out).strip()


def display(value: str, code: str, date1904: bool = False) -> str:
    """A numeric cell's stored value as its number format `code` shows it (dates, percent,
    decimals, thousands, scientific; fractions and text sections fall back to General)."""
    try:
        number = float(value)
    except ValueError:
        return value
    if not code or code.lower() == "general":
        return general(number)
    sections = _sections(code)
    if number < 0 and len(sections) >= 2 and sections[1]:
        section, shown = sections[1], -number
    elif number == 0 and len(sections) >= 3:
        section, shown = sections[2], number
    else:
        section, shown = sections[0], number
    if is_date_format(section):
        return _date(shown, section, date1904)
    if section.lower() == "general":
        return general(shown)
    text = _number(shown, section)
    if number < 0 and section is sections[0] and text and not text.startswith("-"):
        text = "-" + text.lstrip("-")
    return text


# --- cell references as ranges --------------------------------------------------------------------


class Cell(NamedTuple):
    """A cell, as the key a text tally counts places by (sheet order first)."""

    sheet_index: int
    sheet: str
    ref: str


def column_letters(col: int) -> str:
    letters = ""
    while col:
        col, rest = divmod(col - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def split_ref(ref: str) -> tuple[int, int] | None:
    """`B12` → (row 12, column 2); None for a reference that is not a cell."""
    found = _CELL_REF.fullmatch(ref.replace("$", ""))
    if not found:
        return None
    col = 0
    for ch in found.group(1).upper():
        col = col * 26 + ord(ch) - 64
    return int(found.group(2)), col


_CELL_REF = re.compile(r"([A-Za-z]{1,3})(\d{1,7})")
_PLAIN_SHEET = re.compile(r"[^\W\d]\w*", re.UNICODE)


def sheet_prefix(name: str) -> str:
    """`Sheet1!`, or `'My sheet'!` for a name that needs quoting (as Excel writes references)."""
    if _PLAIN_SHEET.fullmatch(name) and not _CELL_REF.fullmatch(name):
        return f"{name}!"
    return "'" + name.replace("'", "''") + "'!"


def _rectangles(cells: set[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Cells (row, column) as rectangles (top, left, bottom, right) in reading order: runs of
    adjacent cells in a row, joined with the same run in the rows below."""
    done: list[tuple[int, int, int, int]] = []
    by_row: dict[int, list[int]] = {}
    for row, col in cells:
        by_row.setdefault(row, []).append(col)
    previous_row: int | None = None
    open_rects: dict[tuple[int, int], int] = {}  # (left, right) of an open rectangle -> its top row
    for row in sorted(by_row):
        cols = sorted(by_row[row])
        row_runs: list[tuple[int, int]] = []
        start = prev = cols[0]
        for col in cols[1:]:
            if col != prev + 1:
                row_runs.append((start, prev))
                start = col
            prev = col
        row_runs.append((start, prev))
        still_open: dict[tuple[int, int], int] = {}
        for run in row_runs:
            if previous_row == row - 1 and run in open_rects:
                still_open[run] = open_rects.pop(run)
            else:
                still_open[run] = row
        for (left, right), top in open_rects.items():
            done.append((top, left, row - 1 if previous_row is None else previous_row, right))
        open_rects = still_open
        previous_row = row
    for (left, right), top in open_rects.items():
        done.append((top, left, top if previous_row is None else previous_row, right))
    return sorted(done)


def cell_ranges(sheets: list[tuple[str, set[tuple[int, int]]]], limit: int = 8) -> str:
    """Cells of several sheets as `Sheet1!A1:C4, E2; Sheet2!B1`: rectangles in reading order,
    the sheet named once; at most `limit` ranges, then `… (+N)` for the cells not listed."""
    parts: list[str] = []
    listed = 0
    left_out = 0
    for name, cells in sheets:
        shown: list[str] = []
        for top, left, bottom, right in _rectangles(cells):
            size = (bottom - top + 1) * (right - left + 1)
            if listed >= limit:
                left_out += size
                continue
            listed += 1
            first = f"{column_letters(left)}{top}"
            shown.append(first if (top, left) == (bottom, right) else f"{first}:{column_letters(right)}{bottom}")
        if shown:
            parts.append(sheet_prefix(name) + ", ".join(shown))
    text = "; ".join(parts)
    return f"{text} … (+{left_out})" if left_out else text


def places_text(cells: Iterable[Cell], limit: int = 8) -> str:
    """Every cell of a finding as ranges per sheet, in workbook order (see `cell_ranges`)."""
    sheets: dict[tuple[int, str], set[tuple[int, int]]] = {}
    odd: list[str] = []
    for cell in cells:
        rc = split_ref(cell.ref)
        if rc is None:
            odd.append(sheet_prefix(cell.sheet) + cell.ref)
        else:
            sheets.setdefault((cell.sheet_index, cell.sheet), set()).add(rc)
    text = cell_ranges([(name, found) for (_, name), found in sorted(sheets.items())], limit)
    return "; ".join(([text] if text else []) + sorted(odd)[:limit])  # cells without a reference last
