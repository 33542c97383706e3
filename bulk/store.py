"""The output directory of a bulk run: lock, `results.jsonl`, and the index that makes it resumable.

- `.lock` is held with `fcntl.flock` for the whole run: a second run on the same directory is
  refused at once, and the lock goes away with the process however it ends.
- `run.json` names what the directory holds (policy sha256, sources, selection options); a
  rerun with anything different is refused, so a resumed report is never a mix of two runs.
- `results.jsonl` gets whole lines only: each is one `os.write` of one line ending in a newline,
  on a file opened for appending. A process killed at any moment leaves complete lines plus at
  most one partial last line, which the next run truncates.
- `records.log` gets, the same way, one line per recorded content check (`replay`): its key, a
  tab, the record's JSON. A record is appended before the line that used it, so after a kill
  the files never hold a line whose content record is lost; no content is checked twice across
  a crash except those in flight.
- `index.sqlite` (WAL) lists the finished items with where their line sits in results.jsonl
  (for resuming, the summary and the filing verdicts) and the recorded contents. It stores the
  byte offsets of both files it reflects; what was appended after them (the index commits
  lazily, every half second) is read back on the next start. Commits are not synced to disk:
  the index is a cache of the two files, rebuilt from them when it is of an earlier layout or
  damaged (a power loss may do that).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from .sources import item_key

log = structlog.get_logger("courtdoc.bulk")

RESULTS = "results.jsonl"
RECORDS = "records.log"
INDEX = "index.sqlite"
RUN = "run.json"
LOCK = ".lock"
TMP = "tmp"
_COMMIT_EVERY_S = 0.5
#: The index's layout; an index of another layout is rebuilt from results.jsonl.
_INDEX_LAYOUT = "2"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS done (
    item BLOB PRIMARY KEY, filing TEXT, verdict TEXT NOT NULL, format TEXT, sha256 TEXT,
    pos INTEGER NOT NULL, len INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS done_by_filing ON done (filing, item);
CREATE TABLE IF NOT EXISTS done_rules (item BLOB NOT NULL, rule TEXT NOT NULL, severity TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS contents (key TEXT PRIMARY KEY, record TEXT NOT NULL);
"""


class RunLocked(Exception):
    """Another run holds the output directory."""


class RunMismatch(Exception):
    """The output directory holds a run with another policy, other sources or other options."""


@dataclass(frozen=True)
class LineFacts:
    """What the index keeps of one result line."""

    item: bytes
    filing: str | None
    verdict: str  # accept | reject | error
    format: str | None
    sha256: str | None
    rules: tuple[tuple[str, str], ...]  # (rule, severity), each once


def facts(line: dict[str, Any]) -> LineFacts:
    item = item_key(line["source"], line["path"], line.get("filing_id"))
    report = line.get("report")
    if report is None:
        return LineFacts(item, line.get("filing_id"), "error", None, None, ())
    rules = sorted({(f["rule"], f["severity"]) for f in report.get("findings", [])})
    return LineFacts(
        item,
        line.get("filing_id"),
        report["verdict"],
        report.get("format"),
        report.get("sha256"),
        tuple(rules),
    )


def _write_all(fd: int, data: bytes) -> None:
    """One append of whole bytes (a regular file takes them in one write; loop if not)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _complete_size(path: Path) -> int:
    """The file's size after cutting a partial last line (a write a kill interrupted)."""
    size = path.stat().st_size if path.exists() else 0
    if not size:
        return 0
    with open(path, "rb+") as fh:
        end = size
        while end > 0:
            step = min(65_536, end)
            fh.seek(end - step)
            nl = fh.read(step).rfind(b"\n")
            if nl >= 0:
                end = end - step + nl + 1
                break
            end -= step
        if end != size:
            fh.truncate(end)
    return end


def encode_line(line: dict[str, Any]) -> bytes:
    return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def iter_lines(path: Path) -> Iterator[dict[str, Any]]:
    """Complete lines of a results file (a partial last line is ignored)."""
    with open(path, "rb") as fh:
        for raw in fh:
            if raw.endswith(b"\n") and raw.strip():
                yield json.loads(raw)


def _same_policy_hashed_earlier(held: Any, identity: dict[str, Any], earlier_sha256: str | None) -> bool:
    """The held run differs only in its policy's sha256, which is the hash earlier courtdoc
    versions gave the very same policy file (its bytes alone)."""
    if not isinstance(held, dict) or earlier_sha256 is None or held == identity:
        return False
    theirs, ours = held.get("policy"), identity.get("policy")
    if not isinstance(theirs, dict) or not isinstance(ours, dict):
        return False
    return (
        {k: v for k, v in held.items() if k != "policy"} == {k: v for k, v in identity.items() if k != "policy"}
        and theirs.get("id") == ours.get("id")
        and theirs.get("version") == ours.get("version")
        and theirs.get("sha256") == earlier_sha256
    )


class RunStore:
    """Owns an output directory for the duration of a run."""

    def __init__(
        self, out: Path, identity: dict[str, Any], *, earlier_policy_sha256: str | None = None
    ) -> None:
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self._lock_fh = open(out / LOCK, "a+")  # noqa: SIM115 — held until close()
        try:
            fcntl.flock(self._lock_fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_fh.seek(0)
            holder = self._lock_fh.read().strip() or "unknown"
            self._lock_fh.close()
            raise RunLocked(
                f"{out} is in use by another revalidate run (pid {holder}); wait for it to finish "
                "or choose another --out"
            ) from None
        self._lock_fh.seek(0)
        self._lock_fh.truncate()
        self._lock_fh.write(str(os.getpid()))
        self._lock_fh.flush()
        try:
            self._check_identity(identity, earlier_policy_sha256)
            self.tmp_dir = out / TMP
            shutil.rmtree(self.tmp_dir, ignore_errors=True)
            self.tmp_dir.mkdir()
            self.results_path = out / RESULTS
            self.records_path = out / RECORDS
            try:
                self.resumed_lines = self._open_index()
            except sqlite3.DatabaseError as exc:  # damaged (say, by a power loss): rebuild it
                self.db.close()
                self._set_aside_index(exc)
                self.resumed_lines = self._open_index()
            self._fd = os.open(self.results_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            self._records_fd = os.open(self.records_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except BaseException:
            self._release_lock()
            raise
        self._in_tx = False
        self._last_commit = time.monotonic()

    # --- identity and recovery -----------------------------------------------------------------

    def _open_index(self) -> int:
        """Open (or make) the index and bring it up to results.jsonl; returns the lines it holds.

        Commits are not synced to disk (`synchronous=OFF`): the index is rebuilt from
        results.jsonl, which is the record of what is done, whenever it is behind the file,
        ahead of it, or damaged. Only recorded contents can be lost that way, which then cost
        a fresh check of their next copy."""
        self.db = sqlite3.connect(self.out / INDEX, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=OFF")
        self._upgrade()
        self.db.executescript(_SCHEMA)
        return self._recover()

    def _set_aside_index(self, exc: Exception) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        for suffix in ("", "-wal", "-shm"):
            path = self.out / f"{INDEX}{suffix}"
            if path.exists():
                os.replace(path, self.out / f"{INDEX}{suffix}.damaged-{stamp}")
        log.warning("bulk.index_rebuilt", reason=str(exc), kept=f"{INDEX}.damaged-{stamp}")

    def _check_identity(self, identity: dict[str, Any], earlier_policy_sha256: str | None) -> None:
        path = self.out / RUN
        if path.exists():
            try:
                held = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                held = None
            if isinstance(held, dict) and _same_policy_hashed_earlier(
                held.get("identity"), identity, earlier_policy_sha256
            ):
                # Written before the policy's hash covered the registry's severities: the same
                # file, so the same run; from now on it carries the current hash.
                log.info("bulk.policy_hash_upgraded", was=held["identity"]["policy"]["sha256"])
                held["identity"] = identity
                tmp = path.with_suffix(".tmp")
                tmp.write_text(json.dumps(held, indent=2, ensure_ascii=False), encoding="utf-8")
                os.replace(tmp, path)
            if isinstance(held, dict) and held.get("identity") != identity:
                theirs = held.get("identity", {})
                diffs = sorted(k for k in set(identity) | set(theirs) if identity.get(k) != theirs.get(k))
                raise RunMismatch(
                    f"{self.out} holds a run with a different {', '.join(diffs)}; "
                    "choose another --out to start a new run"
                )
            if isinstance(held, dict):
                return
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"identity": identity}, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)

    def _upgrade(self) -> None:
        """An index written by an older layout: drop what it knows of the lines (they are read
        back from results.jsonl); the recorded contents stay."""
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "meta" in tables:
            if self._meta("layout", "") == _INDEX_LAYOUT:
                return
            self.db.executescript(
                "DROP TABLE IF EXISTS done; DROP TABLE IF EXISTS done_rules; DROP TABLE meta;"
            )
        self.db.executescript(_SCHEMA)
        self.db.execute("INSERT OR REPLACE INTO meta (k, v) VALUES ('layout', ?)", (_INDEX_LAYOUT,))

    def _meta(self, key: str, default: str) -> str:
        row = self.db.execute("SELECT v FROM meta WHERE k=?", (key,)).fetchone()
        return str(row[0]) if row else default

    def _recover(self) -> int:
        """Truncate partial last lines, then index the records and lines the index has not seen;
        returns the lines it holds."""
        size = _complete_size(self.results_path)
        offset = int(self._meta("results_offset", "0"))
        if offset > size:  # the index is ahead of the file (lost writes): rebuild it
            self.db.execute("BEGIN")
            self.db.execute("DELETE FROM done")
            self.db.execute("DELETE FROM done_rules")
            self.db.execute("COMMIT")
            offset = 0
        records_size = _complete_size(self.records_path)
        records_offset = int(self._meta("records_offset", "0"))
        if records_offset > records_size:
            records_offset = 0
        self.db.execute("BEGIN")
        if records_offset < records_size:
            with open(self.records_path, "rb") as fh:
                fh.seek(records_offset)
                for raw in fh:
                    key, _, record = raw.decode("utf-8").rstrip("\n").partition("\t")
                    self.db.execute(
                        "INSERT OR REPLACE INTO contents (key, record) VALUES (?, ?)", (key, record)
                    )
        if offset < size:
            with open(self.results_path, "rb") as fh:
                fh.seek(offset)
                for raw in fh:
                    self._index(facts(json.loads(raw)), offset, len(raw))
                    offset += len(raw)
        self.offset, self.records_offset = offset, records_size
        self._set_offset()
        self.db.execute("COMMIT")
        return int(self.db.execute("SELECT COUNT(*) FROM done").fetchone()[0])

    # --- the index -----------------------------------------------------------------------------

    def _index(self, f: LineFacts, pos: int, length: int) -> None:
        cur = self.db.execute(
            "INSERT OR IGNORE INTO done (item, filing, verdict, format, sha256, pos, len) "
            "VALUES (?,?,?,?,?,?,?)",
            (f.item, f.filing, f.verdict, f.format, f.sha256, pos, length),
        )
        if cur.rowcount:
            self.db.executemany(
                "INSERT INTO done_rules (item, rule, severity) VALUES (?,?,?)",
                [(f.item, rule, sev) for rule, sev in f.rules],
            )

    def _set_offset(self) -> None:
        self.db.executemany(
            "INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)",
            [("results_offset", str(self.offset)), ("records_offset", str(self.records_offset))],
        )

    def is_done(self, item: bytes) -> bool:
        return self.db.execute("SELECT 1 FROM done WHERE item=?", (item,)).fetchone() is not None

    def content(self, key: str) -> str | None:
        row = self.db.execute("SELECT record FROM contents WHERE key=?", (key,)).fetchone()
        return str(row[0]) if row else None

    def put_content(self, key: str, record: str) -> None:
        """Kept before any line that relied on it is written: appended to records.log (read
        back on the next start, like the lines), then indexed with the next commit."""
        _write_all(self._records_fd, f"{key}\t{record}\n".encode())
        self.records_offset = os.lseek(self._records_fd, 0, os.SEEK_END)
        self._begin()
        self.db.execute("INSERT OR REPLACE INTO contents (key, record) VALUES (?, ?)", (key, record))

    # --- results -------------------------------------------------------------------------------

    def append(self, line: dict[str, Any]) -> LineFacts:
        data = encode_line(line)
        _write_all(self._fd, data)
        pos = self.offset
        self.offset += len(data)
        f = facts(line)
        self._begin()
        self._index(f, pos, len(data))
        if time.monotonic() - self._last_commit > _COMMIT_EVERY_S:
            self._commit()
        return f

    def _begin(self) -> None:
        """Open the transaction the next commit closes (commits are lazy: every half second)."""
        if not self._in_tx:
            self.db.execute("BEGIN")
            self._in_tx = True

    def _commit(self) -> None:
        if self._in_tx:
            self._set_offset()
            self.db.execute("COMMIT")
            self._in_tx = False
        self._last_commit = time.monotonic()

    def finish(self) -> None:
        """Make everything durable (end of a run or an orderly stop)."""
        self._commit()
        os.fsync(self._records_fd)
        os.fsync(self._fd)

    def source_labels(self, specs: list[str]) -> list[str]:
        """The names the run's results give its sources: as the run that started the directory
        typed them. The identity compares resolved paths, so a resumed run may spell a source
        another way (`archive` then `/srv/archive`); its results keep the first spelling, and
        the lines already written stay recognised as done."""
        path = self.out / RUN
        held = json.loads(path.read_text(encoding="utf-8"))
        labels = held.get("labels")
        if isinstance(labels, list) and len(labels) == len(specs) and all(isinstance(x, str) for x in labels):
            return labels
        held["labels"] = list(specs)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(held, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
        return list(specs)

    def write_stats(self, stats: dict[str, Any]) -> None:
        path = self.out / RUN
        held = json.loads(path.read_text(encoding="utf-8"))
        runs = held.setdefault("runs", [])
        runs.append(stats)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(held, indent=2, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)

    def _release_lock(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock_fh, fcntl.LOCK_UN)
            self._lock_fh.close()

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error, OSError):
            self._commit()
        with contextlib.suppress(OSError):
            os.close(self._fd)
        with contextlib.suppress(OSError):
            os.close(self._records_fd)
        with contextlib.suppress(sqlite3.Error):
            self.db.close()
        shutil.rmtree(self.tmp_dir, ignore_errors=True)
        self._release_lock()
