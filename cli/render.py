"""Human-readable output for the CLI: each file's verdict and findings, and the rules list, via rich.

Colour is used only on a terminal; the same text is plain when piped.
"""

from __future__ import annotations

import json
from typing import Any

from rich.console import Console
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from ..core import messages
from ..core.policy import Policy
from ..core.report import FilingReport, Finding
from ..core.rules import rules_table

_SEVERITY_STYLE = {"reject": "bold red", "warn": "yellow", "info": "cyan"}
_VERDICT_STYLE = {"accept": "bold green", "reject": "bold red"}
_LOCATION_KEYS = ("page", "paragraph", "sheet", "cell", "part")
_PART_KINDS = ("header", "footer", "footnote", "endnote")


def describe_location(location: dict[str, Any], lang: str, excerpt: bool = True) -> str:
    parts = []
    for key in _LOCATION_KEYS:
        value = location.get(key)
        if value in (None, ""):
            continue
        if key == "part" and value in _PART_KINDS:
            value = messages.ui(f"part_{value}", lang)
        parts.append(f"{messages.ui(key, lang)} {value}")
    if excerpt and location.get("excerpt"):
        parts.append(f"«{location['excerpt']}»")
    return ", ".join(parts)


def _escape(text: str) -> str:
    return text.replace("[", "\\[")


def severity_word(severity: str, lang: str) -> str:
    return messages.ui(f"severity_{severity}", lang)


def _findings(findings: list[Finding], lang: str) -> Padding:
    """Findings as a list under their file: the severity word, then where (and the rule id,
    for anyone who looks it up) and the message in the full width of the terminal."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True, min_width=max(len(severity_word(s, lang)) for s in _SEVERITY_STYLE))
    grid.add_column(ratio=1, overflow="fold")
    for f in findings:
        detail = Text()
        where = describe_location(f.location, lang, excerpt=False)  # the message quotes it
        detail.append(f"{where} · {f.rule}" if where else f.rule, style="dim")
        detail.append("\n" + f.message)
        grid.add_row(Text(severity_word(f.severity, lang), style=_SEVERITY_STYLE.get(f.severity, "")), detail)
    return Padding(grid, (0, 0, 1, 2))


def print_filing(filing: FilingReport, lang: str, console: Console | None = None) -> None:
    """Per file a verdict line and its findings below it; then the filing's own findings, the
    matching of declared documents and files, and the filing's verdict."""
    console = console or Console(highlight=False)
    for report in filing.files:
        console.print(
            Text.assemble(
                (report.name, "bold"),
                " · ",
                (report.format or "-").upper(),
                " · ",
                (messages.ui(report.verdict, lang), _VERDICT_STYLE[report.verdict]),
            )
        )
        if report.findings:
            console.print(_findings(report.findings, lang))
        else:
            console.print(Padding(Text(messages.ui("no_findings", lang), style="dim"), (0, 0, 1, 2)))
    if filing.findings:
        console.print(Text(messages.ui("filing_findings", lang), style="bold"))
        console.print(_findings(filing.findings, lang))
    print_matching(filing, lang, console)
    verdict = filing.verdict
    policy = messages.phrase("policy_named", lang, id=filing.policy["id"], version=filing.policy["version"])
    console.print(
        Text.assemble((messages.ui(f"filing_{verdict}", lang), _VERDICT_STYLE[verdict]), "  ", (f"({policy})", "dim"))
    )


def print_checked_as_one_filing(files: int, lang: str) -> None:
    """Several files given on the command line are one filing: say so, and how to check each alone."""
    text = messages.phrase("checked_as_one_filing", lang, {"files": "count"}, files=files)
    Console(highlight=False).print(Text(text, style="dim"))


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
    table.add_column(messages.ui("file_pages", lang), justify="right")
    table.add_column(messages.ui("score", lang), justify="right")
    for row in filing.matching:
        title = (
            _escape(row["title"]) if row.get("title") else f"[yellow]{messages.ui('not_declared', lang)}[/]"
        )
        file = _escape(row["file"]) if row.get("file") else f"[yellow]{messages.ui('no_file', lang)}[/]"
        score = messages.decimal(row["score"], lang, digits=2) if row.get("score") is not None else "-"
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
            row["rule"],
            f"[{style}]{severity_word(row['severity'], lang)}[/]",
            str(row["requirement"]),
            _escape(row["description"]),
        )
    console.print(table)
