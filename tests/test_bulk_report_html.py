"""report.html of `courtdoc revalidate`: parses, draws the run's counts as inline SVG charts,
lists the worst files first, shows the changed verdicts after --compare, loads nothing."""

from __future__ import annotations

import json
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from bulk_fixtures import courtdoc


class _Page(HTMLParser):
    """What the tests read back: chart bars and segments, table rows, external references."""

    def __init__(self) -> None:
        super().__init__()
        self.chart: str | None = None
        self.bars: dict[str, dict[str, int]] = {}  # chart id → bar key → total
        self.segments: dict[str, Counter[str]] = {}  # chart id → segment class → sum of values
        self.worst: list[tuple[str, int]] = []
        self.changes: list[tuple[str, str, str]] = []
        self.ids: set[str] = set()
        self.hrefs: list[str] = []
        self.external: list[str] = []
        self.tags: Counter[str] = Counter()
        self.lang = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags[tag] += 1
        if tag == "html":
            self.lang = a.get("lang", "")
        if "id" in a:
            self.ids.add(a["id"])
        if tag == "svg" and "chart" in a.get("class", ""):
            self.chart = a["id"]
            self.bars[self.chart], self.segments[self.chart] = {}, Counter()
        elif tag == "g" and self.chart and a.get("class") == "bar":
            self.bars[self.chart][a["data-key"]] = int(a["data-total"])
        elif tag == "rect" and self.chart:
            css = a["class"].split()[-1]
            self.segments[self.chart][css] += int(a["data-value"])
        elif tag == "tr" and a.get("class") == "worst":
            self.worst.append((a["data-path"], int(a["data-rejects"])))
        elif tag == "tr" and a.get("class") == "change":
            self.changes.append((a["data-kind"], a["data-old"], a["data-new"]))
        for key in ("href", "src"):
            if key in a:
                (self.hrefs if a[key].startswith("#") else self.external).append(a[key])
        if tag in ("script", "link", "img", "iframe"):
            self.external.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self.chart = None


def _page(out: Path) -> _Page:
    page = _Page()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    page.close()
    return page


def _results(out: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in (out / "results.jsonl").read_text(encoding="utf-8").splitlines() if x]


def _verdict(line: dict[str, Any]) -> str:
    return (line.get("report") or {}).get("verdict") or "error"


def test_report_html_draws_the_run(small_reference: Path) -> None:
    lines = _results(small_reference)
    page = _page(small_reference)
    assert page.lang == "en"
    assert {"chart-verdicts", "chart-rules", "chart-formats", "chart-filings"} <= set(page.bars)
    # nothing is fetched: no script, no stylesheet link, no image, no absolute URL
    assert page.external == [] and page.tags["style"] == 1
    assert all(h[1:] in page.ids for h in page.hrefs), set(h for h in page.hrefs if h[1:] not in page.ids)

    # the counts, from results.jsonl itself
    verdicts = Counter(_verdict(line) for line in lines)
    assert page.bars["chart-verdicts"] == {v: verdicts[v] for v in ("accept", "reject", "error")}
    assert sum(page.bars["chart-verdicts"].values()) == len(lines) > 100
    per_rule: Counter[str] = Counter()
    per_format: dict[str, Counter[str]] = {}
    for line in lines:
        report = line.get("report") or {}
        per_rule.update({f["rule"] for f in report.get("findings", [])})
        fmt = report.get("format") or ("(unreadable)" if _verdict(line) == "error" else "(not parsed)")
        per_format.setdefault(fmt, Counter())[_verdict(line)] += 1
    drawn_rules = page.bars["chart-rules"]
    assert len(drawn_rules) == min(25, len(per_rule))
    assert all(per_rule[rule.split(":")[0]] == n for rule, n in drawn_rules.items())
    assert sorted(drawn_rules.values(), reverse=True) == list(drawn_rules.values())  # most frequent first
    assert page.bars["chart-formats"] == {f: sum(c.values()) for f, c in per_format.items()}
    assert page.segments["chart-formats"] == sum(per_format.values(), Counter())
    filings = Counter(line["filing_id"] for line in lines if line.get("filing_id"))
    assert len(page.bars["chart-filings"]) == min(25, len(filings))
    assert all(filings[f] == n for f, n in page.bars["chart-filings"].items())

    # the worst file first: the most rejecting findings, then the most findings, then the earliest line
    keyed = []
    for index, line in enumerate(lines):
        findings = (line.get("report") or {}).get("findings", [])
        if findings or "error" in line:
            rejects = sum(f["severity"] == "reject" for f in findings) + ("error" in line)
            keyed.append(((-rejects, -len(findings), index), line["path"], rejects))
    expected = [(path, rejects) for _, path, rejects in sorted(keyed)[:100]]
    assert len({k[:2] for k, _, _ in keyed}) >= 3  # the archive has files to tell apart
    assert page.worst == expected
    assert {f"file-{i}" for i in range(1, len(page.worst) + 1)} <= page.ids


def test_report_html_in_kazakh_lists_the_changed_verdicts(
    small_archive: Path, small_reference: Path, bulk_policy: Path, tmp_path: Path
) -> None:
    strict = tmp_path / "strict.toml"
    text, n = re.subn(r"(?m)^max_file_bytes = .*$", "max_file_bytes = 4096", bulk_policy.read_text(encoding="utf-8"))
    assert n == 1
    strict.write_text(text.replace('version = "', 'version = "strict-', 1), encoding="utf-8")
    out = tmp_path / "strict-run"
    done = courtdoc(
        "revalidate", str(small_archive), "--policy", str(strict), "--out", str(out), "--jobs", "2",
        "--limit", "120", "--lang", "kk", "--no-progress", "--compare", str(small_reference),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"бет: {out / 'report.html'}" in done.stdout  # the closing lines in the run's language
    page = _page(out)
    assert page.lang == "kk"
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Қайта тексеру есебі" in html and "Re-validation report" not in html
    diff = [json.loads(x) for x in (out / "diff.jsonl").read_text(encoding="utf-8").splitlines() if x]
    assert diff, "the stricter size limit must change some verdicts"
    assert page.changes == [(c["kind"], c["old_verdict"], c["new_verdict"]) for c in diff][:500]
    assert ("file", "accept", "reject") in page.changes
    assert sum(page.bars["chart-verdicts"].values()) == len(_results(out)) == 120
