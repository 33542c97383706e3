"""Scan checks on JPEG files: dpi from metadata or pixels, 1:1 scale, colour, legibility, OCR."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest
from courtdoc.checks.findings import Issues
from courtdoc.checks.image import dpi as dpi_mod
from courtdoc.checks.image import legibility
from courtdoc.checks.image.page import ScanContext, check_scan_page
from courtdoc.checks.image.raster import decode_jpeg, pil_to_array
from courtdoc.checks.image.scan import check_jpeg_file
from courtdoc.core.policy import default_policy
from courtdoc.core.report import PageInfo
from courtdoc.pipeline import inspect, validate_file
from PIL import Image
from scan_fixtures import CORPUS, generated

POLICY = default_policy()


def check(path: Path, policy=POLICY) -> tuple[PageInfo, dict[str, str]]:
    issues = Issues()
    pages = check_jpeg_file(path, policy, issues)
    assert len(pages) == 1
    return pages[0], {i.rule: str(i.observed) for i in issues}


def corpus(rel: str) -> Path:
    path = CORPUS / rel
    if not path.exists():
        pytest.skip(f"corpus file {rel} not present (../shared/corpus)")
    return path


# --- effective dpi ---------------------------------------------------------------------------------


@pytest.mark.parametrize("dpi", [150, 200, 300, 600])
@pytest.mark.parametrize("density", [True, False])
def test_dpi_from_metadata_or_inferred_from_a4_pixels(dpi: int, density: bool) -> None:
    name = f"a4_{dpi}dpi.jpg" if density else f"a4_{dpi}dpi_nodensity.jpg"
    page, found = check(generated() / "jpeg" / name)
    assert page.dpi is not None and page.dpi[0] == pytest.approx(dpi, rel=0.01)
    assert page.metrics["dpi_source"] == ("metadata" if density else "inferred")
    assert ("scan.dpi" in found) == (dpi not in (200, 300))
    assert page.kind == "scan" and page.colour == "grey"


def test_72_dpi_tag_is_not_stated_and_a4_pixels_give_300() -> None:
    page, found = check(generated() / "jpeg" / "a4_300px_tagged72.jpg")
    assert page.metrics["jfif_dpi"] == [72, 72]
    assert page.metrics["dpi_source"] == "inferred" and page.dpi == [300.0, 300.0]
    assert page.metrics["dpi_detail"] == "A4 portrait"
    assert "scan.dpi" not in found


def test_exif_resolution_in_inches_and_in_centimetres() -> None:
    page, _ = check(generated() / "jpeg" / "a4_300dpi_exif_only.jpg")
    assert (page.dpi, page.metrics["dpi_detail"]) == ([300.0, 300.0], "EXIF")
    page, _ = check(generated() / "jpeg" / "a4_300dpi_exif_cm.jpg")
    assert page.dpi == pytest.approx([300.0, 300.0], abs=0.1)


def test_conflicting_jfif_and_exif_take_the_one_that_makes_a_sheet() -> None:
    page, found = check(generated() / "jpeg" / "a4_300px_jfif200_exif300.jpg")
    assert page.dpi == [300.0, 300.0]
    assert page.metrics["dpi_detail"] == "EXIF 300×300 chosen over JFIF 200×200"
    assert not found


def test_conflict_without_a_sheet_prefers_jfif() -> None:
    scan = POLICY.scan
    chosen = dpi_mod.jpeg_resolution(1000, 1000, (200.0, 200.0), (300.0, 300.0), scan)
    assert (chosen.x, chosen.source) == (200.0, "metadata")
    assert "JFIF" in chosen.detail.split(" chosen")[0]


def test_pillow_corpus_metadata() -> None:
    page, found = check(corpus("pillow/exif-200dpcm.jpg"))
    assert page.dpi == [508.0, 508.0]  # 200 dots per cm
    assert "scan.dpi" in found
    page, _ = check(corpus("pillow/flower.jpg"))
    assert page.dpi == [180.0, 180.0]  # JFIF 72 says nothing; EXIF 180 does
    page, found = check(corpus("pillow/iptc_roundUp.jpg"))
    assert "scan.dpi_anisotropic" in found


def test_photo_without_dpi_is_unknown() -> None:
    page, found = check(generated() / "jpeg" / "photo_nodpi.jpg")
    assert page.dpi is None and page.metrics["dpi_source"] == "unknown"
    assert "scan.dpi_unknown" in found and "scan.dpi" not in found


def test_inference_rules() -> None:
    scan = POLICY.scan
    assert dpi_mod.infer_from_pixels(2550, 3300, scan)[0] == pytest.approx(300, rel=0.005)  # Letter
    assert dpi_mod.infer_from_pixels(3508, 2480, scan)[1].orientation == "landscape"
    # the A series share one aspect ratio: 2480×3508 is A4 at 300 rather than A3 at 212
    assert dpi_mod.infer_from_pixels(2480, 3508, scan)[1].name == "A4"
    assert dpi_mod.infer_from_pixels(2480, 3300, scan) is None  # axes disagree by > 2 %
    for placeholder in (0, 1, 72, 96):
        assert not dpi_mod.stated(placeholder, scan)
    assert dpi_mod.stated(300, scan)


def test_exif_orientation_turns_the_page() -> None:
    page, found = check(generated() / "jpeg" / "a4_300dpi_orient6.jpg")
    assert page.metrics["exif_orientation"] == 6
    assert page.metrics["pixels"] == [2480, 3508]  # shown portrait
    assert page.metrics["paper"] == "A4"
    assert abs(page.metrics["legibility"]["skew_degrees"]) < 0.5
    assert not found


# --- colour --------------------------------------------------------------------------------------


def test_cmyk_jpeg_of_black_text_is_grey() -> None:
    page, found = check(generated() / "jpeg" / "a4_300dpi_cmyk.jpg")
    assert page.metrics["source_mode"] == "CMYK" and page.colour == "grey"
    assert "scan.colour_unneeded" in found
    page, found = check(corpus("ocrmypdf/baiona_cmyk.jpg"))
    assert page.colour == "colour" and "scan.colour" in found


def test_colour_scan_with_blue_seal_is_colour_and_allowed() -> None:
    page, found = check(generated() / "jpeg" / "colour_seal_300.jpg")
    assert page.colour == "colour"
    assert page.metrics["coloured_share"] > POLICY.colour.colour_pixel_share
    assert "scan.colour" in found and "scan.colour_unneeded" not in found
    assert POLICY.severity("scan.colour") == "info"


def test_colour_scan_of_black_text_on_tinted_paper_is_grey() -> None:
    page, found = check(generated() / "jpeg" / "colour_blacktext_300.jpg")
    assert page.colour == "grey" and page.metrics["paper_tint"][2] < 235  # yellowish paper removed
    assert "scan.colour_unneeded" in found
    assert POLICY.severity("scan.colour_unneeded") == "warn"


def test_palette_and_bilevel_images_decode() -> None:
    grey_palette = Image.new("P", (10, 10))
    grey_palette.putpalette([v for i in range(256) for v in (i, i, i)])
    pixels, mode = pil_to_array(grey_palette)
    assert (pixels.ndim, mode) == (2, "P")
    colour_palette = Image.new("P", (10, 10))
    colour_palette.putpalette([0, 0, 255] * 256)
    assert pil_to_array(colour_palette)[0].shape == (10, 10, 3)
    assert pil_to_array(Image.new("1", (10, 10)))[0].dtype == np.uint8


# --- legibility ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("epson_page_300dpi_gray.jpg", set()),
        ("epson_page_300dpi_gray_blur.jpg", {"scan.blur"}),
        ("epson_page_300dpi_gray_lowcontrast.jpg", {"scan.contrast"}),
        ("epson_page_300dpi_gray_skew10.jpg", {"scan.skew"}),
    ],
)
def test_derived_epson_pages(name: str, expected: set[str]) -> None:
    page, found = check(corpus(f"derived/{name}"))
    legibility = {r for r in found if r in ("scan.blur", "scan.contrast", "scan.skew", "scan.blank")}
    assert legibility == expected
    assert page.dpi == [300.0, 300.0] and page.metrics["paper"] == "A4"
    if "skew" in name:
        assert abs(page.metrics["legibility"]["skew_degrees"]) == pytest.approx(10, abs=0.6)


@pytest.mark.parametrize(
    ("name", "rule"),
    [
        ("blur_300_s12.jpg", "scan.blur"),
        ("contrast_25.jpg", "scan.contrast"),
        ("contrast_8.jpg", "scan.contrast"),
        ("dark_90.jpg", "scan.dark"),
        ("faint_190.jpg", "scan.light"),
        ("skew_8.jpg", "scan.skew"),
        ("blank_300.jpg", "scan.blank"),
        ("blank_noisy_300.jpg", "scan.blank"),
        ("small_6pt_150.jpg", "scan.text_small"),
    ],
)
def test_degraded_pages_trip_their_rule(name: str, rule: str) -> None:
    _, found = check(generated() / "pages" / name)
    assert rule in found


@pytest.mark.parametrize(
    "name",
    ["clean_300.jpg", "clean_200.jpg", "blur_300_s2.jpg", "noise_16.jpg", "jpeg_q15.jpg", "skew_1.5.jpg"],
)
def test_readable_pages_pass(name: str) -> None:
    page, found = check(generated() / "pages" / name)
    assert not found, found
    assert page.metrics["legibility"]["blank"] is False


def test_severities_refuse_only_the_unreadable() -> None:
    assert {r: POLICY.severity(r) for r in ("scan.dpi", "scan.blur", "scan.contrast")} == dict.fromkeys(
        ("scan.dpi", "scan.blur", "scan.contrast"), "reject"
    )
    for rule in ("scan.skew", "scan.blank", "scan.dark", "scan.light", "scan.text_small", "scan.scale"):
        assert POLICY.severity(rule) == "warn"


def test_report_pages_and_verdict_through_the_pipeline() -> None:
    report = validate_file(generated() / "pages" / "blur_300_s12.jpg", name="Доверенность.jpg")
    assert report.verdict == "reject"
    assert [f.rule for f in report.findings if f.severity == "reject"] == ["scan.blur"]
    (page,) = report.pages
    assert (page.number, page.kind, page.dpi, page.colour) == (1, "scan", [300.0, 300.0], "grey")
    assert page.metrics["legibility"]["sharpness"] < POLICY.legibility.min_sharpness
    message = next(f.message for f in report.findings if f.rule == "scan.blur")
    assert f"{POLICY.legibility.min_sharpness:g}" in message
    assert f"{page.metrics['legibility']['sharpness']:.2f}" in message
    ru = validate_file(generated() / "jpeg" / "a4_150dpi.jpg", name="Решение суда.jpg", lang="ru")
    assert any("150 dpi" in f.message and "200–300" in f.message for f in ru.findings)


def test_truncated_jpeg_is_corrupt_not_a_crash() -> None:
    result = inspect(corpus("derived/LinnSequencer_truncated.jpg"), "jpg", POLICY)
    assert [i.rule for i in result.issues] == ["file.corrupt"] and result.pages == []


def test_analysis_decode_is_reduced() -> None:
    raster = decode_jpeg(generated() / "jpeg" / "a4_600dpi.jpg", POLICY.legibility.analysis_long_side_px)
    assert max(raster.size) == POLICY.legibility.analysis_long_side_px
    assert raster.source_size == (4961, 7016)


def test_percentiles_by_counting_match_the_histogram() -> None:
    """The counting search gives the histogram's percentile on every kind of level distribution."""
    rng = np.random.default_rng(7)
    images = [
        np.full((40, 30), 255, np.uint8),  # white paper: everything at the top level
        np.zeros((40, 30), np.uint8),
        rng.integers(0, 256, (50, 70), dtype=np.uint8),
        np.clip(rng.normal(2, 1.5, (60, 60)), 0, 255).astype(np.uint8),  # small differences
        np.clip(rng.normal(230, 20, (60, 60)), 0, 255).astype(np.uint8),  # grey paper
        np.where(rng.random((80, 80)) < 0.2, 40, 250).astype(np.uint8),  # two levels
    ]
    for pixels in images:
        hist = np.bincount(pixels.ravel(), minlength=256)
        for q in (50, 80, 90, 95, 100):
            for lower in (-1, 0, 6, 39, 40, 254, 255):
                above = hist.copy()
                above[: lower + 1] = 0
                expected = legibility._percentile(above, q) if above.any() else None
                for gallop in (False, True):
                    assert legibility._level(pixels, q, lower, gallop) == expected, (q, lower, gallop)


# --- OCR -----------------------------------------------------------------------------------------


def _ocr_policy():
    # a generous timeout: this machine may be busy with other work
    return dataclasses.replace(
        POLICY, ocr=dataclasses.replace(POLICY.ocr, enabled=True, timeout_seconds=120.0)
    )


def test_ocr_not_run_is_said_when_tesseract_is_absent() -> None:
    issues = Issues()
    ctx = ScanContext(_ocr_policy(), issues, tesseract=None)
    raster = decode_jpeg(generated() / "pages" / "clean_200.jpg", 800)
    resolution = dpi_mod.Resolution(200.0, 200.0, "metadata")
    page = check_scan_page(raster, resolution, 1, ctx, size_mm=None)
    check_scan_page(raster, resolution, 2, ctx, size_mm=None)
    assert [i.rule for i in issues] == ["scan.ocr_not_run"]  # once per file
    assert page.metrics["ocr"] == {"run": False, "reason": "tesseract is not installed"}


def test_ocr_disabled_by_default_says_so_in_the_page() -> None:
    page, found = check(generated() / "pages" / "clean_200.jpg")
    assert page.metrics["ocr"] == {"run": False, "reason": "disabled by policy"}
    assert "scan.ocr_not_run" not in found


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="tesseract is not installed")
def test_ocr_reads_a_clean_page_and_not_a_blurred_one() -> None:
    policy = _ocr_policy()
    page, found = check(generated() / "pages" / "clean_200.jpg", policy)
    if not page.metrics["ocr"].get("run"):
        pytest.skip(f"tesseract could not run: {page.metrics['ocr']}")
    assert page.metrics["ocr"]["words"] > 100 and "scan.ocr" not in found
    page, found = check(generated() / "pages" / "blur_300_s12.jpg", policy)
    assert "scan.ocr" in found
