"""The bulk driver: select items, skip what is done, check each content once, write every line.

The loop is the same for every backend. For each selected item not yet in the index it brings
the bytes to a local file and computes their sha256; the content key is (policy sha256, claimed
type, sha256). A key already recorded is answered here, in-process, by replaying the record
through `pipeline.validate_file` (no parsing); a key being checked right now parks the copy
until that check ends; any other key is handed to the backend — the local sandbox pool, or the
Dramatiq `bulk` queue — whose answer brings the report and the record to keep.

Memory stays flat: items are streamed, the done set and the records live in SQLite, and at most
`backend.capacity` checks (plus copies of those contents) are in flight.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import structlog

from .. import replay
from ..core.policy import Policy
from ..engine.sandbox import SandboxPool
from . import filings, summary
from .progress import Progress
from .sources import Item, Materialised, Source, open_source
from .store import RunStore
from .zipstream import ZipFormatError

log = structlog.get_logger("courtdoc.bulk")

#: Copies of contents being checked that may wait (each may hold a temporary file) before the
#: driver stops reading the sources until some checks end.
_MAX_PARKED = 1024


class BackendUnavailable(Exception):
    """The checks cannot start (e.g. no Redis for --queue)."""


@dataclass(frozen=True)
class Selection:
    limit: int | None = None
    only_format: str | None = None
    sample: int | None = None

    def identity(self) -> dict[str, Any]:
        return {"limit": self.limit, "only_format": self.only_format, "sample": self.sample}


@dataclass
class Job:
    item: Item
    mat: Materialised
    content_key: str


@dataclass
class Outcome:
    report: dict[str, Any] | None
    error: str | None = None
    record: str | None = None  # JSON text of the replay record
    checks: int = 0  # sandbox runs this outcome cost


class Backend(Protocol):
    capacity: int

    def submit(self, job: Job) -> None: ...

    def completed(self, timeout: float) -> list[tuple[Job, Outcome]]: ...

    def pending(self) -> int: ...

    def close(self) -> None: ...


@dataclass
class Stats:
    selected: int = 0
    already_done: int = 0
    fresh: int = 0  # contents checked afresh (locally or by a worker)
    checked: int = 0  # of which parsed in a sandbox (the rest stopped at name, size or type)
    replayed: int = 0  # copies answered from a record
    errors: int = 0
    verdicts: dict[str, int] = field(default_factory=lambda: {"accept": 0, "reject": 0, "error": 0})
    started: float = field(default_factory=time.monotonic)
    first_line: float | None = None  # when this invocation wrote its first and last lines
    last_line: float | None = None

    def _running_rate(self, written: int) -> float | None:
        if self.first_line is None or self.last_line is None or self.last_line <= self.first_line:
            return None
        return round((written - 1) / (self.last_line - self.first_line), 1)

    def as_dict(self) -> dict[str, Any]:
        elapsed = time.monotonic() - self.started
        written = sum(self.verdicts.values())
        return {
            "selected": self.selected,
            "already_done": self.already_done,
            "fresh": self.fresh,
            "checked": self.checked,
            "replayed": self.replayed,
            "errors": self.errors,
            "written": written,
            "seconds": round(elapsed, 3),
            "files_per_s": round(written / elapsed, 1) if elapsed > 0 else None,
            # Between the first and the last line: without starting the pool and the summary.
            "files_per_s_running": self._running_rate(written),
            "duplicate_skip_rate": round(self.replayed / written, 4) if written else 0.0,
            "verdicts": dict(self.verdicts),
        }


def content_key(policy: Policy, ext: str, sha256: str, *, earlier: bool = False) -> str:
    """The key of a content's record; `earlier`: as earlier versions keyed it, by the hash they
    gave the same policy file (its bytes alone)."""
    return f"{(policy.file_sha256 if earlier else policy.sha256)[:16]}:{ext}:{sha256}"


def result_line(item: Item, report: dict[str, Any] | None, error: str | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {
        "source": item.source,
        "path": item.path,
        "filing_id": item.filing_id,
        "declared": item.declared,
    }
    if report is not None:
        line["report"] = report
    else:
        line["error"] = error or "unreadable"
    return line


class LocalBackend:
    """Checks in this machine's sandbox pool: `jobs` bounded child processes."""

    def __init__(self, policy: Policy, lang: str, jobs: int, pool: SandboxPool | None = None) -> None:
        self.policy = policy
        self.lang = lang
        bounds = policy.sandbox
        self._owns_pool = pool is None
        self.pool = pool or SandboxPool(jobs, bounds.memory_limit_mb, bounds.recycle_rss_mb)
        self.pool.warm()
        jobs = self.pool.size
        self.capacity = jobs * 2
        self._executor = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="bulk-check")
        self._running: dict[Future[Outcome], Job] = {}

    def _run(self, job: Job) -> Outcome:
        try:
            report, record, runs = replay.check_file(
                job.mat.path, job.item.name, self.policy, self.lang, self.pool, job.mat.sha256
            )
        except Exception as exc:  # a defect in a check must not stop the run: this file's line says it
            return Outcome(None, f"check failed: {type(exc).__name__}: {exc}"[:500])
        return Outcome(report, None, record, runs)

    def submit(self, job: Job) -> None:
        self._running[self._executor.submit(self._run, job)] = job

    def pending(self) -> int:
        return len(self._running)

    def completed(self, timeout: float) -> list[tuple[Job, Outcome]]:
        if not self._running:
            return []
        done, _ = wait(list(self._running), timeout=timeout, return_when=FIRST_COMPLETED)
        return [(self._running.pop(f), f.result()) for f in done]

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        if self._owns_pool:
            self.pool.close()


def _selected(sources: list[Source], sel: Selection, policy: Policy) -> Iterator[Item]:
    formats = policy.limits.extension_formats
    wanted = sel.only_format.lower() if sel.only_format else None

    def matches(item: Item) -> bool:
        return wanted is None or wanted == item.ext or wanted in formats.get(item.ext, [])

    def everything() -> Iterator[Item]:
        for source in sources:
            for item in source.items():
                if matches(item):
                    yield item

    stream = everything()
    if sel.sample is not None:
        # The N items with the smallest key hashes: a fixed pseudo-random sample, the same on rerun.
        smallest = heapq.nsmallest(sel.sample, (_rank(i) for i in everything()))
        threshold = smallest[-1] if smallest else -1
        stream = (i for i in everything() if _rank(i) <= threshold)
    for count, item in enumerate(stream):
        if sel.limit is not None and count >= sel.limit:
            return
        yield item


def _rank(item: Item) -> int:
    return int.from_bytes(item.key[:8], "big")


class Runner:
    """One bulk run into one output directory."""

    def __init__(
        self,
        specs: list[str],
        policy: Policy,
        out: Path,
        *,
        lang: str = "en",
        selection: Selection | None = None,
        make_backend: Callable[[], Backend],
        progress: Progress | None = None,
    ) -> None:
        self.policy = policy
        self.lang = lang
        self.selection = selection or Selection()
        self.sources = [open_source(s, exclude=out) for s in specs]
        self.identity = {
            "policy": policy.summary(),
            "sources": [str(Path(s).resolve()) for s in specs],
            "lang": lang,
            **self.selection.identity(),
        }
        self.store = RunStore(out, self.identity, earlier_policy_sha256=policy.file_sha256 or None)
        for source, label in zip(self.sources, self.store.source_labels(specs), strict=True):
            source.spec = label
        self.make_backend = make_backend
        self.progress = progress or Progress(enabled=False)
        self.stats = Stats()
        self._fallback_pool: SandboxPool | None = None
        self._fallback_lock = threading.Lock()
        self._waiting: dict[str, list[tuple[Item, Materialised]]] = {}
        self._parked = 0  # copies waiting in `_waiting`, bounded like the checks in flight
        self._open_items: set[bytes] = set()  # items read but not yet written (in flight or parked)

    def _fallback(self) -> SandboxPool:
        with self._fallback_lock:
            if self._fallback_pool is None:
                bounds = self.policy.sandbox
                self._fallback_pool = SandboxPool(1, bounds.memory_limit_mb, bounds.recycle_rss_mb)
            return self._fallback_pool

    # --- writing -------------------------------------------------------------------------------

    def _write(self, item: Item, report: dict[str, Any] | None, error: str | None = None) -> None:
        self._open_items.discard(item.key)
        f = self.store.append(result_line(item, report, error))
        now = time.monotonic()
        if self.stats.first_line is None:
            self.stats.first_line = now
        self.stats.last_line = now
        self.stats.verdicts[f.verdict] += 1
        if f.verdict == "error":
            self.stats.errors += 1
        self.progress.advance(f.verdict)

    def _replay(self, item: Item, mat: Materialised, record: replay.Record) -> None:
        try:
            report, missed = replay.replay_file(
                mat.path, item.name, self.policy, self.lang, record, self._fallback, mat.sha256
            )
        except Exception as exc:
            self._write(item, None, f"check failed: {type(exc).__name__}: {exc}"[:500])
        else:
            self.stats.replayed += 1
            self.stats.checked += 1 if missed else 0
            self._write(item, report)
        finally:
            mat.release()

    # --- the loop ------------------------------------------------------------------------------

    def _finish(self, backend: Backend, job: Job, outcome: Outcome) -> None:
        if outcome.record is not None:
            self.store.put_content(job.content_key, outcome.record)
        self.stats.fresh += 1
        if outcome.checks:
            self.stats.checked += 1
            log.debug("content.checked", content=job.content_key, path=job.item.path)
        self._write(job.item, outcome.report, outcome.error)
        job.mat.release()
        waiting = self._waiting.pop(job.content_key, [])
        self._parked -= len(waiting)
        if outcome.record is not None:
            record = replay.loads(outcome.record) if waiting else []
            for item, mat in waiting:
                self._replay(item, mat, record)
        elif waiting:  # nothing to replay from: the next copy is checked afresh, the rest wait again
            (item, mat), rest = waiting[0], waiting[1:]
            self._waiting[job.content_key] = rest
            self._parked += len(rest)
            backend.submit(Job(item, mat, job.content_key))

    def _drain(self, backend: Backend, until: int) -> None:
        while backend.pending() > until:
            for job, outcome in backend.completed(timeout=0.5):
                self._finish(backend, job, outcome)
            self.progress.refresh()

    def _items(self) -> Iterator[Item]:
        return _selected(self.sources, self.selection, self.policy)

    def count(self) -> int:
        return sum(1 for _ in self._items())

    def run(self) -> Stats:
        """Check everything not yet done; returns the stats. KeyboardInterrupt stops cleanly."""
        total = self.count()
        self.stats.selected = total
        self.progress.start(total, already=self.store.resumed_lines)
        backend = self.make_backend()
        try:
            self._loop(backend)
            self._drain(backend, 0)
        finally:
            backend.close()
            if self._fallback_pool is not None:
                self._fallback_pool.close()
            self.store.finish()
            self.progress.stop()
        return self.stats

    def _loop(self, backend: Backend) -> None:
        store = self.store
        for item in self._items():
            if store.is_done(item.key):
                self.stats.already_done += 1
                continue
            if item.key in self._open_items:  # listed twice (a manifest row repeated): one line
                continue
            if item.error is not None:
                self._write(item, None, item.error)
                continue
            source = next(s for s in self.sources if s.spec == item.source)
            try:
                mat = source.materialise(item, store.tmp_dir)
            except (OSError, ZipFormatError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                self._write(item, None, f"cannot read: {reason}")
                continue
            key = content_key(self.policy, item.ext, mat.sha256)
            self._open_items.add(item.key)
            if key in self._waiting:
                self._waiting[key].append((item, mat))
                self._parked += 1
                while self._parked > _MAX_PARKED and backend.pending():
                    for job, outcome in backend.completed(timeout=0.5):
                        self._finish(backend, job, outcome)
                continue
            record_text = store.content(key)
            if record_text is None and self.policy.file_sha256:
                # Recorded by an earlier version, whose policy hash was the file's bytes alone.
                record_text = store.content(content_key(self.policy, item.ext, mat.sha256, earlier=True))
            if record_text is not None:
                self._replay(item, mat, replay.loads(record_text))
                continue
            self._drain(backend, backend.capacity - 1)
            self._waiting[key] = []
            backend.submit(Job(item, mat, key))
            for job, outcome in backend.completed(timeout=0):
                self._finish(backend, job, outcome)
            self.progress.refresh()

    def close(self) -> None:
        for source in self.sources:
            source.close()
        self.store.close()


def revalidate(
    specs: list[str],
    policy: Policy,
    out: Path,
    *,
    make_backend: Callable[[], Backend],
    lang: str = "en",
    selection: Selection | None = None,
    progress: Progress | None = None,
    mode: str = "local",
) -> tuple[Stats, dict[str, Any]]:
    """A whole run: check what is left, judge the filings, then write the summary; returns
    (stats, summary totals).

    Raises SourceError, RunLocked or RunMismatch before anything is checked; KeyboardInterrupt
    leaves the report as far as it got (the same call continues it).
    """
    runner = Runner(
        specs, policy, out, lang=lang, selection=selection, make_backend=make_backend, progress=progress
    )
    try:
        stats = runner.run()
        filings.write(out, runner.store.db, runner.store.results_path, policy, lang)
        totals = summary.write(out, runner.store.db, policy.summary())
        runner.store.write_stats({"mode": mode, **stats.as_dict()})
    finally:
        runner.close()
    return stats, totals
