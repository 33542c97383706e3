"""`courtdoc check` and `courtdoc rules`: exit codes, the JSON contract, the three languages."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from courtdoc import __version__
from courtdoc.cli.main import main
from courtdoc.core.policy import load_policy
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
        ("ru", "Заявление отклонено", "открывается только с паролем"),
        ("kk", "Өтініш қабылданбады", "тек құпиясөзбен ашылады"),
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
    command = [sys.executable, "-m", "courtdoc.cli.main"]
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


# --- paths that exist but cannot be read as files ------------------------------------------------


@pytest.fixture(scope="module")
def unreadable_policy(file_policy_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The file-level policy with `file.unreadable` and `filing.duplicate` on."""
    text = file_policy_path.read_text(encoding="utf-8")
    for rule in ("file.unreadable", "filing.duplicate"):
        text, n = re.subn(rf'(?m)^"{re.escape(rule)}" = "off"$', f'"{rule}" = "reject"', text)
        assert n == 1, rule
    path = tmp_path_factory.mktemp("policy") / "unreadable.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _cli(*argv: str, prefix: tuple[str, ...] = (), timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess: a FIFO that blocked it would fail the test by the timeout."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "courtdoc.cli.main", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _special_paths(tmp_path: Path) -> dict[str, Path]:
    os.mkfifo(tmp_path / "Жалоба.pdf")  # a FIFO nobody writes to: opening it to read would block
    (tmp_path / "Приложения").mkdir()
    (tmp_path / "Петля.pdf").symlink_to(tmp_path / "Петля 2.pdf")
    (tmp_path / "Петля 2.pdf").symlink_to(tmp_path / "Петля.pdf")
    return {
        "special": tmp_path / "Жалоба.pdf",
        "directory": tmp_path / "Приложения",
        "loop": tmp_path / "Петля.pdf",
        "device": Path(os.devnull),
    }


def test_unreadable_paths_get_their_own_finding_and_the_rest_is_checked(
    tmp_path: Path, generated: dict[str, Path], unreadable_policy: Path
) -> None:
    special = _special_paths(tmp_path)
    files = [generated[GOOD], *special.values()]
    result = _cli("check", "--format", "json", "--policy", str(unreadable_policy), *map(str, files))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    report = json.loads(result.stdout)
    assert [f["name"] for f in report["files"]] == [p.name for p in files]
    good, *bad = report["files"]
    assert good["verdict"] == "accept"
    assert good["sha256"] == hashlib.sha256(generated[GOOD].read_bytes()).hexdigest()
    messages = []
    for entry in bad:
        assert [f["rule"] for f in entry["findings"]] == ["file.unreadable"], entry
        assert (entry["verdict"], entry["sha256"], entry["size"], entry["format"]) == ("reject", "", 0, None)
        messages.append(entry["findings"][0]["message"])
    assert "not an ordinary file" in messages[0] and "not an ordinary file" in messages[3]
    assert "a folder, not a file" in messages[1]
    assert "in a loop" in messages[2]
    assert report["findings"] == []  # four files without a sha256 are not duplicates of each other
    assert report["verdict"] == "reject"

    text = _cli("check", "--lang", "ru", "--policy", str(unreadable_policy), *map(str, files))
    assert text.returncode == 1, text.stderr
    plain = _plain(text.stdout)
    assert plain.count("file.unreadable") == 4
    assert "это папка, а не файл" in plain and "по кругу" in plain
    assert "принят" in plain  # the good file's verdict is there too


def test_a_file_without_read_permission(
    tmp_path: Path, generated: dict[str, Path], unreadable_policy: Path
) -> None:
    """EACCES for real: as root (who reads anything) the CLI runs without the capabilities
    that bypass file permissions; as any other user the mode alone refuses."""
    secret = tmp_path / "Доверенность.pdf"
    secret.write_bytes(generated[GOOD].read_bytes())
    secret.chmod(0o000)
    prefix: tuple[str, ...] = ()
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and no setpriv to drop CAP_DAC_OVERRIDE")
        prefix = (setpriv, "--bounding-set=-dac_override,-dac_read_search")
        probe = subprocess.run([*prefix, "cat", str(secret)], capture_output=True, text=True, timeout=30)
        if "Permission denied" not in probe.stderr:
            pytest.skip(f"cannot drop the capabilities here: {probe.stderr.strip()}")
    for output in ("json", "text"):
        result = _cli(
            "check",
            "--format",
            output,
            "--policy",
            str(unreadable_policy),
            str(secret),
            str(generated[GOOD]),
            prefix=prefix,
        )
        assert result.returncode == 1, result.stderr
        assert "Traceback" not in result.stderr and "PermissionError" not in result.stderr
        if output == "json":
            denied, good = json.loads(result.stdout)["files"]
            assert denied["findings"][0]["rule"] == "file.unreadable"
            assert "permission to read it is denied" in denied["findings"][0]["message"]
            assert denied["findings"][0]["observed"] == "Permission denied"
            assert good["verdict"] == "accept" and good["sha256"]
        else:
            plain = _plain(result.stdout)
            assert "permission to read it is denied" in plain and "accepted" in plain


def test_a_filing_folder_reports_its_unreadable_entries(
    tmp_path: Path, generated: dict[str, Path], unreadable_policy: Path
) -> None:
    folder = tmp_path / "filing"
    folder.mkdir()
    (folder / GOOD).write_bytes(generated[GOOD].read_bytes())
    os.mkfifo(folder / "Квитанция.pdf")
    (folder / "Ходатайство.pdf").symlink_to(folder / "удалён.pdf")
    (folder / "Черновики").mkdir()  # a subfolder is not a document: skipped
    result = _cli("check", "--format", "json", "--policy", str(unreadable_policy), "--filing", str(folder))
    assert result.returncode == 1, result.stderr
    files = {f["name"]: f for f in json.loads(result.stdout)["files"]}
    assert set(files) == {GOOD, "Квитанция.pdf", "Ходатайство.pdf"}
    assert files[GOOD]["verdict"] == "accept"
    assert "not an ordinary file" in files["Квитанция.pdf"]["findings"][0]["message"]
    assert "a file that does not exist" in files["Ходатайство.pdf"]["findings"][0]["message"]


def test_paths_that_do_not_exist_stay_usage_errors(
    capsys, tmp_path: Path, generated: dict[str, Path]
) -> None:
    (tmp_path / "Ссылка.pdf").symlink_to(tmp_path / "нигде.pdf")
    os.mkfifo(tmp_path / "declared.json")
    code, out, err = _run(capsys, "check", str(generated[GOOD]), str(tmp_path / "Ссылка.pdf"))
    assert (code, out) == (2, "") and "Ссылка.pdf: no such file" in err
    code, _, err = _run(capsys, "check", str(tmp_path / "нет" / "файла.pdf"))
    assert code == 2 and "no such file" in err
    # A FIFO as an option's file is refused at once, not read (which would block).
    code, _, err = _run(capsys, "check", "--declared", str(tmp_path / "declared.json"), str(generated[GOOD]))
    assert code == 2 and "declared.json: cannot read: not a regular file" in err


@pytest.mark.parametrize("lang", ["kk", "ru", "en"])
def test_a_file_gone_before_it_is_read(tmp_path: Path, unreadable_policy: Path, lang: str) -> None:
    from courtdoc import pipeline

    gone = tmp_path / "Иск.pdf"
    gone.write_bytes(b"%PDF-1.4")
    gone.unlink()
    with pytest.raises(pipeline.UnreadableFile) as caught:
        pipeline.sha256_file(gone)
    assert caught.value.kind == "vanished"
    report = pipeline.unreadable_report(gone, caught.value, load_policy(unreadable_policy), lang=lang)
    assert (report.name, report.verdict, [f.rule for f in report.findings]) == (
        "Иск.pdf",
        "reject",
        ["file.unreadable"],
    )
    assert {"kk": "жойылды", "ru": "удалён", "en": "moved or deleted"}[lang] in report.findings[0].message
