"""Fixtures of the bulk tests: the generated mixed archive and one uninterrupted reference run.

The archive (2,000 tiny files, hostile ones and copies included) is generated once per session
by `fixtures/generate_archive.py` under fixtures/generated/bulk/; the reference run is a plain
local `courtdoc revalidate` of it, which the other bulk tests compare against.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "fixtures" / "generated" / "bulk"
ARCHIVE_FILES = 2000
SMALL_FILES = 400


def load_generator() -> Any:
    spec = importlib.util.spec_from_file_location(
        "generate_archive", ROOT / "fixtures" / "generate_archive.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def courtdoc(
    *args: str, env: dict[str, str] | None = None, timeout: float = 240, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real command line in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "courtdoc.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        check=False,
    )


def lines(out: Path) -> set[str]:
    """results.jsonl as a set of canonical lines (key order fixed)."""
    with open(out / "results.jsonl", encoding="utf-8") as fh:
        return {json.dumps(json.loads(line), sort_keys=True, ensure_ascii=False) for line in fh}


def without_source(entries: set[str]) -> set[str]:
    out = set()
    for entry in entries:
        data = json.loads(entry)
        data.pop("source")
        out.add(json.dumps(data, sort_keys=True, ensure_ascii=False))
    return out


def _generated(n: int, seed: int) -> Path:
    """The archive of n files for this version of the generator (test runs share the tree:
    each archive is made in a private folder and renamed into place whole)."""
    gen = load_generator()
    version = hashlib.sha256((ROOT / "fixtures" / "generate_archive.py").read_bytes()).hexdigest()[:12]
    target = GENERATED / f"archive-{n}-{seed}-{version}"
    if not target.is_dir():
        GENERATED.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix="making-", dir=GENERATED))
        made = gen.generate(work, n, seed=seed)
        try:
            os.rename(made, target)
        except OSError:
            if not target.is_dir():
                raise
        shutil.rmtree(work, ignore_errors=True)
    return target


def _run(archive: Path, policy: Path, out: Path) -> Path:
    done = courtdoc("revalidate", str(archive), "--policy", str(policy), "--out", str(out), "--jobs", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(scope="session")
def bulk_policy() -> Path:
    """The shipped policy without the OCR of page heads (seconds per image, no use to these tests)."""
    from courtdoc.core.policy import DEFAULT_POLICY_PATH

    GENERATED.mkdir(parents=True, exist_ok=True)
    text = re.sub(
        r"(?m)^title_timeout_seconds = .*$",
        "title_timeout_seconds = 0",
        DEFAULT_POLICY_PATH.read_text(encoding="utf-8"),
    )
    text = text.replace('version = "', 'version = "bulk-tests-', 1)
    path = GENERATED / f"bulk-policy-{hashlib.sha256(text.encode()).hexdigest()[:12]}.toml"
    if not path.exists():
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    return path


@pytest.fixture(scope="session")
def bulk_pool() -> Iterator[Any]:
    """One warm sandbox pool for the in-process runs of a session (each CLI run starts its own)."""
    from courtdoc.core.policy import default_policy
    from courtdoc.engine.sandbox import SandboxPool

    bounds = default_policy().sandbox
    pool = SandboxPool(2, bounds.memory_limit_mb, bounds.recycle_rss_mb)
    yield pool
    pool.close()


def run_here(
    sources: list[Path], out: Path, policy_path: Path, pool: Any, **selection: Any
) -> tuple[Any, dict[str, Any]]:
    """`courtdoc revalidate` in this process, on the session's pool: (stats, summary totals)."""
    from courtdoc.bulk.runner import LocalBackend, Selection, revalidate
    from courtdoc.core.policy import load_policy

    policy = load_policy(policy_path)
    return revalidate(
        [str(s) for s in sources],
        policy,
        out,
        make_backend=lambda: LocalBackend(policy, "en", pool.size, pool=pool),
        selection=Selection(**selection),
    )


@pytest.fixture(scope="session")
def bulk_archive() -> Path:
    """2,000 files in about 640 filings, a fifth of them copies."""
    return _generated(ARCHIVE_FILES, 7)


@pytest.fixture(scope="session")
def small_archive() -> Path:
    return _generated(SMALL_FILES, 11)


@pytest.fixture(scope="session")
def bulk_reference(bulk_archive: Path, bulk_policy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uninterrupted local run of the 2,000-file archive."""
    return _run(bulk_archive, bulk_policy, tmp_path_factory.mktemp("bulk-reference") / "out")


@pytest.fixture(scope="session")
def small_reference(small_archive: Path, bulk_policy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _run(small_archive, bulk_policy, tmp_path_factory.mktemp("small-reference") / "out")
