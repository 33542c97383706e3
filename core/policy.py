"""The policy: every limit, alias and threshold courtdoc applies, and a court's severities, from TOML.

A policy is data, versioned: `data/kz-court.toml` is the shipped default and a court may pass
its own file. Loading validates every key against the typed sections below, so a bad policy
is a clear error naming the key, never a surprise in the middle of a check. A rule's default
severity is the rule registry's (core/rules.py); a policy's `[rules]` table only overrides.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import tomllib
import types
import typing
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

from .rules import registry

Severity = Literal["reject", "warn", "info", "off"]
SEVERITIES: tuple[str, ...] = ("reject", "warn", "info", "off")

DEFAULT_POLICY_PATH = Path(__file__).parent / "data" / "kz-court.toml"


class PolicyError(ValueError):
    """The policy file is missing, is not TOML, or has a bad key."""


@dataclass(frozen=True)
class PolicyMeta:
    id: str
    version: str
    title: str = ""


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int
    allowed_extensions: list[str]
    extension_formats: dict[str, list[str]]


@dataclass(frozen=True)
class Sandbox:
    time_limit_seconds: float
    memory_limit_mb: int
    recycle_rss_mb: int


@dataclass(frozen=True)
class Archive:
    max_total_uncompressed_bytes: int
    max_entry_ratio: float
    ratio_min_entry_bytes: int
    max_entries: int


@dataclass(frozen=True)
class Names:
    min_word_letters: int
    generic_words: list[str]


@dataclass(frozen=True)
class Fonts:
    family: str
    aliases: list[str]
    clones: list[str]
    size_pt: float
    size_tolerance_pt: float
    max_deviating_share: float
    exempt_parts: list[str]
    # PDF only: text this close to the top/bottom edge is a running head/foot (see the TOML).
    pdf_margin_mm: float = 20.0


@dataclass(frozen=True)
class Spacing:
    line: float
    tolerance: float
    max_deviating_share: float
    exempt_parts: list[str]
    single_line_em: float


@dataclass(frozen=True)
class LegacyDoc:
    convert_timeout_seconds: float
    convert_memory_mb: int


@dataclass(frozen=True)
class Scan:
    dpi_min: float
    dpi_max: float
    dpi_tolerance: float
    anisotropy_tolerance: float
    dpi_not_stated: list[float]
    paper_tolerance: float
    paper_sizes_mm: dict[str, list[float]]
    common_dpi: list[float]
    page_image_coverage: float
    text_min_glyphs: int
    mixed_scan_coverage: float
    blank_max_coverage: float
    docx_page_coverage: float


@dataclass(frozen=True)
class Colour:
    colour_pixel_share: float
    chroma_threshold: float


@dataclass(frozen=True)
class Legibility:
    analysis_long_side_px: int
    min_sharpness: float
    min_contrast: float
    max_skew_degrees: float
    min_ink_share: float
    min_marks: int
    dark_paper_level: float
    light_ink_level: float
    min_line_pitch_px: float


@dataclass(frozen=True)
class Ocr:
    enabled: bool
    languages: str
    max_pages: int
    render_dpi: float
    min_words: int
    low_percentile: float
    min_low_confidence: float
    timeout_seconds: float
    page_band: list[float]
    # The title of a scan, read from the top of its first page for the filing checks (0 = never).
    title_timeout_seconds: float
    title_languages: list[str]


@dataclass(frozen=True)
class Filing:
    """Filing-level checks: matching declared documents to files, titles, time limits."""

    match_threshold: float
    title_weight: float
    name_title_threshold: float
    duplicate_text_similarity: float
    duplicate_text_min_words: int
    title_lines: int
    layout_changes_for_new_document: int
    page_count_tolerance: int
    civil_limit_months: int
    criminal_against_limit_months: int
    application_types: list[str]
    start_types: list[str]
    noise_words: list[str]
    abbreviations: dict[str, str]
    document_types: dict[str, list[str]]


@dataclass(frozen=True)
class Policy:
    policy: PolicyMeta
    limits: Limits
    sandbox: Sandbox
    archive: Archive
    names: Names
    fonts: Fonts
    spacing: Spacing
    doc: LegacyDoc
    scan: Scan
    colour: Colour
    legibility: Legibility
    ocr: Ocr
    filing: Filing
    rules: dict[str, str]
    sha256: str = field(default="", compare=False)
    source: str = field(default="", compare=False)
    #: The hash of the file's bytes alone, which courtdoc wrote as the policy's sha256 before the
    #: rule registry; a bulk run written then is recognised by it (see bulk/store.py).
    file_sha256: str = field(default="", compare=False)

    @property
    def id(self) -> str:
        return self.policy.id

    @property
    def version(self) -> str:
        return self.policy.version

    def severity(self, rule: str) -> str:
        try:
            return self.rules[rule]
        except KeyError:
            raise PolicyError(f"rules.{rule}: no severity for this rule in policy {self.id}") from None

    def summary(self) -> dict[str, str]:
        return {"id": self.id, "version": self.version, "sha256": self.sha256}

    def __reduce__(self) -> tuple[Any, tuple[bytes, bytes]]:
        """Pickled once per policy object, unpickled once per process: a sandbox child that
        gets the same policy with every file keeps one object, and with it everything compiled
        once per policy (the name lexicon costs about 6 ms to build)."""
        entry = _PICKLED.get(id(self))
        if entry is None or entry[0] is not self:
            state = pickle.dumps(
                {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}, pickle.HIGHEST_PROTOCOL
            )
            entry = (self, hashlib.blake2b(state, digest_size=16).digest(), state)
            if len(_PICKLED) >= _PICKLE_CACHE:
                _PICKLED.clear()
            _PICKLED[id(self)] = entry
        return (_unpickle_policy, (entry[1], entry[2]))


_PICKLE_CACHE = 8
# Parent side: id(policy) → (the policy, digest of its pickled fields, those bytes). The policy
# is kept in the entry, so its id cannot be reused while the entry lives.
_PICKLED: dict[int, tuple[Policy, bytes, bytes]] = {}
# Child side: digest → the policy unpickled from those bytes (content-addressed, so a policy
# changed with dataclasses.replace is another entry).
_UNPICKLED: dict[bytes, Policy] = {}


def _unpickle_policy(digest: bytes, state: bytes) -> Policy:
    policy = _UNPICKLED.get(digest)
    if policy is None:
        values = pickle.loads(state)
        policy = Policy(**values)
        if len(_UNPICKLED) >= _PICKLE_CACHE:
            _UNPICKLED.clear()
        _UNPICKLED[digest] = policy
    return policy


def _check_value(value: Any, annotation: Any, key: str) -> Any:
    """Check one TOML value against a field annotation; ints are accepted where floats are."""
    origin = get_origin(annotation)
    if annotation is bool:
        if not isinstance(value, bool):
            raise PolicyError(f"{key}: expected true or false, got {value!r}")
        return value
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PolicyError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise PolicyError(f"{key}: expected an integer, got {value!r}")
        return value
    if annotation is str:
        if not isinstance(value, str):
            raise PolicyError(f"{key}: expected a string, got {value!r}")
        return value
    if origin is list:
        (item_type,) = get_args(annotation)
        if not isinstance(value, list):
            raise PolicyError(f"{key}: expected a list, got {value!r}")
        return [_check_value(v, item_type, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        _, value_type = get_args(annotation)
        if not isinstance(value, dict):
            raise PolicyError(f"{key}: expected a table, got {value!r}")
        return {k: _check_value(v, value_type, f"{key}.{k}") for k, v in value.items()}
    if origin in (typing.Union, types.UnionType):
        raise PolicyError(f"{key}: unsupported annotation {annotation!r}")
    raise PolicyError(f"{key}: unsupported annotation {annotation!r}")


# Keys that moved: (old section, old key) → (new section, new key). A policy written before the
# move still loads; one that gives a value under both names is refused.
_MOVED_KEYS = {
    ("filing", "ocr_timeout_seconds"): ("ocr", "title_timeout_seconds"),
    ("filing", "ocr_languages"): ("ocr", "title_languages"),
}


def _move_old_keys(raw: dict[str, Any]) -> None:
    for (old_section, old_key), (new_section, new_key) in _MOVED_KEYS.items():
        old_table, new_table = raw.get(old_section), raw.get(new_section)
        if not isinstance(old_table, dict) or old_key not in old_table or not isinstance(new_table, dict):
            continue
        if new_key in new_table:
            raise PolicyError(
                f"{old_section}.{old_key}: moved to {new_section}.{new_key}, which is also given; keep only"
                f" {new_section}.{new_key}"
            )
        new_table[new_key] = old_table.pop(old_key)


def _build_section(cls: type, table: Any, prefix: str) -> Any:
    if not isinstance(table, dict):
        raise PolicyError(f"{prefix}: expected a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise PolicyError(f"{prefix}.{unknown[0]}: unknown key")
    values: dict[str, Any] = {}
    for name, f in fields.items():
        if name not in table:
            if f.default is dataclasses.MISSING:
                raise PolicyError(f"{prefix}.{name}: missing")
            continue
        values[name] = _check_value(table[name], hints[name], f"{prefix}.{name}")
    return cls(**values)


def _effective_rules(overrides: dict[str, str]) -> dict[str, str]:
    """Every registered rule's severity: the registry's default unless the policy's `[rules]`
    table overrides it. A rule the policy does not name keeps its default, so a court's policy
    written for an earlier courtdoc keeps loading when rules are added; a rule courtdoc does not
    know is an error (a misspelt id would never apply)."""
    for rule, severity in overrides.items():
        if severity not in SEVERITIES:
            raise PolicyError(
                f"rules.{rule}: severity must be one of {', '.join(SEVERITIES)}, got {severity!r}"
            )
    known = registry()
    for rule in sorted(set(overrides) - set(known)):
        raise PolicyError(f"rules.{rule}: unknown rule")
    return {rule_id: overrides.get(rule_id, entry.severity) for rule_id, entry in known.items()}


def _digest(data: bytes, rules: dict[str, str]) -> str:
    """The policy's identity: its file and the severities in effect, which also come from the
    registry, so the hash changes when a new courtdoc changes a default the policy relies on."""
    effective = "\n".join(f"{rule}={severity}" for rule, severity in sorted(rules.items()))
    return hashlib.sha256(data + b"\0rules\0" + effective.encode("utf-8")).hexdigest()


def parse_policy(data: bytes, source: str = "<policy>") -> Policy:
    """Parse and validate a policy. Its `[rules]` table holds only where it differs from the
    registry's default severities (see `_effective_rules`); `Policy.rules` holds every rule."""
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise PolicyError(f"{source}: not a valid TOML file: {exc}") from None
    _move_old_keys(raw)
    hints = typing.get_type_hints(Policy)
    sections: dict[str, Any] = {}
    known = {f.name for f in dataclasses.fields(Policy) if f.name not in ("sha256", "source", "file_sha256")}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise PolicyError(f"{unknown[0]}: unknown section")
    for name in known:
        if name == "rules":
            # Overrides only: a policy that keeps every default severity may leave it out.
            sections[name] = _check_value(raw.get(name, {}), hints[name], "rules")
        elif name not in raw:
            raise PolicyError(f"{name}: missing section")
        else:
            sections[name] = _build_section(hints[name], raw[name], name)
    sections["rules"] = _effective_rules(sections["rules"])
    limits: Limits = sections["limits"]
    lowered = [e.lower().lstrip(".") for e in limits.allowed_extensions]
    missing_map = sorted(set(lowered) - set(limits.extension_formats))
    if missing_map:
        raise PolicyError(f"limits.extension_formats.{missing_map[0]}: missing for an allowed extension")
    sections["limits"] = dataclasses.replace(limits, allowed_extensions=lowered)
    if limits.max_file_bytes <= 0:
        raise PolicyError("limits.max_file_bytes: must be positive")
    scan: Scan = sections["scan"]
    if not 0 < scan.dpi_min <= scan.dpi_max:
        raise PolicyError("scan.dpi_min: must be positive and not above scan.dpi_max")
    return Policy(
        **sections,
        sha256=_digest(data, sections["rules"]),
        source=source,
        file_sha256=hashlib.sha256(data).hexdigest(),
    )


def load_policy(path: str | Path | None = None) -> Policy:
    """Load and validate a policy file; None means the shipped default."""
    if path is None:
        return default_policy()
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{p}: cannot read policy file: {exc.strerror}") from None
    return parse_policy(data, str(p))


@cache
def default_policy() -> Policy:
    return parse_policy(DEFAULT_POLICY_PATH.read_bytes(), str(DEFAULT_POLICY_PATH))
