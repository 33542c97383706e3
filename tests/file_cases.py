"""What the file-level tests share: the rules of issue 3, the generated cases, policy variants."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

from courtdoc.core.policy import DEFAULT_POLICY_PATH
from courtdoc.core.rules import registry

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
GENERATED = ROOT / "fixtures" / "generated"

# The rules of issue 3, decided from the file itself (not from its text, scans or filing).
FILE_RULES = frozenset(
    {
        "file.empty",
        "file.too_large",
        "file.no_extension",
        "file.extension_not_allowed",
        "file.content_mismatch",
        "file.corrupt",
        "file.encrypted",
        "file.owner_password",
        "file.active_content",
        "file.archive_bomb",
        "file.check_timeout",
        "file.check_memory",
        "file.check_failed",
        "name.generic",
    }
)


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "courtdoc_fixtures_generate", ROOT / "fixtures" / "generate.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


generator = _load_generator()
CASES = generator.CASES


def policy_text(**changes: str) -> str:
    """The default policy's TOML with `key = value` lines replaced (key as written in the file)."""
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    for key, value in changes.items():
        text, count = re.subn(rf"(?m)^{re.escape(key)} = .*$", f"{key} = {value}", text)
        assert count == 1, key
    return text


def file_level_only(text: str) -> str:
    """Switch off every rule that is not a file-level rule (text, scan and filing checks)."""

    # No OCR of scan titles for the filing checks (seconds a page, and no file-level verdict).
    text = re.sub(r"(?m)^title_timeout_seconds = .*$", "title_timeout_seconds = 0.0", text)
    head, rules = text.split("\n[rules]\n", 1)
    # The policy's [rules] only overrides the registry's defaults: name every other rule "off".
    kept = re.sub(r'(?m)^"([^"]+)" = "\w+"\n', lambda m: m.group(0) if m.group(1) in FILE_RULES else "", rules)
    offs = "".join(f'"{rule}" = "off"\n' for rule in registry() if rule not in FILE_RULES)
    return head + "\n[rules]\n" + offs + kept
