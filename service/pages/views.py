"""What a results page shows: every file of a filing or pre-check, with its report once checked,
and the filing report once every file is in — read from Redis, or from the audit copy."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ...core import messages
from ...core.report import FileReport, FilingReport
from ...workers.filings import FilingStore
from ...workers.runtime import Runtime


@dataclass
class Progress:
    lang: str
    names: list[str]
    reports: dict[int, FileReport] = field(default_factory=dict)
    final: FilingReport | None = None

    @property
    def done(self) -> bool:
        return self.final is not None

    def file(self, index: int) -> FileReport | None:
        """The report of the file at `index`, once it is checked."""
        if self.final is not None:
            return self.final.files[index] if 0 <= index < len(self.final.files) else None
        return self.reports.get(index)

    def status(self, t: Any) -> str:
        """The one line a screen reader hears as the page fills in."""
        if self.final is not None:
            return str(t("all_done", self.lang, outcome=messages.ui(f"filing_{self.final.verdict}", self.lang)))
        return str(t("progress", self.lang, done=len(self.reports), total=len(self.names)))


def from_store(store: FilingStore, fid: str, meta: dict[str, str]) -> Progress:
    """A filing's (or pre-check's) progress from its Redis state."""
    files: list[dict[str, Any]] = json.loads(meta.get("files") or "[]")
    raw = store.final_report(fid)
    final = FilingReport.from_dict(json.loads(raw)) if raw is not None else None
    reports = {} if final is not None else store.reports(fid)
    return Progress(
        lang=meta.get("lang") or "en",
        names=[str(f.get("name", "")) for f in files],
        reports=reports,
        final=final,
    )


def filing_progress(rt: Runtime, fid: str) -> Progress | None:
    """A filing's progress; after its Redis retention, its audit copy; None when neither is there."""
    meta = rt.filings.meta(fid)
    if meta is not None and meta.get("files"):
        return from_store(rt.filings, fid, meta)
    archived = rt.read_report_file(fid)
    if archived is None or "report" not in archived:
        return None
    final = FilingReport.from_dict(archived["report"])
    return Progress(lang=final.lang, names=[f.name for f in final.files], final=final)
