"""A damaged part is a finding, not a crash: a page image, a picture or a package part that does
not decode is `file.corrupt` at its place, the rest of the file is still checked, and seeded
mutants of real documents (byte flips, truncations, repeated and zeroed ranges) all get a
verdict without `file.check_failed`.

COURTDOC_MUTANTS sets how many mutants the fuzz test makes (default 250), COURTDOC_MUTANTS_SEED
the seed (default `DEFAULT_SEED`, so a test run is repeatable; `random` draws a new one, printed);
`bench/fuzz_mutants.py` runs thousands.
"""

from __future__ import annotations

import importlib.util
import os
import random
import re
import sys
import zipfile
from collections import Counter
from pathlib import Path

import mutants
import pytest
from courtdoc.core.policy import Policy, load_policy
from courtdoc.engine.sandbox import SandboxPool
from courtdoc.pipeline import validate_file
from scan_fixtures import generated as scan_fixtures

#: The fuzz test's seed: one whose mutants include a ZIP part flagged as encrypted by a flipped
#: bit (zipfile raises RuntimeError), once a checker failure in the document outline.
DEFAULT_SEED = 938918179

pytest_plugins = ["file_fixtures"]

ROOT = Path(__file__).resolve().parents[1]
LANGS = ("en", "ru", "kk")


@pytest.fixture(scope="module")
def pool() -> SandboxPool:
    policy = load_policy()
    pool = SandboxPool(2, policy.sandbox.memory_limit_mb, policy.sandbox.recycle_rss_mb)
    pool.warm()
    yield pool  # type: ignore[misc]
    pool.close()


def _corrupt(report: object) -> list[object]:
    return [f for f in report.findings if f.rule == "file.corrupt"]  # type: ignore[attr-defined]


def _jpeg_streams(data: bytes) -> list[int]:
    """Offsets where the DCTDecode image streams of a PDF start."""
    return [m.end() for m in re.finditer(rb"/DCTDecode.*?stream\r?\n", data, re.DOTALL)]


def test_an_undecodable_scan_image_is_damage_on_its_page(tmp_path: Path, pool: SandboxPool) -> None:
    """Page 2's JPEG data zeroed (the PDF's structure intact): neither Pillow nor PDFium decodes
    it. The finding names page 2 and its image in every language; pages 1, 3, 4 are still judged."""
    source = scan_fixtures() / "pdf" / "mixed_quality_4pages.pdf"
    data = bytearray(source.read_bytes())
    streams = _jpeg_streams(bytes(data))
    assert len(streams) == 4
    data[streams[1] : streams[1] + 60_000] = bytes(60_000)
    damaged = tmp_path / "Скан с повреждённой страницей.pdf"
    damaged.write_bytes(bytes(data))
    policy = load_policy()
    for lang in LANGS:
        report = validate_file(damaged, policy, lang=lang, pool=pool)
        assert report.verdict == "reject"
        assert "file.check_failed" not in [f.rule for f in report.findings]
        (finding,) = _corrupt(report)
        assert finding.location == {"page": 2, "image": 1}
        assert "2" in finding.message and "DCTDecode" in str(finding.observed)
        assert "0x" not in str(finding.observed)  # no object address: the report is stable
    assert "page 2" in validate_file(damaged, policy, lang="en", pool=pool).findings[0].message
    assert [(p.number, p.metrics.get("analysed")) for p in report.pages] == [
        (1, "image"),
        (2, "damaged"),
        (3, "image"),
        (4, "image"),
    ]
    intact = validate_file(source, policy, pool=pool)
    assert _corrupt(intact) == []

    # The other pages' scan findings are those of the intact file.
    def scan_findings(r: object, pages: set[int]) -> set[tuple[str, int]]:
        found = r.findings  # type: ignore[attr-defined]
        return {
            (f.rule, f.location["page"])
            for f in found
            if f.rule.startswith("scan.") and f.location.get("page") in pages
        }

    assert scan_findings(intact, {1, 3, 4})
    assert scan_findings(report, {1, 3, 4}) == scan_findings(intact, {1, 3, 4})
    assert scan_findings(report, {2}) == set()


def _rewrite(source: Path, target: Path, change: dict[str, bytes]) -> None:
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info.filename, change.get(info.filename, zin.read(info)))


def test_a_picture_that_is_cut_short_is_damage_at_its_part(tmp_path: Path, pool: SandboxPool) -> None:
    """A full-page scan pasted into a DOCX whose JPEG is cut short (the package itself sound):
    file.corrupt names the picture's part; the document's text is still checked."""
    source = scan_fixtures() / "docx" / "fullpage_scan_300dpi.docx"
    with zipfile.ZipFile(source) as zf:
        (media,) = [n for n in zf.namelist() if n.startswith("word/media/")]
        jpeg = zf.read(media)
    damaged = tmp_path / "Скан в документе.docx"
    _rewrite(source, damaged, {media: jpeg[: len(jpeg) * 4 // 10]})
    report = validate_file(damaged, load_policy(), lang="ru", pool=pool)
    (finding,) = _corrupt(report)
    assert finding.location == {"part": media, "image": 1}
    assert media in finding.message and "отсканируйте" in finding.message
    assert report.text is not None
    assert _corrupt(validate_file(source, load_policy(), pool=pool)) == []


def test_a_content_types_part_that_does_not_inflate_is_named(
    generated: dict[str, Path], tmp_path: Path, pool: SandboxPool
) -> None:
    """Bits flipped inside the deflated [Content_Types].xml: the file is still known as a DOCX by
    its part names, and the finding names the part instead of the checker failing."""
    source = generated["Заявление о пересмотре.docx"]
    data = bytearray(source.read_bytes())
    with zipfile.ZipFile(source) as zf:
        info = zf.getinfo("[Content_Types].xml")
    assert info.compress_type == zipfile.ZIP_DEFLATED
    name_len = int.from_bytes(data[info.header_offset + 26 : info.header_offset + 28], "little")
    extra_len = int.from_bytes(data[info.header_offset + 28 : info.header_offset + 30], "little")
    start = info.header_offset + 30 + name_len + extra_len
    for offset in range(start + 2, start + info.compress_size - 2, 7):
        data[offset] ^= 0x5A
    damaged = tmp_path / "Заявление (повреждено).docx"
    damaged.write_bytes(bytes(data))
    report = validate_file(damaged, load_policy(), pool=pool)
    assert [f.rule for f in report.findings if f.rule.startswith("file.")] == ["file.corrupt"]
    assert report.findings[0].location == {"part": "[Content_Types].xml"}
    assert "[Content_Types].xml" in report.findings[0].message


def _generate_pdf_text_fixtures() -> None:
    spec = importlib.util.spec_from_file_location(
        "generate_pdfs_text", ROOT / "fixtures" / "generate_pdfs_text.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    module.generate(ROOT / "fixtures" / "generated" / "pdf_text")


def test_a_startxref_beyond_any_file_position_is_damage(
    generated: dict[str, Path], tmp_path: Path, pool: SandboxPool
) -> None:
    """A 30-digit startxref (seen from a repeated range): PDFium rebuilds the cross-reference
    and opens the file, pypdf overflows a file position; the structure is damaged."""
    data = generated["Заявление о пересмотре.pdf"].read_bytes()
    offset = list(re.finditer(rb"startxref\s+(\d+)", data))[-1]
    damaged = tmp_path / "Заявление (startxref).pdf"
    damaged.write_bytes(data[: offset.start(1)] + b"9" * 30 + data[offset.end(1) :])
    report = validate_file(damaged, load_policy(), pool=pool)
    assert [f.rule for f in report.findings if f.rule.startswith("file.")] == ["file.corrupt"]
    assert "OverflowError" in str(report.findings[0].observed)


def test_an_encryption_dictionary_that_contradicts_itself_is_damage(
    generated: dict[str, Path], tmp_path: Path, pool: SandboxPool
) -> None:
    """/U defined twice (as a repeated range makes it): PDFium takes the real one and opens the
    file without a password, pypdf takes the other and cannot decrypt it; that is damage."""
    data = generated["Заявление с ограничениями.pdf"].read_bytes()
    entry = re.search(rb"/U <[0-9a-f]+>\n", data)
    assert entry is not None
    damaged = tmp_path / "Заявление (шифрование).pdf"
    damaged.write_bytes(data[: entry.start()] + b"/U <" + b"0" * 64 + b">\n" + data[entry.start() :])
    report = validate_file(damaged, load_policy(), lang="kk", pool=pool)
    assert [f.rule for f in report.findings if f.rule.startswith("file.")] == ["file.corrupt"]
    assert "шифрлау сөздігі бүлінген" in report.findings[0].message


def test_a_package_part_without_a_name_is_damage(
    generated: dict[str, Path], tmp_path: Path, pool: SandboxPool
) -> None:
    """A ZIP directory entry whose name was zeroed away: zipfile cannot even ask whether it is a
    folder; the package is damaged."""
    damaged = tmp_path / "Заявление (безымянная часть).docx"
    with (
        zipfile.ZipFile(generated["Заявление о пересмотре.docx"]) as zin,
        zipfile.ZipFile(damaged, "w", zipfile.ZIP_DEFLATED) as zout,
    ):
        for info in zin.infolist():
            zout.writestr(info.filename, zin.read(info))
        zout.writestr(zipfile.ZipInfo(""), b"x")
    report = validate_file(damaged, load_policy(), pool=pool)
    assert [f.rule for f in report.findings if f.rule.startswith("file.")] == ["file.corrupt"]
    assert report.findings[0].observed == "a part with no name"


@pytest.fixture(scope="module")
def sources(generated: dict[str, Path], text_docs: dict[str, Path]) -> list[Path]:
    """The corpus (when present) and every generated fixture, all made first so that a seed
    names the same mutants on every machine."""
    scan_fixtures()
    _generate_pdf_text_fixtures()
    found = mutants.sources(*mutants.default_folders(ROOT))
    assert len(found) >= 50
    return found


def test_every_mutant_gets_a_verdict_and_no_checker_fails(
    sources: list[Path], tmp_path: Path, pool: SandboxPool
) -> None:
    count = int(os.environ.get("COURTDOC_MUTANTS", "250"))
    chosen = os.environ.get("COURTDOC_MUTANTS_SEED") or str(DEFAULT_SEED)
    seed = random.randrange(1 << 31) if chosen == "random" else int(chosen)
    if not mutants.default_folders(ROOT)[0].is_dir():
        print(f"the shared corpus is absent ({mutants.default_folders(ROOT)[0]}): fixtures only")
    print(f"mutants: seed {seed}, {count} mutants of {len(sources)} files (COURTDOC_MUTANTS_SEED={seed})")
    policy: Policy = load_policy()
    verdicts: Counter[str] = Counter()
    failed = []
    for outcome in mutants.check(sources, seed, count, tmp_path, policy, pool):
        verdicts[outcome.verdict] += 1
        if outcome.failures:
            failed.append(
                (outcome.mutant.index, str(outcome.mutant.source), outcome.mutant.detail, outcome.failures)
            )
    print(f"verdicts: {dict(verdicts)}")
    assert sum(verdicts.values()) == count
    assert set(verdicts) <= {"accept", "reject"}
    assert failed == [], f"seed {seed}: {failed}"
