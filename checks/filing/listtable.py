"""A list of attachments drawn as a table (№ | Наименование | Кол-во листов).

In a DOCX the rows come with their cells; in a PDF the same table is text: the header row is a
line of column names (wrapped, "Кол-во" / "листов"), each row starts with its number, a long
title wraps onto the next lines and the page count may come as a line of its own. Either way
the header row is not an entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .listlines import (
    PAGES_COLUMN,
    TITLE_COLUMN,
    Entry,
    EntryMaker,
    Line,
    end_kind,
    is_number_cell,
    wrapped_date,
)
from .normalize import PAGES_PATTERN


@dataclass
class Columns:
    """Which cells hold the title and the page count, from the header row."""

    title: int | None = None
    pages: int | None = None


def header_columns(cells: list[str]) -> Columns | None:
    """The columns named by a header row; None when the row is not a header."""
    if not cells or is_number_cell(cells[0]) or not any(TITLE_COLUMN.search(c) for c in cells):
        return None
    columns = Columns()
    for k, c in enumerate(cells):
        if columns.pages is None and PAGES_COLUMN.search(c) and not TITLE_COLUMN.search(c):
            columns.pages = k
        elif columns.title is None and TITLE_COLUMN.search(c):
            columns.title = k
    return columns


def _title_cell(cells: list[str], columns: Columns) -> tuple[int, str] | None:
    if columns.title is not None and columns.title < len(cells) and cells[columns.title]:
        return columns.title, cells[columns.title]
    texts = [(k, c) for k, c in enumerate(cells) if c and not is_number_cell(c)]
    return max(texts, key=lambda kc: len(kc[1])) if texts else None


def _pages_cell(cells: list[str], columns: Columns, k_title: int) -> int | None:
    if columns.pages is not None and columns.pages < len(cells) and columns.pages != k_title:
        m = re.search(r"\d{1,4}", cells[columns.pages])
        return int(m.group()) if m else None
    after = [c for k, c in enumerate(cells) if k > k_title and c]
    if after:
        m = PAGES_PATTERN.search(after[0]) or re.fullmatch(r"(?P<n>\d{1,4})", after[0])
        if m:
            return int(m.group("n"))
    return None


def cell_row(cells: list[str], columns: Columns, make: EntryMaker) -> Entry | None:
    """One table row as an entry (None for a row without a title)."""
    found = _title_cell(cells, columns)
    if found is None:
        return None
    k_title, text = found
    number = cells[0].rstrip(".") if is_number_cell(cells[0]) and k_title != 0 else None
    entry = make(number, text)
    if entry is None:
        return None
    pages = _pages_cell(cells, columns, k_title)
    if pages is not None and (columns.pages is not None or entry.pages is None):
        entry.pages = pages
    return entry


def cell_table(rows: list[Line], make: EntryMaker) -> list[Entry]:
    """A DOCX table's rows as entries; its header row names the columns."""
    entries: list[Entry] = []
    columns: Columns | None = None
    for row in rows:
        cells = [c.strip() for c in row.cells or []]
        if not any(cells):
            continue
        if columns is None:
            columns = header_columns(cells)
            if columns is not None:
                continue
        entry = cell_row(cells, columns or Columns(), make)
        if entry is not None:
            entries.append(entry)
    return entries


_ROW = re.compile(r"^\s*(?P<num>\d{1,3})\.?\s+(?P<text>\S.*)$")
_TRAILING_PAGES = re.compile(r"^(?P<text>.*?\S)\s+(?P<n>\d{1,3})$")


@dataclass
class TextTable:
    """Rows of a table read from text lines; `end` says what stopped it (None: the text ran out)."""

    entries: list[Entry]
    stop: int  # index of the first line after the table
    end: str | None


def text_table(lines: list[Line], start: int, make: EntryMaker, max_entries: int) -> TextTable:
    """A table written as text, from its header row at `start`: rows numbered 1, 2, 3 …, a row's
    title going on over the next lines until the next number, its page count at the row's end
    or on a line of its own."""
    i = start + 1
    # The header's wrapped rest: column names, or pieces of a word broken in a narrow column.
    while i < min(len(lines), start + 4) and not _ROW.match(lines[i].text) and not end_kind(lines[i].text):
        i += 1
    rows: list[tuple[str, str, int | None]] = []  # number, title, pages
    end: str | None = None
    while i < len(lines) and len(rows) < max_entries:
        text = lines[i].text.strip()
        kind = end_kind(text)
        if kind and not (rows and rows[-1][2] is None and wrapped_date(rows[-1][1], text)):
            end = kind
            break
        m = _ROW.match(text)
        expected = str(int(rows[-1][0]) + 1) if rows else "1"
        if m and m.group("num") == expected:
            body, pages = m.group("text"), None
            tail = _TRAILING_PAGES.match(body)
            if tail and not re.search(r"№\s*$", tail.group("text")):
                body, pages = tail.group("text"), int(tail.group("n"))
            rows.append((m.group("num"), body, pages))
        elif rows and is_number_cell(text) and rows[-1][2] is None:
            number, body, _ = rows[-1]
            rows[-1] = (number, body, int(text.rstrip(".")))
        elif rows and rows[-1][2] is None and not lines[i].heading:
            number, body, pages = rows[-1]
            rows[-1] = (number, f"{body} {text}", pages)
        else:
            end = "text"
            break
        i += 1
    entries: list[Entry] = []
    for number, body, pages in rows:
        entry = make(number, body)
        if entry is not None:
            if pages is not None and entry.pages is None:
                entry.pages = pages
            entries.append(entry)
    return TextTable(entries, i, end)
