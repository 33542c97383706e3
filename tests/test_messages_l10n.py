"""Every message of the catalogue, rendered in kk/ru/en as a filer reads it.

Each rule text of the registry and each [ui] phrase with parameters is filled with 1, 2, 5, 21
and 1.5 for its numeric parameters (realistic values for the others, by their registry type),
and read for: unfilled placeholders, raw floats, English words in Kazakh and Russian, Russian
nouns that do not agree with their number, and lists of places that do not agree with their
length.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from babel import Locale
from courtdoc.cli.bulk import SUMMARY_PARAM_TYPES
from courtdoc.core import messages, rules

NUMBERS: tuple[int | float, ...] = (1, 2, 5, 21, 1.5)

# Values a check passes for parameters of type text (filer's data and technical names).
TEXT_VALUES = {
    "out": "архив-2026",
    "name": "Доверенность.pdf",
    "other": "Доверенность копия.pdf",
    "title": "Исковое заявление",
    "application": "Заявление.docx",
    "closest": "Отзыв.docx",
    "extension": "png",
    "format": "PDF",
    "kind": "DOCX",
    "font": "Arial",
    "family": "Times New Roman",
    "excerpt": "Суд рассмотрел",
    "dpi": "150",
    "number": "3",
    "part": "word/document.xml",
    "object": "Package",
    "link": "C:/Отзыв.docx",
    "error": "EIO",
    "stream": "1Table",
    "filed": "2025-03-12",
    "last_day": "2025-03-01",
    "start": "2024-12-01",
    "languages": "kaz, rus",
    "missing": "kaz",
    "packages": "tesseract-ocr-kaz",
    "id": "kz-court",
    "version": "2026",
}
# A ui-phrase parameter, as a check passes it: the first phrase whose parameters the rule has.
PHRASE_VALUES: dict[str, str | tuple[str, ...]] = {
    "actual": "@ui:fmt_zip",
    "reason": ("@ui:bad_page", "@ui:unread_loop"),
    "detail": "@ui:own_printing",
    "what": "@ui:act_vba",
    "fix": "@ui:unread_loop_fix",
    "where": "@ui:at_pages",
    "where_lead": "@ui:at_pages_lead",
    "list": "@ui:list_application",
    "hint": "@ui:closest_file",
}
LIST_ONE = {"places": "13", "pages": "4", "sizes": "A4", "allowed": "pdf", "titles": "Опись", "reasons": ["@ui:list_doubt_end"]}
LIST_SEVERAL = {
    "places": "1, 2, 3 … (+4)",
    "pages": "1, 4",
    "sizes": "A4, A5",
    "allowed": "doc, docx, pdf, jpeg, xlsx",
    "titles": "Опись, Расчёт",
    "reasons": ["@ui:list_doubt_unnumbered", "@ui:list_doubt_end"],
}
CELLS_ONE, CELLS_SEVERAL = "A1", "A1:C4, E2"

# Latin words a Kazakh or Russian message may hold: product, format and font names, commands,
# settings and units that are written so everywhere, and rule ids (matched separately).
ALLOWED_LATIN = {
    "PDF", "DOC", "DOCX", "DOCM", "DOTX", "DOTM", "XLSX", "XLSM", "XLTX", "XLTM", "XLSB", "PPTM",
    "JPEG", "JPG", "PNG", "ODT", "ODS", "ZIP", "XML", "DTD", "XFA", "VBA", "OLE", "DDE", "ActiveX",
    "JavaScript", "RichMedia", "EmbeddedFiles", "Word", "Excel", "PowerPoint", "Office",
    "OpenDocument", "Windows", "Linux", "LibreOffice", "Tesseract", "Debian", "Ubuntu", "apt",
    "get", "install", "libreoffice", "writer", "nogui", "tesseract", "ocr", "soffice",
    "COURTDOC_SOFFICE", "TESSDATA_PREFIX", "dpi", "courtdoc", "check", "filing", "Times", "New",
    "Roman", "doc", "docx", "pdf", "jpeg", "xlsx",
}
_RULE_ID = re.compile(r"\b[a-z]+\.[a-z_]+\b")

# Russian nouns counted in messages: nominative singular, genitive singular, genitive plural.
RU_NOUNS = {
    "знак": ("знак", "знака", "знаков"),
    "файл": ("файл", "файла", "файлов"),
    "документ": ("документ", "документа", "документов"),
    "страница": ("страница", "страницы", "страниц"),
    "часть": ("часть", "части", "частей"),
    "пиксель": ("пиксель", "пикселя", "пикселей"),
    "слово": ("слово", "слова", "слов"),
    "уровень": ("уровень", "уровня", "уровней"),
}
_RU_FORMS = {form: forms for forms in RU_NOUNS.values() for form in forms}
# After these words a counted noun is in the genitive: "не менее 2 слов".
_RU_GENITIVE_AFTER = ("не менее", "не более", "больше", "меньше", "из", "до", "около", "от")

# Words next to a list of places, by the number they take.
LIST_SINGULAR = {"page", "Page", "paragraph", "Paragraph", "Cell", "cell", "Страница", "странице",
                 "Абзац", "абзац", "Ячейка", "-бет", "-беттен", "-беттің", "-азат", "ұяшығы"}
LIST_PLURAL = {"pages", "Pages", "paragraphs", "Paragraphs", "Cells", "cells", "Страницы",
               "страницах", "Абзацы", "абзацы", "Ячейки", "беттер", "беттерден", "беттердің",
               "жолдар", "ұяшықтары"}


def _ui_names() -> set[str]:
    return {n for entry in messages.catalogue()["ui"].values() for t in entry.values() for n in rules.placeholders(t)}


def _declared_types() -> dict[str, str]:
    """Each parameter name with its type; a name a ui phrase uses has one type across the registry
    (the phrase is filled with the types of the rule that passes it)."""
    types: dict[str, str] = {}
    in_phrases = _ui_names()
    for rule in rules.registry().values():
        for name, kind in rule.params.items():
            if name in in_phrases:
                assert types.setdefault(name, kind) == kind, f"{name}: {kind} here, {types[name]} elsewhere"
            types.setdefault(name, kind)
    return types


# The types of the parameters of ui phrases; `files` is the CLI's count of files checked together,
# the rest revalidate's closing lines.
TYPES = {**_declared_types(), "files": "count", **SUMMARY_PARAM_TYPES}


def _params(
    names: frozenset[str] | set[str], types: dict[str, str], number: int | float, several: bool, cells: bool
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    lists = LIST_SEVERAL if several else LIST_ONE
    for name in names:
        kind = types.get(name, TYPES.get(name, "text"))
        if kind in rules.NUMERIC_TYPES:
            out[name] = number
        elif kind == "list":
            out[name] = (CELLS_SEVERAL if several else CELLS_ONE) if cells and name == "places" else lists[name]
        elif kind == "ui-phrase":
            candidates = PHRASE_VALUES[name]
            fits = [c for c in ([candidates] if isinstance(candidates, str) else candidates) if _fits(c, types)]
            out[name] = fits[0]
        else:
            out[name] = TEXT_VALUES[name]
    return out


def _fits(phrase: str, types: dict[str, str]) -> bool:
    return all(n in types for n in rules.placeholders(messages.ui(phrase[4:], "en")))


def _phrase_names(params: dict[str, Any], lang: str) -> set[str]:
    """The parameters the ui phrases a message passes use, filled from the same values."""
    names: set[str] = set()
    for value in params.values():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and item.startswith("@ui:"):
                names |= rules.placeholders(messages.ui(item[4:], lang))
    return names


def _cases() -> Iterator[tuple[str, str, str, frozenset[str], dict[str, str]]]:
    """(id, lang, template, its parameters, their types) for every message of the catalogue."""
    for rule in rules.registry().values():
        for lang in rules.LANGS:
            yield rule.id, lang, rule.text[lang], frozenset(rule.params), dict(rule.params)
    for key, entry in messages.catalogue()["ui"].items():
        for lang in rules.LANGS:
            names = rules.placeholders(entry[lang])
            if names:
                yield f"ui.{key}", lang, entry[lang], names, {n: TYPES.get(n, "text") for n in names}


def _render(case_id: str, lang: str, template: str, names: frozenset[str], types: dict[str, str],
            number: int | float, several: bool) -> tuple[str, dict[str, Any]]:
    cells = case_id == "font.spreadsheet"
    params = _params(names, types, number, several, cells)
    params |= _params(_phrase_names(params, lang) - set(params), types, number, several, cells)
    if case_id.startswith("ui."):
        return messages.fill(template, lang, params, types, case_id), params
    return messages.format_message(case_id, lang, params), params


CASES = list(_cases())


def _strip_data(text: str, params: dict[str, Any], types: dict[str, str]) -> str:
    """The message without the filer's data and technical names it quotes."""
    for name, value in params.items():
        if types.get(name, TYPES.get(name, "text")) == "text" and isinstance(value, str):
            text = text.replace(value, " ")
    return _RULE_ID.sub(" ", text)


def ru_agreement_errors(text: str) -> list[str]:
    """"1 знаков", "2 знак", "не менее 2 слова": Russian nouns of RU_NOUNS after a number."""
    errors = []
    plural = Locale.parse("ru").plural_form
    for match in re.finditer(r"(?<![\d,.])(\d+(?:,\d+)?)[\s\u00a0]+([а-яё]+)", text):
        forms = _RU_FORMS.get(match.group(2))
        if forms is None:
            continue
        before = text[: match.start()].rstrip().lower()
        genitive = before.endswith(_RU_GENITIVE_AFTER)
        digits = match.group(1)
        if "," in digits:
            expected = forms[1]
        else:
            category = plural(int(digits))
            if genitive:
                expected = forms[1] if category == "one" else forms[2]
            else:
                expected = {"one": forms[0], "few": forms[1]}.get(category, forms[2])
        if match.group(2) != expected:
            errors.append(f"«{match.group(0)}» should be «{digits} {expected}»")
    return errors


_EN_NOUNS = "character|file|document|page|part|pixel|mark|word|day|month|grey level"


def en_agreement_errors(text: str) -> list[str]:
    """"1 characters", "2 file": English counted nouns after a number."""
    one = re.findall(rf"(?<![\d.,])1 (?:{_EN_NOUNS})s\b", text)
    other = re.findall(rf"(?<![\d.,])(?:[02-9]|\d{{2,}}|\d+\.\d+) (?:{_EN_NOUNS})\b(?!s)", text)
    return one + other


def list_agreement_errors(text: str, listed: str, several: bool) -> list[str]:
    """The words right before and right after each occurrence of a list take its number."""
    errors = []
    for match in re.finditer(re.escape(listed), text):
        before = re.findall(r"[\w-]+", text[: match.start()])[-1:]
        after = re.findall(r"^[\w-]+", text[match.end():])
        for word in before + after:
            wrong = LIST_SINGULAR if several else LIST_PLURAL
            if word in wrong:
                errors.append(f"«{word}» next to «{listed}»")
    return errors


@pytest.mark.parametrize(("case_id", "lang", "template", "names", "types"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_every_message_reads_correctly_with_every_number(
    case_id: str, lang: str, template: str, names: frozenset[str], types: dict[str, str]
) -> None:
    assert not rules.plural_problems(template, lang, types)
    for number in NUMBERS:
        for several in (False, True):
            text, params = _render(case_id, lang, template, names, types, number, several)
            where = f"{case_id} [{lang}, {number}, {'several' if several else 'one'}]: {text}"
            assert "{" not in text and "}" not in text and "#" not in text, where
            assert not re.search(r"\d\.\d{4,}", text), where
            data_free = _strip_data(text, params, types)
            if lang in ("ru", "kk"):
                assert not re.search(r"\d\.\d", data_free), where  # a decimal point, not a comma
                latin = set(re.findall(r"[A-Za-z_]{2,}", data_free)) - ALLOWED_LATIN
                assert not latin, f"{sorted(latin)} in {where}"
            if lang == "en":
                assert not en_agreement_errors(text), f"{en_agreement_errors(text)} in {where}"
            if lang == "ru":
                assert not ru_agreement_errors(data_free), f"{ru_agreement_errors(data_free)} in {where}"
            for name, value in params.items():
                if types.get(name, TYPES.get(name)) == "list" and isinstance(value, str):
                    errors = list_agreement_errors(text, messages.format_value(value, "list", lang), several)
                    assert not errors, f"{errors} in {where}"


def test_the_checks_of_this_file_find_what_they_look_for() -> None:
    assert ru_agreement_errors("всего 1 знаков и 2 знак") == ["«1 знаков» should be «1 знак»", "«2 знак» should be «2 знака»"]
    assert ru_agreement_errors("не менее 2 слова; 1,5 знаков") == [
        "«2 слова» should be «2 слов»",
        "«1,5 знаков» should be «1,5 знака»",
    ]
    assert not ru_agreement_errors("21 знак, 5 знаков, 1,5 знака, не менее 21 слова")
    assert en_agreement_errors("1 characters, 21 file, 1.5 pages, 2 grey levels") == ["1 characters", "21 file"]
    assert list_agreement_errors("Страницы 13 имеют", "13", several=False) == ["«Страницы» next to «13»"]
    assert list_agreement_errors("13-бет", "13", several=True) == ["«-бет» next to «13»"]


@pytest.mark.parametrize(
    ("lang", "value", "kind", "expected"),
    [
        ("ru", 12345, "count", "12\u00a0345"),
        ("ru", 1617, "count", "1617"),
        ("ru", "20.0", "number", "20,0"),
        ("en", 12345, "count", "12,345"),
        ("kk", "2.7", "percent", "2,7"),
        ("ru", "<0.1", "percent", "<0,1"),
        ("en", 0.62293333, "number", "0.623"),
        ("ru", 2480, "number", "2480"),
        ("ru", "1.15 (= 12 pt)", "number", "1,15 (= 12 pt)"),
        ("ru", "footer:3, 4", "list", "3 (нижний колонтитул), 4"),
        ("en", "footer:3, 4", "list", "footer:3, 4"),
    ],
)
def test_values_are_written_as_the_language_writes_them(lang: str, value: Any, kind: str, expected: str) -> None:
    assert messages.format_value(value, kind, lang) == expected


def test_russian_counts_agree_in_a_real_message() -> None:
    base = {"excerpt": "Текст", "share": "2.7", "where": "@ui:at_pages", "places": "13", "font": "Arial",
            "size": "12", "family": "Times New Roman", "required_size": "14"}
    said = {n: messages.format_message("font.family", "ru", {**base, "chars": n}) for n in (1, 2, 5, 21, 1.5)}
    assert "— 1 знак (2,7 % текста; стр. 13)" in said[1]
    assert "— 2 знака" in said[2] and "— 5 знаков" in said[5] and "— 21 знак " in said[21]
    assert "— 1,5 знака" in said[1.5]


def test_a_single_place_is_named_in_the_singular() -> None:
    params = {"excerpt": "Текст", "chars": 40, "share": "3", "places": "13", "where_lead": "@ui:at_pages_lead",
              "lines": "1.5", "required": "1"}
    assert messages.format_message("spacing.line", "ru", params).startswith("Страница 13 («Текст»…; 40 знаков, 3 % текста) имеет")
    several = messages.format_message("spacing.line", "ru", {**params, "places": "13, 14"})
    assert several.startswith("Страницы 13, 14 («Текст»…; 40 знаков, 3 % текста) имеют междустрочный интервал 1,5")
    assert messages.format_message("spacing.line", "en", params).startswith("Page 13 («Текст»…; 40 characters")
