"""Content-addressed file storage: each uploaded file is stored once, under its sha256.

An upload is first written to a staging file in `<root>/tmp` while its digest and size are
counted (the size cap is enforced as bytes arrive, so an oversized upload never lands whole).
Committing fsyncs the staging file, renames it to `<root>/<aa>/<bb>/<sha256>` (or drops it when
those bytes are already stored) and fsyncs the directories, so a committed file survives a power
cut. Names given by clients never become paths: only hex digests do.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
import uuid
from pathlib import Path

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class TooLarge(Exception):
    """The upload grew beyond the cap; it has been discarded."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class StagedBlob:
    """One upload being written; `write` counts and hashes, `commit` stores it for good."""

    def __init__(self, store: BlobStore, limit: int) -> None:
        self.store = store
        self.limit = limit
        self.size = 0
        self.path = store.tmp_dir / f"{uuid.uuid4().hex}.part"
        self._digest = hashlib.sha256()
        self._fh = open(self.path, "xb")  # noqa: SIM115 — closed by commit/abort
        self.sha256: str | None = None

    def write(self, data: bytes | memoryview) -> None:
        self.size += len(data)
        if self.size > self.limit:
            self.abort()
            raise TooLarge(self.limit)
        self._digest.update(data)
        self._fh.write(data)

    def finish(self) -> str:
        """Close the staging file (fsync'd); the digest is known from here on."""
        if self.sha256 is None:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
            self.sha256 = self._digest.hexdigest()
        return self.sha256

    def commit(self) -> Path:
        sha256 = self.finish()
        final = self.store.path(sha256)
        if final.exists():
            self.path.unlink(missing_ok=True)
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(self.path, final)
        _fsync_dir(final.parent)
        _fsync_dir(final.parent.parent)
        return final

    def abort(self) -> None:
        with contextlib.suppress(OSError):
            self._fh.close()
        self.path.unlink(missing_ok=True)


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp_dir = root / "tmp"
        self.tmp_dir.mkdir(parents=True, exist_ok=True)

    def stage(self, limit: int) -> StagedBlob:
        return StagedBlob(self, limit)

    def path(self, sha256: str) -> Path:
        if not _HEX64.match(sha256):
            raise ValueError(f"not a sha256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def staging_files(self) -> list[Path]:
        return sorted(self.tmp_dir.glob("*.part"))

    def clean_staging(self, older_than_s: float = 3600.0) -> int:
        """Remove staging files left by a process that died mid-upload."""
        removed = 0
        cutoff = time.time() - older_than_s
        for p in self.staging_files():
            with contextlib.suppress(OSError):
                if p.stat().st_mtime < cutoff:
                    p.unlink()
                    removed += 1
        return removed
