"""`courtdoc doctor`: the optional system parts (LibreOffice, Tesseract and its language data),
their versions, which checks of the policy each one lets run, and what is lost without them.

Exit code 0 when every check the policy turns on can run here, 1 when one cannot, 2 on a usage
error (a bad policy). `--format json` prints what `/readyz` carries under `capabilities`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..core import messages
from ..core.policy import load_policy
from ..engine.capabilities import Capabilities, Capability, capabilities

EXIT_OK, EXIT_CANNOT_RUN = 0, 1

_STATUS_STYLE = {"runs": "green", "partial": "yellow", "cannot_run": "bold red", "off": "dim"}
_STATUS_PHRASE = {
    "runs": "doctor_runs",
    "partial": "doctor_partial",
    "cannot_run": "doctor_cannot_run",
    "off": "doctor_off",
}
_NAMES = {"libreoffice": "LibreOffice", "tesseract": "Tesseract"}


def register(sub: Any) -> None:
    """Add `courtdoc doctor` to the CLI's subcommands."""
    p = sub.add_parser("doctor", help="which optional system parts are installed and which checks they enable")
    p.add_argument("--lang", choices=messages.LANGS, default="en")
    p.add_argument("--policy", metavar="FILE", help="policy TOML (default: the shipped kz-court policy)")
    p.add_argument("--format", choices=("text", "json"), default="text", dest="output")
    p.set_defaults(run=main)


def main(args: argparse.Namespace) -> int:
    caps = capabilities(load_policy(args.policy))
    if args.output == "json":
        print(json.dumps(caps.as_dict(), ensure_ascii=False, indent=2))
    else:
        print_capabilities(caps, args.lang)
    return EXIT_OK if caps.ok else EXIT_CANNOT_RUN


def _debian_packages(languages: tuple[str, ...]) -> str:
    return " ".join(f"tesseract-ocr-{lang}" for lang in languages)


def fixes(caps: Capabilities, lang: str) -> list[str]:
    """How to make each check that cannot run (or runs without some languages) run fully."""
    out: list[str] = []
    for check in caps.checks:
        if check.status not in ("cannot_run", "partial"):
            continue
        if check.reason == "no_libreoffice":
            phrase = messages.ui("doctor_fix_libreoffice", lang)
        elif check.reason == "no_tesseract":
            phrase = messages.ui("doctor_fix_tesseract", lang).format(
                languages=", ".join(check.languages), packages=_debian_packages(check.languages)
            )
        else:
            phrase = messages.ui("doctor_fix_language", lang).format(
                missing=", ".join(check.missing_languages), packages=_debian_packages(check.missing_languages)
            )
        if phrase not in out:
            out.append(phrase)
    return out


def _status_cell(check: Capability, lang: str) -> str:
    text = f"[{_STATUS_STYLE[check.status]}]{messages.ui(_STATUS_PHRASE[check.status], lang)}[/]"
    if check.missing_languages and check.status != "off":
        text += "\n" + messages.ui("doctor_languages_missing", lang).format(missing=", ".join(check.missing_languages))
    return text


def print_capabilities(caps: Capabilities, lang: str, console: Any = None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console(highlight=False)
    ui = messages.ui
    console.print(f"{ui('doctor_policy', lang)}: {caps.policy.get('id', '')} {caps.policy.get('version', '')}")

    parts = Table(title=ui("doctor_parts", lang), title_justify="left")
    for key in ("doctor_part", "doctor_status", "doctor_version", "doctor_path"):
        parts.add_column(ui(key, lang), overflow="fold")
    for comp in caps.components:
        status = f"[green]{ui('doctor_present', lang)}[/]" if comp.present else f"[red]{ui('doctor_absent', lang)}[/]"
        if comp.present and comp.name == "tesseract":
            status += "\n" + ui("doctor_languages", lang).format(languages=", ".join(comp.languages) or "-")
        parts.add_row(_NAMES.get(comp.name, comp.name), status, comp.version or "-", comp.path or "-")
    console.print(parts)

    checks = Table(title=ui("doctor_checks", lang), title_justify="left", show_lines=True)
    for key in ("doctor_check", "doctor_needs", "doctor_rules", "doctor_status", "doctor_without"):
        checks.add_column(ui(key, lang), overflow="fold")
    for check in caps.checks:
        needs = ", ".join(_NAMES.get(n, n) for n in check.needs)
        if check.languages:
            needs += f" ({'+'.join(check.languages)})"
        checks.add_row(
            ui(f"cap_{check.id}", lang),
            needs,
            "\n".join(check.rules),
            _status_cell(check, lang),
            ui(f"cap_{check.id}_without", lang),
        )
    console.print(checks)

    if caps.ok:
        console.print(f"[green]{ui('doctor_ok', lang)}[/]")
    else:
        console.print(f"[bold red]{ui('doctor_not_ok', lang)}[/]")
    for fix in fixes(caps, lang):
        console.print(f"- {fix}")
