"""Content-addressed file storage: each uploaded file is stored once, under its sha256.

An upload is first written to a staging file in `<root>/tmp` while its digest and size are
counted (the size cap is enforced as bytes arrive, so an oversized upload never lands whole).
Committing fsyncs the staging file, renames it to `<root>/<aa>/<bb>/<sha256>` (or drops it when
those bytes are already stored) and fsyncs the directories, so a committed file survives a power
cut. Names given by clients never become paths: only hex digests do.

Data at rest is private to the service's user: the directories are created 0700 and every file
0600, whatever the process's umask. A blob's modification time is its retention clock: storing
the same bytes again (`commit`, `keep`) refreshes it, and `workers/collector.py` deletes a blob
only when that time is older than the retention and no filing references it (the module's
docstring tells why refreshing the time is what makes a concurrent store safe).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class TooLarge(Exception):
    """The upload grew beyond the cap; it has been discarded."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


#: Directories and files of the store: readable by the service's user only.
DIR_MODE, FILE_MODE = 0o700, 0o600


def private_dir(path: Path) -> None:
    """Create `path` (and its parents) 0700; tighten it if an older version left it wider."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    with contextlib.suppress(OSError):  # e.g. a volume owned by another user: leave it as it is
        if path.stat().st_mode & 0o777 != DIR_MODE:
            path.chmod(DIR_MODE)


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
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        self._fh = os.fdopen(fd, "wb")  # closed by commit/abort
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
        if self.store.keep(sha256):  # already stored: its retention clock starts again
            self.path.unlink(missing_ok=True)
            return final
        private_dir(final.parent.parent)
        private_dir(final.parent)
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
        #: Where the collector moves a blob before its last look (same file system as the blobs).
        self.trash_dir = root / "trash"
        private_dir(root)
        private_dir(self.tmp_dir)

    def stage(self, limit: int) -> StagedBlob:
        return StagedBlob(self, limit)

    def path(self, sha256: str) -> Path:
        if not _HEX64.match(sha256):
            raise ValueError(f"not a sha256 digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def keep(self, sha256: str) -> bool:
        """Refresh a stored blob's retention clock (its mtime) before using it again; False when
        the blob is not (or no longer) stored, and the caller must store the bytes itself.

        The path is looked at again after the refresh: when it is still there, the refresh
        happened before any collector could move the file away, so the collector's second look
        (at the moved file, the same inode) sees the new time and puts the file back."""
        path = self.path(sha256)
        try:
            os.utime(path)
            return path.is_file()
        except FileNotFoundError:
            return False

    def blobs(self) -> Iterator[tuple[str, Path]]:
        """Every stored blob as (sha256, path); staging and trash files are not blobs."""
        for first in sorted(self.root.glob("[0-9a-f][0-9a-f]")):
            for path in sorted(first.glob("[0-9a-f][0-9a-f]/*")):
                if _HEX64.match(path.name) and path.name.startswith(first.name + path.parent.name):
                    yield path.name, path

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
