"""Messages in the reader's language: rules' messages from the registry, phrases from the catalogue.

Checks never build sentences: they pass parameters, and a rule's message (core/data/rules.toml)
is rendered in Kazakh, Russian or English. Each parameter is written as its registry type says,
with the language's CLDR data (Babel): digit grouping, decimal mark, and the plural form a
`{name, plural, …}` selection takes (core/msgformat.py; docs/development.md, "Writing messages"). `data/messages.toml` holds the `[ui]` phrases: the
words of reports and listings, and phrases a check passes as "@ui:KEY" parameters.

A message whose parameters lack one of its placeholders is a fault of the check that raised it.
It never reaches a filer as a half-filled sentence with `{x}` in it: in tests (and with
COURTDOC_STRICT_MESSAGES=1) rendering raises `MessageError`; elsewhere the fault is logged and
the rule's title stands in for the message.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import babel
import babel.numbers
import structlog

from . import msgformat, rules
from .rules import LANGS as LANGS

CATALOGUE_PATH = Path(__file__).parent / "data" / "messages.toml"

log = structlog.get_logger("courtdoc.messages")


class MessageError(ValueError):
    """A message could not be filled: an unknown rule, or a placeholder without a parameter."""

    def __init__(self, rule: str, detail: str, missing: tuple[str, ...] = ()) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.missing = missing


@cache
def catalogue() -> dict[str, Any]:
    return tomllib.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))


def strict() -> bool:
    """Whether a message that cannot be filled raises (tests, development) or falls back."""
    flag = os.environ.get("COURTDOC_STRICT_MESSAGES", "").lower() in ("1", "true", "yes")
    return flag or "PYTEST_CURRENT_TEST" in os.environ


def _pick(entry: dict[str, str] | Any, lang: str) -> str:
    return str(entry.get(lang) or entry["en"])


# A list given as one string: items joined by ", " (or "; " between sheets), the ones left out
# counted at the end as "… (+N)"; a cell range "A1:C4" is several items.
_LEFT_OUT = re.compile(r"\s*…\s*\(\+(\d+)\)\s*$")
_RANGE = re.compile(r"[A-Z]{1,3}\d+:[A-Z]{1,3}\d+$")
_DECIMAL_POINT = re.compile(r"(?<=\d)\.(?=\d)")
# A place in a header, footer, footnote or endnote is labelled "footer:3" by the checks.
_PART_PLACE = re.compile(r"\b(header|footer|footnote|endnote):(\d+)")


def _number(value: Any) -> int | Decimal | None:
    """A parameter's numeric value, or None for text such as "<0.1". A string keeps the decimals
    it was written with ("20.0" stays one decimal: the check chose them); an integral float is
    an int."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else Decimal(repr(value))
    if isinstance(value, Decimal | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return None
        if not number.is_finite():
            return None
        return int(number) if number.as_tuple().exponent == 0 else number
    return None


def _list_size(value: Any) -> int:
    """How many things a list names: the items written plus the ones left out."""
    if isinstance(value, list | tuple):
        return len(value)
    text = str(value)
    more = _LEFT_OUT.search(text)
    listed = text[: more.start()] if more else text
    items = [item.strip() for item in re.split(r"[,;]", listed) if item.strip()]
    ranges = sum(1 for item in items if _RANGE.search(item))
    return len(items) + ranges + (int(more.group(1)) if more else 0)


@cache
def _decimal_symbol(lang: str) -> str:
    return str(babel.numbers.get_decimal_symbol(lang))


def _localise_number_text(text: str, lang: str) -> str:
    """Decimals inside a text ("<0.1", "1.15 (= 12 pt)") with the language's decimal mark."""
    return _DECIMAL_POINT.sub(_decimal_symbol(lang), text)


def _localise_places(text: str, lang: str) -> str:
    if lang == "en":
        return text  # "footer:3" is how English reports have always named it
    return _PART_PLACE.sub(lambda m: f"{m.group(2)} ({ui('part_' + m.group(1), lang)})", text)


def format_value(value: Any, kind: str, lang: str) -> str:
    """A parameter's value as a reader of `lang` reads it, by its registry type."""
    if kind in rules.NUMERIC_TYPES:
        number = _number(value)
        if number is None:
            return _localise_number_text(str(value), lang)
        # A count is grouped as the language groups thousands, from five digits on (as Russian
        # typography does: "1617 знаков", "10 018 частей"); a number or a percent keeps its digits
        # together (a page number, a pixel size). Both take the language's decimal mark.
        grouped = kind == "count" and abs(int(number)) >= 10_000
        exponent = number.as_tuple().exponent if isinstance(number, Decimal) else 0
        places = -exponent if isinstance(exponent, int) and not isinstance(value, float) else 0
        pattern = "#,##0." + "0" * places if places else None  # None: CLDR's, at most 3 decimals
        return babel.numbers.format_decimal(number, format=pattern, locale=lang, group_separator=grouped)
    if kind == "list":
        text = ", ".join(str(v) for v in value) if isinstance(value, list | tuple) else str(value)
        return _localise_places(text, lang)
    return str(value)


def decimal(value: float, lang: str, digits: int) -> str:
    """A decimal with exactly `digits` fraction digits and the language's decimal mark."""
    return babel.numbers.format_decimal(value, format="0." + "0" * digits, locale=lang)


@cache
def _plural_rule(lang: str) -> Any:
    return babel.Locale.parse(lang).plural_form


def plural_category(value: Any, kind: str, lang: str) -> str:
    """The plural category a value selects: CLDR's for a number, `one`/`other` for a list."""
    if kind == "list":
        return "one" if _list_size(value) == 1 else "other"
    number = _number(value)
    return str(_plural_rule(lang)(number)) if number is not None else "other"


def fill(template: str, lang: str, params: dict[str, Any], types: Mapping[str, str], rule: str) -> str:
    """A template filled from `params`, each value formatted by its type (text when undeclared).
    Raises MessageError when a placeholder has no parameter."""
    values = {name: format_value(value, types.get(name, "text"), lang) for name, value in params.items()}

    def category(name: str) -> str:
        return plural_category(params[name], types.get(name, "text"), lang)

    try:
        return msgformat.assemble(template, values, category)
    except KeyError as exc:
        missing = tuple(sorted(rules.placeholders(template) - set(values))) or (str(exc.args[0]),)
        raise MessageError(rule, f"no parameter for {{{missing[0]}}}", missing) from None


def format_message(rule: str, lang: str, params: dict[str, Any]) -> str:
    """The rule's message filled from `params`; raises MessageError when it cannot be filled."""
    try:
        entry = rules.rule(rule)
    except rules.UnknownRuleError:
        raise MessageError(rule, "not a registered rule") from None
    return fill(_pick(entry.text, lang), lang, _localise(params, lang, rule, entry.params), entry.params, rule)


def render(rule: str, lang: str, params: dict[str, Any]) -> str:
    """The message a reader sees (see the module docstring for what happens on a fault)."""
    try:
        return format_message(rule, lang, params)
    except MessageError as exc:
        if strict():
            raise
        # Parameter names only: values may hold a filer's file name or text.
        log.error("message.unfilled", rule=rule, lang=lang, missing=list(exc.missing))
        return title(rule, lang)


def _localise(params: dict[str, Any], lang: str, rule: str, types: Mapping[str, str]) -> dict[str, Any]:
    """A parameter "@ui:KEY" is a phrase from the [ui] table in the reader's language
    (itself filled from the other parameters), so checks can name things without sentences."""
    out = dict(params)
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("@ui:"):
            out[key] = fill(ui(value[4:], lang), lang, params, types, rule)
        elif isinstance(value, list) and value and all(isinstance(v, str) and v.startswith("@ui:") for v in value):
            # A list of phrases reads as an enumeration: "printing, copying".
            out[key] = ", ".join(fill(ui(v[4:], lang), lang, params, types, rule) for v in value)
    return out


def phrase(key: str, lang: str, types: Mapping[str, str] | None = None, **params: Any) -> str:
    """A [ui] phrase filled from `params` (typed as `types` says; text otherwise)."""
    return fill(ui(key, lang), lang, params, types or {}, f"ui.{key}")


def title(rule: str, lang: str) -> str:
    try:
        return _pick(rules.rule(rule).title, lang)
    except rules.UnknownRuleError:
        return rule


def ui(key: str, lang: str) -> str:
    entry = catalogue()["ui"].get(key)
    return _pick(entry, lang) if entry else key
