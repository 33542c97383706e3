"""The filing-level rules, from the files' outlines and the filing's metadata.

File rules (`check_outline`, run on each file's outline): the name matches the document's own
title (`name.content_mismatch`, or `name.title_unreadable` when no title could be read) and one
document per file (`file.multiple_documents`). Filing rules (`check_filing`): the same file twice
(`filing.duplicate`, same bytes; `filing.duplicate_text`, same text in different files), two
different files under one name (`filing.name_collision`, Unicode form and letter case aside), and for
each list of declared documents — the filer's list, and the application's own list of
attachments — the count (`filing.count_mismatch`; for the application's list read with doubts,
`filing.count_uncertain`, a warning saying why), a one-to-one matching of entries to files
(`filing.declared_missing`, `filing.undeclared_file`), declared page counts
(`filing.page_count`); and the application's time limit (`filing.deadline`).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...core.filenames import collision_key
from ...core.policy import Policy
from ..findings import Issues
from ..image.ocr import ocr_unavailable_reason
from .assign import assign
from .metadata import FilingMetadata, deadline
from .normalize import Lexicon, similarity

_TITLE_TOKENS = 12
LIST_DECLARED = "declared"
LIST_APPLICATION = "application"

_LEXICONS: dict[tuple[int, str], Lexicon] = {}


def lexicon_for(policy: Policy) -> Lexicon:
    """The policy's document types, noise words and abbreviations, compiled once per policy."""
    key = (id(policy.filing), policy.sha256)
    lexicon = _LEXICONS.get(key)
    if lexicon is None:
        rules = policy.filing
        noise = list(rules.noise_words) + list(policy.names.generic_words)
        lexicon = Lexicon.build(rules.document_types, noise, rules.abbreviations)
        if len(_LEXICONS) > 8:
            _LEXICONS.clear()
        _LEXICONS[key] = lexicon
    return lexicon


# --- file rules -----------------------------------------------------------------------------------


def document_starts(outline: dict[str, Any], policy: Policy) -> list[tuple[int, str]]:
    """(page, title) where each document in the file begins; page 1 always begins one."""
    titles: dict[int, str] = {1: ""}
    for start in outline.get("page_starts") or []:
        titles.setdefault(int(start["page"]), str(start.get("title") or ""))
    if 1 in {int(s["page"]) for s in outline.get("page_starts") or []}:
        titles[1] = next(str(s["title"]) for s in outline["page_starts"] if int(s["page"]) == 1)
    runs = outline.get("layout") or []
    need = policy.filing.layout_changes_for_new_document
    for before, after in itertools.pairwise(runs):
        changes = sum(before.get(k) != after.get(k) for k in ("size_mm", "orientation", "source"))
        if changes >= need:
            titles.setdefault(int(after["pages"][0]), "")
    return sorted(titles.items())


_NO_OCR = {
    "off": "@ui:title_no_ocr_off",
    "no_tesseract": "@ui:title_no_ocr_tesseract",
    "no_language": "@ui:title_no_ocr_language",
}


def check_outline(name: str, outline: dict[str, Any] | None, policy: Policy, issues: Issues) -> None:
    """Rules 9 and 2 on one file: its name against its title, and one document in it."""
    if outline is None:
        return
    lexicon = lexicon_for(policy)
    title = outline.get("title")
    if not title:
        ocr = outline.get("ocr")
        reason = {"unavailable": "@ui:title_no_ocr", "empty": "@ui:title_ocr_empty"}.get(
            ocr or "", "@ui:title_no_text"
        )
        if ocr == "unavailable":  # say which cause applies
            reason = _NO_OCR.get(ocr_unavailable_reason(policy) or "", reason)
        issues.add("name.title_unreadable", location={"page": 1}, observed=None, name=name, reason=reason)
    else:
        name_tokens = lexicon.tokens(name, filename=True)
        title_tokens = lexicon.tokens(title)
        in_name = lexicon.concepts(name_tokens)
        in_title = lexicon.concepts(title_tokens)
        in_head: frozenset[str] = frozenset()
        for line in outline.get("head") or []:
            in_head |= lexicon.concepts(lexicon.tokens(line))
        score = similarity(name_tokens, title_tokens)
        if (
            in_name
            and in_title
            and not in_name & in_title
            and not in_name & in_head
            and score < policy.filing.name_title_threshold
        ):
            issues.add(
                "name.content_mismatch",
                location={"page": 1, "excerpt": title[:80]},
                observed=title,
                expected=name,
                name=name,
                title=title,
            )
    starts = document_starts(outline, policy)
    if len(starts) >= 2:
        pages = ", ".join(str(p) for p, _ in starts)
        titles = "; ".join(f"{p}: {t}" for p, t in starts if t) or "-"
        issues.add(
            "file.multiple_documents",
            location={"page": starts[1][0]},
            observed=[{"page": p, "title": t or None} for p, t in starts],
            name=name,
            count=len(starts),
            pages=pages,
            titles=titles,
        )


# --- filing rules ---------------------------------------------------------------------------------


@dataclass
class FiledDocument:
    """What the filing rules know of one file: its name, bytes' hash and outline."""

    name: str
    sha256: str
    outline: dict[str, Any] | None = None

    @property
    def title(self) -> str | None:
        return (self.outline or {}).get("title")


def _sketch_similarity(a: Sequence[int] | set[int], b: Sequence[int] | set[int], k: int) -> float:
    """Jaccard estimate of two bottom-k sketches: the share of the k smallest hashes of their
    union that both hold."""
    if not a or not b:
        return 0.0
    sa = a if isinstance(a, set) else set(a)
    sb = b if isinstance(b, set) else set(b)
    union = sorted(sa | sb)[:k]
    return sum(1 for h in union if h in sa and h in sb) / len(union)


def _duplicates(docs: Sequence[FiledDocument], policy: Policy, issues: Issues) -> None:
    first_by_hash: dict[str, FiledDocument] = {}
    for doc in docs:
        first = first_by_hash.setdefault(doc.sha256, doc)
        if first is not doc:
            issues.add(
                "filing.duplicate",
                location={"file": doc.name},
                observed=doc.sha256,
                name=doc.name,
                other=first.name,
            )
    rules = policy.filing
    unique = list(first_by_hash.values())
    prints = [(d.outline or {}).get("fingerprint") or {} for d in unique]
    sketches = [set(f.get("sketch") or ()) for f in prints]
    reported: set[str] = set()
    for i, a in enumerate(unique):
        fa = prints[i]
        if fa.get("words", 0) < rules.duplicate_text_min_words or a.name in reported:
            continue
        for j in range(i + 1, len(unique)):
            b, fb = unique[j], prints[j]
            if fb.get("words", 0) < rules.duplicate_text_min_words or b.name in reported:
                continue
            if fa.get("sha256") == fb.get("sha256"):
                alike = 1.0
            else:
                alike = _sketch_similarity(sketches[i], sketches[j], 64)
            if alike >= rules.duplicate_text_similarity:
                reported.add(b.name)
                issues.add(
                    "filing.duplicate_text",
                    location={"file": b.name},
                    observed=round(alike, 3),
                    expected=f"< {rules.duplicate_text_similarity:g}",
                    name=b.name,
                    other=a.name,
                    percent=f"{alike * 100:.0f}",
                )


def _name_collisions(docs: Sequence[FiledDocument], issues: Issues) -> None:
    """Two different files whose names are one name to a reader (and to a case-insensitive file
    system): the filer cannot tell which is meant. The same bytes twice is `filing.duplicate`."""
    first_by_name: dict[str, FiledDocument] = {}
    for doc in docs:
        first = first_by_name.setdefault(collision_key(doc.name), doc)
        if first is not doc and first.sha256 != doc.sha256:
            issues.add(
                "filing.name_collision",
                location={"file": doc.name},
                observed=doc.name,
                name=doc.name,
                other=first.name,
            )


def _names_equal(a: str, b: str) -> bool:
    return a.strip().casefold() == b.strip().casefold()


class _Matcher:
    def __init__(self, docs: Sequence[FiledDocument], policy: Policy) -> None:
        self.docs = docs
        self.title_weight = policy.filing.title_weight
        self.lexicon = lexicon_for(policy)
        self.name_tokens = [self.lexicon.tokens(d.name, filename=True) for d in docs]
        # A title's first words name the document; the rest only slows the comparison.
        self.title_tokens = [self.lexicon.tokens(d.title)[:_TITLE_TOKENS] if d.title else None for d in docs]

    def row(self, entry: dict[str, Any]) -> list[float]:
        """The entry's score against every file: its title against the file's name and the
        document's own title (weighted), or 1 when the entry names the file exactly."""
        title = self.lexicon.tokens(entry["title"])
        filename = entry.get("filename")
        as_name = self.lexicon.tokens(filename, filename=True) if filename else None
        scores = []
        for j, doc in enumerate(self.docs):
            if filename and _names_equal(filename, doc.name):
                scores.append(1.0)
                continue
            best = similarity(title, self.name_tokens[j])
            if as_name is not None:
                best = max(best, similarity(as_name, self.name_tokens[j]))
            titled = self.title_tokens[j]
            # Different document types score at most 0.3: the title cannot raise such a pair.
            if (
                titled
                and best < self.title_weight
                and not (title.types and titled.types.isdisjoint(title.types))
            ):
                best = max(best, self.title_weight * similarity(title, titled))
            scores.append(round(best, 3))
        return scores


def score_names(titles: Sequence[str], names: Sequence[str], policy: Policy) -> list[list[float]]:
    """Similarity of every declared title to every file name (names alone, no outlines)."""
    docs = [FiledDocument(n, "") for n in names]
    matcher = _Matcher(docs, policy)
    return [matcher.row({"title": t}) for t in titles]


def match_names(titles: Sequence[str], names: Sequence[str], policy: Policy) -> list[tuple[int, int, float]]:
    """One-to-one matching of declared titles to file names alone: (title, name, score) pairs."""
    return assign(score_names(titles, names, policy), policy.filing.match_threshold)


@dataclass
class _Listing:
    """One list being checked: its id, where its issues go and the parameters they all carry."""

    id: str
    issues: Issues
    params: dict[str, Any]

    def add(self, rule: str, where: dict[str, Any], **fields: Any) -> None:
        self.issues.add(rule, location={"list": self.id, **where}, **fields, **self.params)

    def row(self, entry: int | None, number: str | None, title: str | None, pages: Any) -> dict[str, Any]:
        return {
            "list": self.id,
            "entry": entry,
            "number": number,
            "title": title,
            "pages": pages,
            "file": None,
            "score": None,
            "file_pages": None,
        }


def _check_count(listing: _Listing, entries: int, files: int, doubts: Sequence[str]) -> None:
    """Files against entries: a refusal when the list was read for certain, else a warning
    saying why the reading may be wrong."""
    if entries == files:
        return
    counts = {"observed": files, "expected": entries, "files": files, "declared": entries}
    if doubts:
        listing.add("filing.count_uncertain", {}, reasons=[f"@ui:list_doubt_{d}" for d in doubts], **counts)
    else:
        listing.add("filing.count_mismatch", {}, **counts)


def _check_pages(
    listing: _Listing, i: int, entry: dict[str, Any], doc: FiledDocument, policy: Policy
) -> None:
    outline = doc.outline or {}
    declared = entry.get("pages")
    pages = outline.get("pages")
    if not (declared and pages and outline.get("pages_exact")):
        return
    if abs(int(pages) - int(declared)) > policy.filing.page_count_tolerance:
        listing.add(
            "filing.page_count",
            {"entry": i + 1, "file": doc.name},
            observed=pages,
            expected=declared,
            title=entry["title"],
            number=entry.get("number") or str(i + 1),
            name=doc.name,
            pages=pages,
            declared=declared,
        )


def _closest(scores: Sequence[float], names: Sequence[str], found: str, none: str) -> dict[str, Any]:
    """The hint naming the closest counterpart (`closest`, `score`), when any scores above 0."""
    best = max(range(len(scores)), key=lambda k: scores[k], default=None)
    if best is None or scores[best] <= 0:
        return {"hint": none, "closest": None, "score": None}
    return {"hint": found, "closest": names[best], "score": f"{scores[best]:.2f}"}


def _missing(
    listing: _Listing, i: int, entry: dict[str, Any], scores: Sequence[float], names: Sequence[str]
) -> None:
    listing.add(
        "filing.declared_missing",
        {"entry": i + 1},
        observed=None,
        expected=entry["title"],
        title=entry["title"],
        number=entry.get("number") or str(i + 1),
        **_closest(scores, names, "@ui:closest_file", "@ui:no_close_file"),
    )


def _undeclared(
    listing: _Listing, doc: FiledDocument, scores: Sequence[float], titles: Sequence[str]
) -> None:
    listing.add(
        "filing.undeclared_file",
        {"file": doc.name},
        observed=doc.name,
        name=doc.name,
        **_closest(scores, titles, "@ui:closest_entry", "@ui:no_close_entry"),
    )


def _check_list(
    list_id: str,
    entries: Sequence[dict[str, Any]],
    docs: Sequence[FiledDocument],
    policy: Policy,
    issues: Issues,
    params: dict[str, Any],
    doubts: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Count, one-to-one matching and page counts of one list of declared documents; `doubts`
    are why the list's reading may be wrong (none for a list the metadata declares)."""
    listing = _Listing(list_id, issues, params)
    _check_count(listing, len(entries), len(docs), doubts)
    matcher = _Matcher(docs, policy)
    scores = [matcher.row(e) for e in entries]
    pairs = {i: (j, s) for i, j, s in assign(scores, policy.filing.match_threshold)}
    names = [d.name for d in docs]
    rows: list[dict[str, Any]] = []
    for i, entry in enumerate(entries):
        row = listing.row(i + 1, entry.get("number") or str(i + 1), entry["title"], entry.get("pages"))
        if i in pairs:
            j, s = pairs[i]
            row.update(file=docs[j].name, score=s, file_pages=(docs[j].outline or {}).get("pages"))
            _check_pages(listing, i, entry, docs[j], policy)
        else:
            _missing(listing, i, entry, scores[i], names)
        rows.append(row)
    matched = {j for j, _ in pairs.values()}
    titles = [e["title"] for e in entries]
    for j, doc in enumerate(docs):
        if j not in matched:
            _undeclared(listing, doc, [scores[i][j] for i in range(len(entries))], titles)
            rows.append(
                listing.row(None, None, None, None)
                | {"file": doc.name, "file_pages": (doc.outline or {}).get("pages")}
            )
    return rows


def application_doubts(outline: dict[str, Any]) -> list[str]:
    """Why the count of the application's list may be wrong, from its reading (an outline
    stored before readings were recorded is judged by its numbering alone)."""
    reading = outline.get("attachments_reading")
    if isinstance(reading, dict):
        return [str(d) for d in reading.get("doubts") or []]
    numbers = [str(a.get("number") or "") for a in outline.get("attachments") or []]
    if all(n.isdigit() for n in numbers) and [int(n) for n in numbers] == list(range(1, len(numbers) + 1)):
        return []
    return ["unnumbered"]


def find_application(docs: Sequence[FiledDocument], meta: FilingMetadata, policy: Policy) -> int | None:
    """The application's index: the file with role `application`, else the first file whose title
    or name is an application (one with a list of attachments first)."""
    for j, doc in enumerate(docs):
        if meta.roles.get(doc.name) == "application":
            return j
    lexicon = lexicon_for(policy)
    kinds = set(policy.filing.application_types)
    candidates = []
    for j, doc in enumerate(docs):
        concepts = lexicon.concepts(lexicon.tokens(doc.title)) if doc.title else frozenset()
        if not concepts:
            concepts = lexicon.concepts(lexicon.tokens(doc.name, filename=True))
        if concepts & kinds:
            candidates.append(j)
    with_list = [j for j in candidates if (docs[j].outline or {}).get("attachments")]
    chosen = with_list or candidates
    return chosen[0] if chosen else None


def check_filing(
    docs: Sequence[FiledDocument],
    meta: FilingMetadata,
    policy: Policy,
    issues: Issues,
    today: dt.date | None = None,
) -> list[dict[str, Any]]:
    """Every filing rule; returns the matching table (one row per declared entry or file)."""
    _duplicates(docs, policy, issues)
    _name_collisions(docs, issues)
    rows: list[dict[str, Any]] = []
    if meta.declared is not None:
        rows += _check_list(LIST_DECLARED, meta.declared, docs, policy, issues, {"list": "@ui:list_declared"})
    app = find_application(docs, meta, policy)
    if app is not None:
        attachments = (docs[app].outline or {}).get("attachments") or []
        if attachments:
            others = [d for j, d in enumerate(docs) if j != app]
            entries = [
                {"title": a["title"], "pages": a.get("pages"), "number": a.get("number")} for a in attachments
            ]
            params = {"list": "@ui:list_application", "application": docs[app].name}
            doubts = application_doubts(docs[app].outline or {})
            rows += _check_list(LIST_APPLICATION, entries, others, policy, issues, params, doubts)
    limit = deadline(
        meta,
        policy.filing.civil_limit_months,
        policy.filing.criminal_against_limit_months,
        today or dt.date.today(),
    )
    if limit is not None and limit.filed > limit.last_day:
        issues.add(
            "filing.deadline",
            observed=limit.filed.isoformat(),
            expected=f"<= {limit.last_day.isoformat()}",
            proceeding=limit.proceeding,
            start=limit.start.isoformat(),
            filed=limit.filed.isoformat(),
            last_day=limit.last_day.isoformat(),
            months=limit.months,
            late_days=limit.late_days,
        )
    return rows
