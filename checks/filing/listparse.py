"""The application's own list of attachments, read from its lines of text.

Kazakh and Russian applications end with a list headed "Қосымша:", "Қосымшалар:",
"Приложение:", "Приложения:" (or "Attachments:"), written as numbered lines ("1.", "1)", "№ 1"),
bulleted lines, a Word numbered list (its labels come with the line), a table (№ |
Наименование | Кол-во листов), or inline after the header separated by ";" — or by commas, when
every comma-separated part names a document type ("Приложение: доверенность, квитанция об
оплате госпошлины"; not "справка о доходах, выданная работодателем"). Entries often carry
page counts ("на 3 л.", "3 парақта") and copy counts ("в 1 экз."): the page count is kept, both
are removed from the title. The list ends at the signature block, the date, or a line that is
neither an entry nor the continuation of one.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from .normalize import COPIES_PATTERN, PAGES_PATTERN

MAX_ENTRIES = 60
MAX_TITLE = 200


@dataclass
class Line:
    """A line of a document's text: a PDF text line, a DOCX paragraph or a table row."""

    text: str
    page: int = 1
    label: str = ""  # the Word numbering label ("1.", "а)", "•") when the paragraph is in a list
    heading: bool = False  # a heading style, or a bold/centred short paragraph
    cells: list[str] | None = None  # the cells' text when the line is a table row


@dataclass
class Entry:
    number: str | None
    title: str
    pages: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {"number": self.number, "title": self.title, "pages": self.pages}


_HEADER = re.compile(
    r"^\s*(?:қоса\s+берілетін\s+құжаттар|қоса\s+беріліп\s+отырған\s+құжаттар|қосымшалар|қосымша|"
    r"приложения|приложение|прилагаемые\s+документы|перечень\s+прилагаемых\s+документов|"
    r"attachments|attachment|enclosures|enclosure|annexes|annex)"
    r"\s*(?:\([^)]{0,40}\))?\s*(?P<sep>[:.]?)\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_MARK = re.compile(
    r"^\s*(?:(?P<num>\d{1,3})\s*[.)]|№\s*(?P<num2>\d{1,3})\s*[.)]?|(?P<let>[а-яәa-z])\)|"
    r"(?P<bullet>[-–—•·*▪●○◦➢►\uf0b7\uf0a7]))\s*(?P<text>\S.*)$"
)
_INLINE_NUMBERED = re.compile(r"(?:^|\s)(\d{1,2})\s*[.)]\s+")
_STOP = re.compile(
    r"подпис|қолы|signature|\bдата\b|\bкүні\b|\bdate\b|_{3,}|\bф\.\s*и\.\s*о|заявитель|"
    r"арыз\s+беруші|өтініш\s+беруші|applicant|\bистец\b|\bответчик\b|с\s+уважением|құрметпен|"
    r"sincerely|^\s*[«\"]?\d{1,2}[»\"]?\s+[а-яәa-z]+\s+\d{4}|^\s*\d{1,2}[./]\d{1,2}[./]\d{2,4}\s*(?:г|ж|$)|"
    r"\b20\d\d\s*(?:г\.|года|ж\.|жыл)",
    re.IGNORECASE,
)
_TITLE_COLUMN = re.compile(r"наимен|атау|название|name|title|документ|құжат|document", re.IGNORECASE)
_PAGES_COLUMN = re.compile(r"лист|парақ|бет|page|sheet|кол-во|саны", re.IGNORECASE)


def split_pages(text: str) -> tuple[str, int | None]:
    """A title without its page and copy counts, and the page count when one is written."""
    pages = None
    for m in PAGES_PATTERN.finditer(text):
        pages = int(m.group("n"))
    title = COPIES_PATTERN.sub(" ", PAGES_PATTERN.sub(" ", text))
    title = re.sub(r"\(\s*\)", " ", title)
    title = re.sub(r"\s+", " ", title).strip(" \t;,.:—–-")
    return title[:MAX_TITLE], pages


def _entry(number: str | None, text: str) -> Entry | None:
    title, pages = split_pages(text)
    if not re.search(r"[^\W\d_]{2,}", title):
        return None
    return Entry(number, title, pages)


# Says whether a piece of text names a document type (from the policy's lexicon).
NamesDocument = Callable[[str], bool]


def _inline(rest: str, names_document: NamesDocument | None = None) -> list[Entry]:
    rest = rest.strip()
    if not rest:
        return []
    parts: list[tuple[str | None, str]]
    numbered = list(_INLINE_NUMBERED.finditer(rest))
    if len(numbered) >= 2 and numbered[0].start() == 0:
        parts = []
        for k, m in enumerate(numbered):
            end = numbered[k + 1].start() if k + 1 < len(numbered) else len(rest)
            parts.append((m.group(1), rest[m.end() : end]))
    elif ";" not in rest and names_document is not None and _comma_list(rest, names_document):
        parts = [(None, p) for p in rest.split(",")]
    else:
        parts = [(None, p) for p in rest.split(";")]
    return [e for e in (_entry(n, t) for n, t in parts) if e is not None]


def _comma_list(rest: str, names_document: NamesDocument) -> bool:
    pieces = [p.strip(" .") for p in rest.split(",")]
    return len(pieces) >= 2 and all(p and names_document(p) for p in pieces)


def _table(rows: list[Line]) -> list[Entry]:
    entries: list[Entry] = []
    title_col = pages_col = None
    for row in rows:
        cells = [c.strip() for c in row.cells or []]
        if not any(cells):
            continue
        numeric = [bool(re.fullmatch(r"\d{1,4}\.?", c)) for c in cells]
        if title_col is None and not numeric[0] and any(_TITLE_COLUMN.search(c) for c in cells):
            for k, c in enumerate(cells):
                if pages_col is None and _PAGES_COLUMN.search(c) and not _TITLE_COLUMN.search(c):
                    pages_col = k
                elif title_col is None and _TITLE_COLUMN.search(c):
                    title_col = k
            continue
        texts = [(k, c) for k, c in enumerate(cells) if c and not numeric[k]]
        if title_col is not None and title_col < len(cells) and cells[title_col]:
            k_title, text = title_col, cells[title_col]
        elif texts:
            k_title, text = max(texts, key=lambda kc: len(kc[1]))
        else:
            continue
        number = cells[0].rstrip(".") if numeric[0] and k_title != 0 else None
        entry = _entry(number, text)
        if entry is None:
            continue
        if pages_col is not None and pages_col < len(cells) and pages_col != k_title:
            m = re.search(r"\d{1,4}", cells[pages_col])
            if m:
                entry.pages = int(m.group())
        elif entry.pages is None:
            after = [c for k, c in enumerate(cells) if k > k_title and c]
            if after:
                m = PAGES_PATTERN.search(after[0]) or re.fullmatch(r"(?P<n>\d{1,4})", after[0])
                if m:
                    entry.pages = int(m.group("n"))
        entries.append(entry)
    return entries


def _parse_after(
    lines: list[Line], start: int, rest: str, names_document: NamesDocument | None = None
) -> list[Entry]:
    entries = _inline(rest, names_document)
    marked = False
    continued = 0
    i = start
    while i < len(lines) and len(entries) < MAX_ENTRIES:
        line = lines[i]
        text = line.text.strip()
        if line.cells is not None:
            if entries and not all(e.number for e in entries):
                break
            j = i
            while j < len(lines) and lines[j].cells is not None:
                j += 1
            entries.extend(_table(lines[i:j]))
            break
        if not text:
            i += 1
            continue
        m = _MARK.match(text)
        if line.label or m:
            number = None
            body = text
            if m:
                number = m.group("num") or m.group("num2") or m.group("let")
                body = m.group("text")
            elif line.label:
                number = line.label.strip().rstrip(".)") or None
                if number and not re.search(r"\w", number):
                    number = None
            if _STOP.search(body) and not PAGES_PATTERN.search(body):
                break
            entry = _entry(number, body)
            if entry is not None:
                entries.append(entry)
                marked = True
                continued = 0
            i += 1
            continue
        if _STOP.search(text) or line.heading or (text.isupper() and len(text) > 3):
            break
        if entries and marked:
            # A wrapped entry: the text goes on until the next marker (two lines at most).
            continued += 1
            if continued > 2:
                break
            previous = entries[-1]
            joined = _entry(previous.number, previous.title + " " + text)
            if joined is not None:
                entries[-1] = Entry(joined.number, joined.title, joined.pages or previous.pages)
            i += 1
            continue
        if len(text) > MAX_TITLE:
            break
        entry = _entry(None, text)
        if entry is None:
            break
        entries.append(entry)
        i += 1
    return entries


def parse_attachments(lines: list[Line], names_document: NamesDocument | None = None) -> list[Entry]:
    """The longest list of attachments found under a header in these lines (empty when none).

    `names_document` lets an inline list separated by commas be split (see the module notes)."""
    best: list[Entry] = []
    for i, line in enumerate(lines):
        if line.cells is not None:
            continue
        text = line.text.strip()
        if not text or len(text) > 600:
            continue
        m = _HEADER.match(text)
        if m is None:
            continue
        rest = m.group("rest")
        if not m.group("sep") and rest:
            continue  # "Приложение № 1 к договору": a heading, not the list
        entries = _parse_after(lines, i + 1, rest, names_document)
        if entries and len(entries) >= len(best):
            best = entries
    return best
