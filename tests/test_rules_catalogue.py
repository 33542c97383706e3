"""Every registered rule is complete (kk/ru/en title and message, declared params, a published
requirement) and raised by some check; the phrases checks pass exist in every language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from courtdoc.core import messages, msgformat, rules
from courtdoc.core.policy import load_policy
from courtdoc.core.rules import rules_table
from file_cases import CASES

ROOT = Path(__file__).resolve().parents[1]
RULES_MD = ROOT.parent / "shared" / "RULES.md"
_CYRILLIC = re.compile(r"[А-Яа-яЁё]")
_KAZAKH_LETTERS = re.compile(r"[ӘәҒғҚқҢңӨөҰұҮүҺһІі]")
_SOURCE_DIRS = ("checks", "engine", "core", "pipeline.py")


@pytest.mark.parametrize("rule_id", list(rules.registry()))
def test_each_rule_reads_in_kazakh_russian_and_english(rule_id: str) -> None:
    entry = rules.rule(rule_id)
    for part in (entry.title, entry.text):
        assert all(part[lang].strip() for lang in rules.LANGS), (rule_id, part)
        assert _CYRILLIC.search(part["ru"]) and _CYRILLIC.search(part["kk"])
        assert part["kk"] != part["ru"] != part["en"]
    # The same figures are offered to the reader in every language, and each is declared (a
    # plural that only chooses a word, "has"/"have", writes no figure).
    fields = {lang: msgformat.shown(entry.text[lang]) for lang in rules.LANGS}
    assert fields["kk"] == fields["ru"] == fields["en"], fields
    assert entry.placeholders("en") <= set(entry.params), (rule_id, entry.placeholders("en") - set(entry.params))


def _ui_placeholders() -> set[str]:
    return {name for entry in messages.catalogue()["ui"].values() for text in entry.values() for name in rules.placeholders(text)}


@pytest.mark.parametrize("rule_id", list(rules.registry()))
def test_every_declared_param_is_used_by_a_message(rule_id: str) -> None:
    """A declared param fills the rule's text or a phrase passed with it ("@ui:KEY"): the list of
    params says what the messages use, nothing else."""
    entry = rules.rule(rule_id)
    unused = set(entry.params) - entry.placeholders("en") - _ui_placeholders()
    assert unused == set(), (rule_id, unused)


def test_every_requirement_is_one_of_the_published_list() -> None:
    numbered = {r for r in rules.REQUIREMENTS if isinstance(r, int)}
    used = {entry.requirement for entry in rules.registry().values()}
    assert used <= set(rules.REQUIREMENTS)
    assert numbered <= used, numbered - used  # every published requirement is enforced by some rule
    if not RULES_MD.is_file():
        pytest.skip(f"the published rules are not beside the repository ({RULES_MD})")
    text = RULES_MD.read_text(encoding="utf-8")
    published = {int(n) for n in re.findall(r"(?m)^\| (\d+) \|", text)}
    assert published == numbered
    assert "## Time limits" in text and "encrypted files" in text  # the two scopes beside the list


def test_kazakh_is_written_with_kazakh_letters() -> None:
    kazakh = " ".join(entry.text["kk"] for entry in rules.registry().values())
    assert len(_KAZAKH_LETTERS.findall(kazakh)) > 50


def _source_text() -> str:
    paths: list[Path] = []
    for name in _SOURCE_DIRS:
        path = ROOT / name
        paths += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return "\n".join(p.read_text(encoding="utf-8") for p in paths if p != ROOT / "core" / "rules.py")


@pytest.mark.parametrize("rule_id", list(rules.registry()))
def test_every_registered_rule_is_raised_by_some_check(rule_id: str) -> None:
    """A registered rule no code names is dead weight in the listing (raising an unregistered id
    fails in `Issues.add`, so the other direction holds wherever a check runs)."""
    assert f'"{rule_id}"' in _source_text()


def test_the_rules_the_generated_fixtures_expect_are_registered() -> None:
    expected = {rule for case in CASES for rule in case.expect}
    assert len(expected) > 10 and expected <= rules.rule_ids(), expected - rules.rule_ids()


def test_rules_listing_covers_every_rule() -> None:
    from courtdoc.cli.render import rules_table

    policy = load_policy()
    for lang in messages.LANGS:
        rows = rules_table(policy, lang)
        assert [r["rule"] for r in rows] == sorted(rules.registry())
        assert all(r["description"] and r["description"] != r["rule"] for r in rows)
        assert all(r["requirement"] == rules.rule(r["rule"]).requirement for r in rows)


def test_the_api_lists_the_rules_with_requirements_and_params() -> None:
    from courtdoc.service.api_models import RulesResponse

    policy = load_policy()
    listing = RulesResponse.model_validate({"policy": policy.summary(), "rules": rules_table(policy, "ru")})
    row = next(r for r in listing.rules if r.rule == "file.too_large")
    assert (row.severity, row.requirement, row.params) == ("reject", 5, {"size_mb": "number", "limit_mb": "number"})
    assert row.description == "Файл больше допустимого размера"


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


def test_the_catalogue_holds_phrases_only() -> None:
    """Rules' titles and messages live in the registry alone."""
    assert set(messages.catalogue()) == {"ui"}
    assert not rules.rule_ids() & set(messages.catalogue()["ui"])


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
