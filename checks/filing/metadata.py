"""A filing's metadata: declared documents, file roles, proceeding, dates; and its time limit.

The same dictionary comes from the CLI (`filing.json`, or an object given to `--declared`) and
from the API's metadata part::

    {
      "declared": [{"title": "Доверенность", "filename": "Сенімхат.pdf", "pages": 1}, ...],
      "files": {"Арыз.docx": {"role": "application"}},
      "proceeding": "civil" | "criminal",
      "direction": "in_favour" | "against",          # criminal only
      "circumstances_date": "2024-01-15",            # established (civil) / discovered (criminal)
      "filing_date": "2024-03-01"                    # default: the day of the check
    }

Every key is optional. A malformed value is a `MetadataError` naming the key.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

PROCEEDINGS = ("civil", "criminal")
DIRECTIONS = ("in_favour", "against")
ROLES = ("application", "attachment")
_DATE_ALIASES = {
    "circumstances_date": ("circumstances_date", "established_date", "discovered_date"),
    "filing_date": ("filing_date",),
}
#: The keys that may give the date the time limit runs from.
CIRCUMSTANCES_KEYS = _DATE_ALIASES["circumstances_date"]


class MetadataError(ValueError):
    """The filing's metadata has a malformed value (the message names the key)."""


@dataclass
class FilingMetadata:
    declared: list[dict[str, Any]] | None = None
    roles: dict[str, str] = field(default_factory=dict)
    proceeding: str | None = None
    direction: str | None = None
    circumstances_date: dt.date | None = None
    filing_date: dt.date | None = None


def parse_date(value: Any, key: str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise MetadataError(f"{key}: expected a date in ISO form YYYY-MM-DD, got {value!r}")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise MetadataError(f"{key}: {value!r} is not a valid date in ISO form YYYY-MM-DD") from None


def parse_declared(data: Any, key: str = "declared") -> list[dict[str, Any]]:
    """A list of declared documents: each an object with a `title`, optionally `filename`, `pages`."""
    if not isinstance(data, list):
        raise MetadataError(f"{key}: expected a list of objects with a 'title'")
    out: list[dict[str, Any]] = []
    for i, entry in enumerate(data):
        where = f"{key}[{i}]"
        if isinstance(entry, str):
            entry = {"title": entry}
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("title"), str)
            or not entry["title"].strip()
        ):
            raise MetadataError(f"{where}: expected an object with a non-empty 'title'")
        item: dict[str, Any] = {"title": entry["title"].strip()}
        if entry.get("filename") is not None:
            if not isinstance(entry["filename"], str):
                raise MetadataError(f"{where}.filename: expected a string")
            item["filename"] = entry["filename"]
        if entry.get("pages") is not None:
            pages = entry["pages"]
            if isinstance(pages, bool) or not isinstance(pages, int) or pages <= 0:
                raise MetadataError(f"{where}.pages: expected a positive integer, got {pages!r}")
            item["pages"] = pages
        if entry.get("role") is not None:
            if entry["role"] not in ROLES:
                raise MetadataError(
                    f"{where}.role: expected one of {', '.join(ROLES)}, got {entry['role']!r}"
                )
            item["role"] = entry["role"]
        out.append(item)
    return out


def parse_metadata(data: Mapping[str, Any] | Sequence[Any] | None) -> FilingMetadata:
    """Validate metadata (a mapping as above, or just the declared list) into `FilingMetadata`."""
    if data is None:
        return FilingMetadata()
    if isinstance(data, list):
        return FilingMetadata(declared=parse_declared(data))
    if not isinstance(data, Mapping):
        raise MetadataError("metadata: expected a JSON object or a list of declared documents")
    meta = FilingMetadata()
    if data.get("declared") is not None:
        meta.declared = parse_declared(data["declared"])
    files = data.get("files") or {}
    if not isinstance(files, Mapping):
        raise MetadataError('files: expected an object {file name: {"role": ...}}')
    for name, info in files.items():
        role = info.get("role") if isinstance(info, Mapping) else info
        if role not in ROLES:
            raise MetadataError(f"files.{name}.role: expected one of {', '.join(ROLES)}, got {role!r}")
        meta.roles[str(name)] = str(role)
    if data.get("application") is not None:
        if not isinstance(data["application"], str):
            raise MetadataError("application: expected the application's file name")
        meta.roles[data["application"]] = "application"
    for entry in meta.declared or []:
        if entry.get("role") and entry.get("filename"):
            meta.roles.setdefault(entry["filename"], entry["role"])
    proceeding = data.get("proceeding")
    if proceeding is not None and proceeding not in PROCEEDINGS:
        raise MetadataError(f"proceeding: expected one of {', '.join(PROCEEDINGS)}, got {proceeding!r}")
    meta.proceeding = proceeding
    direction = data.get("direction")
    if direction is not None and direction not in DIRECTIONS:
        raise MetadataError(f"direction: expected one of {', '.join(DIRECTIONS)}, got {direction!r}")
    meta.direction = direction
    for target, aliases in _DATE_ALIASES.items():
        for alias in aliases:
            if data.get(alias) is not None:
                setattr(meta, target, parse_date(data[alias], alias))
                break
    if meta.circumstances_date and meta.filing_date and meta.filing_date < meta.circumstances_date:
        raise MetadataError(
            f"filing_date: {meta.filing_date.isoformat()} is before circumstances_date "
            f"{meta.circumstances_date.isoformat()}"
        )
    return meta


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later (the last day of the month when it has no such day)."""
    years, month0 = divmod(day.month - 1 + months, 12)
    year = day.year + years
    month = month0 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass
class Deadline:
    proceeding: str
    start: dt.date
    last_day: dt.date
    filed: dt.date
    months: int

    @property
    def late_days(self) -> int:
        return (self.filed - self.last_day).days


def deadline(
    meta: FilingMetadata, civil_months: int, criminal_against_months: int, today: dt.date
) -> Deadline | None:
    """The time limit that applies to this filing, or None when none does or it is not known."""
    if meta.proceeding is None or meta.circumstances_date is None:
        return None
    if meta.proceeding == "civil":
        months = civil_months
    elif meta.direction == "against":
        months = criminal_against_months
    else:
        return None  # in favour of the convicted or acquitted person: no limit (or not stated)
    start = meta.circumstances_date
    return Deadline(meta.proceeding, start, add_months(start, months), meta.filing_date or today, months)
