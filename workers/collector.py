"""The blob collector: deletes stored files (personal data) once their retention has passed.

Blobs are content-addressed and shared: two filings with the same bytes use one file. A blob
may be deleted when both hold:

  * it is *old*: its mtime is more than `COURTDOC_RETENTION_DAYS` ago. Every store of the same
    bytes refreshes the mtime (`BlobStore.commit`, and `BlobStore.keep` for the bulk queue), so
    the mtime is the time the blob was last handed to the service;
  * it is *unreferenced*: no filing hash in Redis (`<ns>:filing:<id>`, field `files`) and no
    entry of the intake journal (`journal.py`: a filing still open, which the reconciler may
    record again) names its sha256. A filing's keys live until its retention after it finished,
    so a filing still being checked, finalized or called back always references its blobs.

The race to close is a store of the same bytes while the collector works: intake finds the
blob already there, drops its own copy and records a filing that names it — after the collector
read the references and before it unlinks. The collector therefore never unlinks in place:

  1. it reads every filing's references (a SCAN), then for each old, unreferenced blob:
  2. renames it into `<blobs>/trash/` (atomic; the blob's path is empty from here on);
  3. looks at the moved file again: if its mtime is now recent, a store refreshed it before the
     rename — it is put back at once (a hard link, which never overwrites a newer copy);
  4. after the last rename, reads the references again: a moved blob that a filing now names
     is put back; every other one is unlinked.

A store either refreshed the mtime before step 2 (then step 3 sees it: the same inode, and
`keep` confirms the path still existed after its refresh) or found the path empty (then it
stores its own copy, which the collector never touches). Step 4 covers a filing recorded by
anything that did not refresh the mtime. A blob a store refreshed is away from its path only
between steps 2 and 3 (two system calls); a check that met it missing would fail with an OS
error and be retried. A blob no filing references is never in use by an intake check: a
filing's keys outlive its checks.

Several worker processes run a collector; a Redis key with a TTL of one interval makes one run
per interval likely, but correctness never depends on it (two runs cannot both move one file).
A run also removes staging files of uploads that died, and finishes what a killed run left in
the trash. It logs counts, bytes and the sha256s of deleted blobs — never file names.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from ..core import logs
from ..infra.blobstore import BlobStore, private_dir
from .journal import IntakeJournal
from .keys import Keys
from .periodic import Periodic

log = logs.get(__name__)

_SCAN_BATCH = 500

#: Called at named points of a run ("scanned", "chosen", "moved", "rescanning"): tests interleave a
#: concurrent store there; nothing else passes one.
Pause = Callable[[str, str], None]


@dataclass
class CollectStats:
    blobs: int = 0  # blobs looked at
    young: int = 0  # kept: stored within the retention
    referenced: int = 0  # kept: a filing names them
    restored: int = 0  # moved to the trash, then put back (stored or referenced meanwhile)
    deleted: int = 0
    bytes_deleted: int = 0
    staging_removed: int = 0
    deleted_sha256: list[str] = field(default_factory=list)

    def as_log(self) -> dict[str, Any]:
        return {
            "blobs": self.blobs,
            "kept_young": self.young,
            "kept_referenced": self.referenced,
            "restored": self.restored,
            "deleted": self.deleted,
            "bytes_deleted": self.bytes_deleted,
            "staging_removed": self.staging_removed,
        }


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def referenced_blobs(client: redis.Redis, keys: Keys) -> set[str]:
    """The sha256 of every file of every filing whose keys are still in Redis."""
    prefix = keys.filing_prefix
    found: set[str] = set()
    batch: list[str] = []

    def flush() -> None:
        pipe = client.pipeline(transaction=False)
        for key in batch:
            pipe.hget(key, "files")
        for raw in pipe.execute():
            if raw is not None:  # None: expired between the scan and the read
                found.update(_files_of({"files": _text(raw)}))
        batch.clear()

    for raw_key in client.scan_iter(match=f"{prefix}*", count=1000):
        key = _text(raw_key)
        if ":" in key[len(prefix) :]:
            continue  # a filing's other keys (reports, report, callback, …)
        batch.append(key)
        if len(batch) >= _SCAN_BATCH:
            flush()
    if batch:
        flush()
    return found


def _files_of(record: Any) -> set[str]:
    """The sha256s a filing record lists (`files`: a list, or its JSON text as Redis holds it)."""
    files = record.get("files") if isinstance(record, dict) else None
    if isinstance(files, str):
        try:
            files = json.loads(files)
        except ValueError:
            return set()
    if not isinstance(files, list):
        return set()
    return {str(f["sha256"]) for f in files if isinstance(f, dict) and f.get("sha256")}


def journal_blobs(journal: IntakeJournal | None) -> set[str]:
    """The sha256 of every file of every filing still in the intake journal."""
    found: set[str] = set()
    if journal is not None:
        for entry in journal.entries():
            found |= _files_of(entry.record)
    return found


def _put_back(moved: Path, path: Path) -> None:
    """Return a moved blob to its path, unless a newer copy of the same bytes is already there
    (or another collector's run has already dealt with the moved file)."""
    if not moved.exists():
        return
    try:
        os.link(moved, path)
    except FileExistsError:
        pass
    except FileNotFoundError:
        private_dir(path.parent.parent)
        private_dir(path.parent)
        with contextlib.suppress(FileExistsError, FileNotFoundError):
            os.link(moved, path)
    moved.unlink(missing_ok=True)


def _trash_entries(blobs: BlobStore) -> list[tuple[str, Path]]:
    if not blobs.trash_dir.is_dir():
        return []
    out = []
    for moved in sorted(blobs.trash_dir.iterdir()):
        sha256 = moved.name.split(".", 1)[0]
        try:
            blobs.path(sha256)
        except ValueError:
            moved.unlink(missing_ok=True)  # not ours
            continue
        out.append((sha256, moved))
    return out


def collect(
    blobs: BlobStore,
    client: redis.Redis,
    keys: Keys,
    retention_s: float,
    *,
    journal: IntakeJournal | None = None,
    now: float | None = None,
    pause: Pause | None = None,
) -> CollectStats:
    """One collector run (see the module docstring); returns what it did."""
    stats = CollectStats()
    cutoff = (time.time() if now is None else now) - retention_s
    stats.staging_removed = blobs.clean_staging()
    # What a killed run left in the trash gets its last look with this run's own.
    moved: list[tuple[str, Path]] = _trash_entries(blobs)
    references = referenced_blobs(client, keys) | journal_blobs(journal)
    if pause:
        pause("scanned", "")
    for sha256, path in blobs.blobs():
        stats.blobs += 1
        try:
            if path.stat().st_mtime >= cutoff:
                stats.young += 1
                continue
        except FileNotFoundError:
            continue
        if sha256 in references:
            stats.referenced += 1
            continue
        if pause:
            pause("chosen", sha256)
        private_dir(blobs.trash_dir)
        target = blobs.trash_dir / f"{sha256}.{uuid.uuid4().hex}"
        try:
            os.rename(path, target)
        except FileNotFoundError:
            continue  # another collector moved it
        if pause:
            pause("moved", sha256)
        try:
            refreshed = target.stat().st_mtime >= cutoff
        except FileNotFoundError:
            continue  # another collector's run took it from the trash and decided for it
        if refreshed:  # stored again before the move: keep it
            _put_back(target, path)
            stats.restored += 1
            continue
        moved.append((sha256, target))
    if not moved:
        return stats
    if pause:
        pause("rescanning", "")
    references = referenced_blobs(client, keys) | journal_blobs(journal)
    for sha256, target in moved:
        path = blobs.path(sha256)
        try:
            st = target.stat()
        except FileNotFoundError:
            continue
        # Put back: referenced, refreshed, or the same bytes were stored anew meanwhile (then
        # only the moved copy goes and the blob is still stored).
        if sha256 in references or st.st_mtime >= cutoff or path.exists():
            _put_back(target, path)
            stats.restored += 1
            continue
        target.unlink(missing_ok=True)
        stats.deleted += 1
        stats.bytes_deleted += st.st_size
        stats.deleted_sha256.append(sha256)
        log.info(
            "blob.deleted",
            sha256=sha256,
            size=st.st_size,
            age_days=round((time.time() - st.st_mtime) / 86400, 2),
        )
    return stats


class Collector:
    """A thread running `collect` every `interval_s` seconds (the first run soon after start)."""

    def __init__(
        self,
        blobs: BlobStore,
        client: redis.Redis,
        keys: Keys,
        retention_s: float,
        interval_s: float,
        journal: IntakeJournal | None = None,
    ) -> None:
        self.blobs = blobs
        self.journal = journal
        self.client = client
        self.keys = keys
        self.retention_s = retention_s
        self.interval_s = interval_s
        # A short delay first, different per process, so workers started together do not race
        # for the lock.
        self._periodic = Periodic(
            "collector",
            interval_s,
            self.run_once,
            first_wait_s=min(interval_s, 1.0 + (os.getpid() % 10) / 10),
        )

    def start(self) -> None:
        self._periodic.start()

    def stop(self) -> None:
        self._periodic.stop(timeout=10)

    def run_once(self) -> CollectStats | None:
        """One run, unless another process ran one within the interval (then None)."""
        ttl_ms = max(1, int(self.interval_s * 1000))
        if not self.client.set(self.keys.collector_lock, str(os.getpid()), nx=True, px=ttl_ms):
            return None
        t0 = time.perf_counter()
        stats = collect(self.blobs, self.client, self.keys, self.retention_s, journal=self.journal)
        log.info(
            "collector.run",
            **stats.as_log(),
            deleted_sha256=stats.deleted_sha256[:100],
            duration_ms=round((time.perf_counter() - t0) * 1000, 1),
        )
        return stats
