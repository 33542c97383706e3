"""The 20 mm margin band exempts text as a running head or footer only on pages that have a body
too: the only text of a page, or of a page smaller than the two bands, is judged as body text."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import pypdf
import pytest
from courtdoc.checks.findings import Issues
from courtdoc.checks.pdf import text as pdf_text
from courtdoc.core.policy import default_policy
from courtdoc.pipeline import validate_file

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def pdfs() -> dict[str, Path]:
    """The text-layer fixtures (fixtures/generate_pdfs_text.py)."""
    spec = importlib.util.spec_from_file_location("generate_pdfs_text", ROOT / "fixtures" / "generate_pdfs_text.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module.generate(ROOT / "fixtures" / "generated" / "pdf_text")  # type: ignore[no-any-return]


def areas(path: Path) -> dict[str, set[tuple[str, float]]]:
    layer = pdf_text.read_text_layer(pypdf.PdfReader(str(path)), default_policy())
    out: dict[str, set[tuple[str, float]]] = {}
    for page in layer.pages:
        for area, font, size in page.combos:
            out.setdefault(area, set()).add((font, size))
    return out


def rules(path: Path) -> list[tuple[str, str]]:
    issues = Issues()
    pdf_text.check_text_layer(pypdf.PdfReader(str(path)), default_policy(), issues)
    return sorted((i.rule, str(i.params.get("size"))) for i in issues)


def test_a_lone_line_in_the_top_band_is_body_text(content_docs: dict[str, Path]) -> None:
    path = content_docs["margin_line_arial12"]
    assert areas(path) == {"body": {("Helvetica", 12.0)}}
    assert rules(path) == [("font.family", "12"), ("font.size", "12")]  # both rules it breaks
    assert validate_file(path, default_policy()).to_dict()["verdict"] == "reject"


def test_a_page_smaller_than_the_bands_is_judged(content_docs: dict[str, Path]) -> None:
    path = content_docs["small_page_tnr20"]
    assert areas(path) == {"body": {("Times-Roman", 20.0)}}
    assert rules(path) == [("font.size", "20")]


def test_a_stamp_line_under_a_page_picture_stays_a_footer(content_docs: dict[str, Path]) -> None:
    path = content_docs["scan_with_stamp"]
    assert areas(path) == {"footer": {("Helvetica", 8.0)}}
    assert rules(path) == []


def test_running_heads_beside_body_text_stay_exempt(pdfs: dict[str, Path]) -> None:
    path = pdfs["tnr14_footnote"]
    found = areas(path)
    assert ("Arial", 9.0) in found["header"]
    assert ("TimesNewRomanPSMT", 12.0) in found["footer"]
    assert all(area in ("body", "header", "footer") for area in found)  # no band area is left over


def test_without_the_band_every_line_is_body(content_docs: dict[str, Path]) -> None:
    policy = default_policy()
    no_band = dataclasses.replace(policy, fonts=dataclasses.replace(policy.fonts, pdf_margin_mm=0.0))
    layer = pdf_text.read_text_layer(pypdf.PdfReader(str(content_docs["scan_with_stamp"])), no_band)
    assert {area for page in layer.pages for area, _, _ in page.combos} == {"body"}
