"""What changes between two bulk runs (usually: the current policy against a proposed one).

Each side is a run directory or its `results.jsonl`. Files are matched by (source file name,
path inside the source, filing id), so two runs over the same archive match even when the
archive sat in different places. For every file whose verdict changes the diff names the rules
that newly fire, the rules that stop firing and the rules whose severity changed; for every
filing whose verdict changes, the same, summed over its files and the filing-level rules. A
filing's verdict is the one in `filings.jsonl` beside the results when both sides have one
(otherwise: rejected when any of its files is). Both sides are loaded into a temporary SQLite database, so the diff of two
million-line reports needs no more memory than that of two small ones.
"""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .filings import FILINGS
from .store import RESULTS, iter_lines

_BATCH = 2000


class DiffError(Exception):
    pass


def results_path(spec: str | Path) -> Path:
    path = Path(spec)
    if path.is_dir():
        path = path / RESULTS
    if not path.is_file():
        raise DiffError(f"{spec}: no results.jsonl there")
    return path


def _rules(line: dict[str, Any]) -> dict[str, str]:
    report = line.get("report")
    if report is None:
        return {"(unreadable)": "error"}
    return {f["rule"]: f["severity"] for f in report.get("findings", [])}


def _verdict(line: dict[str, Any]) -> str:
    report = line.get("report")
    return "error" if report is None else str(report["verdict"])


def _match_key(line: dict[str, Any]) -> str:
    source = os.path.basename(str(line.get("source", "")).rstrip("/"))
    return json.dumps([source, line["path"], line.get("filing_id")], ensure_ascii=False)


@dataclass
class Change:
    kind: str  # "file" | "filing"
    key: dict[str, Any]
    old: str
    new: str
    fired: list[str]
    stopped: list[str]
    severity_changed: dict[str, list[str]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            **self.key,
            "old_verdict": self.old,
            "new_verdict": self.new,
            "rules_fired": self.fired,
            "rules_stopped": self.stopped,
            "severity_changed": self.severity_changed,
        }


@dataclass
class DiffSummary:
    files_compared: int = 0
    files_changed: int = 0
    files_rules_only: int = 0  # same verdict, different rules
    only_in_old: int = 0
    only_in_new: int = 0
    filings_compared: int = 0
    filings_changed: int = 0
    transitions: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _compare(
    old_rules: dict[str, str], new_rules: dict[str, str]
) -> tuple[list[str], list[str], dict[str, list[str]]]:
    fired = sorted(set(new_rules) - set(old_rules))
    stopped = sorted(set(old_rules) - set(new_rules))
    changed = {
        r: [old_rules[r], new_rules[r]]
        for r in sorted(set(old_rules) & set(new_rules))
        if old_rules[r] != new_rules[r]
    }
    return fired, stopped, changed


class Diff:
    """Load both sides, then iterate the changes; `summary` is filled as they are iterated."""

    def __init__(self, old: str | Path, new: str | Path) -> None:
        self.old_path, self.new_path = results_path(old), results_path(new)
        self._dir = tempfile.TemporaryDirectory(prefix="courtdoc-diff-")
        self.db = sqlite3.connect(Path(self._dir.name) / "diff.sqlite")
        self.db.execute("PRAGMA journal_mode=OFF")
        self.db.execute("PRAGMA synchronous=OFF")
        for side in ("old", "new"):
            self.db.execute(
                f"CREATE TABLE {side} (k TEXT PRIMARY KEY, source TEXT, path TEXT, filing TEXT, "
                "verdict TEXT, rules TEXT)"
            )
        self._load("old", self.old_path)
        self._load("new", self.new_path)
        self.filing_verdicts = all(p.with_name(FILINGS).is_file() for p in (self.old_path, self.new_path))
        if self.filing_verdicts:
            for side, path in (("old", self.old_path), ("new", self.new_path)):
                self._load_filings(side, path.with_name(FILINGS))
        self.summary = DiffSummary()

    def _load_filings(self, side: str, path: Path) -> None:
        self.db.execute(f"CREATE TABLE {side}_filings (filing TEXT PRIMARY KEY, verdict TEXT, rules TEXT)")
        rows = (
            (
                line["filing_id"],
                line["verdict"],
                json.dumps({f["rule"]: f["severity"] for f in line.get("findings", [])}, sort_keys=True),
            )
            for line in iter_lines(path)
        )
        self._insert(f"INSERT OR REPLACE INTO {side}_filings VALUES (?,?,?)", rows)

    def _load(self, side: str, path: Path) -> None:
        rows = (
            (
                _match_key(line),
                line.get("source"),
                line["path"],
                line.get("filing_id"),
                _verdict(line),
                json.dumps(_rules(line), sort_keys=True),
            )
            for line in iter_lines(path)
        )
        self._insert(f"INSERT OR REPLACE INTO {side} VALUES (?,?,?,?,?,?)", rows)

    def _insert(self, sql: str, rows: Iterator[tuple[Any, ...]]) -> None:
        """Insert rows streamed from a file, `_BATCH` at a time (a file is never held whole)."""
        while batch := list(itertools.islice(rows, _BATCH)):
            self.db.executemany(sql, batch)
        self.db.commit()

    def files(self) -> Iterator[Change]:
        s = self.summary
        s.only_in_old = self.db.execute(
            "SELECT COUNT(*) FROM old WHERE k NOT IN (SELECT k FROM new)"
        ).fetchone()[0]
        s.only_in_new = self.db.execute(
            "SELECT COUNT(*) FROM new WHERE k NOT IN (SELECT k FROM old)"
        ).fetchone()[0]
        rows = self.db.execute(
            "SELECT n.source, n.path, n.filing, o.verdict, n.verdict, o.rules, n.rules "
            "FROM new n JOIN old o ON o.k = n.k ORDER BY n.path, n.filing, n.source"
        )
        for source, path, filing, old_v, new_v, old_r, new_r in rows:
            s.files_compared += 1
            if old_r == new_r and old_v == new_v:
                continue
            if old_v == new_v:
                s.files_rules_only += 1
                continue
            s.files_changed += 1
            t = f"{old_v}->{new_v}"
            s.transitions[t] = s.transitions.get(t, 0) + 1
            fired, stopped, changed = _compare(json.loads(old_r), json.loads(new_r))
            yield Change(
                "file",
                {"source": source, "path": path, "filing_id": filing},
                old_v,
                new_v,
                fired,
                stopped,
                changed,
            )

    def filings(self) -> Iterator[Change]:
        s = self.summary
        if self.filing_verdicts:
            judged = (
                ", (SELECT verdict FROM old_filings WHERE filing = n.filing), "
                "(SELECT verdict FROM new_filings WHERE filing = n.filing), "
                "(SELECT rules FROM old_filings WHERE filing = n.filing), "
                "(SELECT rules FROM new_filings WHERE filing = n.filing) "
            )
        else:
            judged = ", NULL, NULL, NULL, NULL "
        rows = self.db.execute(
            "SELECT n.filing, "
            "MAX(o.verdict != 'accept'), MAX(n.verdict != 'accept'), "
            f"json_group_array(o.rules), json_group_array(n.rules){judged}"
            "FROM new n JOIN old o ON o.k = n.k WHERE n.filing IS NOT NULL GROUP BY n.filing ORDER BY n.filing"
        )
        for filing, old_bad, new_bad, old_rules, new_rules, old_v, new_v, old_fr, new_fr in rows:
            s.filings_compared += 1
            old_v = old_v or ("reject" if old_bad else "accept")
            new_v = new_v or ("reject" if new_bad else "accept")
            if old_v == new_v:
                continue
            s.filings_changed += 1
            merged: list[dict[str, str]] = [json.loads(old_fr or "{}"), json.loads(new_fr or "{}")]
            for i, arr in enumerate((old_rules, new_rules)):
                for rules in json.loads(arr):
                    for rule, sev in json.loads(rules).items():
                        merged[i][rule] = max(merged[i].get(rule, ""), sev, key=_severity_rank)
            fired, stopped, changed = _compare(merged[0], merged[1])
            yield Change("filing", {"filing_id": filing}, old_v, new_v, fired, stopped, changed)

    def close(self) -> None:
        self.db.close()
        self._dir.cleanup()

    def __enter__(self) -> Diff:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _severity_rank(severity: str) -> int:
    return {"": 0, "info": 1, "warn": 2, "reject": 3, "error": 4}.get(severity, 0)


def format_change(c: Change) -> str:
    rules = [f"+{r}" for r in c.fired] + [f"-{r}" for r in c.stopped]
    rules += [f"{r}: {a}→{b}" for r, (a, b) in c.severity_changed.items()]
    what = (
        f"filing {c.key['filing_id']}"
        if c.kind == "filing"
        else f"{c.key['path']}" + (f"  [filing {c.key['filing_id']}]" if c.key.get("filing_id") else "")
    )
    return f"{c.old:>6} → {c.new:<6}  {what}  {' '.join(rules)}".rstrip()


def write_diff(diff: Diff, out: Path | None, text: Any = None, as_json: bool = False) -> DiffSummary:
    """Every change as JSON lines to `out` (when given) and to `text` (a writer), as text or JSON lines."""
    fh = open(out, "w", encoding="utf-8") if out is not None else None  # noqa: SIM115
    try:
        for change in itertools.chain(diff.files(), diff.filings()):
            if fh is not None:
                fh.write(json.dumps(change.to_dict(), ensure_ascii=False) + "\n")
            if text is not None:
                shown = json.dumps(change.to_dict(), ensure_ascii=False) if as_json else format_change(change)
                text.write(shown + "\n")
    finally:
        if fh is not None:
            fh.close()
    return diff.summary
