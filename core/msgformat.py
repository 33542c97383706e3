"""The syntax of message templates: `{name}` placeholders and ICU-style plural selection.

A template is text with placeholders (docs/development.md, "Writing messages"):

* `{name}` is replaced by the parameter's value, formatted for the reader's language;
* `{name, plural, one {# знак} few {# знака} many {# знаков} other {# знака}}` picks the branch
  of the plural category of the parameter (CLDR: `babel.Locale.parse(lang).plural_form(n)`;
  for a list, `one` for a single item and `other` for more); inside a branch `#` is the
  formatted value and `{other_name}` placeholders may be used. A branch the language does not
  have falls back to `other`.

This module only parses and assembles; formatting a value and choosing a category is the
caller's (core/messages.py), so the registry (core/rules.py) can validate templates without
Babel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

CATEGORIES: frozenset[str] = frozenset({"zero", "one", "two", "few", "many", "other"})


class TemplateError(ValueError):
    """A template that does not parse: an unclosed brace, a bad plural."""


@dataclass(frozen=True)
class Field:
    name: str


@dataclass(frozen=True)
class Plural:
    name: str
    branches: Mapping[str, tuple[Node, ...]]


class Hash:
    """`#` inside a plural branch: the value the branch was chosen for."""


Node = str | Field | Plural | Hash


def _name(text: str, pos: int) -> tuple[str, int]:
    end = pos
    while end < len(text) and (text[end].isalnum() or text[end] == "_"):
        end += 1
    if end == pos:
        raise TemplateError(f"a placeholder without a name at {pos}")
    return text[pos:end], end


def _skip(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] == " ":
        pos += 1
    return pos


def _plural(text: str, pos: int, name: str) -> tuple[Plural, int]:
    """After `{name,`: ` plural, cat {…} … }`."""
    pos = _skip(text, pos)
    if not text.startswith("plural", pos):
        raise TemplateError(f"{{{name}, …}}: only `plural` selection is supported")
    pos = _skip(text, pos + len("plural"))
    if pos >= len(text) or text[pos] != ",":
        raise TemplateError(f"{{{name}, plural …}}: a comma must follow `plural`")
    branches: dict[str, tuple[Node, ...]] = {}
    pos = _skip(text, pos + 1)
    while pos < len(text) and text[pos] != "}":
        category, pos = _name(text, pos)
        if category not in CATEGORIES:
            raise TemplateError(f"{{{name}, plural}}: {category!r} is not a plural category")
        if category in branches:
            raise TemplateError(f"{{{name}, plural}}: {category!r} given twice")
        pos = _skip(text, pos)
        if pos >= len(text) or text[pos] != "{":
            raise TemplateError(f"{{{name}, plural}}: {category} needs a {{branch}}")
        branch, pos = _sequence(text, pos + 1, in_branch=True)
        branches[category] = branch
        pos = _skip(text, pos + 1)
    if pos >= len(text):
        raise TemplateError(f"{{{name}, plural …: not closed")
    if "other" not in branches:
        raise TemplateError(f"{{{name}, plural}}: an `other` branch is required")
    return Plural(name, branches), pos + 1


def _sequence(text: str, pos: int, in_branch: bool) -> tuple[tuple[Node, ...], int]:
    """Nodes up to the end of the text, or up to the `}` closing a branch (its position)."""
    nodes: list[Node] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            nodes.append("".join(literal))
            literal.clear()

    while pos < len(text):
        char = text[pos]
        if char == "{":
            flush()
            name, pos = _name(text, _skip(text, pos + 1))
            pos = _skip(text, pos)
            if pos < len(text) and text[pos] == "}":
                nodes.append(Field(name))
                pos += 1
            elif pos < len(text) and text[pos] == ",":
                plural, pos = _plural(text, pos + 1, name)
                nodes.append(plural)
            else:
                raise TemplateError(f"{{{name}: not closed")
        elif char == "}":
            if in_branch:
                flush()
                return tuple(nodes), pos
            raise TemplateError(f"a single '}}' at {pos}")
        elif char == "#" and in_branch:
            flush()
            nodes.append(Hash())
            pos += 1
        else:
            literal.append(char)
            pos += 1
    if in_branch:
        raise TemplateError("a plural branch is not closed")
    flush()
    return tuple(nodes), pos


@cache
def parse(template: str) -> tuple[Node, ...]:
    return _sequence(template, 0, in_branch=False)[0]


def _walk(nodes: tuple[Node, ...]) -> list[Field | Plural]:
    out: list[Field | Plural] = []
    for node in nodes:
        if isinstance(node, Field):
            out.append(node)
        elif isinstance(node, Plural):
            out.append(node)
            for branch in node.branches.values():
                out += _walk(branch)
    return out


def placeholders(template: str) -> frozenset[str]:
    """Every parameter a template uses, in placeholders and plural selections."""
    return frozenset(node.name for node in _walk(parse(template)))


def shown(template: str) -> frozenset[str]:
    """The parameters whose values a template writes out (a plural that only chooses a word,
    `{places, plural, one {has} other {have}}`, writes none)."""

    def written(nodes: tuple[Node, ...], current: str | None) -> set[str]:
        out: set[str] = set()
        for node in nodes:
            if isinstance(node, Field):
                out.add(node.name)
            elif isinstance(node, Hash) and current is not None:
                out.add(current)
            elif isinstance(node, Plural):
                for branch in node.branches.values():
                    out |= written(branch, node.name)
        return out

    return frozenset(written(parse(template), None))


def plurals(template: str) -> dict[str, frozenset[str]]:
    """The parameters a template selects plural forms on, with the categories it gives."""
    out: dict[str, frozenset[str]] = {}
    for node in _walk(parse(template)):
        if isinstance(node, Plural):
            out[node.name] = out.get(node.name, frozenset()) | frozenset(node.branches)
    return out


def assemble(template: str, values: Mapping[str, str], category: Callable[[str], str]) -> str:
    """The template with each placeholder replaced by its (already formatted) value; a plural
    takes the branch of `category(name)`. A missing value raises KeyError(name)."""

    def run(nodes: tuple[Node, ...], current: str | None) -> str:
        out: list[str] = []
        for node in nodes:
            if isinstance(node, str):
                out.append(node)
            elif isinstance(node, Field):
                out.append(values[node.name])
            elif isinstance(node, Hash):
                out.append(values[current] if current is not None else "#")
            else:
                if node.name not in values:
                    raise KeyError(node.name)
                chosen = category(node.name)
                branch = node.branches.get(chosen, node.branches["other"])
                out.append(run(branch, node.name))
        return "".join(out)

    return run(parse(template), None)
