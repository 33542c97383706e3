"""The application's own list of attachments, read from its lines of text.

Kazakh and Russian applications end with a list headed "Қосымша:", "Қосымшалар:",
"Приложение:", "Приложения:" (or "Attachments:"), written as numbered lines ("1.", "1)", "№ 1"),
bulleted lines, a Word numbered list (its labels come with the line), a table (№ |
Наименование | Кол-во листов), or inline after the header separated by ";" — or by commas, when
every comma-separated part names a document type ("Приложение: доверенность, квитанция об
оплате госпошлины"; not "справка о доходах, выданная работодателем"). Entries often carry
page counts ("на 3 л.", "3 парақта") and copy counts ("в 1 экз."): the page count is kept, both
are removed from the title. Dates, document numbers and references inside an entry are part
of it ("Квитанция от 19.03.2024 г.", "Решение суда по делу № 2-1234/2026"); a table's header row
is not an entry, in a DOCX (cells) or a PDF (a line of column names, see `listtable`).

The list ends where a person sees it end (`listlines.end_kind`): a signature line, "Дата:" /
"Күні:", "Подпись" / "Қолы", a date alone, the applicant's name with initials, "Заявитель:" /
"Арыз беруші:", a heading, a sentence of text, or the end of the document. `read_attachments`
says how the list ended and why its count may not be the writer's (`Reading.doubts`): entries
without numbers, numbers that do not run 1, 2, 3 …, or an end that is none of these.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from .listlines import MARK, Entry, Line, closed, end_kind, is_header_row, starts_lower, wrapped_date
from .listtable import cell_table, text_table
from .normalize import COPIES_PATTERN, PAGES_PATTERN

__all__ = ["Entry", "Line", "Reading", "parse_attachments", "read_attachments", "split_pages"]

MAX_ENTRIES = 60
MAX_TITLE = 200


_HEADER = re.compile(
    r"^\s*(?:(?:талап\s+)?(?:арызға|шағымға|өтінішке)\s+)?"
    r"(?:қоса\s+берілетін\s+құжаттар|қоса\s+беріліп\s+отырған\s+құжаттар|қоса\s+беріледі|қосымшалар|"
    r"қосымша|приложения|приложение|прилагаемые\s+(?:к\s+\w+\s+(?:\w+\s+)?)?документы|"
    r"перечень\s+(?:прилагаемых\s+)?документов|список\s+(?:приложений|прилагаемых\s+документов)|"
    r"(?:к\s+(?:\w+\s+)?(?:заявлению|жалобе|иску)\s+)?прилага(?:ю|ется|ются|ем)"
    r"(?:\s+следующие\s+документы)?|attachments|attachment|enclosures|enclosure|annexes|annex)"
    r"\s*(?:\([^)]{0,40}\))?\s*(?P<sep>[:.]?)\s*(?P<rest>.*)$",
    re.IGNORECASE,
)
_INLINE_NUMBERED = re.compile(r"(?:^|\s)(\d{1,2})\s*[.)]\s+")


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


# Ends a person sees as the end of the list; "unclear" (short text that is neither an entry nor
# part of one) and "limit" (MAX_ENTRIES read) are not.
RECOGNISED_ENDS = frozenset(
    ["signature", "date", "name", "party", "closing", "heading", "text", "document"]
)


@dataclass
class Reading:
    """A list of attachments as read, with how it ended and what makes its count doubtful."""

    entries: list[Entry] = field(default_factory=list)
    end: str = "document"

    @property
    def doubts(self) -> list[str]:
        """Why the count may not be the writer's: "unnumbered" (some entry has no number),
        "numbering" (numbers not 1, 2, 3 …), "end" (the list's end was not recognised)."""
        if not self.entries:
            return []
        found: list[str] = []
        numbers = [e.number or "" for e in self.entries]
        if not all(n.isdigit() for n in numbers):
            found.append("unnumbered")
        elif [int(n) for n in numbers] != list(range(1, len(numbers) + 1)):
            found.append("numbering")
        if self.end not in RECOGNISED_ENDS:
            found.append("end")
        return found

    @property
    def certain(self) -> bool:
        return not self.doubts

    def to_dict(self) -> dict[str, object]:
        return {"end": self.end, "doubts": self.doubts}


def _caps(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) > 3 and all(c.isupper() for c in letters)


def _prose(text: str) -> bool:
    """A sentence of the application's text rather than a document's name."""
    return len(text.split()) >= 8 and text.lstrip()[:1].isupper()


def _end_after(lines: list[Line], i: int) -> str:
    """How the list ends when the line at `i` follows its last entry."""
    while i < len(lines) and not lines[i].text.strip() and lines[i].cells is None:
        i += 1
    if i >= len(lines):
        return "document"
    text = lines[i].text.strip()
    if kind := end_kind(text):
        return kind
    if lines[i].heading or _caps(text):
        return "heading"
    return "text" if _prose(text) else "unclear"


def _marked(line: Line, text: str) -> tuple[str | None, str] | None:
    """(number, text) of a line that opens an entry by a typed marker or a Word list label."""
    m = MARK.match(text)
    if m:
        return m.group("num") or m.group("num2") or m.group("let"), m.group("text")
    if line.label:
        number = line.label.strip().rstrip(".)") or None
        return (number if number and re.search(r"\w", number) else None), text
    return None


def _continues(previous: str, text: str) -> bool:
    """The line goes on with the entry above: it starts in lower case, or the line above was cut
    off mid-entry (long, without the ";" or "." that closes an entry)."""
    return starts_lower(text) or (not closed(previous) and len(previous) >= 30)


def _parse_after(
    lines: list[Line], start: int, rest: str, names_document: NamesDocument | None = None
) -> Reading:
    reading = Reading(_inline(rest, names_document))
    entries = reading.entries
    marked = False
    continued = 0
    previous = rest
    i = start
    while i < len(lines):
        if len(entries) >= MAX_ENTRIES:
            reading.end = "limit"
            break
        line = lines[i]
        text = line.text.strip()
        if line.cells is not None:
            if entries and not all(e.number for e in entries):
                reading.end = "unclear"
                break
            j = i
            while j < len(lines) and lines[j].cells is not None:
                j += 1
            entries.extend(cell_table(lines[i:j], _entry))
            reading.end = _end_after(lines, j)
            break
        if not text:
            i += 1
            continue
        kind = None if line.label else end_kind(text)
        if kind and not (marked and wrapped_date(previous, text)):
            reading.end = kind
            break
        if not entries and is_header_row(text):
            table = text_table(lines, i, _entry, MAX_ENTRIES)
            entries.extend(table.entries)
            reading.end = (
                "document" if table.end is None else _end_after(lines, table.stop) if table.end == "text" else table.end
            )
            break
        opened = _marked(line, text)
        if opened is not None:
            entry = _entry(*opened)
            if entry is not None:
                entries.append(entry)
                marked = True
                continued = 0
            previous = text
            i += 1
            continue
        if line.heading or _caps(text):
            reading.end = "heading"
            break
        if entries and marked:
            if continued < 3 and _continues(previous, text) and not (closed(previous) and _prose(text)):
                continued += 1
                last = entries[-1]
                joined = _entry(last.number, last.title + " " + text)
                if joined is not None:
                    entries[-1] = Entry(joined.number, joined.title, joined.pages or last.pages)
                previous = text
                i += 1
                continue
            reading.end = "text" if _prose(text) else "unclear"
            break
        if len(text) > MAX_TITLE or (entries and closed(previous) and _prose(text)):
            reading.end = "text"
            break
        entry = _entry(None, text)
        if entry is None:
            reading.end = "unclear"
            break
        entries.append(entry)
        previous = text
        i += 1
    return reading


def read_attachments(lines: list[Line], names_document: NamesDocument | None = None) -> Reading:
    """The longest list of attachments found under a header in these lines (no entries when
    none), with how it ended.

    `names_document` lets an inline list separated by commas be split (see the module notes)."""
    best = Reading()
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
        start = i + 1
        # An inline list wraps onto the next lines (a PDF): they go on in lower case.
        while rest and start < len(lines) and lines[start].cells is None and starts_lower(lines[start].text):
            if MARK.match(lines[start].text) or end_kind(lines[start].text):
                break
            rest = f"{rest} {lines[start].text.strip()}"
            start += 1
        reading = _parse_after(lines, start, rest, names_document)
        if reading.entries and len(reading.entries) >= len(best.entries):
            best = reading
    return best


def parse_attachments(lines: list[Line], names_document: NamesDocument | None = None) -> list[Entry]:
    """The entries of `read_attachments`."""
    return read_attachments(lines, names_document).entries
