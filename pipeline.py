"""The single entry to checking: route a file to its checkers, and decide file and filing verdicts.

`validate_file` runs the cheap checks (size, extension, name) in-process, then parses the file
in a bounded child process (`sandbox`), where `inspection.py` sniffs the content and runs the
format's checkers in a fixed order. Severities come from the policy, messages from the catalogue; a crash,
a timeout or a memory blow-up while parsing becomes a finding on that file, never a crash of
the run. `validate_filing` adds the checks that look at the files together.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .checks import common
from .checks.filing import metadata as filing_metadata
from .checks.filing import rules as filing_rules
from .checks.findings import Inspection, Issue, Issues
from .core import messages
from .core.policy import Policy, default_policy
from .core.report import FileReport, FilingReport, Finding, decide
from .engine.sandbox import SandboxMemory, SandboxPool, SandboxTimeout, shared_pool


class UnreadableFile(OSError):
    """A path that cannot be read as a file; `kind` names why (a `file.unreadable` phrase):
    permission, directory, special (a FIFO, device or socket), loop, broken_link, vanished or
    error."""

    def __init__(self, kind: str, code: int, text: str) -> None:
        super().__init__(code, text)
        self.kind = kind


def _unreadable(exc: OSError) -> UnreadableFile:
    if isinstance(exc, UnreadableFile):
        return exc
    kind = {
        errno.EACCES: "permission",
        errno.EPERM: "permission",
        errno.ELOOP: "loop",
        errno.ENOENT: "vanished",
        errno.ENOTDIR: "vanished",
        errno.EISDIR: "directory",
        errno.ENXIO: "special",  # a socket, or a device without its driver
        errno.ENODEV: "special",
    }.get(exc.errno or 0, "error")
    return UnreadableFile(kind, exc.errno or 0, exc.strerror or str(exc))


def open_file(path: Path) -> int:
    """A descriptor for reading the regular file at `path`, or `UnreadableFile`.

    Opened non-blocking, so a FIFO never blocks the caller (the open returns at once and the
    FIFO is refused like a directory or a device); for a regular file the flag changes nothing."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise _unreadable(exc) from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise UnreadableFile("directory", errno.EISDIR, os.strerror(errno.EISDIR))
        raise UnreadableFile("special", errno.EINVAL, "not a regular file")
    return fd


def sha256_file(path: Path) -> str:
    """The sha256 of a regular file's bytes; `UnreadableFile` (an OSError) when it cannot be read."""
    digest = hashlib.sha256()
    with os.fdopen(open_file(path), "rb") as fh:
        try:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
        except OSError as exc:
            raise _unreadable(exc) from None
    return digest.hexdigest()


def unreadable_report(
    path: str | Path, exc: OSError, policy: Policy | None = None, *, name: str | None = None, lang: str = "en"
) -> FileReport:
    """The report of a file that could not be read: one `file.unreadable` finding saying why and
    what to do; size 0 and an empty sha256, since neither is known."""
    policy = policy or default_policy()
    problem = _unreadable(exc)
    if problem.kind == "vanished" and os.path.islink(path):
        problem.kind = "broken_link"  # it was never there: the link points nowhere
    issues = Issues()
    issues.add(
        "file.unreadable",
        observed=problem.strerror,
        reason=f"@ui:unread_{problem.kind}",
        fix=f"@ui:unread_{problem.kind}_fix",
        error=problem.strerror,
    )
    findings = render_findings(issues, policy, lang)
    return FileReport(
        name=name or Path(path).name,
        size=0,
        sha256="",
        format=None,
        verdict=decide(findings),
        findings=findings,
    )


def inspect(path: Path, ext: str, policy: Policy) -> Inspection:
    """Sniff the content and run the format's checkers in order (see inspection.py).

    Runs inside the sandbox child, where `courtdoc.engine.inspection` is preloaded; the parent never
    imports the format checkers."""
    from .engine.inspection import inspect as inspect_in_child

    return inspect_in_child(path, ext, policy)


# --- the parent side ------------------------------------------------------------------------------


def _finding(issue: Issue, policy: Policy, lang: str) -> Finding | None:
    severity = policy.severity(issue.rule)
    if severity == "off":
        return None
    return Finding(
        rule=issue.rule,
        severity=severity,
        message=messages.render(issue.rule, lang, issue.params),
        location=issue.location,
        observed=issue.observed,
        expected=issue.expected,
    )


def render_findings(issues: Iterable[Issue], policy: Policy, lang: str) -> list[Finding]:
    return [f for f in (_finding(i, policy, lang) for i in issues) if f is not None]


def _run_bounded(path: Path, ext: str, policy: Policy, pool: SandboxPool | None) -> Inspection:
    bounds = policy.sandbox
    pool = pool or shared_pool(bounds.memory_limit_mb, bounds.recycle_rss_mb)
    try:
        result: Inspection = pool.run(inspect, (path, ext, policy), timeout=bounds.time_limit_seconds)
        return result
    except SandboxTimeout:
        failed = Inspection(format=None)
        failed.issues.add(
            "file.check_timeout",
            observed=f"> {bounds.time_limit_seconds:g} s",
            expected=f"<= {bounds.time_limit_seconds:g} s",
            limit_s=f"{bounds.time_limit_seconds:g}",
        )
        return failed
    except SandboxMemory:
        failed = Inspection(format=None)
        failed.issues.add(
            "file.check_memory",
            observed=f"> {bounds.memory_limit_mb} MB",
            expected=f"<= {bounds.memory_limit_mb} MB",
            limit_mb=str(bounds.memory_limit_mb),
        )
        return failed
    except Exception as exc:  # any other sandbox failure is this file's problem, not the run's
        failed = Inspection(format=None)
        failed.issues.add("file.check_failed", observed=str(exc)[:300], reason="@ui:fail_crash")
        return failed


def validate_file(
    path: str | Path,
    policy: Policy | None = None,
    *,
    name: str | None = None,
    lang: str = "en",
    pool: SandboxPool | None = None,
    sha256: str | None = None,
) -> FileReport:
    """Check one file; `name` is the name the filer gave it (defaults to the path's name);
    `sha256` the bytes' hash when the caller has already computed it."""
    policy = policy or default_policy()
    path = Path(path)
    name = name or path.name
    size = path.stat().st_size
    issues = Issues()
    inspection = Inspection(format=None)
    # Everything the name and the size tell is said at once; the content is parsed only when
    # the file has an allowed extension and a size within the limit.
    size_ok = common.check_size(size, policy, issues)
    ext = common.check_extension(name, policy, issues)
    common.check_name(name, policy, issues)
    if size_ok and ext is not None:
        inspection = _run_bounded(path, ext, policy, pool)
        issues.extend(inspection.issues)
        filing_rules.check_outline(name, inspection.outline, policy, issues)
    findings = render_findings(issues, policy, lang)
    return FileReport(
        name=name,
        size=size,
        sha256=sha256 or sha256_file(path),
        format=inspection.format,
        verdict=decide(findings),
        findings=findings,
        text=inspection.text,
        pages=inspection.pages,
        outline=inspection.outline,
    )


def filing_checks(
    reports: Sequence[FileReport],
    declared: Sequence[dict[str, Any]] | None = None,
    metadata: dict[str, Any] | None = None,
    *,
    policy: Policy | None = None,
    today: dt.date | None = None,
) -> tuple[Issues, list[dict[str, Any]]]:
    """Checks on the files together (see checks/filing/rules.py), and the matching table.

    `declared` is the filer's list of documents; `metadata` the filing's metadata (file roles,
    proceeding, dates, and possibly its own `declared` list, which `declared` overrides).
    Raises `MetadataError` when the metadata is malformed."""
    policy = policy or default_policy()
    meta = filing_metadata.parse_metadata(metadata or {})
    if declared is not None:
        meta.declared = filing_metadata.parse_declared(list(declared))
    # A file that could not be read has no sha256: it is nobody's duplicate.
    docs = [
        filing_rules.FiledDocument(r.name, r.sha256 or f"unread:{i}", r.outline)
        for i, r in enumerate(reports)
    ]
    issues = Issues()
    rows = filing_rules.check_filing(docs, meta, policy, issues, today)
    return issues, rows


def validate_filing(
    paths: Sequence[str | Path],
    policy: Policy | None = None,
    declared: Sequence[dict[str, Any]] | None = None,
    *,
    names: Sequence[str] | None = None,
    lang: str = "en",
    reports: Sequence[FileReport] | None = None,
    filing_id: str | None = None,
    metadata: dict[str, Any] | None = None,
    today: dt.date | None = None,
) -> FilingReport:
    """Check every file (unless their reports are given) and the filing as a whole.

    Raises `MetadataError` (a ValueError naming the key) when `metadata` is malformed; validate
    it at intake with `checks.filing.metadata.parse_metadata` to refuse it before any work."""
    policy = policy or default_policy()
    if reports is None:
        names = names or [Path(p).name for p in paths]
        reports = [validate_file(p, policy, name=n, lang=lang) for p, n in zip(paths, names, strict=True)]
    issues, matching = filing_checks(reports, declared, metadata, policy=policy, today=today)
    findings = render_findings(issues, policy, lang)
    verdict = decide(findings + [f for r in reports for f in r.findings])
    return FilingReport(
        policy=policy.summary(),
        verdict=verdict,
        findings=findings,
        files=list(reports),
        id=filing_id,
        lang=lang,
        matching=matching,
    )
