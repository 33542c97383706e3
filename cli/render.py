"""Human-readable output for the CLI: a verdict table per file and the rules list, via rich.

Colour is used only on a terminal; the same text is plain when piped.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.table import Table

from ..core import messages
from ..core.policy import Policy
from ..core.report import FilingReport, Finding
from ..core.rules import rules_table

_SEVERITY_STYLE = {"reject": "bold red", "warn": "yellow", "info": "cyan"}
_VERDICT_STYLE = {"accept": "bold green", "reject": "bold red"}
_LOCATION_KEYS = ("page", "paragraph", "sheet", "cell", "part")


def describe_location(location: dict[str, Any], lang: str) -> str:
    parts = [
        f"{messages.ui(k, lang)} {location[k]}" for k in _LOCATION_KEYS if location.get(k) not in (None, "")
    ]
    if location.get("excerpt"):
        parts.append(f"«{location['excerpt']}»")
    return ", ".join(parts)


def _finding_line(f: Finding, lang: str) -> str:
    where = describe_location(f.location, lang)
    style = _SEVERITY_STYLE.get(f.severity, "")
    prefix = f"[{style}]{f.severity}[/] [dim]{f.rule}[/]"
    return f"{prefix} {'(' + where + ') ' if where else ''}{_escape(f.message)}"


def _escape(text: str) -> str:
    return text.replace("[", "\\[")


def print_filing(filing: FilingReport, lang: str, console: Console | None = None) -> None:
    console = console or Console(highlight=False)
    table = Table(show_lines=True)
    table.add_column(messages.ui("file", lang), overflow="fold", max_width=40)
    table.add_column(messages.ui("format", lang))
    table.add_column(messages.ui("verdict", lang))
    table.add_column(messages.ui("description", lang), overflow="fold")
    for report in filing.files:
        lines = [_finding_line(f, lang) for f in report.findings] or [
            f"[dim]{messages.ui('no_findings', lang)}[/]"
        ]
        table.add_row(
            _escape(report.name),
            report.format or "-",
            f"[{_VERDICT_STYLE[report.verdict]}]{messages.ui(report.verdict, lang)}[/]",
            "\n".join(lines),
        )
    console.print(table)
    print_matching(filing, lang, console)
    for f in filing.findings:
        console.print(_finding_line(f, lang))
    verdict = filing.verdict
    console.print(
        f"{messages.ui('filing', lang)}: [{_VERDICT_STYLE[verdict]}]{messages.ui(verdict, lang)}[/]"
        f"  [dim](policy {filing.policy['id']} {filing.policy['version']})[/]"
    )


def print_matching(filing: FilingReport, lang: str, console: Console) -> None:
    """The declared documents paired with files: list, entry, pages, file, its pages, score."""
    if not filing.matching:
        return
    table = Table(title=messages.ui("matching", lang), show_lines=False)
    table.add_column(messages.ui("list", lang))
    table.add_column("№", justify="right")
    table.add_column(messages.ui("declared_document", lang), overflow="fold", max_width=40)
    table.add_column(messages.ui("pages", lang), justify="right")
    table.add_column(messages.ui("file", lang), overflow="fold", max_width=40)
    table.add_column(messages.ui("pages", lang), justify="right")
    table.add_column(messages.ui("score", lang), justify="right")
    for row in filing.matching:
        title = (
            _escape(row["title"]) if row.get("title") else f"[yellow]{messages.ui('not_declared', lang)}[/]"
        )
        file = _escape(row["file"]) if row.get("file") else f"[yellow]{messages.ui('no_file', lang)}[/]"
        score = f"{row['score']:.2f}" if row.get("score") is not None else "-"
        table.add_row(
            messages.ui(f"list_{row.get('list')}_short", lang),
            str(row.get("number") or "-"),
            title,
            str(row.get("pages") or "-"),
            file,
            str(row.get("file_pages") or "-"),
            score,
        )
    console.print(table)


def print_rules(policy: Policy, lang: str, output: str) -> None:
    rows = rules_table(policy, lang)
    if output == "json":
        print(json.dumps({"policy": policy.summary(), "rules": rows}, ensure_ascii=False, indent=2))
        return
    console = Console(highlight=False)
    table = Table(title=f"{policy.id} {policy.version}")
    table.add_column(messages.ui("rule", lang))
    table.add_column(messages.ui("severity", lang))
    table.add_column(messages.ui("requirement", lang))
    table.add_column(messages.ui("description", lang), overflow="fold")
    for row in rows:
        style = _SEVERITY_STYLE.get(row["severity"], "dim")
        table.add_row(
            row["rule"], f"[{style}]{row['severity']}[/]", str(row["requirement"]), _escape(row["description"])
        )
    console.print(table)
