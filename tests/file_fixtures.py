"""Fixtures for the file-level tests (a pytest plugin: `pytest_plugins = ["file_fixtures"]`):
the generated files, a policy with only the file-level rules on, the corpus, a private pool."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from courtdoc.core.policy import DEFAULT_POLICY_PATH, Policy, load_policy
from courtdoc.engine.sandbox import SandboxPool
from file_cases import CORPUS, GENERATED, file_level_only, generator


@pytest.fixture(scope="session")
def generated() -> dict[str, Path]:
    """name → path of every generated fixture (made once, reused while current)."""
    paths: dict[str, Path] = generator.generate(GENERATED)
    return paths


@pytest.fixture(scope="session")
def file_policy_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("policy") / "file-level.toml"
    path.write_text(file_level_only(DEFAULT_POLICY_PATH.read_text(encoding="utf-8")), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def file_policy(file_policy_path: Path) -> Policy:
    return load_policy(file_policy_path)


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is not beside the repository ({CORPUS})")
    return CORPUS


@pytest.fixture
def one_child_pool() -> Iterator[SandboxPool]:
    """A private pool with one warm child, so tests can watch it being reused and replaced."""
    policy = load_policy()
    pool = SandboxPool(1, policy.sandbox.memory_limit_mb, policy.sandbox.recycle_rss_mb)
    pool.warm()
    yield pool
    pool.close()
