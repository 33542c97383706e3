"""Session fixtures for the filing-level tests: the generated filings and their reports.

Import them into a test module (`from filing_fixtures import filings, filing_reports`). Each
filing directory is checked once per session, through the real pipeline (sandboxed per-file
checks, then the filing checks), and the reports are shared by the tests.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest
from courtdoc import pipeline
from courtdoc.core.policy import default_policy
from courtdoc.core.report import FileReport, FilingReport

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "fixtures" / "generated" / "filings"
TODAY = dt.date(2024, 3, 20)


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_filings", ROOT / "fixtures" / "generate_filings.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def filing_paths(folder: Path) -> tuple[list[Path], dict[str, object]]:
    meta_path = folder / "filing.json"
    files = sorted(p for p in folder.iterdir() if p.is_file() and p != meta_path)
    meta = json.loads(meta_path.read_text(encoding="utf-8")) if meta_path.is_file() else {}
    return files, meta


@pytest.fixture(scope="session")
def filings() -> Iterator[Path]:
    """The generated filings, in a directory of this test session's own (several test runs may
    share the working tree) that is removed at the end of the session."""
    generator = load_generator()
    if not generator.have_font():
        pytest.skip("no Cyrillic TTF font for the PDF filings (scripts/install-system-deps.sh installs one)")
    folder = GENERATED / f"session-{os.getpid()}"
    yield generator.generate(folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def file_reports(filings: Path) -> Callable[[Path], FileReport]:
    """The report of one generated file, checked once per session (per content and name)."""
    # Many filings share files byte for byte (the generator is deterministic): check each
    # (content, name) once.
    cache: dict[tuple[str, str], FileReport] = {}

    def get(path: Path) -> FileReport:
        key = (hashlib.sha256(path.read_bytes()).hexdigest(), path.name)
        if key not in cache:
            cache[key] = pipeline.validate_file(path, default_policy())
        return cache[key]

    return get


@pytest.fixture(scope="session")
def filing_reports(filings: Path, file_reports: Callable[[Path], FileReport]) -> Callable[..., FilingReport]:
    """validate_filing on a generated filing directory, with its filing.json as metadata."""

    def run(case: str, lang: str = "en", **overrides: object) -> FilingReport:
        files, meta = filing_paths(filings / case)
        meta = {**meta, **overrides}
        reports = [file_reports(p) for p in files]
        return pipeline.validate_filing(
            files, default_policy(), lang=lang, reports=reports, metadata=meta, today=TODAY
        )

    return run
