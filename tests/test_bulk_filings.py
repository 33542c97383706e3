"""Filing verdicts in bulk runs: the filing-level rules judge each filing of an archive as
`courtdoc check --filing` does, from the manifest's declared documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import filing_fixtures
from bulk_fixtures import run_here
from courtdoc.bulk import filings as bulk_filings
from courtdoc.bulk.diff import Diff
from courtdoc.core.policy import DEFAULT_POLICY_PATH, default_policy
from filing_fixtures import filing_paths

pytest_plugins = ["file_fixtures"]

filings = filing_fixtures.filings
file_reports = filing_fixtures.file_reports
filing_reports = filing_fixtures.filing_reports


def _rules(findings: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return sorted((f["rule"], f["severity"]) for f in findings)


def _filing_lines(out: Path) -> dict[str, dict[str, Any]]:
    lines = [json.loads(ln) for ln in (out / bulk_filings.FILINGS).read_text(encoding="utf-8").splitlines()]
    return {ln["filing_id"]: ln for ln in lines}


def test_manifest_filings_get_the_verdict_of_a_filing_check(
    tmp_path: Path, filings: Path, filing_reports: Any, bulk_pool: Any
) -> None:
    manifest = tmp_path / "manifest.jsonl"
    cases = sorted(p.name for p in filings.iterdir() if p.is_dir())
    dates: dict[str, str] = {}
    with open(manifest, "w", encoding="utf-8") as fh:
        for case in cases:
            files, meta = filing_paths(filings / case)
            # The deadline is judged against the filing's own date; the fixtures' reports use a
            # fixed "today", which an archived filing does not have.
            dates[case] = str(meta.setdefault("filing_date", "2024-03-20"))
            for i, path in enumerate(files):
                row = {"path": str(path), "filing_id": case}
                if i == 0:
                    row["declared"] = json.dumps(meta, ensure_ascii=False)
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    out = tmp_path / "out"
    run_here([manifest], out, DEFAULT_POLICY_PATH, bulk_pool)
    judged = _filing_lines(out)
    assert sorted(judged) == cases
    for case in cases:
        line = judged[case]
        if "not_judged" in line:  # a malformed metadata case: the CLI refuses it the same way
            assert line["not_judged"].startswith("metadata: "), case
            continue
        expected = filing_reports(case, filing_date=dates[case])
        assert line["verdict"] == expected.verdict, case
        assert _rules(line["findings"]) == _rules([f.to_dict() for f in expected.findings]), case
        assert line["matching"] == expected.matching, case
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["filings"]["count"] == len(cases)
    assert summary["filings"]["reject"] == sum(ln["verdict"] == "reject" for ln in judged.values())
    assert summary["filings"]["rules"]["filing.count_mismatch"]["filings"] >= 1
    for case, entry in summary["by_filing"].items():
        assert entry["verdict"] == judged[case]["verdict"], case


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_per_file_titles_and_duplicates_make_a_filing_verdict(
    tmp_path: Path, generated: dict[str, Path], bulk_pool: Any
) -> None:
    """Every file accepted alone, yet the filing is refused: the same bytes twice (a reject)."""
    sheet = generated["Расчёт суммы иска.xlsx"].read_bytes()
    a = _write(tmp_path / "a" / "Расчёт суммы иска.xlsx", sheet)
    b = _write(tmp_path / "a" / "Расчёт пени.xlsx", sheet)
    manifest = tmp_path / "manifest.csv"
    manifest.write_text(
        "path,filing_id,declared\n"
        f"{a},F-1,Расчёт суммы иска\n"
        f"{b},F-1,Расчёт пени\n"
        f"{a},F-2,Расчёт суммы иска\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    run_here([manifest], out, DEFAULT_POLICY_PATH, bulk_pool)
    results = [json.loads(ln) for ln in (out / "results.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {r["report"]["verdict"] for r in results} == {"accept"}
    judged = _filing_lines(out)
    assert judged["F-1"]["verdict"] == "reject"
    assert ("filing.duplicate", "reject") in _rules(judged["F-1"]["findings"])
    assert judged["F-2"]["verdict"] == "accept"
    declared_rows = [row for row in judged["F-1"]["matching"] if row.get("list") == "declared"]
    assert sorted(row["title"] for row in declared_rows) == ["Расчёт пени", "Расчёт суммы иска"]
    assert all(row["file"] for row in declared_rows)
    assert _rules(judged["F-2"]["findings"]) == []

    # Under a policy where the same bytes twice only warn, the diff names the filing, and why.
    lenient = tmp_path / "lenient.toml"
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    assert default_policy().rules["filing.duplicate"] == "reject"
    text = text.replace("\n[rules]\n", '\n[rules]\n"filing.duplicate" = "warn"\n', 1)
    lenient.write_text(text.replace('version = "', 'version = "lenient-', 1), encoding="utf-8")
    run_here([manifest], tmp_path / "lenient", lenient, bulk_pool)
    with Diff(out, tmp_path / "lenient") as diff:
        file_changes = list(diff.files())
        filing_changes = [c.to_dict() for c in diff.filings()]
    assert file_changes == []
    assert filing_changes == [
        {
            "kind": "filing",
            "filing_id": "F-1",
            "old_verdict": "reject",
            "new_verdict": "accept",
            "rules_fired": [],
            "rules_stopped": [],
            "severity_changed": {"filing.duplicate": ["reject", "warn"]},
        }
    ]


def test_malformed_declared_cell_is_reported_not_fatal(tmp_path: Path, filings: Path, bulk_pool: Any) -> None:
    files, _meta = filing_paths(filings / "ru_all_match")
    manifest = tmp_path / "manifest.jsonl"
    rows = [{"path": str(files[0]), "filing_id": "F", "declared": '[{"title": '}]
    manifest.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    run_here([manifest], out, DEFAULT_POLICY_PATH, bulk_pool)
    line = _filing_lines(out)["F"]
    assert line["not_judged"].startswith("metadata: declared of ")
    assert line["verdict"] in ("accept", "reject")
    assert json.loads((out / "summary.json").read_text())["filings"]["not_judged"] == 1


def test_a_folder_larger_than_any_filing_is_counted_not_judged(
    tmp_path: Path, generated: dict[str, Path], bulk_pool: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(bulk_filings, "MAX_FILING_FILES", 2)
    sheet = generated["Расчёт суммы иска.xlsx"].read_bytes()
    for name in ("Расчёт 1.xlsx", "Расчёт 2.xlsx", "Расчёт 3.xlsx"):
        _write(tmp_path / "archive" / "2025" / name, sheet)  # copies: filing.duplicate if judged
    _write(tmp_path / "archive" / "F-small" / "Расчёт.xlsx", sheet)
    out = tmp_path / "out"
    run_here([tmp_path / "archive"], out, DEFAULT_POLICY_PATH, bulk_pool)
    judged = _filing_lines(out)
    assert judged["2025"] == {
        "filing_id": "2025",
        "file_count": 3,
        "verdict": "accept",
        "not_judged": "3 files: more than 2, not judged as one filing",
    }
    assert judged["F-small"]["verdict"] == "accept" and "not_judged" not in judged["F-small"]
    assert json.loads((out / "summary.json").read_text())["filings"]["not_judged"] == 1


def test_an_archived_filing_is_timed_against_its_own_filing_date_only() -> None:
    meta = {"proceeding": "civil", "circumstances_date": "2020-01-10"}
    row = {"source": "m.jsonl", "path": "a/Арыз.pdf", "declared": json.dumps(meta)}
    undated = bulk_filings.metadata_of([row])
    assert undated == {"proceeding": "civil"}  # no "today" for a filing made years ago
    dated = bulk_filings.metadata_of([{**row, "declared": json.dumps({**meta, "filing_date": "2020-06-01"})}])
    assert dated == {**meta, "filing_date": "2020-06-01"}
    undeclared = {"source": "m.jsonl", "path": "a/b.pdf"}
    titles = bulk_filings.metadata_of([{**row, "declared": "Исковое заявление"}, undeclared])
    assert titles == {"declared": [{"title": "Исковое заявление", "filename": "Арыз.pdf"}]}
