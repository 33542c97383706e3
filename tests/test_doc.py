"""Legacy .doc files: checked for fonts and line spacing through a LibreOffice conversion to .docx."""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from pathlib import Path

import pytest
from courtdoc import pipeline
from courtdoc.checks import doc_convert
from courtdoc.core.policy import default_policy
from courtdoc.engine.sandbox import SandboxPool, SandboxTimeout
from courtdoc.pipeline import render_findings, validate_file
from text_fixtures import has_soffice, lo_doc

needs_soffice = pytest.mark.skipif(not has_soffice(), reason="LibreOffice (soffice) is not installed")


def _soffice_processes() -> set[int]:
    """Conversion processes of this project still alive (their command line names our profile)."""
    found = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read()
        except OSError:
            continue
        if doc_convert.PREFIX.encode() in cmdline and b"UserInstallation" in cmdline:
            found.add(int(entry))
    return found


@needs_soffice
def test_libreoffice_made_doc_times_14_accepted(text_docs: dict[str, Path]) -> None:
    report = validate_file(lo_doc(text_docs, "lo_tnr14_doc"), name="Заявление о пересмотре.doc")
    assert report.format == "doc"
    assert report.verdict == "accept", report.findings
    assert report.findings == []
    assert report.text is not None
    assert [(f.name, f.size) for f in report.text.fonts] == [("Times New Roman", 14.0)]
    assert report.text.chars > 1500


@needs_soffice
def test_doc_in_arial_12_double_spaced_rejected(text_docs: dict[str, Path]) -> None:
    report = validate_file(
        lo_doc(text_docs, "lo_arial12_double_doc"), name="Заявление о пересмотре.doc", lang="kk"
    )
    assert report.verdict == "reject"
    by_rule = {f.rule: f for f in report.findings}
    assert set(by_rule) == {"font.family", "font.size", "spacing.line"}
    assert by_rule["font.family"].location["paragraph"] == 1
    assert "Arial 12" in by_rule["font.family"].message
    assert by_rule["spacing.line"].severity == "warn"


@needs_soffice
def test_corpus_word_97_document(text_corpus: Path) -> None:
    # A real Word 97 document set in PragmaticaWINCTT (a Cyrillic sans-serif): rejected, with places.
    report = validate_file(text_corpus / "apache-poi" / "o_kurs.doc", name="Положение о курсовой работе.doc")
    assert report.verdict == "reject"
    fonts = {
        f.message.split(" is set in ")[1].split(" pt")[0] for f in report.findings if f.rule == "font.family"
    }
    assert any(f.startswith("PragmaticaWINCTT") for f in fonts)
    assert report.text is not None and report.text.chars > 3000
    first = next(f for f in report.findings if f.rule == "font.family")
    assert first.location["paragraph"] >= 1 and first.location["excerpt"]


@needs_soffice
def test_corpus_word_6_document_is_checked(text_corpus: Path) -> None:
    report = validate_file(text_corpus / "apache-poi" / "Word6.doc", name="Word 6 документ.doc")
    assert "doc.unsupported" not in {f.rule for f in report.findings}
    assert report.text is not None and report.text.chars > 0


def test_without_libreoffice_an_explicit_finding(
    text_docs: dict[str, Path], text_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COURTDOC_SOFFICE", "")  # "not installed"
    assert doc_convert.find_soffice() is None
    policy = default_policy()
    inspection = pipeline.inspect(text_corpus / "apache-poi" / "rasp.doc", "doc", policy)
    (issue,) = [i for i in inspection.issues if i.rule == "doc.unsupported"]
    assert issue.params["detail"] == "@ui:doc_no_converter"
    (finding,) = render_findings([issue], policy, "ru")
    assert finding.severity == policy.severity("doc.unsupported") == "warn"
    assert "проверить не удалось" in finding.message
    assert "не установлен конвертер" in finding.message
    rejecting = dataclasses.replace(policy, rules={**policy.rules, "doc.unsupported": "reject"})
    assert render_findings([issue], rejecting, "en")[0].severity == "reject"


@needs_soffice
def test_conversion_memory_bound_applies(text_corpus: Path) -> None:
    soffice = doc_convert.find_soffice()
    assert soffice is not None
    with (
        pytest.raises(doc_convert.ConversionError, match="could not convert"),
        doc_convert.converted_docx(
            text_corpus / "apache-poi" / "rasp.doc", soffice=soffice, timeout=60, memory_mb=200
        ),
    ):
        pass


@needs_soffice
def test_conversion_timeout_kills_the_whole_tree(text_corpus: Path) -> None:
    soffice = doc_convert.find_soffice()
    assert soffice is not None
    before = _soffice_processes()
    with (
        pytest.raises(doc_convert.ConversionError, match="did not finish"),
        doc_convert.converted_docx(
            text_corpus / "apache-poi" / "rasp.doc", soffice=soffice, timeout=0.3, memory_mb=1024
        ),
    ):
        pass
    assert _soffice_processes() - before == set()


@needs_soffice
def test_sandbox_kill_takes_libreoffice_with_it(text_docs: dict[str, Path]) -> None:
    """The sandbox child is killed mid-conversion: LibreOffice (in its process group) dies too."""
    before = _soffice_processes()
    pool = SandboxPool(1, 1536, 600)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            pool.run(
                # The conversion takes 1.3-2 s here: 0.8 s stops it midway, LibreOffice started.
                pipeline.inspect, (lo_doc(text_docs, "lo_tnr14_doc"), "doc", default_policy()), timeout=0.8
            )
        except BaseException as exc:
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    seen: set[int] = set()
    while worker.is_alive():
        seen |= _soffice_processes() - before
        time.sleep(0.05)
    worker.join()
    pool.close()
    assert outcome and isinstance(outcome[0], SandboxTimeout)
    assert seen, "LibreOffice was not running when the child was killed"
    deadline = time.monotonic() + 5
    while _soffice_processes() & seen and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _soffice_processes() & seen == set()

