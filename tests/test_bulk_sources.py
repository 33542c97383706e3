"""The bulk sources: the streaming ZIP reader against zipfile, manifests, and directory walking."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest
from bulk_fixtures import run_here
from courtdoc.bulk.sources import DirectorySource, ManifestSource, SourceError, ZipSource, open_source
from courtdoc.bulk.zipstream import ZipFormatError, ZipStream


def _archive(path: Path, prefix: bytes = b"") -> dict[str, bytes]:
    members = {
        "F1/Доверенность.pdf": b"%PDF-1.4\n" + b"x" * 5000,
        "F1/stored.bin": bytes(range(256)) * 4,
        "F2/Исковое заявление.docx": b"PK\x03\x04 not really" * 300,
        "F2/empty.pdf": b"",
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.mkdir("F3")
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            info.compress_type = zipfile.ZIP_STORED if name.endswith(".bin") else zipfile.ZIP_DEFLATED
            with zf.open(info, "w", force_zip64=name.endswith(".docx")) as fh:
                fh.write(data)
    path.write_bytes(prefix + buf.getvalue())
    return members


@pytest.mark.parametrize("prefix", [b"", b"#!/bin/sh\nexit 0\n" * 10], ids=["plain", "prepended"])
def test_zip_entries_and_extracts_match_zipfile(tmp_path: Path, prefix: bytes) -> None:
    members = _archive(tmp_path / "a.zip", prefix)
    with ZipStream(str(tmp_path / "a.zip")) as zs:
        entries = [e for e in zs.entries() if not e.is_dir]
        assert [e.name for e in entries] == list(members)
        for entry in entries:
            out = io.BytesIO()
            zs.extract(entry, out)
            assert out.getvalue() == members[entry.name], entry.name


def test_a_damaged_member_is_refused_not_returned(tmp_path: Path) -> None:
    path = tmp_path / "a.zip"
    members = _archive(path)
    data = bytearray(path.read_bytes())
    at = data.find(bytes(range(256)))  # inside the stored member
    data[at + 10] ^= 0xFF
    path.write_bytes(bytes(data))
    with ZipStream(str(path)) as zs:
        entry = next(e for e in zs.entries() if e.name == "F1/stored.bin")
        with pytest.raises(ZipFormatError, match="checksum"):
            zs.extract(entry, io.BytesIO())
    assert members


def test_zip_source_items_carry_filings_and_extract_to_private_temp_files(tmp_path: Path) -> None:
    _archive(tmp_path / "a.zip")
    source = open_source(str(tmp_path / "a.zip"))
    assert isinstance(source, ZipSource)
    items = list(source.items())
    assert next((i.path, i.filing_id, i.name) for i in items) == (
        "F1/Доверенность.pdf",
        "F1",
        "Доверенность.pdf",
    )
    (tmp_path / "tmp").mkdir()
    mat = source.materialise(items[0], tmp_path / "tmp")
    assert mat.path.parent == tmp_path / "tmp" and "Доверенность" not in mat.path.name
    assert mat.size == 5009
    mat.release()
    assert not mat.path.exists()
    source.close()


def test_not_a_zip_is_a_source_error(tmp_path: Path) -> None:
    (tmp_path / "x.zip").write_bytes(b"nothing here")
    with pytest.raises(SourceError):
        open_source(str(tmp_path / "x.zip"))
    with pytest.raises(SourceError):
        open_source(str(tmp_path / "missing"))


def test_csv_manifest_with_and_without_header(tmp_path: Path) -> None:
    (tmp_path / "with.csv").write_text("filing_id,path\nA1,docs/a.pdf\n", encoding="utf-8")
    (tmp_path / "without.csv").write_text("docs/b.pdf,B2,Доверенность\n", encoding="utf-8")
    a = list(ManifestSource(str(tmp_path / "with.csv")).items())
    b = list(ManifestSource(str(tmp_path / "without.csv")).items())
    assert [(i.path, i.filing_id, i.declared, i.file) for i in a] == [
        ("docs/a.pdf", "A1", None, tmp_path / "docs" / "a.pdf")
    ]
    assert [(i.path, i.filing_id, i.declared) for i in b] == [("docs/b.pdf", "B2", "Доверенность")]


def test_directory_walk_skips_the_output_directory(tmp_path: Path) -> None:
    (tmp_path / "F1").mkdir()
    (tmp_path / "F1" / "a.pdf").write_bytes(b"1")
    (tmp_path / "top.pdf").write_bytes(b"2")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.jsonl").write_text("")
    items = sorted(DirectorySource(str(tmp_path), exclude=tmp_path / "out").items(), key=lambda i: i.path)
    assert [(i.path, i.filing_id) for i in items] == [("F1/a.pdf", "F1"), ("top.pdf", None)]


def test_zip64_archive_with_more_entries_than_the_classic_end_record_holds(tmp_path: Path) -> None:
    path = tmp_path / "many.zip"
    count = 65_600  # above 65,535: only the ZIP64 end record has the count
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(count):
            zf.writestr(f"F{i // 5}/{i}.pdf", str(i))
    with ZipStream(str(path)) as zs:
        assert zs.count == count
        last = None
        seen = 0
        for entry in zs.entries():
            seen += 1
            last = entry
        assert seen == count and last is not None and last.name == f"F{(count - 1) // 5}/{count - 1}.pdf"
        out = io.BytesIO()
        zs.extract(last, out)
        assert out.getvalue() == str(count - 1).encode()


def test_a_file_name_that_is_not_utf8_is_checked_and_reported(
    tmp_path: Path, bulk_policy: Path, bulk_pool: Any
) -> None:
    root = tmp_path / "archive"
    (root / "F1").mkdir(parents=True)
    (root / "F1" / "Договор.xlsx").write_bytes(b"")
    # A name written by a system in cp1251 ("Иск.pdf"): not UTF-8.
    with open(os.path.join(os.fsencode(root / "F1"), "Иск.pdf".encode("cp1251")), "wb") as fh:
        fh.write(b"%PDF-1.4\n")
    out = tmp_path / "out"
    _stats, totals = run_here([root], out, bulk_policy, bulk_pool)
    assert totals["files"] == 2
    paths = {
        json.loads(line)["path"] for line in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    }
    assert paths == {"F1/Договор.xlsx", "F1/\\xc8\\xf1\\xea.pdf"}
