"""The report the code writes is the report the schema declares, and it survives its own JSON.

Every fixture is checked through the real pipeline — the generated files, the text documents,
the text PDFs, the scans (and a few with OCR on), every generated filing with its metadata —
and each report validates against the report's JSON schema with every undeclared field refused,
so the schema cannot drift from the code. Together the reports write every field the schema
declares: a field the code no longer writes fails too. Reading a report back from its JSON
gives the same JSON.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import filing_fixtures
import pytest
import scan_fixtures
from courtdoc.checks.filing.metadata import MetadataError
from courtdoc.core.policy import DEFAULT_POLICY_PATH, Policy, load_policy
from courtdoc.core.report import FilingReport
from courtdoc.pipeline import validate_filing
from test_report_schema import report_schema, schema_errors, strict_validator

pytest_plugins = ["file_fixtures"]

filings = filing_fixtures.filings
file_reports = filing_fixtures.file_reports
filing_reports = filing_fixtures.filing_reports

ROOT = Path(__file__).resolve().parents[1]
FILING_CASES = sorted(filing_fixtures.load_generator().CASES)
FILE_SETS = ["generated", "text", "pdf_text", "scans", "scans_ocr"]
#: scans checked again with text recognition on (slow: a few pages only)
OCR_SCANS = ["jpeg/a4_300dpi.jpg", "jpeg/colour_seal_300.jpg", "pdf/a4_300dpi_jpeg.pdf"]


def test_filing_report_round_trips_through_json(tmp_path: Path) -> None:
    good = tmp_path / "Доверенность.pdf"
    good.write_bytes(b"not a pdf at all")
    report = validate_filing([good])
    again = FilingReport.from_dict(report.to_dict())
    assert again.to_dict() == report.to_dict()
    assert report.files[0].findings[0].rule == "file.content_mismatch"


# --- the fixtures' reports ------------------------------------------------------------------------


def _pdf_text_fixtures() -> list[Path]:
    spec = importlib.util.spec_from_file_location(
        "generate_pdfs_text", ROOT / "fixtures" / "generate_pdfs_text.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    out = ROOT / "fixtures" / "generated" / "pdf_text"
    module.generate(out)
    return sorted(p for p in out.iterdir() if p.is_file())


def _ocr_policy(tmp: Path) -> Policy:
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    text, count = re.subn(r"(?m)^(\[ocr\]\n(?:#.*\n)*)enabled = false$", r"\1enabled = true", text)
    assert count == 1
    path = tmp / "ocr.toml"
    path.write_text(text, encoding="utf-8")
    return load_policy(path)


@pytest.fixture(scope="module")
def file_set_reports(
    generated: dict[str, Path], text_docs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[[str], FilingReport]]:
    """The filing report of each set of fixture files, checked on first use."""
    scans = scan_fixtures.generated()

    def paths(name: str) -> list[Path]:
        if name == "generated":
            return sorted(generated.values())
        if name == "text":
            return sorted(set(text_docs.values()))
        if name == "pdf_text":
            return _pdf_text_fixtures()
        if name == "scans":
            return sorted(p for p in scans.rglob("*") if p.is_file() and not p.name.startswith("."))
        return [scans / rel for rel in OCR_SCANS]

    made: dict[str, FilingReport] = {}

    def get(name: str) -> FilingReport:
        if name not in made:
            policy = _ocr_policy(tmp_path_factory.mktemp("ocr")) if name == "scans_ocr" else None
            made[name] = validate_filing(paths(name), policy, lang="ru" if name == "text" else "en")
        return made[name]

    yield get


@pytest.fixture(scope="module")
def filing_case_reports(filing_reports: Callable[..., FilingReport]) -> Callable[[str], FilingReport | None]:
    """The report of a generated filing; None when its metadata is refused (no report is made)."""

    def get(case: str) -> FilingReport | None:
        try:
            return filing_reports(case, lang="kk" if case.startswith("kk") else "en")
        except MetadataError:
            return None

    return get


@pytest.fixture(scope="module")
def validator() -> Any:
    return strict_validator()


def _check(report: FilingReport, validator: Any) -> dict[str, Any]:
    text = report.to_json()
    written = json.loads(text)
    assert schema_errors(validator, written) == []
    # what a client reads back is what was written
    assert FilingReport.from_dict(written).to_json() == text
    return written


@pytest.mark.parametrize("name", FILE_SETS)
def test_the_report_of_every_fixture_file_is_the_declared_report(
    name: str, file_set_reports: Callable[[str], FilingReport], validator: Any
) -> None:
    report = file_set_reports(name)
    assert report.files
    _check(report, validator)


@pytest.mark.parametrize("case", FILING_CASES)
def test_the_report_of_every_fixture_filing_is_the_declared_report(
    case: str, filing_case_reports: Callable[[str], FilingReport | None], validator: Any
) -> None:
    report = filing_case_reports(case)
    if report is None:
        pytest.skip(f"{case}: the filing's metadata is refused, so there is no report")
    _check(report, validator)


# --- every declared field is written --------------------------------------------------------------


def _objects(schema: dict[str, Any], node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The object and array schemas `node` stands for (through `$ref` and `anyOf`)."""
    if "$ref" in node:
        yield from _objects(schema, schema["$defs"][node["$ref"].rsplit("/", 1)[-1]])
    for arm in node.get("anyOf", []):
        yield from _objects(schema, arm)
    if "properties" in node or "items" in node:
        yield node


def declared_fields(schema: dict[str, Any]) -> set[tuple[str, str]]:
    """Every (model, field) the schema declares."""
    return {(d["title"], key) for d in [schema, *schema["$defs"].values()] for key in d.get("properties", {})}


def written_fields(schema: dict[str, Any], report: dict[str, Any]) -> set[tuple[str, str]]:
    """Every (model, field) a report writes, found by walking it beside its schema."""
    found: set[tuple[str, str]] = set()

    def walk(value: Any, node: dict[str, Any]) -> None:
        for sub in _objects(schema, node):
            if isinstance(value, dict) and "properties" in sub:
                for key, item in value.items():
                    found.add((sub["title"], key))
                    if key in sub["properties"]:
                        walk(item, sub["properties"][key])
            elif isinstance(value, list) and "items" in sub:
                for item in value:
                    walk(item, sub["items"])

    walk(report, schema)
    return found


def test_the_fixtures_write_every_field_the_schema_declares(
    file_set_reports: Callable[[str], FilingReport],
    filing_case_reports: Callable[[str], FilingReport | None],
) -> None:
    schema = report_schema()
    reports = [file_set_reports(name) for name in FILE_SETS] + [filing_case_reports(c) for c in FILING_CASES]
    written: set[tuple[str, str]] = set()
    for report in reports:
        if report is not None:
            written |= written_fields(schema, dict(report.to_dict()))
    # `id` is the service's (API, callbacks, bulk runs), never the pipeline's
    assert declared_fields(schema) - written == {("FilingReportModel", "id")}
    assert written <= declared_fields(schema)
