"""What a bulk run reads: directory trees, ZIP archives and manifests, streamed one item at a time.

A SOURCE is
- a directory: every regular file below it, walked lazily (only the directories still to visit
  are held); a file's filing is the directory it sits in, relative to the root;
- a ZIP file: every member, read from the central directory entry by entry and extracted to a
  private temporary file only when it is about to be checked; filings as for directories;
- a manifest, `.csv` or `.jsonl`: one row per file, `path[,filing_id,declared]` (a CSV header
  row naming the columns is optional); relative paths are taken from the manifest's directory.

Nothing here lists a whole source in memory. Names inside sources never become paths: ZIP
members are extracted under a counter-based temporary name.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .zipstream import ZipEntry, ZipFormatError, ZipStream

MANIFEST_SUFFIXES = (".csv", ".jsonl", ".ndjson")


class SourceError(Exception):
    """A SOURCE argument cannot be read at all."""


@dataclass(frozen=True)
class Item:
    """One file of a source, not yet read."""

    source: str  # the SOURCE argument as given
    path: str  # where the file is inside the source (relative path, member name, manifest entry)
    filing_id: str | None
    declared: str | None = None
    file: Path | None = None  # on disk (directories, manifests)
    member: ZipEntry | None = None  # in a ZIP (extracted when materialised)
    error: str | None = None  # why this entry cannot be read (a bad manifest row, a missing file)

    @functools.cached_property
    def key(self) -> bytes:
        """Identity of this entry within a run: its source, its path and its filing."""
        return item_key(self.source, self.path, self.filing_id)

    @property
    def name(self) -> str:
        """The file name the checks judge: the last component of its path."""
        return file_name(self.path)

    @property
    def ext(self) -> str:
        stem, dot, ext = self.name.rpartition(".")
        return ext.lower() if dot and stem else ""


def file_name(path: str) -> str:
    """The last component of a path inside a source (either slash separates)."""
    return path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def item_key(source: str, path: str, filing_id: str | None) -> bytes:
    return hashlib.blake2b(f"{source}\0{path}\0{filing_id or ''}".encode(), digest_size=16).digest()


@dataclass
class Materialised:
    """An item's bytes on local disk, with their sha256; `release()` drops a temporary copy."""

    path: Path
    sha256: str
    size: int
    temporary: bool = False

    def release(self) -> None:
        if self.temporary:
            self.path.unlink(missing_ok=True)


def sha256_of(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _printable(rel: str) -> str:
    """A path as reports show it: bytes of a name that are not UTF-8 (which Python carries as
    surrogate escapes and cannot write as UTF-8) become `\\xNN`."""
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return rel.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return rel


def _filing_of(rel: str) -> str | None:
    parent = rel.rpartition("/")[0]
    return parent or None


class Source:
    """Base: `items()` streams entries; `count()` counts them without keeping them."""

    def __init__(self, spec: str) -> None:
        self.spec = spec

    def items(self) -> Iterator[Item]:
        raise NotImplementedError

    def count(self) -> int:
        return sum(1 for _ in self.items())

    def materialise(self, item: Item, tmp_dir: Path) -> Materialised:
        """Bring the item's bytes to a local file; raises OSError or ZipFormatError."""
        if item.file is None:
            raise OSError(item.error or "nothing to read")
        sha, size = sha256_of(item.file)
        return Materialised(item.file, sha, size)

    def close(self) -> None:
        pass


class DirectorySource(Source):
    def __init__(self, spec: str, exclude: Path | None = None) -> None:
        super().__init__(spec)
        self.root = Path(spec)
        self.exclude = exclude.resolve() if exclude is not None else None

    def items(self) -> Iterator[Item]:
        pending = [""]
        while pending:
            rel_dir = pending.pop()
            here = self.root / rel_dir if rel_dir else self.root
            if self.exclude is not None and here.resolve() == self.exclude:
                continue
            try:
                scanner = os.scandir(here)
            except OSError:
                continue
            with scanner:
                for entry in scanner:
                    rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            pending.append(rel)
                        elif entry.is_file():
                            shown = _printable(rel)
                            yield Item(self.spec, shown, _filing_of(shown), file=Path(entry.path))
                    except OSError:
                        continue


class ZipSource(Source):
    def __init__(self, spec: str) -> None:
        super().__init__(spec)
        try:
            self.archive = ZipStream(spec)
        except (OSError, ZipFormatError) as exc:
            raise SourceError(f"{spec}: cannot read the ZIP archive: {exc}") from None
        self._counter = 0

    def items(self) -> Iterator[Item]:
        try:
            for entry in self.archive.entries():
                if not entry.is_dir:
                    yield Item(self.spec, entry.name, _filing_of(entry.name), member=entry)
        except (OSError, ZipFormatError) as exc:
            raise SourceError(f"{self.spec}: {exc}") from None

    def count(self) -> int:
        return sum(1 for _ in self.items())

    def materialise(self, item: Item, tmp_dir: Path) -> Materialised:
        if item.member is None:
            raise OSError(item.error or "nothing to read")
        fd, name = tempfile.mkstemp(dir=tmp_dir, prefix="m", suffix=".part")
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                sha = self.archive.extract(item.member, out)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Materialised(path, sha, item.member.size, temporary=True)

    def close(self) -> None:
        self.archive.close()


class ManifestSource(Source):
    def __init__(self, spec: str) -> None:
        super().__init__(spec)
        self.path = Path(spec)
        self.base = self.path.parent
        self.jsonl = self.path.suffix.lower() in (".jsonl", ".ndjson")

    def _item(self, raw_path: object, filing: object, declared: object, row: int) -> Item:
        if not isinstance(raw_path, str) or not raw_path.strip():
            return Item(self.spec, f"<row {row}>", None, error=f"row {row}: no path")
        filing_id = str(filing) if filing not in (None, "") else None
        decl = str(declared) if declared not in (None, "") else None
        file = Path(raw_path) if os.path.isabs(raw_path) else self.base / raw_path
        return Item(self.spec, raw_path, filing_id, decl, file=file)

    def items(self) -> Iterator[Item]:
        try:
            fh = open(self.path, encoding="utf-8-sig", newline="")  # noqa: SIM115
        except OSError as exc:
            raise SourceError(f"{self.spec}: cannot read the manifest: {exc.strerror}") from None
        with fh:
            if self.jsonl:
                yield from self._jsonl(fh)
            else:
                yield from self._csv(fh)

    def _jsonl(self, fh: Iterator[str]) -> Iterator[Item]:
        for row, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError:
                yield Item(self.spec, f"<row {row}>", None, error=f"row {row}: not valid JSON")
                continue
            if not isinstance(data, dict):
                yield Item(self.spec, f"<row {row}>", None, error=f"row {row}: not a JSON object")
                continue
            yield self._item(data.get("path"), data.get("filing_id"), data.get("declared"), row)

    def _csv(self, fh: Iterator[str]) -> Iterator[Item]:
        columns = {"path": 0, "filing_id": 1, "declared": 2}
        for row, cells in enumerate(csv.reader(fh), 1):
            if not cells or not any(c.strip() for c in cells):
                continue
            if row == 1 and "path" in [c.strip().lower() for c in cells]:
                names = [c.strip().lower() for c in cells]
                columns = {k: names.index(k) for k in ("path", "filing_id", "declared") if k in names}
                continue

            path, filing, declared = (_cell(cells, columns.get(k)) for k in ("path", "filing_id", "declared"))
            yield self._item(path, filing, declared, row)


def _cell(cells: list[str], index: int | None) -> str | None:
    return cells[index].strip() if index is not None and index < len(cells) else None


def open_source(spec: str, exclude: Path | None = None) -> Source:
    """The right reader for a SOURCE argument; raises SourceError when it is none of them."""
    path = Path(spec)
    if path.is_dir():
        return DirectorySource(spec, exclude)
    if not path.is_file():
        raise SourceError(f"{spec}: no such file or directory")
    if path.suffix.lower() in MANIFEST_SUFFIXES:
        return ManifestSource(spec)
    with contextlib.suppress(OSError), open(path, "rb") as fh:
        if fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06"):
            return ZipSource(spec)
    if path.suffix.lower() == ".zip":
        return ZipSource(spec)
    raise SourceError(f"{spec}: not a directory, a ZIP archive or a manifest (.csv, .jsonl)")
