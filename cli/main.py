"""The `courtdoc` command line: `check` files in-process, list the `rules`.

Exit codes of `check`: 0 when every file (and the filing) is accepted, 1 when anything is
rejected, 2 on a usage error (a path that does not exist, a bad policy, a bad option). A path
that exists but cannot be read as a file (no permission, a directory, a FIFO or device, a
symbolic link loop, or a file gone while being checked) gets a report with a `file.unreadable`
finding, and every other file is still checked; a FIFO is never opened for a blocking read.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import stat
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .. import __version__
from ..core import messages
from ..core.filenames import normalize_name
from ..core.policy import Policy, PolicyError, load_policy

EXIT_OK, EXIT_REJECTED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    pass


# The commands that need only the checker: for them the service, worker and bulk commands (and
# their imports: structlog, dramatiq, uvicorn) are not loaded, so `courtdoc check` starts fast.
_CORE_COMMANDS = ("check", "rules", "doctor")


def _core_only(argv: Sequence[str]) -> bool:
    first = next((a for a in argv if not a.startswith("-")), None)
    return first in _CORE_COMMANDS or (first is None and "--version" in argv and "--help" not in argv)


def _parser(core_only: bool = False) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="courtdoc", description="Check court e-filing attachments.")
    parser.add_argument("--version", action="version", version=f"courtdoc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="check files and print a verdict per file")
    check.add_argument("files", nargs="*", metavar="FILE")
    check.add_argument("--format", choices=("text", "json"), default="text", dest="output")
    check.add_argument("--lang", choices=messages.LANGS, default="en")
    check.add_argument("--policy", metavar="FILE", help="policy TOML (default: the shipped kz-court policy)")
    check.add_argument(
        "--declared",
        metavar="FILE",
        help="JSON list of declared documents [{title, filename, pages}], or a filing.json object",
    )
    check.add_argument(
        "--filing", metavar="DIR", help="check every file in DIR as one filing (metadata: DIR/filing.json)"
    )
    check.add_argument("--jobs", type=int, default=0, help="files checked at once (default: cores)")
    check.add_argument(
        "--html",
        metavar="OUT.html",
        help="also write the report page with its page pictures embedded: opens from disk, loads nothing",
    )

    rules = sub.add_parser("rules", help="list every rule with its severity")
    rules.add_argument("--lang", choices=messages.LANGS, default="en")
    rules.add_argument("--policy", metavar="FILE")
    rules.add_argument(
        "--format",
        choices=("text", "json", "markdown"),
        default="text",
        dest="output",
        help="markdown: every rule documented in full from the registry (docs/rules.md), default severities",
    )
    from . import doctor

    doctor.register(sub)
    if not core_only:
        from ..service import app as service
        from ..workers import runner as worker_command
        from . import bulk as cli_bulk

        cli_bulk.add_parsers(sub)
        service.register(sub)
        worker_command.register(sub)
    return parser


def _read_text(path: Path) -> str:
    """A small text file's content; a FIFO or device is refused at once instead of read."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file")
        return fh.read().decode("utf-8")


def _load_metadata(path: str | Path | None) -> dict[str, Any]:
    """A filing's metadata from JSON: a list of declared documents, or a filing.json object
    (see docs/checks.md, "Filing-level checks"); validated here so a bad value is a usage error."""
    if path is None:
        return {}
    from ..checks.filing.metadata import MetadataError, parse_metadata

    try:
        data = json.loads(_read_text(Path(path)))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not valid JSON: {exc}") from None
    if isinstance(data, list):
        data = {"declared": data}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a JSON list of declared documents or a filing object")
    try:
        parse_metadata(data)
    except MetadataError as exc:
        raise UsageError(f"{path}: {exc}") from None
    return data


def _filing_files(folder: str) -> tuple[list[Path], Path | None]:
    """The files of a filing directory (sorted; hidden files and subdirectories skipped) and its
    filing.json. Entries that are not regular files (a FIFO, a broken link) are kept: their
    reports say why they cannot be read, rather than the document silently missing."""
    root = Path(folder)
    if not root.is_dir():
        raise UsageError(f"{folder}: no such directory")
    meta = root / "filing.json"
    files = sorted(p for p in root.iterdir() if not p.is_dir() and not p.name.startswith(".") and p != meta)
    return files, meta if meta.is_file() else None


def _missing(path: Path) -> bool:
    """Nothing at `path`, or a symbolic link to nothing: a usage error. A path that cannot be
    looked at (a folder without permission, a link loop) exists for all we know: a finding."""
    try:
        os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return True
    except OSError:
        return False
    return False


def _warm_sandbox(policy: Policy) -> None:
    """Start the checking children (and their forkserver, which imports the checkers) on another
    thread, while this process imports the pipeline: on two cores the two imports overlap."""
    from ..engine.sandbox import shared_pool

    pool = shared_pool(policy.sandbox.memory_limit_mb, policy.sandbox.recycle_rss_mb)
    threading.Thread(target=pool.warm, name="courtdoc-warm", daemon=True).start()


def _check(args: argparse.Namespace) -> int:
    policy = load_policy(args.policy)
    paths = [Path(f) for f in args.files]
    for p in paths:
        # Only a path that does not exist at all is a usage error (a typo); anything else that
        # is there but cannot be read is that file's finding (see _validate_all).
        if _missing(p):
            raise UsageError(f"{p}: no such file")
    metadata: dict[str, Any] = {}
    if args.filing:
        in_folder, meta_path = _filing_files(args.filing)
        paths += in_folder
        metadata = _load_metadata(meta_path)
    if args.declared:
        metadata = {**metadata, **_load_metadata(args.declared)}
    if not paths:
        raise UsageError("no files to check: give FILE... or --filing DIR")
    _warm_sandbox(policy)
    from .. import pipeline  # imported here so `courtdoc --help` and `rules` stay fast
    from .render import print_checked_as_one_filing, print_filing

    jobs = args.jobs or os.cpu_count() or 1
    show_progress = sys.stderr.isatty() and len(paths) > 3 and args.output == "text"
    reports = _validate_all(pipeline, paths, policy, args.lang, jobs, show_progress)
    filing = pipeline.validate_filing(paths, policy, lang=args.lang, reports=reports, metadata=metadata)
    if args.html:
        _write_html(Path(args.html), filing, paths, policy, args.lang)
    if args.output == "json":
        sys.stdout.write(filing.to_json() + "\n")
    else:
        print_filing(filing, args.lang)
        if len(paths) > 1 and not args.filing:
            # Files named one by one may be unrelated documents: say they were judged together.
            print_checked_as_one_filing(len(paths), args.lang)
    return EXIT_OK if filing.verdict == "accept" else EXIT_REJECTED


def _write_html(out: Path, filing: Any, paths: Sequence[Path], policy: Policy, lang: str) -> None:
    """The report page as one file, its pictures drawn now (cached only while it is written)."""
    import tempfile

    from ..service.pages import present

    with tempfile.TemporaryDirectory(prefix="courtdoc-html-") as cache:
        pictures = present.embed(filing, list(paths), policy, Path(cache), lang)
    html = present.standalone(filing, pictures, lang)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out)


def _validate_all(
    pipeline: Any, paths: Sequence[Path], policy: Policy, lang: str, jobs: int, show_progress: bool
) -> list[Any]:
    def one(p: Path) -> Any:
        name = normalize_name(p.name)
        try:
            # Hashing first opens the file without blocking and refuses what is not a regular
            # file, so a FIFO or a device never reaches the checker.
            return pipeline.validate_file(p, policy, lang=lang, name=name, sha256=pipeline.sha256_file(p))
        except OSError as exc:
            return pipeline.unreadable_report(p, exc, policy, name=name, lang=lang)

    with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(paths)))) as executor:
        if not show_progress:
            return list(executor.map(one, paths))
        from rich.progress import Progress

        results: list[Any] = []
        with Progress(transient=True, console=_stderr_console()) as progress:
            task = progress.add_task("checking", total=len(paths))
            for report in executor.map(one, paths):
                results.append(report)
                progress.advance(task)
        return results


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _rules(args: argparse.Namespace) -> int:
    from .render import print_rules

    if args.output == "markdown":
        from ..core.rules import markdown

        print(markdown(), end="")
        return EXIT_OK
    policy = load_policy(args.policy)
    print_rules(policy, args.lang, args.output)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser(core_only=_core_only(argv)).parse_args(argv)
    # serve, worker, revalidate, diff write filers' data (blobs, reports, results): files 0600
    # and directories 0700, in this process and every process it starts (restored on return,
    # for a caller that runs a command in its own process).
    previous_umask = os.umask(0o077) if args.command not in _CORE_COMMANDS else None
    try:
        if getattr(args, "run", None) is not None:
            return int(args.run(args))
        if args.command not in _CORE_COMMANDS:
            from . import bulk as cli_bulk

            if args.command in cli_bulk.COMMANDS:
                return cli_bulk.run(args)
        if args.command == "check":
            return _check(args)
        return _rules(args)
    except (UsageError, PolicyError) as exc:
        print(f"courtdoc: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    finally:
        if previous_umask is not None:
            os.umask(previous_umask)


if __name__ == "__main__":
    sys.exit(main())
