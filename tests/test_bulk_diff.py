"""The diff against a run under a stricter policy lists exactly the files and filings that change."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bulk_fixtures import courtdoc

LIMIT = 4096  # bytes: the stricter policy's file size limit; the archive's larger PDFs exceed it


def test_diff_against_a_stricter_policy(
    small_archive: Path, small_reference: Path, bulk_policy: Path, tmp_path: Path
) -> None:
    strict = tmp_path / "strict.toml"
    text = bulk_policy.read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^max_file_bytes = .*$", f"max_file_bytes = {LIMIT}", text)
    assert n == 1
    strict.write_text(text.replace('version = "', 'version = "strict-', 1), encoding="utf-8")

    out = tmp_path / "strict-run"
    done = courtdoc(
        "revalidate",
        str(small_archive),
        "--policy",
        str(strict),
        "--out",
        str(out),
        "--jobs",
        "2",
        "--compare",
        str(small_reference / "results.jsonl"),
    )
    assert done.returncode == 0, done.stderr[-3000:]

    old = [json.loads(x) for x in (small_reference / "results.jsonl").read_text().splitlines()]
    # Expected from the old report alone: accepted files larger than the new limit now fail.
    expected_files = {
        r["path"] for r in old if r["report"]["verdict"] == "accept" and r["report"]["size"] > LIMIT
    }
    assert len(expected_files) > 5
    # A filing changes when it was accepted (its files and the filing-level rules) and now holds
    # a refused file.
    old_filings = [json.loads(x) for x in (small_reference / "filings.jsonl").read_text().splitlines()]
    filing_ok = {f["filing_id"]: f["verdict"] == "accept" for f in old_filings}
    assert sum(filing_ok.values()) > 5
    expected_filings = {
        r["filing_id"] for r in old if r["path"] in expected_files and filing_ok[r["filing_id"]]
    }

    changes = [json.loads(x) for x in (out / "diff.jsonl").read_text().splitlines()]
    files = [c for c in changes if c["kind"] == "file"]
    filings = [c for c in changes if c["kind"] == "filing"]
    assert {c["path"] for c in files} == expected_files
    assert all(c["old_verdict"] == "accept" and c["new_verdict"] == "reject" for c in files)
    assert all("file.too_large" in c["rules_fired"] for c in files)
    assert {c["filing_id"] for c in filings} == expected_filings
    assert all("file.too_large" in c["rules_fired"] for c in filings)

    again = courtdoc("diff", str(small_reference), str(out), "--format", "jsonl")
    assert again.returncode == 0, again.stderr
    assert [json.loads(x) for x in again.stdout.splitlines()] == changes
    text_out = courtdoc("diff", str(small_reference), str(out))
    assert f"{len(expected_files)} change verdict" in text_out.stderr
    assert "+file.too_large" in text_out.stdout
