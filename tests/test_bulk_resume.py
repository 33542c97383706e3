"""A run SIGKILLed at a random moment and resumed gives the uninterrupted run's report, and no
content is checked twice: each content's check is logged once, across both runs together."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from bulk_fixtures import courtdoc, lines


def _checked_contents(log: Path) -> list[str]:
    out = []
    for raw in log.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(raw)
        except json.JSONDecodeError:
            continue  # the killed run's last line may be cut
        if isinstance(event, dict) and event.get("event") == "content.checked":
            out.append(event["content"])
    return out


def _parsed_records(out: Path) -> set[str]:
    """Contents whose kept record shows a sandbox run (records.log: key, tab, record JSON)."""
    keys = set()
    for raw in (out / "records.log").read_text(encoding="utf-8").splitlines():
        key, _, record = raw.partition("\t")
        if json.loads(record):
            keys.add(key)
    return keys


def _count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as fh:
            return fh.read().count(b"\n")
    except FileNotFoundError:
        return 0


def test_sigkill_at_a_random_moment_then_resume(
    small_archive: Path, small_reference: Path, bulk_policy: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    results = out / "results.jsonl"
    rng = random.Random()
    kill_after = rng.randint(20, 380)
    first_log = tmp_path / "first.log"
    with open(first_log, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "courtdoc.cli.main",
                "revalidate",
                str(small_archive),
                "--out",
                str(out),
                "--policy",
                str(bulk_policy),
                "--jobs",
                "2",
                "--log-level",
                "debug",
            ],
            stdout=subprocess.DEVNULL,
            stderr=log,
            start_new_session=True,
        )
        deadline = time.monotonic() + 240
        while proc.poll() is None and _count_lines(results) < kill_after and time.monotonic() < deadline:
            time.sleep(rng.uniform(0.0, 0.03))
        os.killpg(proc.pid, signal.SIGKILL)  # the driver and its sandbox children, at once
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"the run ended before the kill ({kill_after} lines)"
    written = results.read_bytes()
    complete = written[: written.rfind(b"\n") + 1]
    for raw in complete.splitlines():
        json.loads(raw)  # everything up to the last newline is valid JSONL
    lines_before = complete.count(b"\n")
    assert 0 < lines_before < 400

    second = courtdoc(
        "revalidate",
        str(small_archive),
        "--out",
        str(out),
        "--policy",
        str(bulk_policy),
        "--jobs",
        "2",
        "--log-level",
        "debug",
    )
    assert second.returncode == 0, second.stderr[-3000:]
    second_log = tmp_path / "second.log"
    second_log.write_text(second.stderr, encoding="utf-8")

    assert lines(out) == lines(small_reference)
    assert (out / "summary.json").read_bytes() == (small_reference / "summary.json").read_bytes()
    assert (out / "summary.csv").read_bytes() == (small_reference / "summary.csv").read_bytes()
    stats = json.loads((out / "run.json").read_text())["runs"][-1]
    assert stats["already_done"] >= lines_before

    checked = _checked_contents(first_log) + _checked_contents(second_log)
    twice = [key for key, n in Counter(checked).items() if n > 1]
    assert twice == [], f"checked again after the resume: {twice}"
    # The kill may land after a check's record was kept and before its log event was written:
    # that content was checked once (its record shows the sandbox run) and is not checked again.
    unlogged = _parsed_records(out) - set(checked)
    assert len(unlogged) <= 1, f"checked without a log event: {unlogged}"
    reference = json.loads((small_reference / "run.json").read_text())["runs"][-1]
    assert len(checked) + len(unlogged) == reference["checked"]


_OLD_LAYOUT_RUN = Path(__file__).resolve().parent / "data" / "old-layout-run"


def _judged(lines: list[str]) -> dict[str, tuple[str, list[tuple[str, str]]]]:
    """Each line's verdict and (rule, severity) pairs, by path."""
    out = {}
    for raw in lines:
        line = json.loads(raw)
        report = line["report"]
        out[line["path"]] = (report["verdict"], sorted((f["rule"], f["severity"]) for f in report["findings"]))
    return out


def test_a_run_written_by_the_previous_layout_resumes(tmp_path: Path) -> None:
    """Records written before the modules moved name them by their old paths, and the run's
    policy hash is the one earlier versions computed (the file's bytes alone): the resumed run
    is accepted, replays the records (no content checked again) and writes the lines the cut
    removed as the previous version wrote them."""
    archive = tmp_path / "archive"
    out = tmp_path / "out"
    shutil.copytree(_OLD_LAYOUT_RUN / "archive", archive)
    shutil.copytree(_OLD_LAYOUT_RUN / "out", out)
    # A court's own policy file, written for that version (a severity for every rule it knew).
    shutil.copy(_OLD_LAYOUT_RUN / "court-policy.toml", tmp_path / "court-policy.toml")
    policy = ("--policy", "court-policy.toml")
    records = (out / "records.log").read_text(encoding="utf-8")
    assert '"courtdoc.report:' in records and '"courtdoc.pipeline:inspect"' in records
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    run["identity"]["sources"] = [str(archive)]  # the archive was at this path when it ran
    (out / "run.json").write_text(json.dumps(run), encoding="utf-8")

    # Given as it was when the run started: relative to the folder the command runs in.
    resumed = courtdoc("revalidate", "archive", "--out", "out", "--jobs", "1", *policy, cwd=tmp_path)
    assert resumed.returncode in (0, 1), resumed.stderr[-3000:]
    stats = json.loads((out / "run.json").read_text(encoding="utf-8"))["runs"][-1]
    assert stats["already_done"] == 2
    assert stats["checked"] == 0, "a content recorded by the previous layout was checked again"
    assert stats["replayed"] == 2

    # The lines the cut removed are written again as the previous version wrote them: a copy
    # replays its content's record, so every copy in a run carries its content's report.
    written = (out / "results.jsonl").read_text(encoding="utf-8").splitlines()
    cut_off = (_OLD_LAYOUT_RUN / "cut-off.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(written) == 4
    resumed_lines = _judged(written[2:])
    assert resumed_lines == _judged(cut_off)


def test_a_run_resumed_with_its_source_spelt_another_way_skips_what_is_done(tmp_path: Path) -> None:
    """The same folder given relative, then absolute: the second run finds every line done and
    writes none again (the results keep the first spelling)."""
    archive = tmp_path / "archive"
    shutil.copytree(_OLD_LAYOUT_RUN / "archive", archive)
    first = courtdoc("revalidate", "archive", "--out", "out", "--jobs", "1", cwd=tmp_path)
    assert first.returncode in (0, 1), first.stderr[-3000:]
    again = courtdoc("revalidate", str(archive), "--out", str(tmp_path / "out"), "--jobs", "1")
    assert again.returncode in (0, 1), again.stderr[-3000:]
    lines = (tmp_path / "out" / "results.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4
    assert {json.loads(line)["source"] for line in lines} == {"archive"}
    stats = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))["runs"][-1]
    assert stats["already_done"] == 4 and stats["written"] == 0
