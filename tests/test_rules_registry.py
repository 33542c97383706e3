"""The rule registry: it loads and validates, an unregistered id cannot be raised, a rule added to
the registry reaches an older court policy with its default severity, and a message that cannot
be filled never reaches a reader half-filled."""

from __future__ import annotations

from pathlib import Path

import pytest
import structlog
from courtdoc.checks.findings import Issues
from courtdoc.core import messages, rules
from courtdoc.core.policy import DEFAULT_POLICY_PATH, PolicyError, load_policy, parse_policy
from courtdoc.core.rules import RegistryError, Rule, UnknownRuleError, parse_registry

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = rules.REGISTRY_PATH.read_text(encoding="utf-8")

NEW_RULE = """
["scan.glare"]
severity = "warn"
requirement = 8
params = { share = "percent" }
doc.what = "A bright reflection covers part of the page."
doc.why = "Text under a glare cannot be read."
doc.example = "A glossy certificate photographed under a lamp."
doc.fix = "Scan it on a flatbed scanner."
title.en = "The page has a glare"
title.ru = "На странице блик"
title.kk = "Бетте жарқыл бар"
text.en = "A glare covers {share} % of the page. Scan it on a flatbed scanner."
text.ru = "Блик закрывает {share} % страницы. Отсканируйте её на планшетном сканере."
text.kk = "Жарқыл беттің {share} %-ын жабады. Оны планшетті сканерде сканерлеңіз."
"""


def test_the_registry_loads_typed_rules() -> None:
    known = rules.registry()
    assert len(known) >= 40 and set(known) == rules.rule_ids()
    entry = rules.rule("name.generic")
    assert isinstance(entry, Rule) and entry.id == "name.generic"
    assert (entry.severity, entry.requirement, dict(entry.params)) == ("reject", 3, {"name": "text"})
    assert entry.placeholders("kk") == {"name"} and entry.doc.fix
    assert rules.rule("file.corrupt").requirement == "file-safety"
    with pytest.raises(UnknownRuleError, match=r"'name\.generik' is not a registered rule"):
        rules.rule("name.generik")


def _broken(old: str, new: str) -> str:
    assert SHIPPED.count(old) >= 1, old
    with pytest.raises(RegistryError) as caught:
        parse_registry(SHIPPED.replace(old, new, 1), "rules.toml")
    return str(caught.value)


def test_a_placeholder_that_is_not_a_declared_param_is_a_load_error() -> None:
    error = _broken(
        'text.ru = "Файл пустой (0 байт).', 'text.ru = "Файл пустой ({size} байт).'
    )
    assert error == "file.empty.text.ru: {size} is not a declared param"


@pytest.mark.parametrize(
    ("old", "new", "names"),
    [
        ('severity = "reject"', 'severity = "off"', "file.empty.severity: must be one of reject, warn, info"),
        ('requirement = "file-safety"', "requirement = 11", "file.empty.requirement: 11 is not a known"),
        ('params = {}', 'params = { x = "colour" }', "file.empty.params.x: type must be one of"),
        ('title.kk = "Файл бос"\n', "", "file.empty.title: needs exactly kk, ru, en"),
        ('doc.fix = "Upload the document again from the original file."\n', "", "file.empty.doc: needs"),
        ('["file.empty"]\n', '["file.empty"]\nseverty = "warn"\n', "file.empty.severty: unknown key"),
        ('["file.empty"]\n', '["File.Empty"]\n', "File.Empty: a rule id is family.name"),
        ('text.en = "The file is empty (0 bytes).', 'text.en = "The file is empty {0 bytes).', "file.empty.text.en"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 50 else None,
)
def test_a_bad_registry_entry_names_the_rule_and_key(old: str, new: str, names: str) -> None:
    assert names in _broken(old, new)


def test_raising_an_unregistered_rule_fails() -> None:
    issues = Issues()
    issues.add("name.generic", name="IMG_0001.jpg")
    with pytest.raises(UnknownRuleError, match=r"name\.generik"):
        issues.add("name.generik", name="IMG_0001.jpg")
    assert [i.rule for i in issues] == ["name.generic"]


@pytest.fixture
def registry_with_a_new_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped registry plus one rule, as a newer courtdoc would ship it."""
    path = tmp_path / "rules.toml"
    path.write_text(SHIPPED + NEW_RULE, encoding="utf-8")
    monkeypatch.setattr(rules, "REGISTRY_PATH", path)
    return path


def test_an_older_court_policy_gets_a_new_rule_at_its_default(
    registry_with_a_new_rule: Path, tmp_path: Path
) -> None:
    older = DEFAULT_POLICY_PATH.read_text(encoding="utf-8").replace(
        "\n[rules]\n", '\n[rules]\n"scan.dark" = "reject"\n"name.generic" = "warn"\n'
    )
    court = tmp_path / "court.toml"
    court.write_text(older, encoding="utf-8")
    policy = load_policy(court)
    assert policy.rules["scan.glare"] == "warn"  # the registry's default
    assert (policy.rules["scan.dark"], policy.rules["name.generic"]) == ("reject", "warn")  # the court's
    assert set(policy.rules) == rules.rule_ids() and "scan.glare" in rules.rule_ids()
    # The new rule can be raised and reads in every language.
    issues = Issues()
    issues.add("scan.glare", share="12")
    assert messages.render("scan.glare", "kk", issues[0].params).startswith("Жарқыл беттің 12 %-ын")


def test_the_hash_changes_when_a_registry_default_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = DEFAULT_POLICY_PATH.read_bytes()
    before = parse_policy(data).sha256
    path = tmp_path / "rules.toml"
    start = SHIPPED.index('["scan.dark"]')
    path.write_text(SHIPPED[:start] + SHIPPED[start:].replace('severity = "warn"', 'severity = "reject"', 1), "utf-8")
    monkeypatch.setattr(rules, "REGISTRY_PATH", path)
    after = parse_policy(data)
    assert after.rules["scan.dark"] == "reject" and after.sha256 != before


def test_an_unknown_rule_in_a_policy_is_an_error_naming_it(registry_with_a_new_rule: Path) -> None:
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8").replace("\n[rules]\n", '\n[rules]\n"scan.glair" = "warn"\n')
    with pytest.raises(PolicyError, match=r"^rules\.scan\.glair: unknown rule$"):
        parse_policy(text.encode("utf-8"), "court.toml")


# --- rendering -------------------------------------------------------------------------------


_SAMPLES = {"text": "x", "count": 3, "number": "1.5", "percent": "2.5", "list": "a, b", "ui-phrase": "@ui:page"}


@pytest.mark.parametrize("rule_id", sorted(rules.rule_ids()))
def test_the_declared_params_fill_every_message(rule_id: str) -> None:
    """A finding carrying its declared params renders fully in every language."""
    params = {name: _SAMPLES[kind] for name, kind in rules.rule(rule_id).params.items()}
    for lang in rules.LANGS:
        text = messages.format_message(rule_id, lang, params)
        assert "{" not in text and "}" not in text and "@ui:" not in text, (lang, text)


def test_a_missing_param_fails_in_tests() -> None:
    assert messages.strict()
    with pytest.raises(messages.MessageError, match=r"scan.dpi: no parameter for \{dpi\}") as caught:
        messages.render("scan.dpi", "en", {"min": "200", "max": "300"})
    assert caught.value.missing == ("dpi",)
    # A phrase passed as "@ui:KEY" is filled from the same params, as strictly.
    with pytest.raises(messages.MessageError, match=r"\{page\}"):
        messages.render("file.corrupt", "en", {"format": "PDF", "reason": "@ui:bad_page"})
    with pytest.raises(messages.MessageError, match="not a registered rule"):
        messages.render("scan.nothing", "en", {})


def test_a_missing_param_at_run_time_is_logged_and_the_title_stands_in(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    monkeypatch.delenv("COURTDOC_STRICT_MESSAGES", raising=False)
    assert not messages.strict()
    with structlog.testing.capture_logs() as logs:
        text = messages.render("scan.dpi", "ru", {"min": "200", "max": "300"})
    assert text == rules.rule("scan.dpi").title["ru"] == "Разрешение скана вне допустимого диапазона"
    assert logs == [
        {"event": "message.unfilled", "log_level": "error", "rule": "scan.dpi", "lang": "ru", "missing": ["dpi"]}
    ]
    monkeypatch.setenv("COURTDOC_STRICT_MESSAGES", "1")
    with pytest.raises(messages.MessageError):
        messages.render("scan.dpi", "ru", {"min": "200", "max": "300"})


def test_docs_rules_md_is_generated_from_the_registry() -> None:
    """docs/rules.md is current: regenerate it with `python -m courtdoc.core.rules > docs/rules.md`."""
    text = rules.markdown()
    assert (ROOT / "docs" / "rules.md").read_text(encoding="utf-8") == text
    for rule_id, entry in rules.registry().items():
        assert f"### {rule_id}\n" in text and entry.text["kk"] in text.replace("\\|", "|")
