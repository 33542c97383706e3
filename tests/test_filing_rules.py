"""Filing-level rules on real filings made for the purpose (fixtures/generate_filings.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import filing_fixtures
import pytest
from courtdoc import pipeline
from courtdoc.checks.filing.metadata import MetadataError
from courtdoc.cli.main import main
from courtdoc.core.report import FilingReport

# pytest fixtures shared by the filing tests
filings = filing_fixtures.filings
file_reports = filing_fixtures.file_reports
filing_reports = filing_fixtures.filing_reports
filing_paths = filing_fixtures.filing_paths
TODAY = filing_fixtures.TODAY

Run = Callable[..., FilingReport]


def rules(report: FilingReport) -> list[str]:
    return sorted(f.rule for f in report.findings)


OUTLINE_RULES = {"name.content_mismatch", "name.title_unreadable", "file.multiple_documents"}


def file_rules(report: FilingReport, name: str) -> list[str]:
    """The file's findings from the outline rules (the font and scan rules are tested elsewhere)."""
    return sorted(
        f.rule for r in report.files if r.name == name for f in r.findings if f.rule in OUTLINE_RULES
    )


def matched(report: FilingReport, list_id: str = "application") -> dict[str, str | None]:
    return {row["title"]: row["file"] for row in report.matching if row["list"] == list_id and row["title"]}


EXPECTED_RU = {
    "Доверенность представителя": "Доверенность.pdf",
    "Квитанция об оплате госпошлины": "Квитанция_госпошлина.pdf",
    "Копия решения суда от 10.01.2024": "Копия_решения_суда.pdf",
    "Справка с места работы": "Справка_с_места_работы.pdf",
}
EXPECTED_KK = {
    "Сенімхаттың көшірмесі": "Сенімхат.pdf",
    "Мемлекеттік баж төленгені туралы түбіртек": "Түбіртек_мемлекеттік_баж.pdf",
    "Сот шешімінің көшірмесі": "Сот_шешімі.pdf",
    "Жұмыс орнынан анықтама": "Анықтама.pdf",
}


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("ru_all_match", EXPECTED_RU),  # typed numbers with "на 1 л."
        ("ru_table", EXPECTED_RU),  # a table № | Наименование | Кол-во листов
        ("pdf_application", EXPECTED_RU),  # a PDF application, entries wrapped over two lines
        ("kk_word_list", EXPECTED_KK),  # a Word numbered list (w:numPr) with "1 парақта"
        ("kk_table", EXPECTED_KK),
    ],
)
def test_every_attachment_matches_its_file(filing_reports: Run, case: str, expected: dict[str, str]) -> None:
    report = filing_reports(case)
    assert matched(report) == expected
    assert all(row["score"] >= 0.55 for row in report.matching)
    filing_level = [r for r in rules(report) if r.startswith("filing.")]
    assert filing_level == []
    assert not any(
        r.startswith("name.content") or r == "file.multiple_documents"
        for f in report.files
        for r in [x.rule for x in f.findings]
    )


def test_declared_page_counts_are_compared(filing_reports: Run) -> None:
    report = filing_reports("ru_all_match")
    row = next(r for r in report.matching if r["file"] == "Копия_решения_суда.pdf")
    assert (row["pages"], row["file_pages"]) == (2, 2)
    translit = filing_reports("declared_translit")
    page_findings = [f for f in translit.findings if f.rule == "filing.page_count"]
    assert len(page_findings) == 1
    assert page_findings[0].observed == 2 and page_findings[0].expected == 3
    assert "Reshenie suda.pdf" in page_findings[0].message


def test_one_missing_attachment_is_named(filing_reports: Run) -> None:
    report = filing_reports("one_missing", lang="ru")
    assert rules(report) == ["filing.count_mismatch", "filing.declared_missing"]
    missing = next(f for f in report.findings if f.rule == "filing.declared_missing")
    assert "Справка с места работы" in missing.message
    assert "Заявление_о_пересмотре.docx" in missing.message
    assert missing.location == {"list": "application", "entry": 4}
    assert report.verdict == "reject"  # the count is exact and refuses


def test_one_extra_file_is_named(filing_reports: Run) -> None:
    report = filing_reports("one_extra", lang="kk")
    assert rules(report) == ["filing.count_mismatch", "filing.undeclared_file"]
    extra = next(f for f in report.findings if f.rule == "filing.undeclared_file")
    assert "Характеристика_с_места_жительства.pdf" in extra.message
    assert matched(report) == {**{k: v for k, v in EXPECTED_RU.items()}}


def test_swapped_names_are_reported_on_both_files(filing_reports: Run) -> None:
    report = filing_reports("swapped_name")
    assert file_rules(report, "Доверенность.pdf") == ["name.content_mismatch"]
    assert file_rules(report, "Квитанция_госпошлина.pdf") == ["name.content_mismatch"]
    finding = next(
        f
        for r in report.files
        if r.name == "Доверенность.pdf"
        for f in r.findings
        if f.rule == "name.content_mismatch"
    )
    assert "КВИТАНЦИЯ" in finding.message and "Доверенность.pdf" in finding.message
    assert finding.severity == "warn"
    assert file_rules(report, "Справка_с_места_работы.pdf") == []


def test_same_bytes_twice(filing_reports: Run) -> None:
    report = filing_reports("same_bytes")
    duplicate = next(f for f in report.findings if f.rule == "filing.duplicate")
    assert "Доверенность_копия.pdf" in duplicate.message and "Доверенность.pdf" in duplicate.message
    assert "filing.duplicate_text" not in rules(report)  # said once, as the stronger finding
    assert "filing.undeclared_file" in rules(report)  # the copy is not in the list either


def test_same_text_in_a_docx_and_a_pdf(filing_reports: Run) -> None:
    report = filing_reports("same_text")
    same = [f for f in report.findings if f.rule == "filing.duplicate_text"]
    assert len(same) == 1
    assert {"Доверенность.docx", "Доверенность.pdf"} <= set(
        same[0].message.replace("«", "|").replace("»", "|").split("|")
    )
    assert "filing.duplicate" not in rules(report)


def test_a_pdf_bundling_three_documents(filing_reports: Run) -> None:
    report = filing_reports("bundle")
    bundle = next(f for f in report.files[0].findings if f.rule == "file.multiple_documents")
    assert [s["page"] for s in bundle.observed] == [1, 2, 3]
    assert [s["title"] for s in bundle.observed] == ["ДОВЕРЕННОСТЬ", "КВИТАНЦИЯ", "АНЫҚТАМА"]
    assert bundle.location == {"page": 2}


def test_single_documents_are_not_bundles(filing_reports: Run) -> None:
    report = filing_reports("ru_all_match")
    two_pages = next(r for r in report.files if r.name == "Копия_решения_суда.pdf")
    assert two_pages.outline is not None and two_pages.outline["pages"] == 2
    assert all(f.rule != "file.multiple_documents" for f in two_pages.findings)


def test_declared_list_matches_transliterated_names(filing_reports: Run) -> None:
    report = filing_reports("declared_translit")
    assert matched(report, "declared") == {
        "Доверенность Иванова И. И.": "Doverennost_Ivanova.pdf",
        "Квитанция об уплате государственной пошлины": "kvitanciya-gosposhlina.pdf",
        "Решение Алмалинского районного суда": "Reshenie suda.pdf",
    }


@pytest.mark.parametrize(
    ("case", "late_days"),
    [
        ("deadline_civil_on_time", None),  # 31 Jan + 3 months = 30 Apr (no 31 Apr): on time
        ("deadline_civil_late", 1),  # 1 May: one day late
        ("deadline_criminal_against_on_time", None),  # exactly one year
        ("deadline_criminal_against_late", 1),
        ("deadline_criminal_in_favour", None),  # in favour: no limit, even after nine years
    ],
)
def test_time_limits(filing_reports: Run, case: str, late_days: int | None) -> None:
    report = filing_reports(case, lang="ru")
    found = [f for f in report.findings if f.rule == "filing.deadline"]
    if late_days is None:
        assert found == []
    else:
        assert len(found) == 1
        assert found[0].severity == "warn"
        assert f"через {late_days} дн." in found[0].message


def test_civil_time_limit_defaults_to_the_day_of_the_check(filing_reports: Run) -> None:
    report = filing_reports("deadline_civil_late", filing_date=None)  # checked on 2024-03-20
    assert "filing.deadline" not in rules(report)


def test_malformed_date_is_a_clear_error(filings: Path, filing_reports: Run) -> None:
    with pytest.raises(MetadataError, match=r"circumstances_date: '2024-02-30' is not a valid date"):
        filing_reports("deadline_malformed")
    code = main(["check", "--filing", str(filings / "deadline_malformed")])
    assert code == 2


def test_metadata_role_picks_the_application(filing_reports: Run) -> None:
    # Without the role, the application is still found by its title («ЗАЯВЛЕНИЕ»).
    report = filing_reports("ru_all_match", files={})
    assert matched(report) == EXPECTED_RU


def test_cli_filing_directory_json_and_text(filings: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["check", "--filing", str(filings / "one_missing"), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    rows = [r for r in out["matching"] if r["list"] == "application"]
    assert [(r["number"], r["file"]) for r in rows] == [
        ("1", "Доверенность.pdf"),
        ("2", "Квитанция_госпошлина.pdf"),
        ("3", "Копия_решения_суда.pdf"),
        ("4", None),
    ]
    assert all(f["outline"] is not None for f in out["files"])
    assert FilingReport.from_dict(out).to_dict() == out
    code = main(["check", "--filing", str(filings / "one_missing"), "--lang", "ru"])
    text = capsys.readouterr().out
    assert "Заявленные документы и файлы" in text and "нет файла" in text


def test_cli_declared_list(filings: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = filings / "declared_translit"
    files, _ = filing_paths(folder)
    declared = tmp_path / "list.json"
    declared.write_text(
        json.dumps(
            [{"title": "Доверенность"}, {"title": "Квитанция"}, {"title": "Справка"}], ensure_ascii=False
        ),
        encoding="utf-8",
    )
    main(["check", "--declared", str(declared), "--format", "json", *map(str, files)])
    out = json.loads(capsys.readouterr().out)
    found = {f["rule"]: f for f in out["findings"]}
    assert set(found) == {"filing.declared_missing", "filing.undeclared_file"}
    assert "Справка" in found["filing.declared_missing"]["message"]
    assert "Reshenie suda.pdf" in found["filing.undeclared_file"]["message"]
    bad = tmp_path / "bad.json"
    bad.write_text('[{"title": "Доверенность", "pages": 0}]', encoding="utf-8")
    assert main(["check", "--declared", str(bad), *map(str, files)]) == 2
    assert "declared[0].pages" in capsys.readouterr().err


def test_reports_from_json_give_the_same_filing_verdict(filings: Path, filing_reports: Run) -> None:
    """The service stores each FileReport as JSON and runs the filing checks later."""
    report = filing_reports("one_extra")
    again = pipeline.validate_filing(
        [],
        reports=[type(r).from_dict(json.loads(json.dumps(r.to_dict()))) for r in report.files],
        metadata=json.loads((filings / "one_extra" / "filing.json").read_text(encoding="utf-8")),
        today=TODAY,
    )
    assert again.to_dict() == report.to_dict()


def test_existing_parameters_still_work(filings: Path, filing_reports: Run) -> None:
    files, _ = filing_paths(filings / "same_bytes")
    report = filing_reports("same_bytes")
    plain = pipeline.validate_filing(
        files, None, [{"title": "Доверенность"}], reports=report.files, filing_id="f-1"
    )
    assert plain.id == "f-1"
    assert {"filing.count_mismatch", "filing.duplicate"} <= set(rules(plain))
