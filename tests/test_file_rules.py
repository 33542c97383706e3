"""Every file-level rule against real files: each generated case triggers exactly its rules."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from courtdoc.checks.common import check_name, split_name
from courtdoc.checks.findings import Issues
from courtdoc.core import messages
from courtdoc.core.policy import Policy, load_policy
from courtdoc.core.report import FileReport
from courtdoc.pipeline import validate_file
from file_cases import CASES, FILE_RULES

pytest_plugins = ["file_fixtures"]

FAST_CASES = [c for c in CASES if not c.slow]
_ENGLISH_PHRASE = re.compile(r"\b[a-z]+ [a-z]+ [a-z]+\b")
_CYRILLIC = re.compile(r"[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]")


def _file_rules(report: FileReport) -> set[str]:
    return {f.rule for f in report.findings if f.rule in FILE_RULES}


@pytest.mark.parametrize("case", FAST_CASES, ids=[c.name for c in FAST_CASES])
def test_case_triggers_exactly_its_rules(case, generated: dict[str, Path], file_policy: Policy) -> None:
    report = validate_file(generated[case.name], file_policy)
    assert _file_rules(report) == set(case.expect), [(f.rule, f.observed) for f in report.findings]
    expected_verdict = "reject" if any(file_policy.severity(r) == "reject" for r in case.expect) else "accept"
    assert report.verdict == expected_verdict


def test_every_file_rule_has_a_triggering_and_a_clean_case() -> None:
    triggered = set().union(*(c.expect for c in CASES))
    # file.check_failed needs a checker that dies; tests/test_sandbox.py makes one die.
    assert triggered | {"file.check_failed"} == FILE_RULES
    clean_kinds = {c.kind for c in CASES if not c.expect}
    assert {"pdf", "docx", "xlsx", "doc", "jpeg"} <= clean_kinds


@pytest.mark.parametrize("lang", messages.LANGS)
def test_findings_read_in_every_language(lang: str, generated: dict[str, Path], file_policy: Policy) -> None:
    """Each rule's message is filled in (no {placeholder} left) and written in the asked language."""
    seen: set[str] = set()
    for case in FAST_CASES:
        if not case.expect:
            continue
        report = validate_file(generated[case.name], file_policy, lang=lang)
        for finding in report.findings:
            seen.add(finding.rule)
            assert finding.message and "{" not in finding.message, finding.message
            assert finding.severity == file_policy.severity(finding.rule)
            unquoted = re.sub(r"«[^»]*»", "", finding.message)  # names and examples are quoted
            has_cyrillic = bool(_CYRILLIC.search(unquoted))
            assert has_cyrillic == (lang in ("kk", "ru")), finding.message
            if lang != "en":  # no English phrase left in a Kazakh or Russian message
                assert not _ENGLISH_PHRASE.search(unquoted), finding.message
    assert seen >= FILE_RULES - {"file.check_failed", "file.check_timeout"}


def test_size_is_judged_before_parsing_and_20_mib_is_allowed(
    generated: dict[str, Path], file_policy: Policy
) -> None:
    exact = generated["Доверенность ровно 20 МиБ.pdf"]
    assert exact.stat().st_size == 20 * 1024 * 1024 == file_policy.limits.max_file_bytes
    assert "file.too_large" not in _file_rules(validate_file(exact, file_policy))

    big = generated["Слишком большое заявление.pdf"]
    report = validate_file(big, file_policy)
    (finding,) = report.findings
    assert finding.rule == "file.too_large"
    assert finding.observed == 20 * 1024 * 1024 + 1
    assert "20.0 MB" in finding.message and "20 MB" in finding.message
    assert report.format is None  # never parsed


def test_name_and_extension_are_reported_with_the_size(tmp_path: Path, file_policy: Policy) -> None:
    empty = tmp_path / "IMG_0001.png"
    empty.write_bytes(b"")
    report = validate_file(empty, file_policy)
    assert _file_rules(report) == {"file.empty", "file.extension_not_allowed", "name.generic"}


def test_locations_point_at_the_part_or_page(generated: dict[str, Path], file_policy: Policy) -> None:
    def where(name: str) -> dict[str, object]:
        (finding,) = [f for f in validate_file(generated[name], file_policy).findings if f.rule in FILE_RULES]
        return finding.location

    assert where("Договор сжатие 1000 к 1.docx") == {"part": "word/media/image1.png"}
    assert where("Ходатайство с макросом.docx") == {"part": "word/vbaProject.bin"}
    assert where("Ходатайство с пакетом.docx") == {"part": "word/embeddings/oleObject1.bin"}
    assert where("Договор с сущностями XML.docx") == {"part": "word/document.xml"}
    assert where("Повреждённый договор.docx") == {"part": "word/document.xml"}
    assert where("Заявление со скрепкой.pdf") == {"page": 1}
    assert where("Заявление с видео.pdf") == {"page": 1}


def test_owner_password_names_the_restrictions(generated: dict[str, Path], file_policy: Policy) -> None:
    report = validate_file(generated["Заявление с ограничениями.pdf"], file_policy, lang="ru")
    (finding,) = report.findings
    assert finding.severity == "info" and report.verdict == "accept"
    assert "copying" in finding.observed and "editing" in finding.observed
    assert "printing" not in finding.observed


def test_content_mismatch_says_what_the_file_really_is(
    generated: dict[str, Path], file_policy: Policy
) -> None:
    def said(name: str) -> str:
        findings = validate_file(generated[name], file_policy).findings
        (finding,) = [f for f in findings if f.rule == "file.content_mismatch"]
        return finding.message

    assert "PNG" in said("Паспорт заявителя.jpg")
    assert "Windows program" in said("Решение суда первой инстанции.pdf")
    assert "DOCM (with macros)" in said("Ходатайство.docx")
    assert "XLSM (with macros)" in said("Расчёт пени.xlsx")
    assert "Excel XLSX" in said("Возражение.docx")
    assert "Excel 97–2003 XLS" in said("Смета расходов.doc")


GENERIC_NAMES = [
    "IMG_1234.jpg",
    "DSC0001.jpg",
    "scan001.pdf",
    "Scan_2024-01-01.pdf",
    "document1.docx",
    "untitled.pdf",
    "новый документ.docx",
    "жаңа құжат.docx",
    "2024-01-01.pdf",
    "12345.pdf",
    "Новый документ (2).docx",
    "Документ Microsoft Word.docx",
    "Жаңа Microsoft Word құжаты.docx",
    "WhatsApp Image 2024-01-01 at 10.00.00.jpeg",
    "IMG-20240101-WA0001.jpg",
    "PXL_20240101_101010.jpg",
    "photo_2024-01-01_10-00-00.jpg",
    "CamScanner 01-01-2024 10.00.pdf",
    "Adobe Scan 12 Mar 2024.pdf",
    "Сканированный документ 12 января 2024.pdf",
    "Снимок экрана 2024-01-01.jpg",
    "Screenshot_20240101.jpg",
    "Книга1.xlsx",
    "Book1.xlsx",
    "Без имени 1.docx",
    "Копия документа.pdf",
    "Doc1.docx",
    "ScanDoc.pdf",
    "Сурет 1.jpg",
    "15.01.2024.docx",
    "ab.pdf",
    ".pdf",
]

DOCUMENT_NAMES = [
    "Арыз.pdf",
    "Заявление о пересмотре.docx",
    "Доверенность_Иванов.pdf",
    "Исковое заявление.docx",
    "Решение суда от 12 марта 2024.pdf",
    "Сенімхат.pdf",
    "Талап арыз.docx",
    "Қосымша 1.pdf",
    "Мемлекеттік баж түбіртегі.pdf",
    "Іс материалдары.pdf",
    "Өтініш.docx",
    "Приложение 1.pdf",
    "Квитанция об оплате госпошлины.pdf",
    "Копия паспорта.pdf",
    "Скан паспорта.pdf",
    "Акт сверки за май 2024.xlsx",
    "ИИН.pdf",
    "Power of attorney.pdf",
    "Scan of passport.pdf",
    "Judgment 2024-01-15.pdf",
    "ДоверенностьИванов.pdf",
    "Свидетельство о браке.pdf",
]


@pytest.mark.parametrize("name", GENERIC_NAMES)
def test_generic_names_are_refused(name: str) -> None:
    issues = Issues()
    check_name(name, load_policy(), issues)
    assert [i.rule for i in issues] == ["name.generic"]


@pytest.mark.parametrize("name", DOCUMENT_NAMES)
def test_document_names_pass(name: str) -> None:
    issues = Issues()
    check_name(name, load_policy(), issues)
    assert issues == []


def test_names_decomposed_by_the_filer_system_pass() -> None:
    """macOS hands names over decomposed (NFD): "й" as "и" + a combining breve."""
    import unicodedata

    issues = Issues()
    check_name(unicodedata.normalize("NFD", "Отзыв на иск Йорданова.pdf"), load_policy(), issues)
    assert issues == []


@pytest.mark.parametrize(
    ("filename", "parts"),
    [
        ("Арыз.PDF", ("Арыз", "pdf")),
        ("Заявление", ("Заявление", None)),
        ("Заявление.", ("Заявление.", None)),
        ("a/b\\Ответ.docx", ("Ответ", "docx")),
        ("отчёт.final draft", ("отчёт.final draft", None)),
        (".pdf", ("", "pdf")),
    ],
)
def test_split_name(filename: str, parts: tuple[str, str | None]) -> None:
    assert split_name(filename) == parts
