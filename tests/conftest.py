"""Shared pytest configuration; area-specific fixtures live in their own modules listed here."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
sys.path.insert(0, str(Path(__file__).resolve().parent))

pytest_plugins: list[str] = ["bulk_fixtures", "redis_server", "text_fixtures"]
