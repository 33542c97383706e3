"""Every reason in one round: a filer learns everything wrong with a document from one upload.

* a font deviation is reported under every rule it breaks (family and size), each finding
  saying how to fix its own aspect;
* a refusal for active content or for a renamed file of an allowed format does not stop the
  other checks (the file is checked as what it really is); hostile files still stop;
* deviations within `fonts.max_deviating_share` are named at `font.minor_deviation`, which
  does not refuse the document.
"""

from __future__ import annotations

import dataclasses
import re
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from courtdoc.checks import textrules
from courtdoc.checks.docx.text import read_text
from courtdoc.checks.findings import Issues
from courtdoc.checks.fontnames import FontJudge
from courtdoc.core import messages
from courtdoc.core.policy import Policy, default_policy
from courtdoc.core.report import FileReport
from courtdoc.pipeline import render_findings, validate_file
from text_fixtures import has_soffice, load_generator

pytest_plugins = ["file_fixtures"]

GEN = load_generator()
needs_soffice = pytest.mark.skipif(not has_soffice(), reason="LibreOffice (soffice) is not installed")
_FONT_RULES = ("font.family", "font.size", "font.minor_deviation")


def rules(report: FileReport) -> list[str]:
    return sorted(f.rule for f in report.findings)


def judged(path: Path, policy: Policy | None = None) -> Issues:
    issues = Issues()
    with zipfile.ZipFile(path) as zf:
        textrules.judge_text(read_text(zf), policy or default_policy(), issues)
    return issues


def tnr14(body: str, path: Path) -> Path:
    """A DOCX whose defaults are Times New Roman 14, single spaced, with `body`."""
    return GEN.write_docx(  # type: ignore[no-any-return]
        path,
        body,
        styles=GEN.styles_xml(
            GEN.rpr("Times New Roman", 14), GEN.SINGLE, GEN.style("Normal", "Normal", default=True)
        ),
        theme=GEN.theme_xml(),
    )


def as_docm(source: Path, path: Path) -> Path:
    """`source` made macro-enabled, as Word saves a document with a VBA project: the DOCM main
    content type and a vbaProject.bin part."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "[Content_Types].xml":
                data = data.replace(
                    b"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
                    b"application/vnd.ms-word.document.macroEnabled.main+xml",
                )
            zout.writestr(info, data)
        zout.writestr("word/vbaProject.bin", b"\xcc\x61" + bytes(510))
    return path


# --- 1. a deviation under every rule it breaks -------------------------------------------------------------


def test_cambria_12_is_told_both_the_font_and_the_size(tmp_path: Path) -> None:
    path = GEN.write_docx(
        tmp_path / "cambria.docx",
        GEN.body_text(4),
        styles=GEN.styles_xml(
            GEN.rpr("Cambria", 12), GEN.SINGLE, GEN.style("Normal", "Normal", default=True)
        ),
        theme=GEN.theme_xml(),
    )
    report = validate_file(path, name="Заявление о пересмотре.docx", lang="en")
    assert report.verdict == "reject"
    family, size = (f for f in report.findings if f.rule in _FONT_RULES)
    assert (family.rule, size.rule) == ("font.family", "font.size")
    # Each names its place and an excerpt, and says how to fix its own aspect.
    assert family.location == size.location == {"paragraph": 1, "excerpt": family.location["excerpt"]}
    assert family.location["excerpt"].startswith("1. Суд рассмотрел")
    assert "set the font to Times New Roman" in family.message and "Cambria 12 pt" in family.message
    assert "set the size to 14" in size.message and "12 pt (Cambria)" in size.message
    for lang in ("kk", "ru"):
        shown = {f.rule: f.message for f in validate_file(path, name="Заявление.docx", lang=lang).findings}
        assert "Times New Roman" in shown["font.family"] and "14" in shown["font.size"]


def test_every_broken_aspect_of_every_combination_is_reported(tmp_path: Path, text_corpus: Path) -> None:
    """Whatever a document's fonts, each combination off in family has a font.family finding and
    each off in size a font.size finding: following them all leaves nothing to refuse."""
    policy = default_policy()
    judge = FontJudge.from_policy(policy.fonts)
    files = [
        tnr14(
            GEN.body_text(1)
            + GEN.para(GEN.run("ЗАЯВЛЕНИЕ", "Arial", 16))
            + GEN.para(GEN.run("Прил.", "Georgia", 14)),
            tmp_path / "mixed.docx",
        ),
        text_corpus / "apache-poi" / "sample.docx",
        text_corpus / "oletools" / "harmless-clean.docx",
        text_corpus / "apache-poi" / "61787.docx",
        text_corpus / "normcontrol-document-parser" / "paragraph.docx",
    ]
    for path in files:
        issues = [i for i in judged(path) if i.rule in ("font.family", "font.size")]
        assert issues, path
        reported = {(i.rule, i.observed["font"], i.observed["size_pt"]) for i in issues}
        for _, font, size in reported:
            if judge.verdict(font) == "other":
                assert ("font.family", font, size) in reported, (path.name, font, size)
            if size is None or abs(size - policy.fonts.size_pt) > policy.fonts.size_tolerance_pt:
                assert ("font.size", font, size) in reported, (path.name, font, size)
        # A combination breaking both rules: the two findings point at the same place.
        by_combo: dict[tuple[str, float | None], list[dict[str, object]]] = {}
        for i in issues:
            by_combo.setdefault((i.observed["font"], i.observed["size_pt"]), []).append(i.location)
        assert all(len({str(loc) for loc in locs}) == 1 for locs in by_combo.values())


# --- 2. checking goes on after a refusal when the file can still be read -------------------------------------


def test_docm_named_docx_is_refused_for_both_and_its_text_is_checked(tmp_path: Path) -> None:
    source = GEN.write_docx(
        tmp_path / "src.docx",
        GEN.body_text(3),
        styles=GEN.styles_xml(
            GEN.rpr("Cambria", 12), GEN.SINGLE, GEN.style("Normal", "Normal", default=True)
        ),
        theme=GEN.theme_xml(),
    )
    path = as_docm(source, tmp_path / "Ходатайство об отложении.docx")
    report = validate_file(path, lang="ru")
    assert report.verdict == "reject"
    assert {"file.content_mismatch", "file.active_content", "font.family", "font.size"} <= set(rules(report))
    assert report.text is not None and report.text.fonts[0].name == "Cambria"
    mismatch = next(f for f in report.findings if f.rule == "file.content_mismatch")
    assert "DOCM" in mismatch.message


def test_docx_with_embedded_object_still_gets_its_font_findings(text_corpus: Path) -> None:
    report = validate_file(text_corpus / "oletools" / "embedded-simple-2007.docx", name="Ходатайство.docx")
    assert {"file.active_content", "font.family", "font.size"} <= set(rules(report))
    report = validate_file(text_corpus / "apache-poi" / "WordWithAttachments.docx", name="Словарь.docx")
    assert {"file.active_content", "font.size"} <= set(rules(report))


@pytest.mark.parametrize(
    ("fixture", "original", "renamed"),
    [
        ("text/deviating.docx", "Заявление о пересмотре.docx", "Заявление о пересмотре.doc"),
        ("Квитанция об оплате.jpeg", "Квитанция об оплате.jpeg", "Квитанция об оплате.pdf"),
        ("Заявление о пересмотре.pdf", "Заявление о пересмотре.pdf", "Заявление о пересмотре.jpg"),
        ("Расчёт суммы иска.xlsx", "Расчёт суммы иска.xlsx", "Расчёт суммы иска.docx"),
        pytest.param("Отзыв на иск.doc", "Отзыв на иск.doc", "Отзыв на иск.docx", marks=needs_soffice),
    ],
)
def test_renamed_file_of_an_allowed_format_is_checked_as_what_it_is(
    fixture: str, original: str, renamed: str, generated: dict[str, Path], text_docs: dict[str, Path]
) -> None:
    path = generated[fixture] if fixture in generated else text_docs[Path(fixture).stem]
    before = validate_file(path, name=original)
    after = validate_file(path, name=renamed)
    assert after.verdict == "reject"
    assert Counter(rules(after)) == Counter(rules(before)) + Counter({"file.content_mismatch": 1})
    # The same measurements, the same messages: only the mismatch is added.
    assert after.format == before.format and after.text == before.text and after.pages == before.pages
    assert [
        f.message.replace(renamed, original) for f in after.findings if f.rule != "file.content_mismatch"
    ] == [f.message for f in before.findings]


@pytest.mark.parametrize(
    ("derived", "original", "expected"),
    [
        ("derived/bold.doc", "normcontrol-document-parser/bold.docx", "docx"),
        ("derived/epson.docx", "ocrmypdf/epson.pdf", "pdf"),
        ("derived/LinnSequencer.pdf", "ocrmypdf/LinnSequencer.jpg", "jpeg"),
        pytest.param("derived/rasp.docx", "apache-poi/rasp.doc", "doc", marks=needs_soffice),
    ],
)
def test_corpus_renamed_files_are_checked_as_their_real_format(
    text_corpus: Path, derived: str, original: str, expected: str
) -> None:
    """The corpus's byte copies under another allowed extension: the copy's report is the
    original's plus the mismatch."""
    stem = "Документ заявителя"
    before = validate_file(text_corpus / original, name=stem + Path(original).suffix)
    after = validate_file(text_corpus / derived, name=stem + Path(derived).suffix)
    assert after.format == expected and after.verdict == "reject"
    assert Counter(rules(after)) == Counter(rules(before)) + Counter({"file.content_mismatch": 1})


def test_corpus_docm_named_docx(text_corpus: Path) -> None:
    report = validate_file(text_corpus / "derived" / "45690.docx", name="Стрелец.docx")
    found = set(rules(report))
    assert {"file.content_mismatch", "file.active_content", "font.size"} <= found
    assert report.text is not None and report.text.chars > 1000


@needs_soffice
@pytest.mark.parametrize("name", ["SimpleMacro.doc", "word_with_embeded.doc"])
def test_doc_with_macros_or_objects_is_still_checked_for_its_text(text_corpus: Path, name: str) -> None:
    # Refused for its VBA project or embedded objects, and converted to read its text all the same.
    report = validate_file(text_corpus / "apache-poi" / name, name="Ходатайство.doc")
    assert {"file.active_content", "font.family", "font.size"} <= set(rules(report))
    assert "doc.unsupported" not in rules(report)
    assert report.text is not None and [(f.name, f.size) for f in report.text.fonts] == [("Calibri", 11.0)]


@pytest.mark.parametrize(
    ("fixture", "rule"),
    [
        ("Договор под паролем.docx", "file.encrypted"),
        ("Договор сжатие 1000 к 1.docx", "file.archive_bomb"),
        ("Повреждённый договор.docx", "file.corrupt"),
        ("Договор с сущностями XML.docx", "file.corrupt"),
        ("Паспорт заявителя.jpg", "file.content_mismatch"),  # a PNG: not a format the court takes
        ("Смета расходов.doc", "file.content_mismatch"),  # an Excel 97 workbook
        ("Решение суда.pdf", "file.content_mismatch"),  # a program
    ],
)
def test_hostile_or_unreadable_files_still_stop(fixture: str, rule: str, generated: dict[str, Path]) -> None:
    report = validate_file(generated[fixture])
    assert [f.rule for f in report.findings if f.rule != "name.generic"] == [rule]
    assert report.text is None and report.pages == [] and report.outline is None


def test_corpus_disallowed_formats_still_stop(text_corpus: Path) -> None:
    for path, actual in (
        ("derived/source.docx", "odt"),
        ("derived/SampleSS.xlsx", "xls"),
        ("derived/typewriter.jpg", "png"),
        ("derived/smile.jpeg", "tiff"),
    ):
        report = validate_file(text_corpus / path, name="Заявление" + Path(path).suffix)
        (finding,) = report.findings
        assert finding.rule == "file.content_mismatch" and finding.observed == actual
        assert report.text is None and report.pages == []


# --- 3. deviations within the allowance are named, not refused -------------------------------------------------


def test_within_allowance_fixture_is_accepted_with_its_warning(text_docs: dict[str, Path]) -> None:
    report = validate_file(text_docs["within_allowance"], name="Заявление о пересмотре.docx", lang="en")
    assert report.verdict == "accept"
    (minor,) = [f for f in report.findings if f.rule.startswith("font.")]
    assert (minor.rule, minor.severity) == ("font.minor_deviation", "warn")
    assert minor.location == {"paragraph": 21, "excerpt": "Примечание"}
    assert minor.observed["font"] == "Arial" and minor.observed["chars"] == len("Примечание")
    assert "«Примечание»" in minor.message and "Arial 14 pt" in minor.message
    assert "Up to 5 %" in minor.message and "Times New Roman 14 pt" in minor.message


def test_small_table_and_caption_text_each_named(tmp_path: Path) -> None:
    table = (
        "<w:tbl><w:tblPr/><w:tblGrid><w:gridCol/></w:tblGrid>"
        + "".join(
            f"<w:tr><w:tc>{GEN.para(GEN.run(f'Строка {i}: сумма иска', 'Times New Roman', 11))}</w:tc></w:tr>"
            for i in range(1, 4)
        )
        + "</w:tbl>"
    )
    caption = GEN.para(GEN.run("Таблица 1 – Расчёт пени", "Times New Roman", 12))
    path = tnr14(GEN.body_text(30) + table + caption + GEN.body_text(5), tmp_path / "small.docx")
    report = validate_file(path, name="Исковое заявление.docx", lang="ru")
    assert report.verdict == "accept"
    minor = {f.observed["size_pt"]: f for f in report.findings if f.rule == "font.minor_deviation"}
    assert set(minor) == {11.0, 12.0}
    assert minor[11.0].location["excerpt"] == "Строка 1: сумма иска"
    assert minor[12.0].location == {"paragraph": 34, "excerpt": "Таблица 1 – Расчёт пени"}
    share = float(minor[11.0].message.split("(")[1].split(" %")[0].replace(",", "."))
    assert 0 < share < 5
    assert "11 пт" in minor[11.0].message and "Times New Roman 14 пт" in minor[11.0].message
    # Beyond the allowance the same text is refused at its own rules.
    strict = default_policy()
    strict = dataclasses.replace(strict, fonts=dataclasses.replace(strict.fonts, max_deviating_share=0.001))
    assert {i.rule for i in judged(path, strict)} >= {"font.size"}
    assert "font.minor_deviation" not in {i.rule for i in judged(path, strict)}


@pytest.mark.parametrize("lang", messages.LANGS)
def test_minor_deviation_reads_in_every_language(lang: str, text_docs: dict[str, Path]) -> None:
    issues = [i for i in judged(text_docs["within_allowance"]) if i.rule == "font.minor_deviation"]
    (finding,) = render_findings(issues, default_policy(), lang)
    assert "{" not in finding.message and "«Примечание»" in finding.message
    unquoted = re.sub(r"«[^»]*»", "", finding.message)
    assert bool(re.search(r"[А-Яа-яӘәҒғҚқҢңӨөҰұҮүҺһІі]", unquoted)) == (lang != "en")
    assert "Arial" in finding.message and "Times New Roman 14" in finding.message


def test_corpus_word_report_with_small_table_text_is_accepted(text_corpus: Path) -> None:
    path = (
        text_corpus / "normcontrol-document-parser" / "Марицинкевич В.И. К41401 Отчёт по практике 2022.docx"
    )
    report = validate_file(path, name="Отчёт по практике.docx")
    assert report.verdict == "accept"
    (minor,) = [f for f in report.findings if f.rule.startswith("font.")]
    assert minor.rule == "font.minor_deviation" and minor.observed["size_pt"] == 12.0
    assert minor.location["paragraph"] == 254 and minor.location["excerpt"] == "Наименование класса"


def test_corpus_word_pdf_with_small_tables_is_accepted(text_corpus: Path) -> None:
    report = validate_file(
        text_corpus / "normcontrol-document-parser" / "Отчёт по практике для парсинга.pdf",
        name="Отчёт по практике.pdf",
    )
    assert report.verdict == "accept"
    minor = {
        (f.observed["font"], f.observed["size_pt"])
        for f in report.findings
        if f.rule == "font.minor_deviation"
    }
    assert {("Times New Roman", 11.0), ("Arial", 10.0)} <= minor
    assert all(f.location.get("page") for f in report.findings if f.rule == "font.minor_deviation")


def test_minor_deviation_follows_the_policy(text_docs: dict[str, Path]) -> None:
    policy = default_policy()
    off = dataclasses.replace(policy, rules={**policy.rules, "font.minor_deviation": "off"})
    report = validate_file(text_docs["within_allowance"], off, name="Заявление о пересмотре.docx")
    assert report.verdict == "accept" and not [f for f in report.findings if f.rule.startswith("font.")]
    refuse = dataclasses.replace(policy, rules={**policy.rules, "font.minor_deviation": "reject"})
    assert (
        validate_file(text_docs["within_allowance"], refuse, name="Заявление о пересмотре.docx").verdict
        == "reject"
    )
