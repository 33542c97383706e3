"""Filing verdicts of a bulk run: the filing-level rules over each filing's result lines.

After the files of a run are checked, each filing (a folder of a directory or ZIP source, or a
manifest's `filing_id`) is judged as a whole exactly as `courtdoc check --filing` would judge
it: `pipeline.validate_filing` over its file reports (read back from `results.jsonl`), with the
declared documents the manifest gives. The answers go to `filings.jsonl`, one line per filing
in filing-id order, rewritten whole (atomically) at the end of every invocation, and to the
index's `filings` table for the summary. One filing's lines are held at a time.

A manifest's `declared` cell is either
- a title: what the filing's list of attachments calls this file (an entry pinned to the file), or
- JSON (starting with `[` or `{`): the filing's declared list, or its whole metadata as in
  "Filing-level checks" (`declared`, `files`, `proceeding`, dates), given on any of its rows.
A filing without any declared cell is judged without a declared list (duplicates, the
application's own list of attachments). Stored filings are judged against their own filing
date: metadata with a `circumstances_date` but no `filing_date` gets no time-limit check, since
"today" is not when an archived filing was filed.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import pipeline
from ..checks.filing.metadata import CIRCUMSTANCES_KEYS, MetadataError, parse_metadata
from ..core.policy import Policy
from ..core.report import FileReport
from .sources import file_name

FILINGS = "filings.jsonl"
#: A "filing" with more files than this (a flat archive folder, say) is not judged as one
#: filing: the filing rules compare files pairwise, and no court filing is that large.
MAX_FILING_FILES = 500

_FILINGS_SCHEMA = """
CREATE TABLE IF NOT EXISTS filings (filing TEXT PRIMARY KEY, verdict TEXT NOT NULL, judged INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS filing_rules (filing TEXT NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL);
"""


@dataclass
class FilingCounts:
    filings: int = 0
    accept: int = 0
    reject: int = 0
    not_judged: int = 0  # too many files, or malformed metadata: verdict from the files alone


def _read_line(fh: Any, pos: int, length: int) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(os.pread(fh.fileno(), length, pos))
    return data


@dataclass
class _Group:
    filing: str
    spans: list[tuple[int, int]]  # (pos, len) of its lines, at most MAX_FILING_FILES + 1
    files: int = 0
    bad: int = 0  # files rejected or unreadable


def _filing_groups(db: sqlite3.Connection) -> Iterator[_Group]:
    """The run's filings in filing order; a group too large to judge keeps only its counts."""
    group: _Group | None = None
    for filing, pos, length, verdict in db.execute(
        "SELECT filing, pos, len, verdict FROM done WHERE filing IS NOT NULL ORDER BY filing, item"
    ):
        if group is None or filing != group.filing:
            if group is not None:
                yield group
            group = _Group(filing, [])
        group.files += 1
        group.bad += verdict != "accept"
        if len(group.spans) <= MAX_FILING_FILES:
            group.spans.append((pos, length))
    if group is not None:
        yield group


def _name(line: dict[str, Any]) -> str:
    return file_name(str(line["path"]))


def _placeholder(line: dict[str, Any]) -> FileReport:
    """An unreadable file still counts as one of the filing's files (for the count rules); its
    hash is made unique so two unreadable files are never taken for copies of each other."""
    return FileReport(_name(line), 0, f"unreadable:{line['source']}:{line['path']}", None, "reject")


def metadata_of(lines: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The filing's metadata from its rows' `declared` cells (see the module docstring).

    Raises MetadataError when the cells contradict each other or the JSON is malformed."""
    given: dict[str, Any] | None = None
    titles: list[dict[str, Any]] = []
    for line in lines:
        cell = line.get("declared")
        if not isinstance(cell, str) or not cell.strip():
            continue
        text = cell.strip()
        if text[0] in "[{":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                raise MetadataError(f"declared of {line['path']}: not valid JSON ({exc.msg})") from None
            meta = {"declared": data} if isinstance(data, list) else data
            if given is not None and meta != given:
                raise MetadataError("declared: two rows of the filing give different metadata")
            given = meta
        else:
            titles.append({"title": text, "filename": _name(line)})
    if given is None and not titles:
        return None
    meta = dict(given or {})
    if titles:
        if "declared" in meta:
            raise MetadataError("declared: given both as a list and as titles of single files")
        meta["declared"] = titles
    parse_metadata(meta)  # raises on a malformed value, naming the key
    if meta.get("filing_date") is None:
        for key in CIRCUMSTANCES_KEYS:
            meta.pop(key, None)
    return meta


def judge(lines: list[dict[str, Any]], filing: str, policy: Policy, lang: str) -> dict[str, Any]:
    """One filing's line for filings.jsonl. Its files are taken in name order, as
    `courtdoc check --filing` takes a folder's, so that ties are broken the same way."""
    lines = sorted(lines, key=lambda ln: (_name(ln), str(ln["path"]), str(ln["source"])))
    files = [{"source": ln["source"], "path": ln["path"]} for ln in lines]
    unreadable = any(ln.get("report") is None for ln in lines)
    file_verdicts = [ln["report"]["verdict"] if ln.get("report") else "error" for ln in lines]
    from_files = "accept" if all(v == "accept" for v in file_verdicts) else "reject"
    out: dict[str, Any] = {"filing_id": filing, "files": files}
    try:
        metadata = metadata_of(lines)
    except MetadataError as exc:
        out.update(verdict=from_files, not_judged=f"metadata: {exc}")
        return out
    reports = [FileReport.from_dict(ln["report"]) if ln.get("report") else _placeholder(ln) for ln in lines]
    report = pipeline.validate_filing(
        [], policy, reports=reports, filing_id=filing, lang=lang, metadata=metadata
    )
    out.update(
        verdict="reject" if unreadable else report.verdict,
        findings=[f.to_dict() for f in report.findings],
        matching=report.matching,
    )
    return out


def _too_large(group: _Group) -> dict[str, Any]:
    """A folder of more files than any filing (a flat archive folder, say): its files' verdicts
    are counted, its files not listed, and the filing rules not run."""
    return {
        "filing_id": group.filing,
        "file_count": group.files,
        "verdict": "reject" if group.bad else "accept",
        "not_judged": f"{group.files} files: more than {MAX_FILING_FILES}, not judged as one filing",
    }


def write(out: Path, db: sqlite3.Connection, results: Path, policy: Policy, lang: str) -> FilingCounts:
    """Judge every filing of the run; rewrite filings.jsonl and the index's `filings` table."""
    db.executescript(_FILINGS_SCHEMA)
    counts = FilingCounts()
    tmp = out / f".{FILINGS}.tmp"
    db.execute("BEGIN")
    try:
        db.execute("DELETE FROM filings")
        db.execute("DELETE FROM filing_rules")
        with open(results, "rb") as res, open(tmp, "w", encoding="utf-8") as fh:
            for group in _filing_groups(db):
                filing = group.filing
                if group.files > MAX_FILING_FILES:
                    line = _too_large(group)
                else:
                    line = judge([_read_line(res, p, n) for p, n in group.spans], filing, policy, lang)
                fh.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
                rules = sorted({(f["rule"], f["severity"]) for f in line.get("findings", [])})
                judged = "not_judged" not in line
                db.execute(
                    "INSERT INTO filings (filing, verdict, judged) VALUES (?,?,?)",
                    (filing, line["verdict"], judged),
                )
                db.executemany(
                    "INSERT INTO filing_rules (filing, rule, severity) VALUES (?,?,?)",
                    [(filing, rule, severity) for rule, severity in rules],
                )
                counts.filings += 1
                counts.accept += line["verdict"] == "accept"
                counts.reject += line["verdict"] != "accept"
                counts.not_judged += not judged
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, out / FILINGS)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        tmp.unlink(missing_ok=True)
        raise
    return counts
