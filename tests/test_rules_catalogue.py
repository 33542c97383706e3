"""One rule = one policy entry and one message entry in kk/ru/en; every rule the code raises exists."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
from courtdoc.core import messages
from courtdoc.core.policy import load_policy

ROOT = Path(__file__).resolve().parents[1]
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
_KAZAKH_LETTERS = re.compile(r"[ӘәҒғҚқҢңӨөҰұҮүҺһІі]")
_RAISED = re.compile(r"""\.add\(\s*["']([a-z_]+\.[a-z_]+)["']""")


def _rules_in_code() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted(ROOT.rglob("*.py")):
        relative = path.relative_to(ROOT)
        if (
            relative.parts[0] in ("tests", "fixtures", "bench", "build", ".venv")
            or "site-packages" in relative.parts
        ):
            continue
        for rule in _RAISED.findall(path.read_text(encoding="utf-8")):
            found.setdefault(rule, []).append(str(relative))
    return found


def test_policy_and_catalogue_name_the_same_rules() -> None:
    assert set(load_policy().rules) == set(messages.rule_ids())


def test_every_rule_raised_in_code_is_in_policy_and_catalogue() -> None:
    raised = _rules_in_code()
    assert "file.corrupt" in raised and "name.generic" in raised  # the scan itself works
    policy_rules = set(load_policy().rules)
    catalogue = set(messages.rule_ids())
    missing = {
        rule: files for rule, files in raised.items() if rule not in policy_rules or rule not in catalogue
    }
    assert missing == {}


@pytest.mark.parametrize("rule", messages.rule_ids())
def test_each_rule_reads_in_kazakh_russian_and_english(rule: str) -> None:
    entry = messages.catalogue()[rule]
    for part in ("title", "text"):
        texts = {lang: entry[part].get(lang, "") for lang in messages.LANGS}
        assert all(texts.values()), (rule, part, texts)
        assert _CYRILLIC.search(texts["ru"]) and _CYRILLIC.search(texts["kk"])
        assert texts["kk"] != texts["ru"] != texts["en"]
    # The same figures are offered to the reader in every language.
    fields = {
        lang: {f for _, f, _, _ in string.Formatter().parse(entry["text"][lang]) if f}
        for lang in messages.LANGS
    }
    assert fields["kk"] == fields["ru"] == fields["en"], fields


def test_kazakh_is_written_with_kazakh_letters() -> None:
    kazakh = " ".join(messages.catalogue()[r]["text"]["kk"] for r in messages.rule_ids())
    assert len(_KAZAKH_LETTERS.findall(kazakh)) > 50


def test_rules_listing_covers_every_rule() -> None:
    from courtdoc.cli.render import rules_table

    for lang in messages.LANGS:
        rows = rules_table(load_policy(), lang)
        assert {r["rule"] for r in rows} == set(load_policy().rules)
        assert all(r["description"] and r["description"] != r["rule"] for r in rows)


FILE_LEVEL_PHRASES = ("act_", "enc_", "own_", "bad_", "fail_", "fmt_")


def test_file_level_phrases_are_translated() -> None:
    """Phrases the file-level checks pass as "@ui:KEY" exist in all three languages, and the
    Kazakh and Russian ones hold no English words (technical names such as PDF or VBA aside)."""
    phrases = {k: v for k, v in messages.catalogue()["ui"].items() if k.startswith(FILE_LEVEL_PHRASES)}
    assert len(phrases) > 50
    for key, entry in phrases.items():
        assert set(entry) == set(messages.LANGS), key
        for lang in ("ru", "kk"):
            assert _CYRILLIC.search(entry[lang]), (key, lang)
            assert not re.search(r"\b[a-z]{3,} [a-z]{3,}\b", entry[lang]), (key, lang)


def test_every_phrase_key_used_by_the_checks_exists() -> None:
    from courtdoc.checks.sniff import TRANSLATED_FORMATS

    used = {f"fmt_{f.replace('-', '_')}" for f in TRANSLATED_FORMATS}
    used |= {"own_printing", "own_copying", "own_editing", "own_unspecified"}
    for path in (ROOT / "checks").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"@ui:([a-z_]*[a-z])\b", text))
        used |= set(re.findall(r'"((?:act|bad|enc|fail)_[a-z_]*[a-z])"', text))
    missing = sorted(k for k in used if k not in messages.catalogue()["ui"])
    assert missing == []
