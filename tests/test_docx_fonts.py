"""DOCX fonts, sizes and line spacing: the effective-formatting resolver on real files of every construction."""

from __future__ import annotations

import dataclasses
import zipfile
from pathlib import Path

import pytest
from courtdoc.checks import textrules
from courtdoc.checks.docx.text import char_slot, read_text
from courtdoc.checks.findings import Issues
from courtdoc.checks.fontnames import FontJudge, normalise
from courtdoc.core import messages
from courtdoc.core.policy import Policy, default_policy
from courtdoc.pipeline import render_findings, validate_file
from text_fixtures import lo_doc

RU = "Суд рассмотрел заявление о пересмотре решения по вновь открывшимся обстоятельствам."
KK = "Сот жаңадан ашылған мән-жайлар бойынша шешімді қайта қарау туралы өтінішті қарады."
EN = "The court considered the application for review."


def visible(text: str) -> int:
    return sum(1 for ch in text if not ch.isspace())


def body_chars(n: int = 6) -> int:
    return sum(visible(f"{i}. {RU} ") + visible(KK) for i in range(1, n + 1))


def inventory(path: Path) -> textrules.TextInventory:
    with zipfile.ZipFile(path) as zf:
        return read_text(zf)


def fonts_of(path: Path) -> dict[tuple[str, float | None], int]:
    summary = textrules.summary(inventory(path), default_policy())
    return {(f.name, f.size): f.chars for f in summary.fonts}


def judged(path: Path, policy: Policy | None = None) -> Issues:
    issues = Issues()
    textrules.judge_text(inventory(path), policy or default_policy(), issues)
    return issues


def rules(issues: Issues) -> list[str]:
    return [i.rule for i in issues]


# --- where Times New Roman 14 comes from -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "chars"),
    [
        ("tnr_docdefaults", body_chars()),
        ("tnr_normal", body_chars()),
        ("tnr_basedon", sum(visible(f"{i}. {RU} {KK}") for i in range(6))),
        ("tnr_theme", body_chars()),
        ("tnr_direct", body_chars()),
        ("strict_tnr_normal", body_chars()),  # ISO 29500 strict namespaces
        ("python_docx_tnr14", sum(visible(f"{i}. {RU} ") + visible(KK) for i in range(6))),
    ],
)
def test_times_new_roman_14_from_every_level(text_docs: dict[str, Path], key: str, chars: int) -> None:
    assert fonts_of(text_docs[key]) == {("Times New Roman", 14.0): chars}
    assert not [r for r in rules(judged(text_docs[key])) if r.startswith("font.")]


@pytest.mark.parametrize("key", ["lo_tnr14", "lo_roundtrip_tnr_normal"])
def test_libreoffice_made_times_new_roman_14(text_docs: dict[str, Path], key: str) -> None:
    path = lo_doc(text_docs, key)
    found = fonts_of(path)
    assert list(found) == [("Times New Roman", 14.0)]
    assert judged(path) == []


def test_defaults_without_styles_part_are_words_own(text_docs: dict[str, Path]) -> None:
    # No styles.xml at all: Word shows Times New Roman 10 pt.
    assert fonts_of(text_docs["no_styles"]) == {("Times New Roman", 10.0): body_chars(2)}
    assert rules(judged(text_docs["no_styles"])) == ["font.size"]


def test_python_docx_default_template_is_not_times(text_docs: dict[str, Path]) -> None:
    found = fonts_of(text_docs["python_docx_default"])
    assert ("Times New Roman", 14.0) not in found
    assert "font.family" in rules(judged(text_docs["python_docx_default"]))


# --- font slots ----------------------------------------------------------------------------------------


def test_cyrillic_uses_hansi_slot(text_docs: dict[str, Path]) -> None:
    # ascii = Times New Roman, hAnsi = Calibri: Russian and Kazakh letters are drawn in Calibri.
    found = fonts_of(text_docs["hansi_calibri"])
    ascii_chars = sum(1 for ch in (RU + KK) * 4 + EN if "!" <= ch <= "~")
    assert found[("Times New Roman", 14.0)] == ascii_chars
    assert found[("Calibri", 14.0)] == visible((RU + KK) * 4 + EN) - ascii_chars
    issues = judged(text_docs["hansi_calibri"])
    (family,) = [i for i in issues if i.rule == "font.family"]
    assert family.params["font"] == "Calibri"
    assert family.location["paragraph"] == 1
    assert family.location["excerpt"].startswith("Суд рассмотрел")


def test_theme_attribute_beats_name_on_same_element(text_docs: dict[str, Path]) -> None:
    # w:ascii="Arial" w:asciiTheme="minorHAnsi" with the theme's minor font Times New Roman.
    assert list(fonts_of(text_docs["theme_beats_name"])) == [("Times New Roman", 14.0)]


def test_complex_script_and_east_asian_hint(text_docs: dict[str, Path]) -> None:
    found = fonts_of(text_docs["scripts"])
    assert found[("Arial", 12.0)] == visible("قررت المحكمة")  # w:rtl → cs font at w:szCs
    assert found[("SimSun", 14.0)] == visible("Кириллица") + visible("法院")  # hint eastAsia; CJK
    assert found[("Arial", 14.0)] == 2  # CJK, but eastAsia "Times New Roman" and ascii == hAnsi


@pytest.mark.parametrize(
    ("char", "hint", "slot"),
    [
        ("A", False, "ascii"),
        ("1", True, "ascii"),
        ("Ж", False, "hAnsi"),
        ("ә", False, "hAnsi"),
        ("ғ", False, "hAnsi"),
        ("қ", False, "hAnsi"),
        ("ң", False, "hAnsi"),
        ("ө", False, "hAnsi"),
        ("ұ", False, "hAnsi"),
        ("ү", False, "hAnsi"),
        ("һ", False, "hAnsi"),
        ("і", False, "hAnsi"),
        ("«", False, "hAnsi"),
        ("—", False, "hAnsi"),
        ("Ж", True, "eastAsia"),
        ("é", True, "hAnsi"),
        ("×", True, "eastAsia"),
        ("ق", False, "ascii"),  # Arabic without w:rtl: Word's table says ascii
        ("א", False, "ascii"),
        ("ก", False, "hAnsi"),  # Thai: not in Word's table
        ("“", True, "eastAsia"),
        ("“", False, "hAnsi"),
        ("法", False, "eastAsia"),
    ],
)
def test_char_slot(char: str, hint: bool, slot: str) -> None:
    assert char_slot(ord(char), hint) == slot


# --- every place a run can be, and what is not text ---------------------------------------------------------


def test_runs_in_every_construction_are_read(text_docs: dict[str, Path]) -> None:
    found = fonts_of(text_docs["constructs"])
    expected = {
        ("Arial", 14.0): visible("сайт суда"),  # hyperlink
        ("Georgia", 14.0): visible("добавленный текст"),  # w:ins
        ("Garamond", 14.0): visible("Элемент управления") + visible("встроенный элемент"),  # w:sdt
        ("Cambria", 14.0): visible("Алматы"),  # smartTag
        ("Book Antiqua", 14.0): visible("01.01.2026"),  # fldSimple
        ("Candara", 14.0): 1,  # complex field result
        ("Tahoma", 14.0): visible("Текст в надписи"),  # text box (mc:Choice)
        ("Verdana", 12.0): visible("Заголовок"),  # table style, first row
        ("Courier New", 12.0): visible("Ячейка таблицы"),  # table style, whole table
        ("Century Gothic", 10.0): visible("Верхний колонтитул") + visible("Нижний колонтитул"),
        ("Lucida Console", 10.0): visible("Текст сноски"),  # footnote
    }
    for key, chars in expected.items():
        assert found.get(key) == chars, key


def test_deleted_hidden_field_code_and_fallback_text_ignored(text_docs: dict[str, Path]) -> None:
    names = {name for name, _ in fonts_of(text_docs["constructs"])}
    # w:del, w:vanish (direct and from a character style), instrText, text between
    # fldChar begin and separate, the mc:Fallback copy of the text box.
    for ignored in ("Impact", "Comic Sans MS", "Wingdings", "Webdings", "Consolas"):
        assert ignored not in names


def test_exempt_parts_are_not_judged(text_docs: dict[str, Path]) -> None:
    issues = judged(text_docs["constructs"])
    fonts = {i.params["font"] for i in issues if i.rule == "font.family"}
    assert "Century Gothic" not in fonts and "Lucida Console" not in fonts
    assert {"Arial", "Georgia", "Garamond", "Tahoma", "Verdana", "Courier New"} <= fonts
    strict = default_policy()
    strict = dataclasses.replace(strict, fonts=dataclasses.replace(strict.fonts, exempt_parts=[]))
    fonts_all = {i.params["font"] for i in judged(text_docs["constructs"], strict) if i.rule == "font.family"}
    assert {"Century Gothic", "Lucida Console"} <= fonts_all
    footnote = [
        i for i in judged(text_docs["constructs"], strict) if i.params.get("font") == "Lucida Console"
    ]
    # Lucida Console 10 pt breaks both rules: a finding for each, at the same place.
    assert sorted(i.rule for i in footnote) == ["font.family", "font.size"]
    assert {i.location["part"] for i in footnote} == {"footnote"}


# --- the rules and their messages -------------------------------------------------------------------------


def test_deviations_named_with_place_and_figures(text_docs: dict[str, Path]) -> None:
    issues = judged(text_docs["deviating"])
    # The heading in Arial 16 breaks both rules; the paragraph in Times New Roman 12 only the size.
    assert sorted((i.rule, i.params["font"], i.params["size"]) for i in issues) == [
        ("font.family", "Arial", "16"),
        ("font.size", "Arial", "16"),
        ("font.size", "Times New Roman", "12"),
    ]
    (family,) = [i for i in issues if i.rule == "font.family"]
    assert family.location == {"paragraph": 1, "excerpt": "ЗАЯВЛЕНИЕ о пересмотре решения"}
    heading_size = next(i for i in issues if i.rule == "font.size" and i.params["font"] == "Arial")
    assert heading_size.location == family.location
    size = next(i for i in issues if i.rule == "font.size" and i.params["font"] == "Times New Roman")
    assert size.location["paragraph"] == 5
    assert size.params["size"] == "12" and size.params["font"] == "Times New Roman"
    assert size.observed["chars"] == visible("Приложение набрано мелким шрифтом: " + RU)
    policy = default_policy()
    findings = render_findings(issues, policy, "ru")
    assert {f.severity for f in findings} == {"reject"}
    text = next(f.message for f in findings if f.rule == "font.family")
    assert "Arial 16" in text and "Times New Roman 14" in text and "абзац 1)" in text
    kk = render_findings(issues, policy, "kk")[0].message
    assert "Times New Roman" in kk and "{" not in kk


def test_small_deviation_within_allowance(text_docs: dict[str, Path]) -> None:
    (minor,) = judged(text_docs["within_allowance"])
    assert minor.rule == "font.minor_deviation" and minor.params["font"] == "Arial"
    assert minor.location == {"paragraph": 21, "excerpt": "Примечание"}
    policy = default_policy()
    zero = dataclasses.replace(policy, fonts=dataclasses.replace(policy.fonts, max_deviating_share=0.0))
    (issue,) = judged(text_docs["within_allowance"], zero)
    assert issue.rule == "font.family" and issue.params["font"] == "Arial"


def test_metric_clone_warns_and_says_so(text_docs: dict[str, Path]) -> None:
    report = validate_file(text_docs["clone"], lang="en")
    assert report.verdict == "accept"
    (finding,) = report.findings
    assert (finding.rule, finding.severity) == ("font.clone", "warn")
    assert "metric-compatible substitute" in finding.message and "Liberation Serif" in finding.message


def test_libreoffice_clone_and_wrong_fonts(text_docs: dict[str, Path]) -> None:
    assert rules(judged(lo_doc(text_docs, "lo_liberation"))) == ["font.clone"]
    issues = judged(lo_doc(text_docs, "lo_arial12_double"))
    assert rules(issues) == ["font.family", "font.size", "spacing.line"]
    assert issues[0].params["font"] == "Arial" and issues[0].params["size"] == "12"
    assert issues[1].params["font"] == "Arial" and issues[1].params["size"] == "12"
    assert issues[2].params["lines"] == "2"
    # A heading in Arial 16 within the allowance: said at its own rule, which does not refuse.
    (heading,) = judged(lo_doc(text_docs, "lo_tnr14_heading_arial"))
    assert heading.rule == "font.minor_deviation" and heading.params["size"] == "16"


def test_line_spacing_through_the_chain(text_docs: dict[str, Path]) -> None:
    issues = [i for i in judged(text_docs["spacing"]) if i.rule == "spacing.line"]
    by_paragraph = {i.location["paragraph"]: i.params["lines"] for i in issues}
    # 1: 1.5 from pPrDefault; 2: double from a basedOn chain; 4: exactly 24 pt at 14 pt.
    # 3 (exactly 16 pt ≈ single at 14 pt), 5 (at least 12 pt), 6 (single) conform.
    assert by_paragraph == {1: "1.5", 2: "2", 4: "1.49 (= 24 pt)"}
    policy = default_policy()
    assert {f.severity for f in render_findings(issues, policy, "en")} == {"warn"}


def test_font_names_normalised() -> None:
    judge = FontJudge.from_policy(default_policy().fonts)
    for name in (
        "Times New Roman",
        "TimesNewRomanPSMT",
        "TimesNewRomanPS-BoldMT",
        "Times New Roman Cyr",
        "TIMES NEW ROMAN",
    ):
        assert judge.verdict(name) == "ok", name
    assert judge.verdict("Liberation Serif") == "clone"
    assert judge.verdict("Arial") == "other"
    assert normalise("ABCDEF+TimesNewRoman,Bold") == "timesnewroman"


def test_pipeline_fills_text_summary(text_docs: dict[str, Path]) -> None:
    report = validate_file(text_docs["tnr_normal"])
    assert report.verdict == "accept" and report.findings == []
    assert report.text is not None and report.text.chars == body_chars()
    assert [(f.family, f.name, f.size) for f in report.text.fonts] == [
        ("Times New Roman", "Times New Roman", 14.0)
    ]
    assert messages.title("font.family", "en") != "font.family"


# --- Word-made and ONLYOFFICE-made documents of the corpus ---------------------------------------------------


@pytest.mark.parametrize("name", ["bold.docx", "indent.docx", "super_sub.docx"])
def test_corpus_normcontrol_times_14(text_corpus: Path, name: str) -> None:
    path = text_corpus / "normcontrol-document-parser" / name
    assert list(fonts_of(path)) == [("Times New Roman", 14.0)]
    # Word's "1.5 lines" in the Normal style: a line-spacing warning, nothing else.
    assert rules(judged(path)) == ["spacing.line"]


def test_corpus_normcontrol_font_change_near_miss(text_corpus: Path) -> None:
    issues = judged(text_corpus / "normcontrol-document-parser" / "font_change.docx")
    fonts = {(i.params["font"], i.params["size"]) for i in issues if i.rule.startswith("font.")}
    # Courier New runs, a minorHAnsi theme run (Calibri), the heading character style (majorHAnsi
    # → Calibri Light 16), a 18 pt run and a one-letter Abadi run: what Word shows.
    assert fonts == {
        ("Courier New", "14"),
        ("Calibri", "14"),
        ("Calibri Light", "16"),
        ("Calibri Light", "14"),
        ("Times New Roman", "18"),
        ("Abadi MT Condensed Light", "14"),
    }
    courier = next(i for i in issues if i.params.get("font") == "Courier New")
    assert courier.params["places"] == "2, 4, 7"


def test_corpus_normcontrol_paragraph_near_miss(text_corpus: Path) -> None:
    issues = judged(text_corpus / "normcontrol-document-parser" / "paragraph.docx")
    found = {
        (i.rule, i.params.get("font"), i.location.get("paragraph"))
        for i in issues
        if i.rule != "spacing.line"
    }
    assert found == {
        ("font.family", "Calibri Light", 4),
        ("font.size", "Calibri Light", 4),  # the heading is 16 pt too
        ("font.size", "Times New Roman", 10),
        ("font.family", "Courier New", 11),
    }


def test_corpus_word_report_is_times_14(text_corpus: Path) -> None:
    path = (
        text_corpus / "normcontrol-document-parser" / "Марицинкевич В.И. К41401 Отчёт по практике 2022.docx"
    )
    summary = textrules.summary(inventory(path), default_policy())
    tnr14 = next(f.chars for f in summary.fonts if (f.name, f.size) == ("Times New Roman", 14.0))
    assert tnr14 / summary.chars > 0.98
    # Its table text in 12 pt (under 1 %) is within the allowance: named, not refused.
    (minor,) = [i for i in judged(path) if i.rule.startswith("font.")]
    assert minor.rule == "font.minor_deviation"
    assert (minor.params["font"], minor.params["size"]) == ("Times New Roman", "12")


def test_corpus_onlyoffice_report_is_all_times_14(text_corpus: Path) -> None:
    path = text_corpus / "ullyminat-normocontrol" / "1771618392_Документ.docx"
    report = validate_file(path, name="Отчёт по практике.docx")  # its own name is a generic one
    assert report.text is not None and report.text.chars > 25_000
    assert [(f.name, f.size) for f in report.text.fonts] == [("Times New Roman", 14.0)]
    assert report.verdict == "accept"
    assert {f.rule for f in report.findings} == {"spacing.line"}
