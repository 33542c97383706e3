"""The pages' strings in Kazakh, Russian and English (`core/data/pages.toml`), and the reader's
language: `?lang=` first, then the browser's `Accept-Language`, then the service's default."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

LANGS: tuple[str, ...] = ("kk", "ru", "en")
#: Tags people (and some systems) use for Kazakh besides the ISO 639-1 `kk`.
_ALIASES = {"kz": "kk", "kaz": "kk", "rus": "ru", "eng": "en"}


class _Keep(dict[str, Any]):
    """Leaves an unknown placeholder visible rather than failing the page."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@cache
def catalogue() -> dict[str, dict[str, str]]:
    text = resources.files("courtdoc.core").joinpath("data/pages.toml").read_text(encoding="utf-8")
    strings: dict[str, dict[str, str]] = tomllib.loads(text)["strings"]
    return strings


def t(key: str, lang: str, **params: Any) -> str:
    """The string `key` in `lang` (English when missing), with its placeholders filled."""
    entry = catalogue().get(key)
    if entry is None:
        return key
    text = entry.get(lang) or entry["en"]
    return text.format_map(_Keep(params)) if params else text


def pick_lang(query: str | None, accept_language: str | None, default: str) -> str:
    """`?lang=` when it names one of ours; else the best of ours in `Accept-Language`."""
    if query in LANGS:
        return query
    best: tuple[float, int, str] | None = None
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        lang = _ALIASES.get(primary, primary)
        if lang not in LANGS:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        candidate = (q, -position, lang)
        if best is None or candidate > best:
            best = candidate
    return best[2] if best else (default if default in LANGS else "en")
