"""Session fixtures for the font and line-spacing tests: the generated documents, the corpus paths.

Registered as a plugin in conftest.py; `text_docs`, `content_docs` and `text_corpus` are available
to every test.
"""

from __future__ import annotations

import importlib.util
import shutil
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
GENERATED = ROOT / "fixtures" / "generated" / "text"
CONTENT = ROOT / "fixtures" / "generated" / "content"


def load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "generate_text_docs", ROOT / "fixtures" / "generate_text_docs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def has_soffice() -> bool:
    return bool(shutil.which("soffice") or shutil.which("libreoffice"))


@pytest.fixture(scope="session")
def text_docs() -> dict[str, Path]:
    return load_generator().generate(GENERATED)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def content_docs() -> dict[str, Path]:
    """The content-rule fixtures: anonymous font names, empty documents, margin-band text."""
    spec = importlib.util.spec_from_file_location("generate_content", ROOT / "fixtures" / "generate_content.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate(CONTENT)  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def text_corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    return CORPUS


def lo_doc(docs: dict[str, Path], key: str) -> Path:
    if key not in docs:
        pytest.skip("LibreOffice (soffice) is not installed: no LibreOffice-made fixtures")
    return docs[key]


def open_zip(path: Path) -> zipfile.ZipFile:
    return zipfile.ZipFile(path)
