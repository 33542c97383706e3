"""Pydantic models of the API's JSON, for validation of the metadata part and for /openapi.json.

The report (the same JSON as `courtdoc check --format json`) is not modelled here: its schema is
the typed dicts of `core/report.py`, which the status and callback models below embed, so the
OpenAPI schema lists exactly the fields the report has. Responses are serialised from the
report itself, not re-validated.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PositiveInt

# The report is described once, in core/report.py (typed dicts pydantic reads): embedded here,
# never re-declared.
from ..core.report import FilingReportModel, Lang, PolicySummaryModel, Verdict

Role = Literal["application", "attachment"]
#: An ISO date; the schema says `format: date` so that generated examples are real dates.
IsoDate = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", json_schema_extra={"format": "date"})]
#: A title: at least one character that is not white space.
Title = Annotated[str, Field(min_length=1, max_length=500, pattern=r"\S")]


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- requests -------------------------------------------------------------------------------------


class DeclaredDocument(_Open):
    title: Title
    filename: str | None = Field(default=None, max_length=255)
    pages: PositiveInt | None = None
    role: Role | None = None


class FileRole(_Open):
    role: Role


class FilingMetadata(_Open):
    """The `metadata` part of POST /v1/filings (JSON).

    `external_id`, `callback_url` and `lang` are the service's; the other keys are the filing's
    metadata for the filing-level checks, exactly as `courtdoc check --filing` reads it from
    `filing.json` (see docs/checks.md, "Filing-level checks"), and are validated the same way."""

    external_id: str = Field(min_length=1, max_length=200, description="the portal's own id of the filing")
    callback_url: str | None = Field(
        default=None,
        max_length=2000,
        # documented, and checked by the API itself (422 bad_callback_url, not invalid_metadata)
        json_schema_extra={"format": "uri", "pattern": "^[hH][tT][tT][pP][sS]?://[^/@\\s]+"},
        description="http(s) URL on a host allowed for this API key (clients.toml callback_hosts)",
    )
    lang: Lang | None = Field(default=None, description="language of the messages (default: the service's)")
    declared: list[DeclaredDocument | Title] | None = Field(
        default=None, max_length=200, description="the documents the filer declared, one per file"
    )
    files: dict[str, FileRole | Role] | None = Field(
        default=None, description='file roles: {"<file name>": {"role": "application" | "attachment"}}'
    )
    application: str | None = Field(default=None, description="the application's file name")
    proceeding: Literal["civil", "criminal"] | None = None
    direction: Literal["in_favour", "against"] | None = Field(default=None, description="criminal only")
    circumstances_date: IsoDate | None = Field(default=None, description="YYYY-MM-DD")
    filing_date: IsoDate | None = Field(
        default=None,
        description="YYYY-MM-DD, not before circumstances_date (default: the day it was received)",
    )


# --- responses ------------------------------------------------------------------------------------

#: The description of every `report_url` field.
REPORT_URL = (
    "the filing's report page for the filer, no API key needed: /r/{id}/{expires}/{signature}, "
    "valid for COURTDOC_REPORT_LINK_TTL_S from this answer"
)


class FilingAccepted(BaseModel):
    id: str
    status_url: str
    report_url: str | None = Field(default=None, description=REPORT_URL)


class FileStatus(_Open):
    index: int
    name: str
    sha256: str
    size: int
    checked: bool


class CallbackAttemptModel(_Open):
    attempt: int
    at: str | None
    duration_ms: int
    outcome: str = Field(
        description="delivered, http_<status>, timeout, refused, connect_error, not_deliverable"
    )
    status: int | None = None
    error: str | None = None
    retry_after_s: float | None = None


class CallbackStatus(_Open):
    url: str
    webhook_id: str | None
    state: Literal["waiting", "pending", "delivered", "failed"]
    next_attempt_at: str | None
    attempts: list[CallbackAttemptModel]


class FilingStatus(_Open):
    id: str
    external_id: str | None
    status: Literal["queued", "checking", "done"]
    created_at: str | None
    finished_at: str | None
    verdict: Verdict | None
    files: list[FileStatus]
    report: FilingReportModel | None
    callback: CallbackStatus | None
    report_url: str | None = Field(default=None, description=REPORT_URL)


class RuleModel(BaseModel):
    rule: str = Field(examples=["name.generic"])
    severity: str = Field(description="the policy's effective severity: reject, warn, info or off")
    description: str = Field(description="the rule's title in the language asked for")
    requirement: int | str = Field(
        description="the published requirement it enforces (1–10), or file-safety, or time-limits",
        examples=[3],
    )
    params: dict[str, str] = Field(
        description="the parameters its message may use, each with its type "
        "(text, count, number, percent, list, ui-phrase)",
        examples=[{"name": "text"}],
    )


class RulesResponse(BaseModel):
    policy: PolicySummaryModel
    rules: list[RuleModel]


class ErrorBody(BaseModel):
    code: str = Field(examples=["file_too_large"])
    message: str
    detail: dict[str, Any] = Field(default_factory=dict)


class ErrorResponse(BaseModel):
    error: ErrorBody


class CallbackData(BaseModel):
    id: str
    external_id: str | None
    status_url: str
    report: FilingReportModel
    report_url: str | None = Field(default=None, description=REPORT_URL)


class CallbackEnvelope(BaseModel):
    """The body POSTed to `callback_url` (Standard Webhooks payload structure)."""

    type: Literal["filing.checked"]
    timestamp: str
    data: CallbackData
