"""`courtdoc check` and `courtdoc rules`: exit codes, the JSON contract, the three languages."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from courtdoc import __version__
from courtdoc.cli import main
from courtdoc.policy import load_policy
from file_cases import policy_text

pytest_plugins = ["file_fixtures"]

GOOD = "Заявление о пересмотре.pdf"
GOOD_DOCX = "Заявление о пересмотре.docx"
BAD = "IMG_1234.jpg"
ENCRYPTED = "Заявление под паролем.pdf"

REPORT_KEYS = {"schema_version", "policy", "verdict", "findings", "files"}
FILE_KEYS = {"name", "size", "sha256", "format", "verdict", "findings", "text", "pages"}
FINDING_KEYS = {"rule", "severity", "message", "location", "observed", "expected"}


def _plain(table: str) -> str:
    """The table's words without its box drawing (rich wraps long messages inside the cell)."""
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", table).split())


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_all_accepted_exits_0(capsys, generated: dict[str, Path], file_policy_path: Path) -> None:
    code, out, _ = _run(
        capsys, "check", "--policy", str(file_policy_path), str(generated[GOOD]), str(generated[GOOD_DOCX])
    )
    assert code == 0
    assert "accepted" in out and "rejected" not in out
    assert GOOD in out


def test_any_rejected_exits_1(capsys, generated: dict[str, Path], file_policy_path: Path) -> None:
    code, out, _ = _run(
        capsys, "check", "--policy", str(file_policy_path), str(generated[GOOD]), str(generated[BAD])
    )
    assert code == 1
    assert "rejected" in out and "name.generic" in out


def test_usage_errors_exit_2(capsys, generated: dict[str, Path], tmp_path: Path) -> None:
    code, _, err = _run(capsys, "check", str(tmp_path / "нет такого файла.pdf"))
    assert code == 2 and "no such file" in err

    bad_policy = tmp_path / "court.toml"
    bad_policy.write_text(policy_text(id="1"), encoding="utf-8")
    code, _, err = _run(capsys, "check", "--policy", str(bad_policy), str(generated[GOOD]))
    assert code == 2 and "policy.id: expected a string" in err

    with pytest.raises(SystemExit) as caught:
        main(["check", "--lang", "de", str(generated[GOOD])])
    assert caught.value.code == 2
    capsys.readouterr()


def test_json_report_has_the_public_shape(capsys, generated: dict[str, Path], file_policy_path: Path) -> None:
    files = [generated[GOOD], generated[ENCRYPTED], generated["Ходатайство с макросом.docx"]]
    code, out, _ = _run(
        capsys, "check", "--format", "json", "--policy", str(file_policy_path), *map(str, files)
    )
    assert code == 1
    report = json.loads(out)
    assert set(report) >= REPORT_KEYS  # schema_version 1 guarantees these; more may be added
    assert report["schema_version"] == 1
    policy = load_policy(file_policy_path)
    assert report["policy"] == {"id": "kz-court", "version": policy.version, "sha256": policy.sha256}
    assert report["verdict"] == "reject"
    assert isinstance(report["findings"], list)
    assert [f["name"] for f in report["files"]] == [p.name for p in files]
    for entry, path in zip(report["files"], files, strict=True):
        assert set(entry) >= FILE_KEYS
        assert entry["size"] == path.stat().st_size
        assert entry["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert entry["format"] in ("pdf", "docx", "doc", "jpeg", "xlsx", None)
        assert entry["verdict"] in ("accept", "reject")
        assert entry["text"] is None or {"chars", "fonts"} <= set(entry["text"])
        for page in entry["pages"]:
            assert {"number", "kind", "dpi", "colour"} <= set(page)
            assert page["kind"] in ("text", "scan", "mixed", "blank")
        for finding in entry["findings"]:
            assert set(finding) >= FINDING_KEYS
            assert finding["severity"] in ("reject", "warn", "info")
            assert isinstance(finding["location"], dict)
    good, encrypted, macro = report["files"]
    assert (good["verdict"], good["format"]) == ("accept", "pdf")
    assert [f["rule"] for f in encrypted["findings"]] == ["file.encrypted"]
    assert macro["findings"][0]["location"] == {"part": "word/vbaProject.bin"}


@pytest.mark.parametrize(
    ("lang", "verdict_word", "phrase"),
    [
        ("en", "rejected", "needs a password to open"),
        ("ru", "отклонён", "открывается только с паролем"),
        ("kk", "қабылданбады", "тек құпиясөзбен ашылады"),
    ],
)
def test_languages(
    capsys, generated: dict[str, Path], file_policy_path: Path, lang: str, verdict_word: str, phrase: str
) -> None:
    code, out, _ = _run(
        capsys, "check", "--lang", lang, "--policy", str(file_policy_path), str(generated[ENCRYPTED])
    )
    assert code == 1
    assert verdict_word in out
    assert phrase in _plain(out)
    code, out, _ = _run(
        capsys,
        "check",
        "--format",
        "json",
        "--lang",
        lang,
        "--policy",
        str(file_policy_path),
        str(generated[ENCRYPTED]),
    )
    assert phrase in json.loads(out)["files"][0]["findings"][0]["message"]


def test_rules_lists_every_rule(capsys) -> None:
    code, out, _ = _run(capsys, "rules", "--format", "json", "--lang", "ru")
    assert code == 0
    listing = json.loads(out)
    policy = load_policy()
    assert {r["rule"]: r["severity"] for r in listing["rules"]} == policy.rules
    assert listing["policy"]["id"] == "kz-court"
    code, out, _ = _run(capsys, "rules", "--lang", "kk")
    assert code == 0 and "file.encrypted" in out and "құпиясөзбен" in out


def test_the_installed_command_runs(generated: dict[str, Path], file_policy_path: Path) -> None:
    """The console entry point in a fresh interpreter: version, then a real check as JSON."""
    command = [sys.executable, "-m", "courtdoc.cli"]
    version = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
    assert version.returncode == 0 and __version__ in version.stdout
    result = subprocess.run(
        [*command, "check", "--format", "json", "--policy", str(file_policy_path), str(generated[GOOD])],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["files"][0]["verdict"] == "accept"
    assert "Traceback" not in result.stderr, result.stderr
