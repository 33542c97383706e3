"""Findings shown on their page: page thumbnails, the evidence of a finding (its page's picture
and the boxes to draw over it), and the report page as one self-contained file.

The same templates serve two readers. The pages of `courtdoc serve` link every picture
(`PictureLinks`: `<base>/pictures/{file}/{page}.png`, `<base>/evidence/{file}/{finding}.json`,
where `<base>` is the pre-check's address or the signed report link, which authorises them);
`courtdoc check --html` embeds them (`Embedded`: data: URIs, the evidence in the page) and inlines
the CSS and JavaScript, so the file opens from disk with no server and no network.

Evidence is what the page's dialog draws: the picture of the finding's page and the finding's
`location.boxes` over it as SVG (never burnt into the picture). A scan's boxes come with the
report; a text finding's are found on the drawn page by `engine.evidence`. A page that cannot be
drawn (no LibreOffice, a damaged file) gives the `NoPicture` reason in the reader's language.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from ...core import messages
from ...core.policy import Policy
from ...core.report import FileReport, FilingReport, Finding
from ...engine import evidence as located
from ...engine.pictures import FORMATS, NoPicture, Picture, render_page
from ...engine.sandbox import SandboxPool
from .strings import LANGS, t

HERE = Path(__file__).parent
STATIC = HERE / "static"
TEMPLATES = HERE / "templates"
THUMB_WIDTH = 240  # px: a page in the strip
LARGE_WIDTH = 1200  # px: a page opened in the dialog
WIDTHS = (THUMB_WIDTH, LARGE_WIDTH)
MAX_THUMBS = 30  # pages shown in a file's strip


def environment(static: Callable[[str], str] | None = None) -> Environment:
    """The pages' templates; `static` names a static file's URL (none for a standalone page)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=False,
    )
    env.globals.update(t=t, ui=messages.ui, langs=LANGS, static=static or (lambda name: name))
    return env


def picturable(file: FileReport) -> bool:
    return (file.format or "") in FORMATS


def page_numbers(file: FileReport) -> list[int]:
    """The pages a file's strip shows: as many as the report counted (1 for a scan)."""
    if not picturable(file):
        return []
    counted = (file.outline or {}).get("pages")
    pages = counted if isinstance(counted, int) and counted > 0 else len(file.pages) or 1
    return list(range(1, min(pages, MAX_THUMBS) + 1))


def shows_on_page(file: FileReport | None, finding: Finding) -> bool:
    """A finding of a picturable file that is about a page, a region or a text it can find."""
    if file is None or not picturable(file):
        return False
    location = finding.location
    return bool(location.get("boxes") or location.get("page")) or located.wants_evidence(finding, file.format)


def _first_page(finding: Finding) -> int:
    boxes = finding.location.get("boxes") or []
    if boxes and isinstance(boxes[0].get("page"), int):
        return int(boxes[0]["page"])
    page = finding.location.get("page")
    return page if isinstance(page, int) and page > 0 else 1


def evidence(
    file: FileReport,
    finding: Finding,
    path: Path,
    policy: Policy,
    cache_dir: Path,
    lang: str,
    src: Callable[[Picture], str],
    pool: SandboxPool | None = None,
) -> dict[str, Any]:
    """What the dialog draws for a finding: {page, src, width_pt, height_pt, boxes, note?, alt},
    or {reason} (a text in `lang`) when its page has no picture."""
    fmt = file.format or ""
    boxes: list[dict[str, Any]] = list(finding.location.get("boxes") or [])
    page = _first_page(finding)
    note = ""
    if not boxes and located.wants_evidence(finding, fmt):
        found = located.locate(
            path, fmt, [located.query_of(finding)], policy, cache_dir, pool, sha256=file.sha256
        )
        if isinstance(found, NoPicture):
            return {"reason": found.text(lang)}
        if found[0] is not None:
            page, boxes = found[0].page, found[0].boxes
        else:
            note = t("evidence_not_found", lang)
    picture = render_page(path, fmt, page, LARGE_WIDTH, policy, cache_dir, pool, sha256=file.sha256)
    if isinstance(picture, NoPicture):
        return {"reason": picture.text(lang)}
    shown = [b for b in boxes if b.get("page") == page]
    return {
        "page": page,
        "src": src(picture),
        "width_pt": round(picture.page_width_pt, 2),
        "height_pt": round(picture.page_height_pt, 2),
        "boxes": shown,
        "note": note or (t("evidence_marked", lang) if shown else ""),
        "alt": t("page_of_file", lang, name=file.name, page=page),
    }


def data_uri(picture: Picture) -> str:
    return f"data:{picture.media_type};base64,{base64.b64encode(picture.data).decode('ascii')}"


# --- how a page reaches the pictures ---------------------------------------------------------------


@dataclass
class PictureLinks:
    """Pictures and evidence served under `base` (a pre-check's address or a signed report link)."""

    base: str
    lang: str

    def pages(self, file: FileReport) -> list[int]:
        return page_numbers(file)

    def thumb(self, index: int, page: int) -> str:
        return f"{self.base}/pictures/{index}/{page}.png?w={THUMB_WIDTH}"

    def large(self, index: int, page: int) -> str:
        return f"{self.base}/pictures/{index}/{page}.png?w={LARGE_WIDTH}"

    def shows(self, file: FileReport | None, finding: Finding) -> bool:
        return shows_on_page(file, finding)

    def attrs(self, index: int, findex: int) -> dict[str, str]:
        """The data attributes of a finding's button: where its evidence is fetched."""
        return {"data-evidence-url": f"{self.base}/evidence/{index}/{findex}.json?lang={self.lang}"}

    def page_attrs(self, index: int, page: int) -> dict[str, str]:
        return {"data-evidence-url": f"{self.base}/evidence/{index}/page-{page}.json?lang={self.lang}"}


@dataclass
class Embedded(PictureLinks):
    """Pictures and evidence written into the page itself (data: URIs), for a file on disk."""

    thumbs: dict[tuple[int, int], str] = field(default_factory=dict)
    found: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    opened: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)

    def thumb(self, index: int, page: int) -> str:
        return self.thumbs.get((index, page), "")

    def attrs(self, index: int, findex: int) -> dict[str, str]:
        return {"data-evidence": json.dumps(self.found.get((index, findex), {}), ensure_ascii=False)}

    def page_attrs(self, index: int, page: int) -> dict[str, str]:
        return {"data-evidence": json.dumps(self.opened.get((index, page), {}), ensure_ascii=False)}


def page_evidence(file: FileReport, page: int, picture: Picture | NoPicture, lang: str, src: str) -> dict[str, Any]:
    """A page opened from the strip: its picture, nothing drawn over it."""
    if isinstance(picture, NoPicture):
        return {"reason": picture.text(lang)}
    return {
        "page": page,
        "src": src,
        "width_pt": round(picture.page_width_pt, 2),
        "height_pt": round(picture.page_height_pt, 2),
        "boxes": [],
        "note": "",
        "alt": t("page_of_file", lang, name=file.name, page=page),
    }


def embed(
    report: FilingReport,
    paths: list[Path],
    policy: Policy,
    cache_dir: Path,
    lang: str,
    pool: SandboxPool | None = None,
) -> Embedded:
    """Every picture and every finding's evidence of a report, drawn now, for `standalone`."""
    out = Embedded(base="", lang=lang)
    for index, (file, path) in enumerate(zip(report.files, paths, strict=True)):
        if not picturable(file):
            continue
        for page in page_numbers(file):
            thumb = render_page(path, file.format or "", page, THUMB_WIDTH, policy, cache_dir, pool,
                                sha256=file.sha256)  # fmt: skip
            if isinstance(thumb, Picture):
                out.thumbs[(index, page)] = data_uri(thumb)
            large = render_page(path, file.format or "", page, LARGE_WIDTH, policy, cache_dir, pool,
                                sha256=file.sha256)  # fmt: skip
            src = data_uri(large) if isinstance(large, Picture) else ""
            out.opened[(index, page)] = page_evidence(file, page, large, lang, src)
        for findex, finding in enumerate(file.findings):
            if shows_on_page(file, finding):
                out.found[(index, findex)] = evidence(
                    file, finding, path, policy, cache_dir, lang, data_uri, pool
                )
    return out


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() + "'"


def standalone(report: FilingReport, pictures: Embedded, lang: str) -> str:
    """The report page as one HTML file: inline CSS and JavaScript, pictures as data: URIs, and a
    Content-Security-Policy that lets it load nothing from anywhere."""
    css = (STATIC / "pages.css").read_text(encoding="utf-8")
    js = (STATIC / "pages.js").read_text(encoding="utf-8")
    csp = (
        f"default-src 'none'; img-src data:; style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
        "connect-src 'none'; form-action 'none'; base-uri 'none'"
    )
    return environment().get_template("standalone.html").render(
        lang=lang, title=t("report_title", lang), report=report, pictures=pictures, css=css, js=js, csp=csp
    )
