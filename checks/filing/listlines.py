"""What one line of an application's list of attachments is, as a person reading it would say
(and the `Line` and `Entry` records the list reader works with).

A line is an entry's marker ("1.", "2)", "№ 3", "а)", a bullet), the end of the list (a signature
line, "Дата:"/"Күні:", "Подпись"/"Қолы", a date standing alone, the applicant's name with
initials, "Заявитель:"/"Арыз беруші:", "С уважением"/"Құрметпен"), the header row of a table of
attachments ("№ п/п | Наименование документа | Кол-во листов", "Р/с № | Құжаттың атауы | Парақ
саны"), or text. Only the whole line decides: a date, a document number or a party named inside
an entry ("Квитанция от 19.03.2024 г.", "Договор № 123-р", "Копия иска для ответчика") is part
of the entry, never the end of the list.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass


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


# Makes an entry from its number and written text (None when the text names nothing).
EntryMaker = Callable[[str | None, str], Entry | None]



# A marker opens an entry: "1." / "1)" not followed by a digit (so "10.01.2024" is a date, not
# entry 10), "№ 3" followed by a separator or a letter (so "№ 2-1234/2024" is a case number).
MARK = re.compile(
    r"^\s*(?:(?P<num>\d{1,3})\s*[.)](?!\d)|№\s*(?P<num2>\d{1,3})(?:\s*[.)]|\s+(?=[^\W\d_]))|"
    r"(?P<let>[а-яәa-z])\)|(?P<bullet>[-–—•·*▪●○◦➢►\uf0b7\uf0a7]))\s*(?P<text>\S.*)$"
)

_MONTHS = (
    r"январ\w*|феврал\w*|март\w*|апрел\w*|ма[йя]\w*|июн\w*|июл\w*|август\w*|сентябр\w*|октябр\w*|"
    r"ноябр\w*|декабр\w*|қаңтар\w*|ақпан\w*|наурыз\w*|сәуір\w*|мамыр\w*|маусым\w*|шілде\w*|"
    r"тамыз\w*|қыркүйек\w*|қазан\w*|қараша\w*|желтоқсан\w*|_+"
)
_YEAR_WORD = r"(?:г\.?|года|год|ж\.?|жыл\w*)"
# A date standing alone on its line: "20 марта 2024 года", "«20» марта 2024 г.", "20.03.2024 г.",
# "2024 жылғы 20 наурыз", "«__» ________ 2024 г.".
_DATE_ALONE = re.compile(
    rf"^\s*(?:г\.\s*\w+,?\s*)?(?:[«\"]?(?:\d{{1,2}}|_+)[»\"]?\s+(?:{_MONTHS})\s+(?:20|19)\d\d\s*{_YEAR_WORD}?|"
    rf"\d{{1,2}}[./]\d{{1,2}}[./](?:\d{{2}}|\d{{4}})\s*{_YEAR_WORD}?|"
    rf"(?:20|19)\d\d\s*{_YEAR_WORD}?\s*[«\"]?\d{{1,2}}[»\"]?\s*(?:{_MONTHS}))\s*[.,]?\s*$",
    re.IGNORECASE,
)
# Surname and initials alone, either way round, after an optional signature rule:
# "Иванов И. И.", "____________ Серікбаев Н. А.", "И.И. Иванов", "Ivanov I. I."
_UP = "А-ЯЁӘҒҚҢӨҰҮҺІA-Z"
_LOW = "а-яёәғқңөұүһіa-z"
_NAME_ALONE = re.compile(
    rf"^\s*(?:_+\s*|/\s*)?(?:[{_UP}][{_LOW}]+(?:-[{_UP}][{_LOW}]+)?\s+[{_UP}]\.\s*(?:[{_UP}]\.)?|"
    rf"[{_UP}]\.\s*(?:[{_UP}]\.)?\s*[{_UP}][{_LOW}]+(?:-[{_UP}][{_LOW}]+)?)\s*/?\s*$"
)
# Lines that end a list by what they begin with, or by what they are.
_END_START = {
    "signature": re.compile(r"^\s*[(/]?\s*(?:подпись|подп\.|қолы|signature|signed)\b", re.IGNORECASE),
    "date": re.compile(r"^\s*(?:дата|күні|дата\s+подачи|date)\b\s*[:.]?", re.IGNORECASE),
    "party": re.compile(
        r"^\s*(?:заявител[ья]|истец|истца|ответчик|представитель(?:\s+по\s+доверенности)?|"
        r"апеллянт|взыскатель|арыз\s+беруші|өтініш\s+беруші|талапкер|жауапкер|шағым\s+беруші|"
        r"өндіріп\s+алушы|өкіл(?:і)?|applicant|claimant|representative)\b\s*[:,]?",
        re.IGNORECASE,
    ),
    "closing": re.compile(r"^\s*(?:с\s+уважением|құрметпен|sincerely|respectfully)\b", re.IGNORECASE),
}
_RULE = re.compile(r"_{3,}|\(\s*подпись\s*\)|/\s*подпись\s*/|\(\s*қолы\s*\)")

# A table's header row, written as text (a PDF) or as cells.
TITLE_COLUMN = re.compile(r"наимен|атау|название|\bname\b|\btitle\b|документ|құжат|document", re.IGNORECASE)
PAGES_COLUMN = re.compile(r"лист|парақ|бет\b|беттер|pages?\b|sheets?|кол-во|саны|количество", re.IGNORECASE)
_NUMBER_COLUMN = re.compile(r"^\s*(?:№|n\s*[/o]|р/с|р/н|п/п|no\.?)(?:\s*(?:п/п|р/с|№))?", re.IGNORECASE)
_HEADER_WORDS = re.compile(
    r"^(?:№|п/п|р/с|р/н|no\.?|наименование|документа|документов|название|құжаттың|құжаттардың|атауы|"
    r"кол-во|количество|листов|листа|парақ|парақтар|саны|бет|беттер|экз\.?|экземпляров|примечание|"
    r"ескерту|name|of|document|pages|copies|number|\||/)$",
    re.IGNORECASE,
)


def end_kind(text: str) -> str | None:
    """Why this line ends a list ("signature", "date", "name", "party", "closing"), or None."""
    if _RULE.search(text):
        return "signature"
    for kind, pattern in _END_START.items():
        if pattern.match(text):
            return kind
    if _DATE_ALONE.match(text):
        return "date"
    if _NAME_ALONE.match(text):
        return "name"
    return None


def is_header_row(text: str) -> bool:
    """A table's header row written as text: "№ п/п Наименование документа Кол-во листов"."""
    if not TITLE_COLUMN.search(text) or len(text) > 160:
        return False
    words = [w for w in re.split(r"[\s|]+", text.strip()) if w]
    header_words = sum(bool(_HEADER_WORDS.match(w)) for w in words)
    numbered = bool(_NUMBER_COLUMN.match(text))
    return (numbered or bool(PAGES_COLUMN.search(text))) and header_words >= max(2, len(words) - 1)


_OPEN_END = re.compile(r"(?:\b(?:от|с|по|до|за|на|из|dated|of|from|to)|[,–-])\s*$", re.IGNORECASE)


def wrapped_date(previous: str, text: str) -> bool:
    """A date alone on a line that carries on an entry cut off before it ("… дела № 112 от" /
    "15.12.2023 г."): the line above ends with a preposition."""
    return bool(_DATE_ALONE.match(text)) and bool(_OPEN_END.search(previous))


def is_number_cell(text: str) -> bool:
    return bool(re.fullmatch(r"\d{1,4}\.?", text.strip()))


def starts_lower(text: str) -> bool:
    """Text that goes on from the line above: it starts with a small letter, a digit or a bracket."""
    first = text.lstrip()[:1]
    return bool(first) and (first.islower() or first.isdigit() or first in "(«\"/,;–-")


def closed(text: str) -> bool:
    """An entry closed by the writer's punctuation: ";" or "." — but not the "." of an
    abbreviation such as "г." in "суда г." that a wrapped entry may end a line with ("на 1 л.",
    "от 10.01.2024 г." close an entry: their abbreviation follows a number)."""
    text = text.rstrip()
    if text.endswith(";"):
        return True
    if not text.endswith("."):
        return False
    m = re.search(r"(\S*)\s+([^\W\d_]{1,2})\.$", text)
    return m is None or bool(re.search(r"\d", m.group(1)))
