"""Seeded mutants of real documents: byte flips, truncations, repeated ranges and zeroed ranges.

Shared by `tests/test_mutants.py` (a bounded run) and `bench/fuzz_mutants.py` (a long run). A
mutant is fully determined by the seed and its index, so a failing one is made again from the
two numbers the run prints; the sources are read in place and never changed.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from courtdoc.core.policy import Policy
    from courtdoc.engine.sandbox import SandboxPool

KINDS = ("flip", "truncate", "repeat", "zero")
EXTENSIONS = frozenset({".pdf", ".docx", ".doc", ".xlsx", ".jpg", ".jpeg"})
# Larger sources make slow mutants without finding more: damage is local, parsing is not.
MAX_SOURCE_BYTES = 3 * 1_048_576
# Fixtures made to hit the sandbox's bounds: their mutants only wait for the time limit.
HOSTILE = ("(поток ", "гигапикселя", "205 МиБ")
# Generated folders of other tests (archives, filings) hold copies of the same documents.
SKIP_FOLDERS = frozenset({"bulk", "filings"})


@dataclass(frozen=True)
class Mutant:
    index: int
    source: Path
    kind: str
    detail: str  # what was done, in offsets of the source
    data: bytes

    @property
    def name(self) -> str:
        """A file name with the source's extension (and a word, so the name itself is fine)."""
        return f"mutant-{self.index:05d}-{self.kind}{self.source.suffix.lower()}"


def default_folders(root: Path) -> list[Path]:
    """The shared corpus beside the repository (when present) and the generated fixtures."""
    return [root.parent / "shared" / "corpus", root / "fixtures" / "generated"]


def sources(*folders: Path) -> list[Path]:
    """Files of the formats the court takes, under the size cap and not hostile, in a stable order."""
    found: list[Path] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        found += sorted(
            p
            for p in folder.rglob("*")
            if p.is_file()
            and p.suffix.lower() in EXTENSIONS
            and 0 < p.stat().st_size <= MAX_SOURCE_BYTES
            and not any(mark in p.name for mark in HOSTILE)
            and not SKIP_FOLDERS & set(p.relative_to(folder).parts[:-1])
        )
    return found


def _span(rng: random.Random, size: int) -> tuple[int, int]:
    """A range to damage: mostly short (a sector, a few bytes), sometimes long."""
    length = max(1, min(size, int(rng.choice((1, 4, 64, 512, 4096)) * rng.uniform(0.5, 2.0))))
    start = rng.randrange(0, max(1, size - length + 1))
    return start, start + length


def mutate(data: bytes, kind: str, rng: random.Random) -> tuple[bytes, str]:
    """One mutation of `kind`; returns the new bytes and what was done."""
    size = len(data)
    if kind == "flip":
        out = bytearray(data)
        offsets = sorted(rng.randrange(size) for _ in range(rng.choice((1, 2, 8, 32))))
        for offset in offsets:
            out[offset] ^= 1 << rng.randrange(8)
        return bytes(out), f"bits flipped at {offsets[:8]}{' …' if len(offsets) > 8 else ''}"
    if kind == "truncate":
        # Anywhere, but often near the end, where an interrupted upload stops.
        cut = int(size * (rng.uniform(0.9, 1.0) if rng.random() < 0.5 else rng.uniform(0.05, 0.9)))
        cut = max(1, min(size - 1, cut))
        return data[:cut], f"cut at {cut} of {size}"
    start, end = _span(rng, size)
    if kind == "repeat":
        copies = rng.choice((1, 2, 16))
        return data[:end] + data[start:end] * copies + data[end:], f"[{start}:{end}] repeated {copies}×"
    if kind == "zero":
        return data[:start] + bytes(end - start) + data[end:], f"[{start}:{end}] zeroed"
    raise ValueError(f"unknown mutation {kind!r}")


def mutant(files: list[Path], seed: int, index: int) -> Mutant:
    """Mutant number `index` of the run with `seed` (independent of the other mutants)."""
    rng = random.Random(f"{seed}:{index}")
    source = rng.choice(files)
    kind = rng.choice(KINDS)
    data, detail = mutate(source.read_bytes(), kind, rng)
    return Mutant(index, source, kind, detail, data)


def mutants(files: list[Path], seed: int, count: int, start: int = 0) -> Iterator[Mutant]:
    for index in range(start, start + count):
        yield mutant(files, seed, index)


@dataclass
class Outcome:
    mutant: Mutant
    verdict: str
    rules: list[str]
    failures: list[str]  # `observed` of every file.check_failed finding
    seconds: float


def check(
    files: list[Path],
    seed: int,
    count: int,
    folder: Path,
    policy: Policy,
    pool: SandboxPool,
    workers: int = 2,
    start: int = 0,
) -> Iterator[Outcome]:
    """Make and check mutants `start`…`start + count - 1`, `workers` at a time; yields as they finish."""
    from courtdoc.pipeline import validate_file

    def one(index: int) -> Outcome:
        made = mutant(files, seed, index)
        path = folder / made.name
        path.write_bytes(made.data)
        made = Mutant(made.index, made.source, made.kind, made.detail, b"")
        started = time.monotonic()
        try:
            report = validate_file(path, policy, pool=pool)
        finally:
            path.unlink(missing_ok=True)
        failures = [str(f.observed) for f in report.findings if f.rule == "file.check_failed"]
        rules = [f.rule for f in report.findings]
        return Outcome(made, report.verdict, rules, failures, time.monotonic() - started)

    folder.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(workers) as executor:
        yield from executor.map(one, range(start, start + count))
