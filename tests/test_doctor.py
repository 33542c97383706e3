"""`courtdoc doctor`, /readyz and the start-up warning: the optional programs this machine has and
the checks of the policy they let run. Absence is real: the command runs with a PATH that holds
only the Python environment, or with a TESSDATA_PREFIX that holds only English."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from courtdoc.checks.filing.rules import check_outline
from courtdoc.checks.findings import Issues
from courtdoc.checks.image import ocr
from courtdoc.core import messages
from courtdoc.core.policy import DEFAULT_POLICY_PATH, default_policy, load_policy
from courtdoc.engine.capabilities import capabilities
from courtdoc.infra.redisserver import free_port

needs_programs = pytest.mark.skipif(
    not (shutil.which("soffice") or shutil.which("libreoffice")) or not shutil.which("tesseract"),
    reason="LibreOffice and Tesseract are not both installed",
)
BIN = str(Path(sys.executable).parent)


def _policy_file(tmp_path: Path, *, title_ocr: bool, scan_ocr: bool, title_languages: str = '["kaz"]') -> Path:
    """The shipped policy with title OCR and scan OCR (both in [ocr]) turned on or off."""
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^title_timeout_seconds = .*$", f"title_timeout_seconds = {4.0 if title_ocr else 0.0}", text)
    text = re.sub(r"(?m)^title_languages = .*$", f"title_languages = {title_languages}", text)
    text = re.sub(r"(?m)^enabled = false$", f"enabled = {'true' if scan_ocr else 'false'}", text)
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COURTDOC_") and k != "TESSDATA_PREFIX"}
    env.update(extra)
    return env


def _doctor(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "courtdoc.cli.main", "doctor", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _empty_path(tmp_path: Path) -> str:
    empty = tmp_path / "empty-bin"
    empty.mkdir(exist_ok=True)
    return f"{empty}:{BIN}"


def _checks(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in report["checks"]}


def _tessdata_with(tmp_path: Path, *languages: str) -> Path:
    """A tessdata folder holding only `languages` (links to the installed traineddata)."""
    out = subprocess.run(["tesseract", "--list-langs"], capture_output=True, text=True, check=False)
    found = re.search(r'"([^"]+)"', out.stdout + out.stderr)
    assert found, out
    source = Path(found.group(1))
    target = tmp_path / "tessdata"
    target.mkdir()
    for lang in languages:
        (target / f"{lang}.traineddata").symlink_to(source / f"{lang}.traineddata")
    return target


@needs_programs
def test_detects_the_installed_programs_and_their_versions() -> None:
    caps = capabilities(default_policy())
    office, tesseract = caps.component("libreoffice"), caps.component("tesseract")
    assert office.present and tesseract.present
    shown = subprocess.run([office.path or "", "--version"], capture_output=True, text=True, check=False).stdout
    assert office.version and office.version in shown
    assert tesseract.version and re.match(r"\d+\.\d+", tesseract.version)
    assert {"kaz", "rus", "eng"} <= set(tesseract.languages)
    checks = {c.id: c for c in caps.checks}
    # The shipped policy: .doc text checks on, both kinds of OCR off.
    assert checks["doc_text"].status == "runs"
    assert checks["doc_text"].rules == ("font.family", "font.size", "font.clone", "spacing.line")
    assert checks["title_ocr"].status == "off" and checks["scan_ocr"].status == "off"
    assert caps.ok


@needs_programs
def test_doctor_json_and_exit_code_with_everything_installed(tmp_path: Path) -> None:
    policy = _policy_file(tmp_path, title_ocr=True, scan_ocr=True)
    done = _doctor("--format", "json", "--policy", str(policy), env=_env())
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    assert {c["id"]: c["status"] for c in report["checks"]} == {
        "doc_text": "runs",
        "title_ocr": "runs",
        "scan_ocr": "runs",
    }
    assert {c["name"]: c["present"] for c in report["components"]} == {"libreoffice": True, "tesseract": True}


def test_doctor_without_programs_reports_what_cannot_run(tmp_path: Path) -> None:
    policy = _policy_file(tmp_path, title_ocr=True, scan_ocr=True)
    env = _env(PATH=_empty_path(tmp_path))
    done = _doctor("--format", "json", "--policy", str(policy), env=env)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert [(c["name"], c["present"], c["version"]) for c in report["components"]] == [
        ("libreoffice", False, None),
        ("tesseract", False, None),
    ]
    checks = _checks(report)
    assert (checks["doc_text"]["status"], checks["doc_text"]["reason"]) == ("cannot_run", "no_libreoffice")
    assert checks["doc_text"]["instead"] == "doc.unsupported"
    assert (checks["title_ocr"]["status"], checks["title_ocr"]["reason"]) == ("cannot_run", "no_tesseract")
    assert (checks["scan_ocr"]["status"], checks["scan_ocr"]["reason"]) == ("cannot_run", "no_tesseract")
    assert checks["scan_ocr"]["rules"] == ["scan.ocr"] and checks["scan_ocr"]["instead"] == "scan.ocr_not_run"


@pytest.mark.parametrize("lang", messages.LANGS)
def test_doctor_table_in_each_language(tmp_path: Path, lang: str) -> None:
    """The shipped policy needs LibreOffice (.doc text checks); OCR is off, so Tesseract is not needed."""
    done = _doctor("--lang", lang, env=_env(PATH=_empty_path(tmp_path), COLUMNS="600"))
    assert done.returncode == 1, done.stderr
    out = done.stdout
    for key in ("doctor_parts", "doctor_checks", "doctor_absent", "doctor_cannot_run", "doctor_off", "doctor_not_ok"):
        assert messages.ui(key, lang) in out, key
    assert messages.ui("cap_doc_text_without", lang) in out
    assert messages.ui("doctor_fix_libreoffice", lang) in out
    assert "apt-get install tesseract-ocr" not in out  # Tesseract is not needed by this policy


@needs_programs
def test_missing_language_data(tmp_path: Path) -> None:
    """Tesseract with English only: scan OCR (kaz+rus+eng) cannot run; title OCR runs with the
    languages it has (partial) when the policy names one that is there, and not at all otherwise."""
    tessdata = _tessdata_with(tmp_path, "eng")
    policy = _policy_file(tmp_path, title_ocr=True, scan_ocr=True, title_languages='["kaz", "eng"]')
    done = _doctor("--format", "json", "--policy", str(policy), env=_env(TESSDATA_PREFIX=str(tessdata)))
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    tesseract = next(c for c in report["components"] if c["name"] == "tesseract")
    assert tesseract["present"] and tesseract["languages"] == ["eng"]
    checks = _checks(report)
    assert (checks["scan_ocr"]["status"], checks["scan_ocr"]["reason"]) == ("cannot_run", "no_language")
    assert checks["scan_ocr"]["missing_languages"] == ["kaz", "rus"]
    assert (checks["title_ocr"]["status"], checks["title_ocr"]["missing_languages"]) == ("partial", ["kaz"])
    text = _doctor("--lang", "en", "--policy", str(policy), env=_env(TESSDATA_PREFIX=str(tessdata), COLUMNS="300"))
    assert "apt-get install tesseract-ocr-kaz tesseract-ocr-rus" in text.stdout

    kaz_only = tmp_path / "kaz"
    kaz_only.mkdir()
    policy = _policy_file(kaz_only, title_ocr=True, scan_ocr=False)
    done = _doctor("--format", "json", "--policy", str(policy), env=_env(TESSDATA_PREFIX=str(tessdata)))
    checks = _checks(json.loads(done.stdout))
    assert (checks["title_ocr"]["status"], checks["title_ocr"]["reason"]) == ("cannot_run", "no_language")
    assert done.returncode == 1


def test_unread_title_note_says_which_cause(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    outline = {"ocr": "unavailable", "title": None}
    off = default_policy()
    on = load_policy(_policy_file(tmp_path, title_ocr=True, scan_ocr=False))

    def phrase(policy: Any) -> str:
        issues = Issues()
        check_outline("Доверенность.jpg", outline, policy, issues)
        (issue,) = issues
        return str(issue.params["reason"])

    real_tesseract = shutil.which("tesseract")
    assert ocr.ocr_unavailable_reason(off) == "off"
    assert phrase(off) == "@ui:title_no_ocr_off"
    monkeypatch.setenv("PATH", _empty_path(tmp_path))
    assert ocr.ocr_unavailable_reason(on) == "no_tesseract"
    assert phrase(on) == "@ui:title_no_ocr_tesseract"
    text = messages.render("name.title_unreadable", "ru", {"name": "x", "reason": phrase(on)})
    assert "Tesseract не установлена" in text and "(" in text and "((" not in text and "или" not in text
    if real_tesseract is not None:
        monkeypatch.setenv("PATH", f"{Path(real_tesseract).parent}:{BIN}")
        monkeypatch.setenv("TESSDATA_PREFIX", str(_tessdata_with(tmp_path, "eng")))
        assert ocr.ocr_unavailable_reason(on) == "no_language"  # the policy names kaz only
        assert phrase(on) == "@ui:title_no_ocr_language"


def test_serve_warns_at_start_and_readyz_carries_the_detail(tmp_path: Path) -> None:
    """`courtdoc serve` without LibreOffice: a warning in its log, /readyz still ready (Redis
    answers) and says the .doc text checks cannot run."""
    port = free_port()
    env = _env(
        PATH=_empty_path(tmp_path),
        COURTDOC_DATA_DIR=str(tmp_path / "data"),
        COURTDOC_PORT=str(port),
        COURTDOC_SERVE_WORKER_THREADS="0",
        PYTHONUNBUFFERED="1",
    )
    env.pop("REDIS_URL", None)
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        serve = subprocess.Popen([sys.executable, "-m", "courtdoc.cli.main", "serve"], env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        body: dict[str, Any] | None = None
        while time.monotonic() < deadline and serve.poll() is None:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=5)
            except httpx.TransportError:
                time.sleep(0.2)
                continue
            assert r.status_code == 200, r.text
            body = r.json()
            break
        assert body is not None, log_path.read_text()
        assert body["status"] == "ready"
        caps = body["capabilities"]
        assert caps["ok"] is False
        assert _checks(caps)["doc_text"]["status"] == "cannot_run"
        log_text = log_path.read_text()
        assert "serve.check_cannot_run" in log_text and "doc_text" in log_text
    finally:
        serve.terminate()
        serve.wait(timeout=60)
