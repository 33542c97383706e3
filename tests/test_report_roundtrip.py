from __future__ import annotations

from pathlib import Path

from courtdoc.core.report import FilingReport
from courtdoc.pipeline import validate_filing


def test_filing_report_round_trips_through_json(tmp_path: Path) -> None:
    good = tmp_path / "Доверенность.pdf"
    good.write_bytes(b"not a pdf at all")
    report = validate_filing([good])
    again = FilingReport.from_dict(report.to_dict())
    assert again.to_dict() == report.to_dict()
    assert report.files[0].findings[0].rule == "file.content_mismatch"
