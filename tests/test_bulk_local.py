"""Local bulk re-validation: one content checked once, copies reported as fresh checks, sources,
selection options, the lock and the run identity."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

from bulk_fixtures import courtdoc, lines, load_generator, run_here, without_source
from courtdoc import pipeline
from courtdoc.bulk.store import RunStore
from courtdoc.core.policy import default_policy, load_policy


def _ext(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    return ext.lower() if dot and stem else ""


def test_reference_run_reports_every_file_and_checks_each_content_once(
    bulk_archive: Path, bulk_reference: Path
) -> None:
    on_disk = [p for p in bulk_archive.rglob("*") if p.is_file()]
    assert len(on_disk) == 2000
    contents = {(hashlib.sha256(p.read_bytes()).hexdigest(), _ext(p.name)) for p in on_disk}
    results = [json.loads(line) for line in (bulk_reference / "results.jsonl").read_text().splitlines()]
    assert len(results) == 2000
    assert {r["path"] for r in results} == {str(p.relative_to(bulk_archive)) for p in on_disk}
    stats = json.loads((bulk_reference / "run.json").read_text())["runs"][-1]
    # Every distinct (bytes, claimed type) went to a check once; every other copy was replayed.
    assert stats["fresh"] == len(contents)
    assert stats["replayed"] == 2000 - len(contents)
    assert stats["replayed"] > 300
    summary = json.loads((bulk_reference / "summary.json").read_text())
    assert summary["files"] == 2000
    assert summary["verdicts"]["accept"] + summary["verdicts"]["reject"] == 2000
    assert summary["distinct_contents"] == len({sha for sha, _ in contents})
    # The hostile and broken files of the archive were seen for what they are.
    for rule in (
        "file.content_mismatch",
        "file.corrupt",
        "file.active_content",
        "file.archive_bomb",
        "file.empty",
    ):
        assert summary["rules"][rule]["files"] > 0, rule
    by_filing = summary["by_filing"]
    assert sum(f["files"] for f in by_filing.values()) == 2000
    assert summary["filings"]["count"] == len(by_filing)
    csv_rows = (bulk_reference / "summary.csv").read_text().splitlines()
    assert csv_rows[1].startswith("total,,2000,")
    assert sum(1 for row in csv_rows if row.startswith("filing,")) == len(by_filing)


def test_copies_get_the_report_a_fresh_check_gives(
    bulk_archive: Path, bulk_reference: Path, bulk_policy: Path
) -> None:
    results = [json.loads(line) for line in (bulk_reference / "results.jsonl").read_text().splitlines()]
    copies = Counter(r["report"]["sha256"] for r in results)
    replayed = [r for r in results if copies[r["report"]["sha256"]] > 1]
    names_per_content: dict[str, set[str]] = {}
    for r in replayed:
        names_per_content.setdefault(r["report"]["sha256"], set()).add(r["report"]["name"])
    assert any(len(names) > 1 for names in names_per_content.values()), "copies under other names expected"
    policy = load_policy(bulk_policy)
    for r in replayed[:60]:
        fresh = pipeline.validate_file(bulk_archive / r["path"], policy, lang="en")
        assert fresh.to_dict() == r["report"], r["path"]


def test_zip_and_manifest_sources_give_the_same_reports_as_the_directory(
    tmp_path: Path, bulk_policy: Path, bulk_pool: Any
) -> None:
    gen = load_generator()
    root = gen.generate(tmp_path / "arch", 150, seed=3)
    archive = gen.generate(tmp_path / "arch", 150, seed=3, kind="zip")
    manifest = tmp_path / "arch" / "manifest-150-3.csv"
    outs = {}
    for label, source in (("dir", root), ("zip", archive), ("manifest", manifest)):
        outs[label] = tmp_path / f"out-{label}"
        run_here([source], outs[label], bulk_policy, bulk_pool)
    by_dir = without_source(lines(outs["dir"]))
    assert len(by_dir) == 150
    assert without_source(lines(outs["zip"])) == by_dir
    from_manifest = set()
    for entry in lines(outs["manifest"]):
        data = json.loads(entry)
        assert data["declared"], "the manifest's declared title is carried"
        data.pop("source")
        data["declared"] = None
        data["path"] = data["path"].split("/", 1)[1]  # the manifest names paths from its own folder
        from_manifest.add(json.dumps(data, sort_keys=True, ensure_ascii=False))
    assert from_manifest == by_dir
    assert (
        json.loads((outs["zip"] / "summary.json").read_text())["by_filing"]
        == json.loads((outs["dir"] / "summary.json").read_text())["by_filing"]
    )


def test_manifest_rows_that_cannot_be_read_get_an_error_line(
    tmp_path: Path, bulk_policy: Path, bulk_pool: Any
) -> None:
    good = tmp_path / "Доверенность.pdf"
    good.write_bytes(b"%PDF-1.4\n")
    manifest = tmp_path / "list.jsonl"
    manifest.write_text(
        '{"path": "Доверенность.pdf", "filing_id": "A1"}\n'
        '{"path": "missing/Справка.pdf", "filing_id": "A1"}\n'
        "not json\n",
        encoding="utf-8",
    )
    run_here([manifest], tmp_path / "out", bulk_policy, bulk_pool)
    got = {json.loads(x)["path"]: json.loads(x) for x in lines(tmp_path / "out")}
    assert got["Доверенность.pdf"]["report"]["verdict"] == "reject"
    assert got["missing/Справка.pdf"]["error"].startswith("cannot read")
    assert got["<row 3>"]["error"] == "row 3: not valid JSON"
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["verdicts"] == {"accept": 0, "reject": 1, "error": 2}
    assert summary["by_filing"]["A1"]["verdict"] == "reject"


def test_a_second_run_on_the_same_out_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "Доверенность.pdf").write_bytes(b"%PDF-1.4\n")
    out = tmp_path / "out"
    policy = default_policy()
    identity = {
        "policy": policy.summary(),
        "sources": [str(src.resolve())],
        "lang": "en",
        "limit": None,
        "only_format": None,
        "sample": None,
    }
    holder = RunStore(out, identity)  # what a running revalidate holds
    try:
        done = courtdoc("revalidate", str(src), "--out", str(out))
        assert done.returncode == 2
        assert "in use by another revalidate run" in done.stderr
    finally:
        holder.close()
    RunStore(out, identity).close()  # released with its holder


def test_a_rerun_under_another_policy_or_selection_is_refused(
    tmp_path: Path, bulk_policy: Path, bulk_pool: Any
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "Доверенность.pdf").write_bytes(b"%PDF-1.4\n")
    out = tmp_path / "out"
    run_here([src], out, bulk_policy, bulk_pool)
    done = courtdoc("revalidate", str(src), "--out", str(out))  # the shipped policy
    assert done.returncode == 2 and "different policy" in done.stderr
    done = courtdoc("revalidate", str(src), "--out", str(out), "--policy", str(bulk_policy), "--limit", "5")
    assert done.returncode == 2 and "different limit" in done.stderr


def test_a_cut_results_file_is_repaired_and_completed(
    small_archive: Path, small_reference: Path, bulk_policy: Path, bulk_pool: Any, tmp_path: Path
) -> None:
    """Lines lost after the index saw them (a power cut) and a partial last line: the rerun repairs both."""
    out = tmp_path / "out"
    shutil.copytree(small_reference, out)
    data = (out / "results.jsonl").read_bytes()
    cut = len(data) // 3 + 17
    (out / "results.jsonl").write_bytes(data[:cut])
    assert not data[:cut].endswith(b"\n")
    run_here([small_archive], out, bulk_policy, bulk_pool)
    assert lines(out) == lines(small_reference)
    assert (out / "summary.json").read_bytes() == (small_reference / "summary.json").read_bytes()
    stats = json.loads((out / "run.json").read_text())["runs"][-1]
    assert 0 < stats["already_done"] < 400
    assert stats["fresh"] < 400 - stats["already_done"]  # records kept: copies of checked contents replayed


def test_limit_only_format_and_sample(
    bulk_archive: Path, bulk_policy: Path, bulk_pool: Any, tmp_path: Path
) -> None:
    run_here([bulk_archive], tmp_path / "l", bulk_policy, bulk_pool, limit=25)
    assert len(lines(tmp_path / "l")) == 25
    run_here([bulk_archive], tmp_path / "f", bulk_policy, bulk_pool, only_format="jpeg", limit=40)
    got = [json.loads(x) for x in lines(tmp_path / "f")]
    assert len(got) == 40 and all(_ext(g["path"]) in ("jpg", "jpeg") for g in got)
    samples = []
    for name in ("s1", "s2"):
        run_here([bulk_archive], tmp_path / name, bulk_policy, bulk_pool, sample=30)
        samples.append(lines(tmp_path / name))
    assert len(samples[0]) == 30 and samples[0] == samples[1]
    paths = {json.loads(x)["path"] for x in samples[0]}
    assert len({p.split("/")[0] for p in paths}) > 20, (
        "a sample spread over the archive, not its first filings"
    )


def test_files_that_hit_the_time_limit_are_reported_and_the_run_goes_on(
    bulk_policy: Path, bulk_pool: Any, tmp_path: Path
) -> None:
    """A check that overruns is killed at the policy's limit and becomes a finding; its copies
    are answered from the record of that outcome, as a fresh check would answer them."""
    gen = load_generator()
    root = gen.generate(tmp_path / "arch", 40, seed=9)
    hasty = tmp_path / "hasty.toml"
    text = re.sub(
        r"(?m)^time_limit_seconds = .*$", "time_limit_seconds = 0.001", bulk_policy.read_text("utf-8")
    )
    hasty.write_text(text, encoding="utf-8")
    stats, totals = run_here([root], tmp_path / "out", hasty, bulk_pool)
    assert totals["files"] == 40
    results = [json.loads(x) for x in lines(tmp_path / "out")]
    timed_out = [
        r for r in results if any(f["rule"] == "file.check_timeout" for f in r["report"]["findings"])
    ]
    assert len(timed_out) > 20
    assert stats.replayed > 0
    policy = load_policy(hasty)
    copies = Counter(r["report"]["sha256"] for r in timed_out)
    for r in timed_out:
        if copies[r["report"]["sha256"]] > 1:
            fresh = pipeline.validate_file(root / r["path"], policy, pool=bulk_pool)
            assert fresh.to_dict() == r["report"]
