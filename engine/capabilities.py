"""Which optional system parts this machine has, and which checks of a policy they let run.

Two checkers shell out: legacy .doc files are converted by LibreOffice (`soffice`) to get the
DOCX text checks, and scans are read by Tesseract (titles of scanned documents under
`[filing]`, the legibility of scan pages under `[ocr]`), which needs its language data. This
module finds them, asks their versions, and says for each such check whether the policy turns
it on, whether it can run here, and what the report says instead when it cannot.
`courtdoc doctor`, `/readyz` and the start-up of `serve` and `worker` all read it.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ..checks import doc_convert
from ..checks.image import ocr
from ..core.policy import Policy

_VERSION_TIMEOUT_S = 15.0
_VERSION = re.compile(r"\d+(?:\.\d+)+")

# The checks that need an outside program: the rules each one judges, and the rule the report
# carries instead when it cannot run.
DOC_TEXT_RULES = ("font.family", "font.size", "font.clone", "spacing.line")
SCAN_OCR_RULES = ("scan.ocr",)
TITLE_OCR_RULES = ("name.content_mismatch",)


@dataclass(frozen=True)
class Component:
    """One outside program: where it is, its version, and (Tesseract) its language data."""

    name: str
    path: str | None
    version: str | None = None
    languages: tuple[str, ...] = ()

    @property
    def present(self) -> bool:
        return self.path is not None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "present": self.present, "path": self.path}
        out["version"] = self.version
        if self.name == "tesseract":
            out["languages"] = list(self.languages)
        return out


@dataclass(frozen=True)
class Capability:
    """A check that needs an outside program, as the policy and this machine make it.

    status: "runs"; "partial" (runs without some of the policy's languages); "cannot_run" (the
    policy turns it on and it cannot run here); "off" (the policy does not use it).
    """

    id: str
    needs: tuple[str, ...]
    rules: tuple[str, ...]
    instead: str
    status: str
    reason: str | None = None  # why it cannot run: no_libreoffice, no_tesseract, no_language
    missing_languages: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "reason": self.reason,
            "needs": list(self.needs),
            "rules": list(self.rules),
            "instead": self.instead,
            "languages": list(self.languages),
            "missing_languages": list(self.missing_languages),
        }


@dataclass(frozen=True)
class Capabilities:
    components: tuple[Component, ...]
    checks: tuple[Capability, ...]
    policy: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every check the policy turns on can run (some languages may be missing)."""
        return not self.cannot_run

    @property
    def cannot_run(self) -> list[Capability]:
        return [c for c in self.checks if c.status == "cannot_run"]

    def component(self, name: str) -> Component:
        return next(c for c in self.components if c.name == name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "policy": self.policy,
            "components": [c.as_dict() for c in self.components],
            "checks": [c.as_dict() for c in self.checks],
        }


def _version(command: list[str]) -> str | None:
    """The first dotted number a `--version` prints, or None when the program does not answer."""
    try:
        out = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=_VERSION_TIMEOUT_S,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    found = _VERSION.search(out.stdout + "\n" + out.stderr)
    return found.group(0) if found else None


def find_components() -> tuple[Component, Component]:
    """LibreOffice and Tesseract as this process sees them (PATH, COURTDOC_SOFFICE, TESSDATA_PREFIX)."""
    soffice = doc_convert.find_soffice()
    libreoffice = Component(
        "libreoffice", soffice, _version([soffice, "--headless", "--version"]) if soffice else None
    )
    binary = ocr.tesseract_path()
    tesseract = Component("tesseract", binary)
    if binary is not None:
        langs = tuple(sorted(ocr.installed_languages(binary)))
        tesseract = Component("tesseract", binary, _version([binary, "--version"]), langs)
    return libreoffice, tesseract


def _rules_on(policy: Policy, rules: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(r for r in rules if policy.rules.get(r, "off") != "off")


def _doc_text(policy: Policy, libreoffice: Component) -> Capability:
    rules = _rules_on(policy, DOC_TEXT_RULES)
    wanted = "doc" in policy.limits.allowed_extensions and bool(rules)
    status = "off" if not wanted else "runs" if libreoffice.present else "cannot_run"
    reason = "no_libreoffice" if status == "cannot_run" else None
    return Capability("doc_text", ("libreoffice",), rules or DOC_TEXT_RULES, "doc.unsupported", status, reason)


def _ocr_check(
    policy: Policy, tesseract: Component, use: str, wanted: tuple[str, ...], rules: tuple[str, ...]
) -> Capability:
    on = _rules_on(policy, rules)
    reason = ocr.ocr_unavailable_reason(policy, use) if on else "off"
    missing = tuple(lang for lang in wanted if lang not in tesseract.languages) if tesseract.present else wanted
    if reason == "off":
        status, reason = "off", None
    elif reason is not None:
        status = "cannot_run"
    else:
        status = "partial" if missing else "runs"
    cid, instead = ("scan_ocr", "scan.ocr_not_run") if use == "legibility" else ("title_ocr", "name.title_unreadable")
    return Capability(cid, ("tesseract",), rules, instead, status, reason, missing, wanted)


def capabilities(policy: Policy, components: tuple[Component, Component] | None = None) -> Capabilities:
    """Each check that needs an outside program, for `policy`, on this machine."""
    libreoffice, tesseract = components or find_components()
    scan_languages = tuple(lang for lang in policy.ocr.languages.split("+") if lang)
    checks = (
        _doc_text(policy, libreoffice),
        _ocr_check(policy, tesseract, "title", tuple(policy.ocr.title_languages), TITLE_OCR_RULES),
        _ocr_check(policy, tesseract, "legibility", scan_languages, SCAN_OCR_RULES),
    )
    return Capabilities((libreoffice, tesseract), checks, policy.summary())


@cache
def _cached_components(path: str, soffice: str | None, tessdata: str | None) -> tuple[Component, Component]:
    return find_components()


def cached_capabilities(policy: Policy) -> Capabilities:
    """As `capabilities`, the programs looked up once per process and environment (for /readyz,
    which a probe may call every few seconds; a version costs a process start)."""
    key = (os.environ.get("PATH", ""), os.environ.get("COURTDOC_SOFFICE"), os.environ.get("TESSDATA_PREFIX"))
    return capabilities(policy, _cached_components(*key))


def missing_summary(caps: Capabilities) -> list[dict[str, Any]]:
    """One entry per check the policy turns on that cannot run (for a start-up warning)."""
    return [
        {"check": c.id, "reason": c.reason, "rules": list(c.rules), "instead": c.instead}
        for c in caps.cannot_run
    ]
