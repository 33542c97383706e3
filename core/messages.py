"""Messages in the reader's language: rules' messages from the registry, phrases from the catalogue.

Checks never build sentences: they pass parameters, and a rule's message (core/data/rules.toml)
is rendered in Kazakh, Russian or English. `data/messages.toml` holds the `[ui]` phrases: the
words of reports and listings, and phrases a check passes as "@ui:KEY" parameters.

A message whose parameters lack one of its placeholders is a fault of the check that raised it.
It never reaches a filer as a half-filled sentence with `{x}` in it: in tests (and with
COURTDOC_STRICT_MESSAGES=1) rendering raises `MessageError`; elsewhere the fault is logged and
the rule's title stands in for the message.
"""

from __future__ import annotations

import os
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import structlog

from . import rules
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


def _fill(template: str, values: dict[str, Any], rule: str) -> str:
    try:
        return template.format_map(values)
    except KeyError as exc:
        missing = tuple(sorted(rules.placeholders(template) - set(values))) or (str(exc.args[0]),)
        raise MessageError(rule, f"no parameter for {{{missing[0]}}}", missing) from None


def format_message(rule: str, lang: str, params: dict[str, Any]) -> str:
    """The rule's message filled from `params`; raises MessageError when it cannot be filled."""
    try:
        entry = rules.rule(rule)
    except rules.UnknownRuleError:
        raise MessageError(rule, "not a registered rule") from None
    return _fill(_pick(entry.text, lang), _localise(params, lang, rule), rule)


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


def _localise(params: dict[str, Any], lang: str, rule: str) -> dict[str, Any]:
    """A parameter "@ui:KEY" is a phrase from the [ui] table in the reader's language
    (itself filled from the other parameters), so checks can name things without sentences."""
    out = dict(params)
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("@ui:"):
            out[key] = _fill(ui(value[4:], lang), params, rule)
        elif isinstance(value, list) and value and all(isinstance(v, str) and v.startswith("@ui:") for v in value):
            # A list of phrases reads as an enumeration: "printing, copying".
            out[key] = ", ".join(_fill(ui(v[4:], lang), params, rule) for v in value)
    return out


def title(rule: str, lang: str) -> str:
    try:
        return _pick(rules.rule(rule).title, lang)
    except rules.UnknownRuleError:
        return rule


def ui(key: str, lang: str) -> str:
    entry = catalogue()["ui"].get(key)
    return _pick(entry, lang) if entry else key
