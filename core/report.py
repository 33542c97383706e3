"""The report model: findings, file reports and filing reports, and their public JSON.

The JSON produced by `FilingReport.to_json()` is the public contract (schema_version 1): the
CLI, the API, callbacks and bulk reports all emit this same shape.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1

Verdict = str  # "accept" | "reject"


@dataclass
class Finding:
    rule: str
    severity: str
    message: str
    location: dict[str, Any] = field(default_factory=dict)
    observed: Any = None
    expected: Any = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(
            d["rule"],
            d["severity"],
            d["message"],
            d.get("location") or {},
            d.get("observed"),
            d.get("expected"),
        )


@dataclass
class FontUsage:
    family: str
    name: str
    size: float | None
    chars: int


@dataclass
class TextSummary:
    chars: int
    fonts: list[FontUsage] = field(default_factory=list)


@dataclass
class PageInfo:
    number: int
    kind: str  # "text" | "scan" | "mixed" | "blank"
    dpi: list[float] | None = None
    colour: str | None = None  # "bw" | "grey" | "colour"
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"number": self.number, "kind": self.kind, "dpi": self.dpi, "colour": self.colour}
        d.update(self.metrics)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PageInfo:
        known = {"number", "kind", "dpi", "colour"}
        return cls(
            number=d["number"],
            kind=d["kind"],
            dpi=d.get("dpi"),
            colour=d.get("colour"),
            metrics={k: v for k, v in d.items() if k not in known},
        )


@dataclass
class FileReport:
    name: str
    size: int
    sha256: str
    format: str | None
    verdict: Verdict
    findings: list[Finding] = field(default_factory=list)
    text: TextSummary | None = None
    pages: list[PageInfo] = field(default_factory=list)
    # What the filing checks read from the document: title, list of attachments, page starts,
    # text fingerprint (see checks/outline.py); None when the format has none or parsing failed.
    outline: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "format": self.format,
            "verdict": self.verdict,
            "findings": [f.to_dict() for f in self.findings],
            "text": asdict(self.text) if self.text is not None else None,
            "pages": [p.to_dict() for p in self.pages],
            "outline": self.outline,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FileReport:
        text = d.get("text")
        return cls(
            name=d["name"],
            size=d["size"],
            sha256=d["sha256"],
            format=d.get("format"),
            verdict=d["verdict"],
            findings=[Finding.from_dict(f) for f in d.get("findings", [])],
            text=TextSummary(text["chars"], [FontUsage(**f) for f in text.get("fonts", [])])
            if text
            else None,
            pages=[PageInfo.from_dict(p) for p in d.get("pages", [])],
            outline=d.get("outline"),
        )


@dataclass
class FilingReport:
    policy: dict[str, str]
    verdict: Verdict
    findings: list[Finding] = field(default_factory=list)
    files: list[FileReport] = field(default_factory=list)
    id: str | None = None
    lang: str = "en"
    # Declared entry → file, with the similarity score (one row per entry or unmatched file).
    matching: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        if self.id is not None:
            d["id"] = self.id
        d.update(
            {
                "policy": self.policy,
                "lang": self.lang,
                "verdict": self.verdict,
                "findings": [f.to_dict() for f in self.findings],
                "files": [f.to_dict() for f in self.files],
                "matching": self.matching,
            }
        )
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FilingReport:
        return cls(
            policy=d["policy"],
            verdict=d["verdict"],
            findings=[Finding.from_dict(f) for f in d.get("findings", [])],
            files=[FileReport.from_dict(f) for f in d.get("files", [])],
            id=d.get("id"),
            lang=d.get("lang", "en"),
            matching=d.get("matching") or [],
        )

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent)


def decide(findings: list[Finding]) -> Verdict:
    """A file or filing is rejected when any finding has severity `reject`."""
    return "reject" if any(f.severity == "reject" for f in findings) else "accept"
