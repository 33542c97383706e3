"""Page pictures: real PDF, DOCX (through LibreOffice) and JPEG pages drawn in the sandbox, the
private content-addressed cache and its eviction, and the reasons a page has no picture."""

from __future__ import annotations

import dataclasses
import io
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from courtdoc.core.policy import Policy, default_policy
from courtdoc.engine import pictures
from courtdoc.engine.pictures import NoPicture, Picture, page_count, reason_text, render_page
from courtdoc.engine.sandbox import SandboxPool
from file_cases import GENERATED, generator
from PIL import Image
from scan_fixtures import generated as scans
from text_fixtures import has_soffice

needs_soffice = pytest.mark.skipif(not has_soffice(), reason="LibreOffice (soffice) is not installed")
A4 = (595.28, 841.89)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return default_policy()


@pytest.fixture(scope="module")
def pool(policy: Policy) -> Iterator[SandboxPool]:
    bounds = policy.sandbox
    pool = SandboxPool(1, bounds.memory_limit_mb, bounds.recycle_rss_mb)
    yield pool
    pool.close()


@pytest.fixture(scope="module")
def files() -> dict[str, Path]:
    paths: dict[str, Path] = generator.generate(GENERATED)
    return paths


def _runs(pool: SandboxPool) -> int:
    return len(pool.recent)


def _inked(picture: Picture) -> float:
    """Share of the picture's pixels that are dark: text was drawn, not an empty page."""
    image = Image.open(io.BytesIO(picture.data)).convert("L")
    assert image.size == (picture.width_px, picture.height_px)
    dark = sum(image.histogram()[:128])
    return dark / (image.width * image.height)


def test_pdf_page_drawn_then_cached(
    files: dict[str, Path], policy: Policy, pool: SandboxPool, tmp_path: Path
) -> None:
    path = files["Арыз.pdf"]
    before = _runs(pool)
    first = render_page(path, "pdf", 1, 600, policy, tmp_path / "cache", pool)
    assert isinstance(first, Picture), first
    assert _runs(pool) == before + 1
    assert not first.cached and first.media_type == "image/png" and first.data.startswith(b"\x89PNG")
    assert (first.page_width_pt, first.page_height_pt) == pytest.approx(A4, abs=0.5)
    assert first.width_px == 600 and first.height_px == round(600 * A4[1] / A4[0])
    assert first.scale == pytest.approx(600 / A4[0])
    assert _inked(first) > 0.001

    again = render_page(path, "pdf", 1, 600, policy, tmp_path / "cache", pool)
    assert isinstance(again, Picture) and again.cached
    assert _runs(pool) == before + 1  # served from disk: no second run in the sandbox
    assert again.data == first.data and again.page_width_pt == first.page_width_pt

    # another width is another picture
    wider = render_page(path, "pdf", 1, 900, policy, tmp_path / "cache", pool)
    assert isinstance(wider, Picture) and not wider.cached and wider.width_px == 900
    assert _runs(pool) == before + 2
    assert page_count(path, "pdf", policy, tmp_path / "cache", pool) == 1
    assert isinstance(render_page(path, "pdf", 2, 600, policy, tmp_path / "cache", pool), NoPicture)


def test_rotated_pdf_page_has_its_displayed_size(policy: Policy, pool: SandboxPool, tmp_path: Path) -> None:
    picture = render_page(scans() / "pdf" / "a4_300dpi_pagerotate90.pdf", "pdf", 1, 800, policy, tmp_path, pool)
    assert isinstance(picture, Picture)
    assert (picture.page_width_pt, picture.page_height_pt) == pytest.approx(A4[::-1], abs=0.5)
    assert picture.height_px < picture.width_px


def test_jpeg_scan_drawn_at_its_paper_size(policy: Policy, pool: SandboxPool, tmp_path: Path) -> None:
    upright = render_page(scans() / "jpeg" / "a4_300dpi.jpg", "jpeg", 1, 500, policy, tmp_path, pool)
    assert isinstance(upright, Picture)
    assert (upright.page_width_pt, upright.page_height_pt) == pytest.approx(A4, abs=2)
    assert upright.width_px == 500 and _inked(upright) > 0.001
    # EXIF orientation 6: the stored landscape pixels are shown upright, as a viewer shows them
    turned = render_page(scans() / "jpeg" / "a4_300dpi_orient6.jpg", "jpeg", 1, 500, policy, tmp_path, pool)
    assert isinstance(turned, Picture)
    with Image.open(scans() / "jpeg" / "a4_300dpi_orient6.jpg") as stored:
        assert stored.width > stored.height
    assert turned.height_px > turned.width_px
    assert turned.page_height_pt > turned.page_width_pt
    assert page_count(scans() / "jpeg" / "a4_300dpi.jpg", "jpeg", policy, tmp_path, pool) == 1
    assert render_page(scans() / "jpeg" / "a4_300dpi.jpg", "jpeg", 2, 500, policy, tmp_path, pool) == NoPicture(
        "no_such_page", "page 2"
    )


@needs_soffice
def test_docx_page_through_libreoffice(files: dict[str, Path], policy: Policy, pool: SandboxPool, tmp_path: Path) -> None:
    from text_fixtures import GENERATED as TEXT
    from text_fixtures import load_generator

    docs = load_generator().generate(TEXT)
    path = docs["tnr_normal"]
    before = _runs(pool)
    picture = render_page(path, "docx", 1, 600, policy, tmp_path, pool)
    assert isinstance(picture, Picture), picture
    assert (picture.page_width_pt, picture.page_height_pt) == pytest.approx(A4, abs=1)
    assert _inked(picture) > 0.001
    assert _runs(pool) == before + 2  # the conversion, then the drawing
    # the PDF LibreOffice made is kept: the page count and a new width need no conversion
    assert page_count(path, "docx", policy, tmp_path, pool) == 1
    assert isinstance(render_page(path, "docx", 1, 300, policy, tmp_path, pool), Picture)
    assert _runs(pool) == before + 4
    assert isinstance(render_page(path, "docx", 1, 300, policy, tmp_path, pool), Picture)
    assert _runs(pool) == before + 4


def test_without_libreoffice_a_word_page_says_why(
    files: dict[str, Path], policy: Policy, pool: SandboxPool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.delenv("COURTDOC_SOFFICE", raising=False)
    monkeypatch.setenv("PATH", str(empty))  # no soffice, no libreoffice
    before = _runs(pool)
    for name, fmt in (("Расчёт с диаграммой.docx", "docx"), ("Ссылки на ключи PDF.pdf", "pdf")):
        result = render_page(files[name], fmt, 1, 400, policy, tmp_path / "cache", pool)
        if fmt == "pdf":
            assert isinstance(result, Picture)  # PDF pages need no LibreOffice
            continue
        assert result == NoPicture("no_converter", "LibreOffice is not installed")
        assert "LibreOffice" in result.text("kk") and "LibreOffice" in result.text("ru")
        assert page_count(files[name], fmt, policy, tmp_path / "cache", pool) == result
    assert _runs(pool) == before + 1  # only the PDF page was drawn
    # nothing about the missing converter is remembered: installed later, it is used
    assert [p.name for p in (tmp_path / "cache").iterdir()] and all(
        b"no_converter" not in p.read_bytes() for p in (tmp_path / "cache").iterdir()
    )


@pytest.mark.parametrize(
    ("name", "fmt", "reason"),
    [
        ("Повреждённое заявление.pdf", "pdf", "unreadable"),
        ("Апелляционная жалоба (обрезана).pdf", "pdf", "unreadable"),
        ("Заявление под паролем.pdf", "pdf", "encrypted"),
        ("Повреждённая справка.jpg", "jpeg", "unreadable"),
        ("Фото 3,6 гигапикселя.jpg", "jpeg", "too_large"),
        ("Заявление.png", "png", "unsupported"),
    ],
)
def test_broken_or_hostile_file_has_no_picture_and_a_reason(
    files: dict[str, Path], policy: Policy, pool: SandboxPool, tmp_path: Path, name: str, fmt: str, reason: str
) -> None:
    result = render_page(files[name], fmt, 1, 600, policy, tmp_path, pool)
    assert isinstance(result, NoPicture) and result.reason == reason, result
    assert result.text("kk") != result.text("ru") != result.text("en")
    before = _runs(pool)
    again = render_page(files[name], fmt, 1, 600, policy, tmp_path, pool)
    assert isinstance(again, NoPicture) and again.reason == reason
    assert _runs(pool) == before  # the same bytes fail the same way: remembered


def test_a_page_over_the_time_bound_is_not_a_crash_and_is_tried_again(
    policy: Policy, pool: SandboxPool, tmp_path: Path
) -> None:
    hurried = dataclasses.replace(policy, sandbox=dataclasses.replace(policy.sandbox, time_limit_seconds=0.001))
    path = scans() / "pdf" / "a4_300dpi_flate.pdf"
    before = _runs(pool)
    result = render_page(path, "pdf", 1, 2000, hurried, tmp_path, pool)
    assert result == NoPicture("timeout", "no result within 0.001 s")
    assert isinstance(render_page(path, "pdf", 1, 2000, hurried, tmp_path, pool), NoPicture)
    assert _runs(pool) == before + 2  # a timeout may be the machine's: not remembered
    assert isinstance(render_page(path, "pdf", 1, 2000, policy, tmp_path, pool), Picture)


def test_cache_is_private_and_evicts_the_least_recently_used(
    files: dict[str, Path], policy: Policy, pool: SandboxPool, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o755)
    path = files["Арыз.pdf"]
    old = os.umask(0)
    try:
        sizes = {}
        for width in (300, 320, 340):
            probe = tmp_path / f"probe{width}"
            render_page(path, "pdf", 1, width, policy, probe, pool)
            (entry,) = probe.iterdir()
            sizes[width] = entry.stat().st_size
        limit = sum(sizes.values()) - 1  # all three do not fit; any two do
        for width in (300, 320):
            assert isinstance(render_page(path, "pdf", 1, width, policy, cache, pool, max_cache_bytes=limit), Picture)
            time.sleep(0.02)
        hit = render_page(path, "pdf", 1, 300, policy, cache, pool, max_cache_bytes=limit)  # now the newest use
        assert isinstance(hit, Picture) and hit.cached
        time.sleep(0.02)
        render_page(path, "pdf", 1, 340, policy, cache, pool, max_cache_bytes=limit)
    finally:
        os.umask(old)
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    entries = list(cache.iterdir())
    assert len(entries) == 2 and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in entries)
    assert sum(p.stat().st_size for p in entries) <= limit
    before = _runs(pool)
    for width, cached in ((300, True), (340, True), (320, False)):  # 320 was the least recently used
        picture = render_page(path, "pdf", 1, width, policy, cache, pool, max_cache_bytes=limit)
        assert isinstance(picture, Picture) and picture.cached is cached, width
    assert _runs(pool) == before + 1


def test_a_new_policy_is_a_new_picture(files: dict[str, Path], policy: Policy, pool: SandboxPool, tmp_path: Path) -> None:
    path = files["Арыз.pdf"]
    render_page(path, "pdf", 1, 400, policy, tmp_path, pool)
    other = dataclasses.replace(policy, sha256="0" * 64)
    assert not render_page(path, "pdf", 1, 400, other, tmp_path, pool).cached
    assert render_page(path, "pdf", 1, 400, other, tmp_path, pool).cached


def test_every_reason_reads_in_three_languages() -> None:
    reasons = pictures._reasons()
    assert {"no_converter", "convert_failed", "unreadable", "encrypted", "no_such_page", "too_large",
            "timeout", "memory", "failed", "unsupported"} <= set(reasons)  # fmt: skip
    for code, texts in reasons.items():
        assert set(texts) == {"kk", "ru", "en"}, code
        assert len({texts["kk"], texts["ru"], texts["en"]}) == 3, code
        assert reason_text(code, "kk") == texts["kk"]
    assert reason_text("no_converter", "de") == reasons["no_converter"]["en"]
    assert any(ch in reason_text("encrypted", "kk") for ch in "әіңғүұқөһ")
