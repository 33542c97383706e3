"""The policy: the shipped default loads, a bad policy file is a clear error naming the key, and a
policy's `[rules]` only overrides the rule registry's default severities."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from courtdoc.core.policy import DEFAULT_POLICY_PATH, PolicyError, default_policy, load_policy, parse_policy
from courtdoc.core.rules import registry
from file_cases import policy_text


def with_rules(*lines: str, text: str | None = None) -> str:
    """A policy (the shipped one by default) with `lines` added to its [rules] table."""
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8") if text is None else text
    assert text.count("\n[rules]\n") == 1
    return text.replace("\n[rules]\n", "\n[rules]\n" + "".join(line + "\n" for line in lines))


def test_the_default_policy_is_the_kz_court_policy() -> None:
    policy = load_policy()
    assert policy.id == "kz-court" and policy.version
    assert policy.sha256 == parse_policy(DEFAULT_POLICY_PATH.read_bytes()).sha256
    assert policy.sha256 != hashlib.sha256(DEFAULT_POLICY_PATH.read_bytes()).hexdigest()  # rules count
    assert policy.summary() == {"id": policy.id, "version": policy.version, "sha256": policy.sha256}
    assert policy.limits.max_file_bytes == 20 * 1024 * 1024 == 20_971_520
    assert sorted(policy.limits.allowed_extensions) == ["doc", "docx", "jpeg", "jpg", "pdf", "xlsx"]
    assert policy.sandbox.time_limit_seconds > 0 and policy.sandbox.memory_limit_mb >= 1024
    assert load_policy(DEFAULT_POLICY_PATH) == default_policy()


def test_a_court_policy_is_read_from_its_own_file(tmp_path: Path) -> None:
    text = policy_text(id='"almaty-court"', version='"2027.1"', max_file_bytes="10_485_760")
    path = tmp_path / "almaty.toml"
    path.write_text(text, encoding="utf-8")
    policy = load_policy(path)
    assert (policy.id, policy.version, policy.limits.max_file_bytes) == ("almaty-court", "2027.1", 10_485_760)
    assert policy.sha256 == load_policy(path).sha256 != default_policy().sha256


def test_extensions_are_compared_in_lower_case() -> None:
    policy = parse_policy(
        policy_text(allowed_extensions='["DOC", "docx", ".PDF", "jpeg", "jpg", "xlsx"]').encode()
    )
    assert "pdf" in policy.limits.allowed_extensions and "doc" in policy.limits.allowed_extensions


def _error(text: str) -> str:
    with pytest.raises(PolicyError) as caught:
        parse_policy(text.encode("utf-8"), "court.toml")
    return str(caught.value)


BASE = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("text", "names"),
    [
        (BASE.replace("[limits]\n", "[limits]\nmax_file_size = 1\n", 1), "limits.max_file_size: unknown key"),
        (re.sub(r"(?m)^max_file_bytes = .*\n", "", BASE), "limits.max_file_bytes: missing"),
        (policy_text(max_file_bytes='"20MB"'), "limits.max_file_bytes: expected an integer"),
        (policy_text(max_file_bytes="0"), "limits.max_file_bytes: must be positive"),
        (policy_text(memory_limit_mb="1.5"), "sandbox.memory_limit_mb: expected an integer"),
        (policy_text(time_limit_seconds='"20 s"'), "sandbox.time_limit_seconds: expected a number"),
        (policy_text(allowed_extensions='"pdf"'), "limits.allowed_extensions: expected a list"),
        (
            policy_text(allowed_extensions='["doc", "docx", "pdf", "jpeg", "jpg", "xlsx", "png"]'),
            "limits.extension_formats.png: missing",
        ),
        (with_rules('"file.empty" = "fatal"'), "rules.file.empty: severity must be"),
        (with_rules('"file.empty" = "reject"', '"file.emty" = "reject"'), "rules.file.emty: unknown rule"),
        (with_rules('"file.empty" = 1'), "rules.file.empty: expected a string"),
        (BASE + "\n[extras]\nx = 1\n", "extras: unknown section"),
        (re.sub(r"(?ms)^\[archive\]\n.*?(?=^\[)", "", BASE), "archive: missing section"),
        (BASE.replace("[policy]", "[policy", 1), "court.toml: not a valid TOML file"),
    ],
    ids=lambda v: v if isinstance(v, str) and len(v) < 60 else None,
)
def test_a_bad_policy_names_the_key(text: str, names: str) -> None:
    assert names in _error(text)


def test_an_unreadable_policy_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read policy file"):
        load_policy(tmp_path / "missing.toml")
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(PolicyError, match="not a valid TOML file"):
        load_policy(binary)


def test_an_off_rule_is_not_reported(tmp_path: Path) -> None:
    from courtdoc.pipeline import validate_file

    policy = parse_policy(with_rules('"name.generic" = "off"').encode())
    sample = tmp_path / "IMG_0001.pdf"
    sample.write_bytes(b"")
    assert [f.rule for f in validate_file(sample, policy).findings] == ["file.empty"]
    warned = parse_policy(with_rules('"name.generic" = "warn"').encode())
    report = validate_file(sample, warned)
    assert {(f.rule, f.severity) for f in report.findings} == {
        ("file.empty", "reject"),
        ("name.generic", "warn"),
    }


def test_a_policy_is_unpickled_once_per_process() -> None:
    """Every check sends the policy to a sandbox child; the child unpickles it once and reuses
    that object (and what is compiled once per policy), while a changed policy is its own."""
    import dataclasses
    import pickle

    from courtdoc.core.policy import Policy
    from courtdoc.engine.sandbox import SandboxPool

    policy = default_policy()
    changed = dataclasses.replace(policy, rules={**policy.rules, "doc.unsupported": "reject"})
    first, again = pickle.loads(pickle.dumps(policy)), pickle.loads(pickle.dumps(policy))
    assert first is again and first == policy
    other = pickle.loads(pickle.dumps(changed))
    assert other is not first and other == changed
    pool = SandboxPool(1, policy.sandbox.memory_limit_mb, 10_000)
    try:
        severities = [
            pool.run(Policy.severity, (p, "doc.unsupported"), 30) for p in (policy, changed, policy)
        ]
    finally:
        pool.close()
    assert severities == [policy.rules["doc.unsupported"], "reject", policy.rules["doc.unsupported"]]


def test_the_shipped_policy_applies_the_registry_defaults() -> None:
    """kz-court.toml names no severity of its own: every rule has the registry's default."""
    policy = default_policy()
    assert policy.rules == {rule_id: rule.severity for rule_id, rule in registry().items()}
    assert list(policy.rules) == list(registry())


def test_a_court_policy_only_overrides_severities() -> None:
    """A court's [rules] names only where it differs; every other rule keeps its default, and a
    policy without a [rules] table at all loads with every default."""
    court = parse_policy(with_rules('"file.too_large" = "warn"', '"scan.colour" = "off"').encode(), "court.toml")
    assert court.rules["file.too_large"] == "warn" and court.rules["scan.colour"] == "off"
    assert court.rules["file.empty"] == registry()["file.empty"].severity == "reject"
    assert set(court.rules) == set(registry())
    bare = BASE[: BASE.index("\n[rules]\n")] + "\n"
    assert parse_policy(bare.encode(), "bare.toml").rules == default_policy().rules


def test_the_hash_follows_the_effective_severities() -> None:
    """Same file, same hash; a changed severity, another hash (caches and bulk runs key on it)."""
    same = parse_policy(BASE.encode()).sha256
    assert same == default_policy().sha256
    stricter = parse_policy(with_rules('"scan.dark" = "reject"').encode()).sha256
    assert stricter != same
    assert parse_policy(with_rules('"scan.dark" = "reject"').encode()).sha256 == stricter
