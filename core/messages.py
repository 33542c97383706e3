"""The message catalogue: every rule's title and filer-facing text in Kazakh, Russian and English.

Messages live in `data/messages.toml`, one entry per rule; checks never build sentences, they
pass parameters and the catalogue renders them in the language the reader asked for.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

LANGS: tuple[str, ...] = ("kk", "ru", "en")
CATALOGUE_PATH = Path(__file__).parent / "data" / "messages.toml"


class _Defaulting(dict[str, Any]):
    """Leaves an unknown placeholder visible instead of failing the whole report."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@cache
def catalogue() -> dict[str, Any]:
    return tomllib.loads(CATALOGUE_PATH.read_text(encoding="utf-8"))


def rule_ids() -> list[str]:
    return sorted(k for k in catalogue() if k != "ui")


def _pick(entry: dict[str, str], lang: str) -> str:
    return entry.get(lang) or entry["en"]


def render(rule: str, lang: str, params: dict[str, Any]) -> str:
    entry = catalogue().get(rule)
    if entry is None:
        return rule
    return _pick(entry["text"], lang).format_map(_Defaulting(_localise(params, lang)))


def _localise(params: dict[str, Any], lang: str) -> dict[str, Any]:
    """A parameter "@ui:KEY" is a phrase from the [ui] table in the reader's language
    (itself filled from the other parameters), so checks can name things without sentences."""
    out = dict(params)
    for key, value in params.items():
        if isinstance(value, str) and value.startswith("@ui:"):
            out[key] = ui(value[4:], lang).format_map(_Defaulting(params))
        elif isinstance(value, list) and value and all(isinstance(v, str) and v.startswith("@ui:") for v in value):
            # A list of phrases reads as an enumeration: "printing, copying".
            out[key] = ", ".join(ui(v[4:], lang).format_map(_Defaulting(params)) for v in value)
    return out


def title(rule: str, lang: str) -> str:
    entry = catalogue().get(rule)
    return _pick(entry["title"], lang) if entry else rule


def ui(key: str, lang: str) -> str:
    entry = catalogue()["ui"].get(key)
    return _pick(entry, lang) if entry else key
