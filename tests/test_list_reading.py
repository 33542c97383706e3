"""The list of attachments read as a person reads it: lists written the way Kazakhstan court
applications write them (fixtures/generate_lists.py), as DOCX and as PDF, read whole; where the
list ends; a count mismatch refuses only when the reading is certain."""

from __future__ import annotations

import datetime as dt
import importlib.util
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from courtdoc import pipeline
from courtdoc.checks import outline
from courtdoc.checks.filing.listlines import end_kind
from courtdoc.checks.filing.listparse import Line, read_attachments, split_pages
from courtdoc.checks.filing.metadata import parse_metadata
from courtdoc.checks.filing.rules import FiledDocument, check_filing
from courtdoc.checks.findings import Issues
from courtdoc.core.policy import default_policy

ROOT = Path(__file__).resolve().parents[1]
POLICY = default_policy()


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_lists", ROOT / "fixtures" / "generate_lists.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["generate_lists"] = module
    spec.loader.exec_module(module)
    return module


LISTS = _generator()
UNNUMBERED = {"ru_bullets_claim", "ru_inline_short", "ru_letters"}


@pytest.fixture(scope="module")
def blocks(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not LISTS.have_font():
        pytest.skip("no Cyrillic TTF font for the PDF lists (scripts/install-system-deps.sh installs one)")
    folder = tmp_path_factory.mktemp("lists")
    for block in LISTS.BLOCKS:
        LISTS.write_docx(block, folder / f"{block.name}.docx")
        LISTS.write_pdf(block, folder / f"{block.name}.pdf")
    return folder


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", text.lower())


@pytest.mark.parametrize("fmt", ["docx", "pdf"])
@pytest.mark.parametrize("block", LISTS.BLOCKS, ids=lambda b: b.name)
def test_list_is_read_whole(blocks: Path, block: Any, fmt: str) -> None:
    found = outline.extract(blocks / f"{block.name}.{fmt}", fmt, POLICY)
    assert found is not None and found.attachments_reading is not None
    want = [split_pages(e)[0] for e in LISTS.expected(block)]
    assert [_words(a["title"]) for a in found.attachments] == [_words(w) for w in want]
    doubts = found.attachments_reading["doubts"]
    assert doubts == (["unnumbered"] if block.name in UNNUMBERED else [])


def lines(*texts: str) -> list[Line]:
    return [Line(t) for t in texts]


def test_dates_numbers_and_parties_keep_an_entry_whole() -> None:
    reading = read_attachments(
        lines(
            "Приложение:",
            "1. Копия иска для ответчика;",
            "2. Договор аренды от 1 февраля 2023 года № 7-А;",
            "3. Квитанция об оплате государственной пошлины от 19.03.2024 г.;",
            "4. Заключение эксперта № 2-1234/2026, подписанное экспертом;",
            "5. Приказ № 123-р от 10.01.2024 г.",
            "Дата: 20.03.2024 г.",
            "Подпись ____________ Иванов И.И.",
        )
    )
    assert [e.number for e in reading.entries] == ["1", "2", "3", "4", "5"]
    assert reading.entries[2].title == "Квитанция об оплате государственной пошлины от 19.03.2024 г"
    assert reading.end == "date" and reading.certain


def test_kazakh_entry_with_a_date_is_one_entry() -> None:
    reading = read_attachments(
        lines(
            "Қосымшалар:",
            "1. 2024 жылғы 12 қаңтардағы сот шешімінің көшірмесі;",
            "2. Сенімхат 1 парақта.",
            "Талапкер: Серікбаев Н.А.",
        )
    )
    assert [(e.number, e.title, e.pages) for e in reading.entries] == [
        ("1", "2024 жылғы 12 қаңтардағы сот шешімінің көшірмесі", None),
        ("2", "Сенімхат", 1),
    ]
    assert reading.end == "party"


def test_a_table_header_written_as_text_is_not_an_entry() -> None:
    reading = read_attachments(
        lines(
            "Приложение:",
            "№ п/п Наименование документа Кол-во",
            "листов",
            "1 Копия решения суда от 10.01.2024 г. по делу №",
            "2-1234/2024",
            "3",
            "2 Доверенность 1",
            "Истец ____________ Иванов И.И.",
        )
    )
    assert [(e.number, e.title, e.pages) for e in reading.entries] == [
        ("1", "Копия решения суда от 10.01.2024 г. по делу № 2-1234/2024", 3),
        ("2", "Доверенность", 1),
    ]
    kk = read_attachments(lines("Қосымшалар:", "Р/с № Құжаттың атауы Парақ саны", "1 Сенімхат 1", "Қолы ____"))
    assert [e.title for e in kk.entries] == ["Сенімхат"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Дата: 20.03.2024", "date"),
        ("«20» марта 2024 г.", "date"),
        ("2024 жылғы 20 наурыз", "date"),
        ("Күні: 2024 жылғы 20 наурыз", "date"),
        ("Подпись: ____________", "signature"),
        ("Қолы", "signature"),
        ("Иванов И.И.", "name"),
        ("Н.А. Серікбаев", "name"),
        ("Заявитель: Иванов Иван Иванович", "party"),
        ("Арыз беруші: Серікбаев Н. А.", "party"),
        ("С уважением,", "closing"),
        ("Квитанция об оплате государственной пошлины от 19.03.2024 г.", None),
        ("договор аренды от 1 февраля 2023 года", None),
        ("2024 жылғы 12 қаңтардағы сот шешімінің көшірмесі", None),
        ("Копия иска для ответчика", None),
    ],
)
def test_where_a_list_ends(text: str, kind: str | None) -> None:
    assert end_kind(text) == kind


def test_doubtful_readings_say_why() -> None:
    out_of_order = read_attachments(lines("Приложение:", "1. Доверенность;", "3. Квитанция.", "Подпись ____"))
    assert out_of_order.doubts == ["numbering"]
    unclear = read_attachments(lines("Приложение:", "1. Доверенность;", "2. Квитанция;", "Справка"))
    assert unclear.doubts == ["end"] and unclear.end == "unclear"
    bullets = read_attachments(lines("Приложение:", "- доверенность;", "- квитанция.", "Подпись ____"))
    assert bullets.doubts == ["unnumbered"]


def _docs(attachments: list[str], doubts: list[str] | None, files: list[str]) -> list[FiledDocument]:
    app_outline = {
        "title": "ЗАЯВЛЕНИЕ",
        "attachments": [{"number": str(k), "title": t, "pages": None} for k, t in enumerate(attachments, 1)],
        "attachments_reading": None if doubts is None else {"end": "date", "doubts": doubts},
    }
    return [FiledDocument("Заявление.docx", "a", app_outline)] + [
        FiledDocument(name, str(k)) for k, name in enumerate(files)
    ]


def _rules(docs: list[FiledDocument]) -> list[str]:
    issues = Issues()
    meta = parse_metadata({"files": {"Заявление.docx": {"role": "application"}}})
    check_filing(docs, meta, POLICY, issues, today=dt.date(2024, 3, 20))
    return [i.rule for i in issues]


def test_count_refuses_only_a_certain_reading() -> None:
    entries = ["Доверенность", "Квитанция", "Справка"]
    files = ["Доверенность.pdf", "Квитанция.pdf"]
    assert "filing.count_mismatch" in _rules(_docs(entries, [], files))
    uncertain = _rules(_docs(entries, ["end"], files))
    assert "filing.count_uncertain" in uncertain and "filing.count_mismatch" not in uncertain
    # An outline stored before readings were recorded is judged by its numbering (1, 2, 3).
    assert "filing.count_mismatch" in _rules(_docs(entries, None, files))
    assert POLICY.severity("filing.count_uncertain") == "warn"


def test_a_filing_matching_its_list_is_accepted_and_a_doubtful_one_warns(tmp_path: Path) -> None:
    if not LISTS.have_font():
        pytest.skip("no Cyrillic TTF font")
    block = next(b for b in LISTS.BLOCKS if b.name == "ru_table_rent")
    folder = LISTS.filing(block, "pdf", tmp_path / "rent")
    report = pipeline.validate_filing(sorted(folder.iterdir()), POLICY, today=dt.date(2024, 3, 20))
    rules = {f.rule for f in report.findings}
    assert not rules & {"filing.count_mismatch", "filing.count_uncertain", "filing.declared_missing"}
    bullets = next(b for b in LISTS.BLOCKS if b.name == "ru_bullets_claim")
    folder = LISTS.filing(bullets, "docx", tmp_path / "bullets")
    shutil.copyfile(next(folder.glob("квитанция*.pdf")), folder / "Чек.pdf")
    report = pipeline.validate_filing(sorted(folder.iterdir()), POLICY, lang="ru", today=dt.date(2024, 3, 20))
    found = [f for f in report.findings if f.rule == "filing.count_uncertain"]
    assert found and "не у всех пунктов есть номер" in found[0].message
