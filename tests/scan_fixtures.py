"""Generated scan fixtures for the scan tests: made once per generator version under fixtures/generated/."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
GENERATOR = ROOT / "fixtures" / "generate_scans.py"
OUT = ROOT / "fixtures" / "generated" / "scans"


@cache
def generated() -> Path:
    """The generated scan fixtures (regenerated when the generator changes)."""
    stamp = OUT / ".stamp"
    digest = hashlib.sha256(GENERATOR.read_bytes()).hexdigest()
    if not (stamp.exists() and stamp.read_text() == digest):
        spec = importlib.util.spec_from_file_location("generate_scans", GENERATOR)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
        module.generate(OUT, "tests")
        stamp.write_text(digest)
    return OUT
