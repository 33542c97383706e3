"""`summary.json` and `summary.csv`: counts per verdict, per rule, per format and per filing.

Both are computed from the run's index with SQL aggregates (so memory does not grow with the
archive) and hold nothing but what the result lines say: two runs with the same lines have the
same summary, however they were run. A filing's verdict is the one `filings.jsonl` gives (the
filing-level rules over its files; `reject` whenever any of its files is rejected or
unreadable); files outside any filing are counted in the totals only.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
from pathlib import Path
from typing import Any, TextIO

SUMMARY_JSON = "summary.json"
SUMMARY_CSV = "summary.csv"
_VERDICTS = ("accept", "reject", "error")


def _counts(row: tuple[Any, ...]) -> dict[str, int]:
    files, accept, reject, error = (int(v or 0) for v in row)
    return {"files": files, "accept": accept, "reject": reject, "error": error}


_COUNTS = "COUNT(*), SUM(verdict='accept'), SUM(verdict='reject'), SUM(verdict='error')"


def compute(db: sqlite3.Connection, policy: dict[str, str]) -> dict[str, Any]:
    """Everything but the per-filing table (which `write` streams)."""
    totals = _counts(db.execute(f"SELECT {_COUNTS} FROM done").fetchone())
    distinct = db.execute("SELECT COUNT(DISTINCT sha256) FROM done WHERE sha256 IS NOT NULL").fetchone()[0]
    rules: dict[str, dict[str, Any]] = {}
    for rule, severity, files in db.execute(
        "SELECT rule, severity, COUNT(DISTINCT item) FROM done_rules GROUP BY rule, severity ORDER BY rule, severity"
    ):
        rules[rule if rule not in rules else f"{rule}:{severity}"] = {"severity": severity, "files": files}
    formats = {
        fmt: _counts(row)
        for fmt, *row in db.execute(
            f"SELECT COALESCE(format, CASE verdict WHEN 'error' THEN '(unreadable)' ELSE '(not parsed)' END) AS f, "
            f"{_COUNTS} FROM done GROUP BY f ORDER BY f"
        )
    }
    filings = db.execute(
        "SELECT COUNT(*), SUM(verdict = 'accept'), SUM(verdict != 'accept'), SUM(judged = 0) FROM filings"
    ).fetchone()
    filing_rules: dict[str, dict[str, Any]] = {}
    for rule, severity, count in db.execute(
        "SELECT rule, severity, COUNT(DISTINCT filing) FROM filing_rules GROUP BY rule, severity "
        "ORDER BY rule, severity"
    ):
        key = rule if rule not in filing_rules else f"{rule}:{severity}"
        filing_rules[key] = {"severity": severity, "filings": count}
    return {
        "policy": policy,
        "files": totals["files"],
        "distinct_contents": distinct,
        "verdicts": {v: totals[v] for v in _VERDICTS},
        "rules": rules,
        "formats": formats,
        "filings": {
            "count": int(filings[0] or 0),
            "accept": int(filings[1] or 0),
            "reject": int(filings[2] or 0),
            "not_judged": int(filings[3] or 0),
            "rules": filing_rules,
        },
    }


def _filing_rows(db: sqlite3.Connection) -> Any:
    """(filing, files, accept, reject, error, filing verdict) per filing, in filing order."""
    return db.execute(
        f"SELECT d.filing, {_COUNTS}, (SELECT f.verdict FROM filings f WHERE f.filing = d.filing) "
        "FROM done d WHERE d.filing IS NOT NULL GROUP BY d.filing ORDER BY d.filing"
    )


def _write_json(fh: TextIO, summary: dict[str, Any], db: sqlite3.Connection) -> None:
    head = json.dumps(summary, ensure_ascii=False, indent=2)
    fh.write(head[: head.rstrip().rfind("}")].rstrip() + ',\n  "by_filing": {')
    first = True
    for filing, *row, verdict in _filing_rows(db):
        c: dict[str, Any] = dict(_counts(tuple(row)))
        c["verdict"] = verdict
        fh.write(("\n    " if first else ",\n    ") + json.dumps(filing, ensure_ascii=False) + ": ")
        fh.write(json.dumps(c, ensure_ascii=False))
        first = False
    fh.write("\n  }\n}\n" if not first else "}\n}\n")


def _write_csv(fh: TextIO, summary: dict[str, Any], db: sqlite3.Connection) -> None:
    out = csv.writer(fh, lineterminator="\n")
    out.writerow(["group", "key", "files", "accept", "reject", "error", "detail"])
    v = summary["verdicts"]
    out.writerow(["total", "", summary["files"], v["accept"], v["reject"], v["error"], ""])
    out.writerow(["distinct_contents", "", summary["distinct_contents"], "", "", "", ""])
    for rule, r in summary["rules"].items():
        out.writerow(["rule", rule, r["files"], "", "", "", r["severity"]])
    for fmt, c in summary["formats"].items():
        out.writerow(["format", fmt, c["files"], c["accept"], c["reject"], c["error"], ""])
    f = summary["filings"]
    out.writerow(["filings", "", f["count"], f["accept"], f["reject"], "", ""])
    for rule, r in f["rules"].items():
        out.writerow(["filing_rule", rule, r["filings"], "", "", "", r["severity"]])
    for filing, *row, verdict in _filing_rows(db):
        c = _counts(tuple(row))
        out.writerow(["filing", filing, c["files"], c["accept"], c["reject"], c["error"], verdict])


def write(out: Path, db: sqlite3.Connection, policy: dict[str, str]) -> dict[str, Any]:
    """Write both files atomically; returns the summary without the per-filing table."""
    summary = compute(db, policy)
    for name, writer in ((SUMMARY_JSON, _write_json), (SUMMARY_CSV, _write_csv)):
        tmp = out / f".{name}.tmp"
        with open(tmp, "w", encoding="utf-8", newline="") as fh:
            writer(fh, summary, db)
        os.replace(tmp, out / name)
    return summary
