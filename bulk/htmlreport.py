"""`report.html`: a bulk run's results as one self-contained page for the archivist.

Written by `courtdoc revalidate` into its output folder when a run ends: the counts of
summary.json (per verdict, rule, format and filing) drawn as inline SVG bar charts, the files with
the most rejecting findings first with their findings, and, after `--compare`, the verdicts that
changed (diff.jsonl). Everything is read from the run's own files in that folder and the page
loads nothing from anywhere (inline CSS, no script): it opens from disk. It names files by their
paths as results.jsonl does; it stays in the folder with them. Strings are in
core/data/report_html.toml (kk/ru/en); rule titles and finding messages come from the catalogue
and the results.
"""

from __future__ import annotations

import heapq
import json
import os
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jinja2

from ..core import messages

REPORT_HTML = "report.html"
STRINGS_PATH = Path(__file__).resolve().parents[1] / "core" / "data" / "report_html.toml"
TEMPLATES = Path(__file__).resolve().parent / "templates"
WORST_SHOWN = 100  # files listed with their findings
CHANGES_SHOWN = 500  # changed verdicts listed (diff.jsonl has them all)
CHART_BARS = 25  # bars per chart; the rest are counted under it
VERDICTS = ("accept", "reject", "error")
# Chart geometry, in SVG user units (the SVG scales to the page's width).
_LABEL_W, _BAR_W, _VALUE_W, _ROW_H, _BAR_H = 230, 380, 70, 24, 16


@cache
def _strings() -> dict[str, dict[str, str]]:
    with STRINGS_PATH.open("rb") as fh:
        data: dict[str, dict[str, str]] = tomllib.load(fh)["strings"]
    return data


def text(key: str, lang: str, **params: Any) -> str:
    """A string of the page in `lang` (kk, ru or en), its {placeholders} filled."""
    entry = _strings()[key]
    # Whole numbers are counts (CLDR plurals, grouped digits); the rest is text.
    types = {k: "count" for k, v in params.items() if isinstance(v, int) and not isinstance(v, bool)}
    return messages.fill(entry.get(lang) or entry["en"], lang, params, types, f"report_html.{key}")


# --- charts ---------------------------------------------------------------------------------------


@dataclass
class Segment:
    css: str  # the class that colours it: accept, reject, error, warn, info
    value: int
    x: float = 0.0
    width: float = 0.0


@dataclass
class Bar:
    key: str
    label: str
    segments: list[Segment]
    href: str | None = None
    hint: str = ""  # the bar's <title>: a rule's title, a long label in full
    y: float = 0.0

    @property
    def total(self) -> int:
        return sum(s.value for s in self.segments)


@dataclass
class Chart:
    id: str
    title: str
    bars: list[Bar]
    legend: list[tuple[str, str]] = field(default_factory=list)  # (css class, label)
    more: int = 0  # bars not drawn

    width: int = _LABEL_W + _BAR_W + _VALUE_W
    label_w: int = _LABEL_W
    bar_h: int = _BAR_H

    @property
    def height(self) -> int:
        return max(1, len(self.bars)) * _ROW_H + 4


def _layout(chart_id: str, title: str, bars: list[Bar], legend: list[tuple[str, str]] | None = None) -> Chart:
    """Place the bars: one row each, lengths proportional to the largest total."""
    shown, more = bars[:CHART_BARS], max(0, len(bars) - CHART_BARS)
    peak = max((b.total for b in shown), default=0) or 1
    for row, bar in enumerate(shown):
        bar.y = row * _ROW_H + 4
        x = float(_LABEL_W)
        for seg in bar.segments:
            seg.x, seg.width = x, seg.value / peak * _BAR_W
            x += seg.width
    return Chart(chart_id, title, shown, legend or [], more)


def _short(label: str, limit: int = 34) -> str:
    return label if len(label) <= limit else "…" + label[-(limit - 1) :]


def _verdict_segments(counts: dict[str, Any]) -> list[Segment]:
    return [Segment(v, int(counts.get(v, 0) or 0)) for v in VERDICTS]


def charts(summary: dict[str, Any], lang: str) -> list[Chart]:
    """The charts of summary.json: verdicts, files per rule, verdicts per format and per filing."""
    legend = [(v, text(v, lang)) for v in VERDICTS]
    verdicts = [
        Bar(v, text(v, lang), [Segment(v, int(summary["verdicts"].get(v, 0)))], href=None) for v in VERDICTS
    ]
    rules = [
        Bar(
            rule,
            _short(rule.split(":")[0]),
            [Segment(r["severity"], int(r["files"]))],
            href=f"#rule-{rule}",
            hint=messages.title(rule.split(":")[0], lang),
        )
        for rule, r in sorted(summary["rules"].items(), key=lambda kv: (-int(kv[1]["files"]), kv[0]))
    ]
    formats = []
    for fmt, counts in sorted(summary["formats"].items(), key=lambda kv: (-int(kv[1]["files"]), kv[0])):
        label = {"(unreadable)": text("fmt_unreadable", lang), "(not parsed)": text("fmt_unparsed", lang)}
        formats.append(Bar(fmt, label.get(fmt, fmt), _verdict_segments(counts)))
    filings = [
        Bar(name, _short(name), _verdict_segments(c), hint=name)
        for name, c in sorted(
            summary.get("by_filing", {}).items(),
            key=lambda kv: (-(int(kv[1]["reject"]) + int(kv[1]["error"])), -int(kv[1]["files"]), kv[0]),
        )
    ]
    severities = [(s, text(f"sev_{s}", lang)) for s in ("reject", "warn", "info")]
    out = [
        _layout("chart-verdicts", text("verdicts", lang), verdicts, legend),
        _layout("chart-rules", text("by_rule", lang), rules, severities),
        _layout("chart-formats", text("by_format", lang), formats, legend),
    ]
    if filings:
        out.append(_layout("chart-filings", text("by_filing", lang), filings, legend))
    return out


# --- the worst files and the changes --------------------------------------------------------------


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    if not path.is_file():
        return
    with path.open(encoding="utf-8") as fh:
        for raw in fh:
            if raw.strip():
                try:
                    yield json.loads(raw)
                except ValueError:  # a line cut by a crash: the run's own replay ignores it too
                    continue


def _where(location: dict[str, Any]) -> str:
    return ", ".join(f"{k} {v}" for k, v in location.items() if v not in (None, ""))


def worst_files(results: Path, shown: int = WORST_SHOWN) -> tuple[list[dict[str, Any]], int]:
    """The `shown` files with the most rejecting findings (then the most findings, then by path),
    and how many files have findings at all; reads results.jsonl once, holding `shown` at most."""
    # A min-heap of the best `shown` so far; ties go to the earlier line (-index is larger).
    heap: list[tuple[tuple[int, int], int, dict[str, Any]]] = []
    with_findings = 0
    for index, line in enumerate(_lines(results)):
        report = line.get("report") or {}
        findings = report.get("findings") or []
        if not findings and "error" not in line:
            continue
        with_findings += 1
        rejects = sum(1 for f in findings if f.get("severity") == "reject")
        key = (rejects + (1 if "error" in line else 0), len(findings))  # an unreadable file counts as one
        entry = {
            "source": line.get("source", ""),
            "path": line.get("path", ""),
            "filing_id": line.get("filing_id"),
            "verdict": report.get("verdict") or "error",
            "format": report.get("format") or "",
            "error": line.get("error"),
            "rejects": key[0],
            "findings": [
                {
                    "rule": f.get("rule", ""),
                    "severity": f.get("severity", ""),
                    "message": f.get("message", ""),
                    "where": _where(f.get("location") or {}),
                }
                for f in findings
            ],
        }
        item = (key, -index, entry)
        if len(heap) < shown:
            heapq.heappush(heap, item)
        elif item[:2] > heap[0][:2]:
            heapq.heapreplace(heap, item)
    ordered = sorted(heap, key=lambda i: (-i[0][0], -i[0][1], -i[1]))
    return [entry for _, _, entry in ordered], with_findings


def changes(diff_jsonl: Path, shown: int = CHANGES_SHOWN) -> list[dict[str, Any]]:
    """The first `shown` verdict changes of diff.jsonl, files first (its order)."""
    out: list[dict[str, Any]] = []
    for line in _lines(diff_jsonl):
        if len(out) >= shown:
            break
        out.append(line)
    return out


# --- the page -------------------------------------------------------------------------------------


def render(
    out: Path,
    summary: dict[str, Any],
    lang: str,
    *,
    compare: dict[str, Any] | None = None,
) -> str:
    """The page's HTML. `summary` is summary.json's content; `compare`, after `--compare`:
    {"old": what was compared against, "summary": DiffSummary.to_dict(), "diff": path of diff.jsonl}."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    worst, with_findings = worst_files(out / "results.jsonl")
    rules = [
        {"id": rule, "title": messages.title(rule.split(":")[0], lang), **r}
        for rule, r in sorted(summary["rules"].items(), key=lambda kv: (-int(kv[1]["files"]), kv[0]))
    ]
    diff = None
    if compare is not None:
        listed = changes(Path(compare["diff"]))
        diff = {"old": compare["old"], "summary": compare["summary"], "changes": listed}
    template = env.get_template("report.html.j2")
    return template.render(
        lang=lang,
        t=lambda key, **params: text(key, lang, **params),
        summary=summary,
        policy=summary["policy"],
        charts=charts(summary, lang),
        rules=rules,
        worst=worst,
        with_findings=with_findings,
        diff=diff,
        verdicts=VERDICTS,
    )


def write(out: Path, lang: str, *, compare: dict[str, Any] | None = None) -> Path:
    """Write DIR/report.html from DIR/summary.json and DIR/results.jsonl (atomically)."""
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    html = render(out, summary, lang, compare=compare)
    tmp = out / f".{REPORT_HTML}.tmp"
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out / REPORT_HTML)
    return out / REPORT_HTML
