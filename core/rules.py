"""The rule registry: every rule courtdoc can raise, declared once in `data/rules.toml`.

A rule's entry holds its default severity, the published requirement it enforces, the typed
parameters its messages may use, its documentation, and its title and message in kk/ru/en.
Everything else reads rules from here: the policy (default severities), the message renderer,
`Issues.add` (an unregistered id is an error), `courtdoc rules`, `GET /v1/rules` and
docs/rules.md (`python -m courtdoc.core.rules > docs/rules.md`).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import msgformat

if TYPE_CHECKING:
    from .policy import Policy

LANGS: tuple[str, ...] = ("kk", "ru", "en")
DEFAULT_SEVERITIES: tuple[str, ...] = ("reject", "warn", "info")
# The types a message parameter may have; they say how a value is written for a reader
# (core/messages.py, with the language's CLDR data): a count is an integer with the language's
# digit grouping, a number and a percent a decimal with the language's decimal mark (the text
# writes the "%"), a list is items joined by ", ", a ui-phrase is "@ui:KEY", text is as given.
# A list may arrive already joined into one string, or as a list of "@ui:KEY" phrases.
PARAM_TYPES: tuple[str, ...] = ("text", "count", "number", "percent", "list", "ui-phrase")
# The types a message may select plural forms on ({name, plural, …}, core/msgformat.py).
NUMERIC_TYPES: frozenset[str] = frozenset({"count", "number", "percent"})
PLURAL_TYPES: frozenset[str] = NUMERIC_TYPES | {"list"}
REGISTRY_PATH = Path(__file__).parent / "data" / "rules.toml"

# The requirements of the court's published list (../shared/RULES.md, numbered as there), and
# the two scopes beside it: what no court intake may accept, and the application's time limits.
REQUIREMENTS: dict[int | str, str] = {
    1: "Documents are formatted as text: font 14 Times New Roman, line spacing",
    2: "Each document is uploaded as a separate file",
    3: "The file name allows the document to be identified",
    4: "The number of files equals the number of documents submitted",
    5: "Each file is at most 20 megabytes",
    6: "Allowed formats: doc, docx, pdf, jpeg, xlsx",
    7: "Paper documents are scanned 1:1, black-and-white or greyscale (colour where needed), at 200–300 dpi",
    8: "Attached documents are readable",
    9: "An attached document corresponds to its name",
    10: "Attached documents correspond to the list of attachments",
    "file-safety": "Files the court cannot open or must not accept: empty, damaged, encrypted, active content, uncheckable",
    "time-limits": "The time limits for the application (CPC art. 457, CrPC art. 500)",
}

_RULE_ID = re.compile(r"^[a-z]+\.[a-z_]+$")
_PARAM_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")
_KEYS = ("severity", "requirement", "params", "doc", "title", "text")
_DOC_KEYS = ("what", "why", "example", "fix")


class RegistryError(ValueError):
    """The registry file is not TOML or an entry is incomplete or inconsistent."""


class UnknownRuleError(ValueError):
    """A rule id that is not in the registry."""

    def __init__(self, rule: str) -> None:
        super().__init__(f"{rule!r} is not a registered rule (core/data/rules.toml)")
        self.rule = rule


@dataclass(frozen=True)
class RuleDoc:
    what: str
    why: str
    example: str
    fix: str


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    requirement: int | str
    params: Mapping[str, str]
    doc: RuleDoc
    title: Mapping[str, str]
    text: Mapping[str, str]

    def placeholders(self, lang: str) -> frozenset[str]:
        return placeholders(self.text[lang])


@dataclass(frozen=True)
class Registry:
    rules: Mapping[str, Rule]
    ids: frozenset[str]


def placeholders(template: str) -> frozenset[str]:
    """The {names} a message template fills in (core/msgformat.py syntax)."""
    return msgformat.placeholders(template)


@cache
def plural_categories(lang: str) -> frozenset[str]:
    """The plural categories a language's numbers take (CLDR), `other` included."""
    from babel import Locale

    return frozenset(Locale.parse(lang).plural_form.tags) | {"other"}


def plural_problems(template: str, lang: str, types: Mapping[str, str]) -> list[str]:
    """What is wrong with a template's plural selections: a parameter of a type that has no
    plural, or a category of the language missing (a list needs only `one` and `other`)."""
    problems = []
    for name, given in msgformat.plurals(template).items():
        kind = types.get(name, "text")
        if kind not in PLURAL_TYPES:
            problems.append(f"{{{name}, plural}}: a {kind} parameter has no plural")
            continue
        needed = plural_categories(lang) if kind in NUMERIC_TYPES else frozenset({"one", "other"})
        missing = sorted(needed - given)
        if missing:
            problems.append(f"{{{name}, plural}}: {', '.join(missing)} missing")
    return problems


def _langs(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or set(value) != set(LANGS):
        raise RegistryError(f"{where}: needs exactly {', '.join(LANGS)}")
    for lang, text in value.items():
        if not isinstance(text, str) or not text.strip():
            raise RegistryError(f"{where}.{lang}: must be a non-empty string")
    return {lang: value[lang] for lang in LANGS}


def _rule(rule_id: str, entry: Any) -> Rule:
    if not _RULE_ID.match(rule_id):
        raise RegistryError(f"{rule_id}: a rule id is family.name in lower case")
    if not isinstance(entry, dict):
        raise RegistryError(f"{rule_id}: expected a table")
    for key in _KEYS:
        if key not in entry:
            raise RegistryError(f"{rule_id}.{key}: missing")
    unknown = sorted(set(entry) - set(_KEYS))
    if unknown:
        raise RegistryError(f"{rule_id}.{unknown[0]}: unknown key")
    if entry["severity"] not in DEFAULT_SEVERITIES:
        raise RegistryError(f"{rule_id}.severity: must be one of {', '.join(DEFAULT_SEVERITIES)}")
    requirement = entry["requirement"]
    if isinstance(requirement, bool) or requirement not in REQUIREMENTS:
        raise RegistryError(f"{rule_id}.requirement: {requirement!r} is not a known requirement")
    params = entry["params"]
    if not isinstance(params, dict):
        raise RegistryError(f"{rule_id}.params: expected a table")
    for name, kind in params.items():
        if not _PARAM_NAME.match(name):
            raise RegistryError(f"{rule_id}.params.{name}: not a parameter name")
        if kind not in PARAM_TYPES:
            raise RegistryError(f"{rule_id}.params.{name}: type must be one of {', '.join(PARAM_TYPES)}")
    doc = entry["doc"]
    if not isinstance(doc, dict) or set(doc) != set(_DOC_KEYS):
        raise RegistryError(f"{rule_id}.doc: needs exactly {', '.join(_DOC_KEYS)}")
    for key in _DOC_KEYS:
        if not isinstance(doc[key], str) or not doc[key].strip():
            raise RegistryError(f"{rule_id}.doc.{key}: must be a non-empty string")
    title = _langs(entry["title"], f"{rule_id}.title")
    text = _langs(entry["text"], f"{rule_id}.text")
    for lang, template in text.items():
        try:
            names = placeholders(template)
        except ValueError as exc:
            raise RegistryError(f"{rule_id}.text.{lang}: {exc}") from None
        for name in sorted(names):
            if name not in params:
                raise RegistryError(f"{rule_id}.text.{lang}: {{{name}}} is not a declared param")
        for problem in plural_problems(template, lang, params):
            raise RegistryError(f"{rule_id}.text.{lang}: {problem}")
    return Rule(rule_id, entry["severity"], requirement, dict(params), RuleDoc(**doc), title, text)


def parse_registry(data: str, source: str = "<registry>") -> Registry:
    try:
        raw = tomllib.loads(data)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{source}: not a valid TOML file: {exc}") from None
    rules = {rule_id: _rule(rule_id, entry) for rule_id, entry in raw.items()}
    return Registry(rules, frozenset(rules))


@cache
def _load(path: Path) -> Registry:
    return parse_registry(path.read_text(encoding="utf-8"), str(path))


def registry() -> Mapping[str, Rule]:
    """Every rule, in the registry's order (by family)."""
    return _load(REGISTRY_PATH).rules


def rule_ids() -> frozenset[str]:
    return _load(REGISTRY_PATH).ids


def rule(rule_id: str) -> Rule:
    try:
        return _load(REGISTRY_PATH).rules[rule_id]
    except KeyError:
        raise UnknownRuleError(rule_id) from None


def rules_table(policy: Policy, lang: str) -> list[dict[str, Any]]:
    """One row per rule with the policy's effective severity (for `courtdoc rules` and the API)."""
    known = registry()
    return [
        {
            "rule": rule_id,
            "severity": severity,
            "description": known[rule_id].title[lang],
            "requirement": known[rule_id].requirement,
            "params": dict(known[rule_id].params),
        }
        for rule_id, severity in sorted(policy.rules.items())
    ]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown() -> str:
    """docs/rules.md: the rules by requirement, a summary table, then each rule in full."""
    rules = registry()
    out = [
        "# Rules",
        "",
        "Generated from the rule registry `core/data/rules.toml` by `python -m courtdoc.core.rules`;",
        "do not edit by hand. The severity is the default; a court's policy may override it in its",
        "`[rules]` table (`reject`, `warn`, `info` or `off`); `courtdoc rules` lists the effective ones.",
        "",
        "| rule | default | requirement | title |",
        "|---|---|---|---|",
    ]
    for r in rules.values():
        out.append(f"| [`{r.id}`](#{r.id.replace('.', '')}) | {r.severity} | {r.requirement} | {_cell(r.title['en'])} |")
    for requirement, heading in REQUIREMENTS.items():
        members = [r for r in rules.values() if r.requirement == requirement]
        if not members:
            continue
        label = f"Requirement {requirement}" if isinstance(requirement, int) else requirement.capitalize()
        out += ["", f"## {label}: {heading}"]
        for r in members:
            params = ", ".join(f"`{name}` ({kind})" for name, kind in r.params.items()) or "none"
            out += [
                "",
                f"### {r.id}",
                "",
                f"**{r.title['en']}** · default severity `{r.severity}` · parameters: {params}",
                "",
                f"- What: {r.doc.what}",
                f"- Why: {r.doc.why}",
                f"- Example: {r.doc.example}",
                f"- Fix: {r.doc.fix}",
                "",
                "| | title | message |",
                "|---|---|---|",
            ]
            out += [f"| {lang} | {_cell(r.title[lang])} | {_cell(r.text[lang])} |" for lang in LANGS]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
