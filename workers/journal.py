"""The intake journal: every filing the API accepted, on disk until its verdict is delivered.

Redis holds a filing's working state, and with `appendfsync always` it keeps everything it
acknowledged. The journal is what makes the 202 independent of that: the API writes the
filing's record here (fsync'd, beside its blobs) before it records the filing in Redis, and the
entry stays until the filing needs nothing more — its callback delivered or given up, or its
report stored when it has no callback. The reconciler (`reconciler.py`) reads the journal to
find filings that stopped moving; a filing whose Redis state was lost altogether (Redis losing
writes inside an `everysec` window, a Redis started without its files) is recorded again from
its entry and checked again, with the same bytes and policy, so the same verdict.

One file per filing, `<data dir>/journal/<id[:2]>/<id>.json`, mode 0600: it holds the filer's
file names and metadata (personal data) for no longer than the filing is open.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class JournalEntry:
    fid: str
    record: dict[str, Any]
    written_at: float  # when the API wrote it (the file's mtime)


class IntakeJournal:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, fid: str) -> Path:
        return self.root / fid[:2] / f"{fid}.json"

    def write(self, fid: str, record: dict[str, Any]) -> None:
        """Durably record an accepted filing (file and directory fsync'd) before it is queued."""
        path = self._path(fid)
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(record, fh, ensure_ascii=False)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def remove(self, fid: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(fid).unlink()

    def __contains__(self, fid: str) -> bool:
        return self._path(fid).exists()

    def entries(self, older_than_s: float = 0.0) -> Iterator[JournalEntry]:
        """Entries written at least `older_than_s` ago (unreadable ones are skipped: a write in
        progress is a `.tmp` file, never a half-written `.json`)."""
        if not self.root.is_dir():
            return
        cutoff = time.time() - older_than_s
        for path in self.root.glob("*/*.json"):
            try:
                written = path.stat().st_mtime
                if written > cutoff:
                    continue
                record = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(record, dict):
                yield JournalEntry(path.stem, record, written)

    def __len__(self) -> int:
        return sum(1 for _ in self.root.glob("*/*.json")) if self.root.is_dir() else 0
