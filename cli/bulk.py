"""The bulk commands: `courtdoc revalidate SOURCE... --out DIR` and `courtdoc diff OLD NEW`.

Exit codes: 0 when the run (or the diff) is complete, 2 on a usage error (a bad source or
policy, an output directory in use or holding another run), 130 when interrupted (Ctrl-C or
SIGTERM: the report so far is kept and the same command continues it).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..core import messages
from ..core.policy import PolicyError, load_policy

#: The types of the numbers in revalidate's closing lines (CLDR plurals and formats).
SUMMARY_PARAM_TYPES = {
    "files": "count",
    "distinct": "count",
    "accept": "count",
    "reject": "count",
    "unreadable": "count",
    "written": "count",
    "checked": "count",
    "replayed": "count",
    "done": "count",
    "count": "count",
    "rate": "number",
}

COMMANDS = ("revalidate", "diff")
EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def add_parsers(sub: Any) -> None:
    rv = sub.add_parser(
        "revalidate",
        help="re-check an archive under a policy into a resumable report",
        description="Re-check every file of directory trees, ZIP archives or manifests (CSV/JSONL of "
        "path[,filing_id,declared]) and write DIR/results.jsonl, summary.json, summary.csv and report.html "
        "(the same counts as charts, the worst files first). "
        "Run the same command again to continue an interrupted run.",
    )
    rv.add_argument("sources", nargs="+", metavar="SOURCE")
    rv.add_argument("--out", required=True, metavar="DIR", help="output directory (created; resumable)")
    rv.add_argument("--policy", metavar="FILE", help="policy TOML (default: the shipped kz-court policy)")
    rv.add_argument("--jobs", type=_positive, default=None, help="checks at once (default: cores)")
    rv.add_argument("--lang", choices=messages.LANGS, default="en")
    rv.add_argument("--limit", type=_positive, metavar="N", help="only the first N selected files")
    rv.add_argument("--only-format", metavar="FMT", help="only files claiming this type (pdf, docx, jpeg, …)")
    rv.add_argument("--sample", type=_positive, metavar="N", help="a fixed pseudo-random sample of N files")
    rv.add_argument("--compare", metavar="OLD", help="afterwards, diff against an older results.jsonl or run")
    rv.add_argument("--queue", action="store_true", help="send checks to the Dramatiq `bulk` queue on Redis")
    rv.add_argument("--redis-url", metavar="URL", help="Redis for --queue (default: COURTDOC_REDIS_URL)")
    rv.add_argument("--blob-dir", metavar="DIR", help="blob store the workers read (default: from settings)")
    rv.add_argument("--no-progress", action="store_true", help="no progress bar or progress log lines")
    rv.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"))

    df = sub.add_parser(
        "diff",
        help="files and filings whose verdict changes between two bulk runs",
        description="Compare two bulk runs (run directories or results.jsonl files), old first.",
    )
    df.add_argument("old", metavar="OLD")
    df.add_argument("new", metavar="NEW")
    df.add_argument("--format", choices=("text", "jsonl"), default="text", dest="output")
    df.add_argument("--out", metavar="FILE", help="also write every change as JSON lines here")


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM stops a run like Ctrl-C: lines so far are kept, the index is committed."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _revalidate(args: argparse.Namespace) -> int:
    from ..bulk import htmlreport, summary
    from ..bulk.diff import Diff, write_diff
    from ..bulk.filings import FILINGS
    from ..bulk.progress import Progress, configure_logging
    from ..bulk.runner import Backend, BackendUnavailable, LocalBackend, Selection, revalidate
    from ..bulk.sources import SourceError
    from ..bulk.store import RunLocked, RunMismatch

    configure_logging(json_logs=not sys.stderr.isatty(), level=args.log_level)
    policy = load_policy(args.policy)
    out = Path(args.out)
    jobs = args.jobs or os.cpu_count() or 1
    selection = Selection(limit=args.limit, only_format=args.only_format, sample=args.sample)

    def make_backend() -> Backend:
        if args.queue:
            from ..bulk.queue import QueueBackend

            return QueueBackend.from_settings(
                policy, args.lang, redis_url=args.redis_url, blob_dir=args.blob_dir
            )
        return LocalBackend(policy, args.lang, jobs)

    try:
        with _sigterm_interrupts():
            stats, totals = revalidate(
                args.sources,
                policy,
                out,
                make_backend=make_backend,
                lang=args.lang,
                selection=selection,
                progress=Progress(enabled=not args.no_progress),
                mode="queue" if args.queue else f"local, {jobs} jobs",
            )
    except (SourceError, RunLocked, RunMismatch, BackendUnavailable) as exc:
        print(f"courtdoc: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"courtdoc: interrupted; run the same command again to continue ({out})", file=sys.stderr)
        return EXIT_INTERRUPTED
    v = totals["verdicts"]
    s = stats.as_dict()
    f = totals["filings"]
    say = functools.partial(messages.phrase, lang=args.lang, types=SUMMARY_PARAM_TYPES)
    print(
        say(
            "bulk_totals",
            files=totals["files"],
            distinct=totals["distinct_contents"],
            out=str(out),
            accept=v["accept"],
            reject=v["reject"],
            unreadable=v["error"],
        )
    )
    # The same figures as this invocation's entry in run.json ("runs").
    print(
        say(
            "bulk_this_run",
            written=s["written"],
            checked=s["checked"],
            replayed=s["replayed"],
            done=s["already_done"],
            rate=s["files_per_s"],
        )
    )
    if f["count"]:
        print(say("bulk_filings", count=f["count"], accept=f["accept"], reject=f["reject"]))
    print(
        f"{messages.ui('bulk_report', args.lang)}: {out / 'results.jsonl'}, {out / FILINGS}, "
        f"{out / summary.SUMMARY_JSON}, {out / summary.SUMMARY_CSV}"
    )
    compare = None
    if args.compare:
        with Diff(args.compare, out) as diff:
            d = write_diff(diff, out / "diff.jsonl")
        print(
            f"against {args.compare}: {d.files_changed} files and {d.filings_changed} filings change verdict "
            f"({d.files_rules_only} more change rules only); see {out / 'diff.jsonl'}"
        )
        compare = {"old": args.compare, "summary": d.to_dict(), "diff": out / "diff.jsonl"}
    try:
        print(f"{messages.ui('bulk_page', args.lang)}: {htmlreport.write(out, args.lang, compare=compare)}")
    except OSError as exc:  # the results are complete without the page; say so and go on
        print(f"courtdoc: warning: report.html not written: {exc}", file=sys.stderr)
    return EXIT_OK


def _diff(args: argparse.Namespace) -> int:
    from ..bulk.diff import Diff, DiffError, write_diff

    try:
        diff = Diff(args.old, args.new)
    except DiffError as exc:
        print(f"courtdoc: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    with diff:
        d = write_diff(diff, Path(args.out) if args.out else None, sys.stdout, as_json=args.output == "jsonl")
    print(
        f"{d.files_compared} files compared: {d.files_changed} change verdict, {d.files_rules_only} change "
        f"rules only, {d.only_in_old} only in OLD, {d.only_in_new} only in NEW; "
        f"{d.filings_compared} filings compared: {d.filings_changed} change verdict",
        file=sys.stderr,
    )
    return EXIT_OK


def run(args: argparse.Namespace) -> int:
    try:
        if args.command == "revalidate":
            return _revalidate(args)
        return _diff(args)
    except PolicyError as exc:
        print(f"courtdoc: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
