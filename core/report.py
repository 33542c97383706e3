"""The report model: findings, file reports and filing reports, and their public JSON.

The JSON produced by `FilingReport.to_json()` is the public contract (schema_version 1): the
CLI, the API, callbacks and bulk reports all emit this same shape. It is described once, by
the `…Model` typed dicts below: the API's OpenAPI schema is derived from them (pydantic reads
typed dicts; this module stays free of pydantic and FastAPI), and the tests validate the real
report of every fixture against that schema with no undeclared field allowed. A field added to
the JSON is added here, or those tests fail.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, NotRequired, cast

# typing.TypedDict lacks what pydantic needs before Python 3.12 (typing_extensions ships with it).
from typing_extensions import TypedDict

SCHEMA_VERSION: Literal[1] = 1

Verdict = Literal["accept", "reject"]
Severity = Literal["reject", "warn", "info"]
Lang = Literal["kk", "ru", "en"]
FileFormat = Literal["pdf", "docx", "doc", "jpeg", "xlsx"]
PageKind = Literal["text", "scan", "mixed", "blank"]
Colour = Literal["bw", "grey", "colour"]


# --- the public JSON (schema_version 1) -----------------------------------------------------------
# Attribute docstrings become the field descriptions of the OpenAPI schema.


class PolicySummaryModel(TypedDict):
    """The policy file the verdict was reached under: same bytes and same policy, same report."""

    id: str
    version: str
    sha256: str


class BoxModel(TypedDict):
    """A region of a page to draw over its picture, in PDF points from the top-left corner of
    the page as displayed (after its rotation)."""

    page: int
    """the page, from 1"""
    x: float
    y: float
    w: float
    h: float
    """`rect`: the box's width and height; `line`: the line runs from (x, y) to (x + w, y + h)"""
    kind: Literal["rect", "line"]
    label: NotRequired[str]
    """a short text to draw beside the box (a measured figure, such as the skew angle)"""


class LocationModel(TypedDict, total=False):
    """Where a finding is; only the keys that apply, `{}` for the file (or filing) as a whole."""

    page: int
    paragraph: int
    sheet: str
    cell: str
    part: str
    """a part of the file: a ZIP member (`word/document.xml`), an OLE stream (`Macros`)"""
    image: int
    """the image's number on the page or in the part"""
    excerpt: str
    """the text the finding is about"""
    list: Literal["declared", "application"]
    """filing findings: the declared documents, or the application's list of attachments"""
    entry: int
    """filing findings: the entry's position in that list, from 1"""
    file: str
    """filing findings: the file's name"""
    boxes: list[BoxModel]
    """where on the displayed page the finding is: the measured region of a scan; for a text
    finding, its text found on the page as drawn (added when its page is pictured)"""


class FindingModel(TypedDict):
    """One rule that a file, or the filing, does not meet."""

    rule: str
    """stable id, e.g. `name.generic` (`courtdoc rules`, GET /v1/rules)"""
    severity: Severity
    message: str
    """what is wrong and how to fix it, in the report's `lang`"""
    location: LocationModel
    observed: Any
    """what was measured (machine-readable: a figure, a string, a list, or null)"""
    expected: Any
    """what the policy asks for (machine-readable), or null"""


class FontUsageModel(TypedDict):
    family: str
    """the family the policy judges (a metric clone maps to the font it imitates)"""
    name: str
    """the font's name as written in the document"""
    size: float | None
    chars: int


class TextSummaryModel(TypedDict):
    """The text layer: characters per font."""

    chars: int
    fonts: list[FontUsageModel]


class PageImageModel(TypedDict):
    """An image placed on a PDF page."""

    number: int
    pixels: list[int]
    dpi: list[float]
    filters: list[str]
    page_share: float


class LegibilityModel(TypedDict):
    """Figures of a scanned page's legibility (grey levels 0–255)."""

    paper_level: float
    ink_level: float
    contrast: float
    noise: float
    ink_share: float
    marks: int
    faint_marks: int
    sharpness: float | None
    skew_degrees: float | None
    line_pitch_px: float | None
    blank: bool
    paper_share: float
    """share of the page whose local background is the paper (a photograph has little)"""
    photograph: bool
    """judged a photograph rather than a page of a document (scan.photograph)"""
    paper_marks: int | None
    """text-size marks on the paper part, counted only for pages with little paper"""
    text_size_pt: NotRequired[float]
    """body text size inferred from the line pitch, when there are lines"""


class OcrModel(TypedDict):
    """Text recognition on a scanned page: figures when it ran, else why not."""

    run: bool
    reason: NotRequired[str]
    words: NotRequired[int]
    low_confidence: NotRequired[float | None]
    mean_confidence: NotRequired[float | None]


class PageModel(TypedDict):
    """A page (a PDF page, a JPEG, or a picture in a DOCX) and the figures measured on it."""

    number: int
    kind: PageKind
    dpi: list[float] | None
    """[x, y]"""
    colour: Colour | None
    # text pages (PDF)
    glyphs: NotRequired[int]
    invisible_glyphs: NotRequired[int]
    line_spacing: NotRequired[float]
    # pages of a PDF
    image_coverage: NotRequired[float]
    page_size_mm: NotRequired[list[float]]
    images: NotRequired[list[PageImageModel]]
    placement_rotation: NotRequired[float]
    analysed: NotRequired[Literal["image", "render", "damaged"]]
    # scanned pages
    dpi_source: NotRequired[Literal["metadata", "placement", "inferred", "unknown"]]
    dpi_detail: NotRequired[str]
    pixels: NotRequired[list[int]]
    size_mm: NotRequired[list[float] | None]
    paper: NotRequired[str | None]
    """the paper size the page matches (`A4` …), or null"""
    source_mode: NotRequired[str]
    """the image's colour mode (`1`, `L`, `RGB`, `CMYK` …)"""
    colour_source: NotRequired[bool]
    coloured_share: NotRequired[float]
    paper_tint: NotRequired[list[int] | None]
    legibility: NotRequired[LegibilityModel]
    ocr: NotRequired[OcrModel]
    # JPEG files
    jfif_dpi: NotRequired[list[float] | None]
    exif_dpi: NotRequired[list[float] | None]
    exif_orientation: NotRequired[int]
    # pictures in a DOCX
    part: NotRequired[str]
    picture: NotRequired[int]
    page_share: NotRequired[float]


class PageStartModel(TypedDict):
    """A page on which a document's title begins (a file bundling several documents)."""

    page: int
    title: str


class LayoutRunModel(TypedDict):
    """A run of PDF pages with the same size, orientation and source."""

    pages: list[int]
    """[first, last]"""
    size_mm: list[float]
    orientation: Literal["portrait", "landscape"]
    source: str
    """`scan`, or `fonts:<the first page's main font>`"""


class AttachmentModel(TypedDict):
    """An entry of the application's list of attachments."""

    number: str | None
    title: str
    pages: int | None


class AttachmentsReadingModel(TypedDict):
    """How the application's list of attachments was read: where it ended and what makes its
    count doubtful (a count mismatch refuses only when `doubts` is empty)."""

    end: Literal[
        "signature", "date", "name", "party", "closing", "heading", "text", "document", "unclear", "limit"
    ]
    doubts: list[Literal["unnumbered", "numbering", "end"]]


class FingerprintModel(TypedDict):
    """The normalised text's exact hash and a sketch of its 4-word shingles."""

    words: int
    sha256: str
    sketch: list[int]


class OutlineModel(TypedDict):
    """What the filing-level checks read from a document (docs/checks.md, «Filing-level checks»)."""

    title: str | None
    title_source: Literal["heading", "text", "ocr"] | None
    head: list[str]
    """the first lines of the first page"""
    pages: int | None
    pages_exact: bool
    """`pages` is the document's real page count (PDF), not an estimate"""
    page_starts: list[PageStartModel]
    layout: list[LayoutRunModel]
    producer: str | None
    attachments: list[AttachmentModel]
    attachments_reading: NotRequired[AttachmentsReadingModel | None]
    """null when no list of attachments was read; absent from outlines stored before it existed"""
    fingerprint: FingerprintModel | None
    ocr: Literal["done", "empty", "unavailable"] | None
    """for a document without text: whether its top was read by OCR"""


class FileReportModel(TypedDict):
    """The report of one file."""

    name: str
    """as uploaded"""
    size: int
    """bytes"""
    sha256: str
    format: FileFormat | None
    """null when the content is none of these or was not parsed"""
    verdict: Verdict
    findings: list[FindingModel]
    text: TextSummaryModel | None
    """for documents with a text layer, else null"""
    pages: list[PageModel]
    outline: OutlineModel | None
    """null when the format has none or it could not be read"""


class MatchRowModel(TypedDict):
    """A declared entry and the file it was matched to, or a file no entry declares."""

    list: Literal["declared", "application"]
    entry: int | None
    """the entry's position in the list, from 1; null for a file no entry declares"""
    number: str | None
    title: str | None
    pages: int | None
    """the pages the entry declares"""
    file: str | None
    score: float | None
    """the similarity of the entry's title to the file (0–1)"""
    file_pages: int | None


class FilingReportModel(TypedDict):
    """The filing report (schema_version 1): what `courtdoc check --format json`, GET
    /v1/filings/{id}, the callback and bulk runs return. Clients ignore fields they do not know:
    fields may be added, none removed or renamed."""

    schema_version: Literal[1]
    id: NotRequired[str]
    """the filing's id (API, callbacks and bulk runs)"""
    policy: PolicySummaryModel
    lang: Lang
    verdict: Verdict
    """`reject` when any finding, of a file or of the filing, has severity `reject`"""
    findings: list[FindingModel]
    """filing-level findings"""
    files: list[FileReportModel]
    matching: list[MatchRowModel]


REPORT_MODELS: tuple[Any, ...] = (
    PolicySummaryModel,
    BoxModel,
    LocationModel,
    FindingModel,
    FontUsageModel,
    TextSummaryModel,
    PageImageModel,
    LegibilityModel,
    OcrModel,
    PageModel,
    PageStartModel,
    LayoutRunModel,
    AttachmentModel,
    FingerprintModel,
    OutlineModel,
    FileReportModel,
    MatchRowModel,
    FilingReportModel,
)
for _model in REPORT_MODELS:
    # pydantic's configuration, as a plain mapping (the typed dicts stay pydantic-free)
    _model.__pydantic_config__ = {"use_attribute_docstrings": True}


# --- the report in Python ---------------------------------------------------------------------------


@dataclass
class Finding:
    rule: str
    severity: str
    message: str
    location: dict[str, Any] = field(default_factory=dict)
    observed: Any = None
    expected: Any = None

    def to_dict(self) -> FindingModel:
        return cast(FindingModel, asdict(self))

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

    def to_dict(self) -> PageModel:
        # The measured figures sit beside the page's own keys (PageModel lists them).
        d: dict[str, Any] = {"number": self.number, "kind": self.kind, "dpi": self.dpi, "colour": self.colour}
        d.update(self.metrics)
        return cast(PageModel, d)

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
        # Typed as a plain dict for the caches that store it; built as the model, so checked.
        d: FileReportModel = {
            "name": self.name,
            "size": self.size,
            "sha256": self.sha256,
            "format": cast(FileFormat | None, self.format),
            "verdict": self.verdict,
            "findings": [f.to_dict() for f in self.findings],
            "text": cast(TextSummaryModel, asdict(self.text)) if self.text is not None else None,
            "pages": [p.to_dict() for p in self.pages],
            "outline": cast(OutlineModel | None, self.outline),
        }
        return cast(dict[str, Any], d)

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

    def to_dict(self) -> FilingReportModel:
        d: FilingReportModel = {
            "schema_version": SCHEMA_VERSION,
            "policy": cast(PolicySummaryModel, self.policy),
            "lang": cast(Lang, self.lang),
            "verdict": self.verdict,
            "findings": [f.to_dict() for f in self.findings],
            "files": [cast(FileReportModel, f.to_dict()) for f in self.files],
            "matching": cast(list[MatchRowModel], self.matching),
        }
        if self.id is None:
            return d
        # `id` follows `schema_version` (the keys keep this order in the JSON)
        return {"schema_version": d["schema_version"], "id": self.id, **d}

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
