"""Page pictures on demand: one page of a checked file as an image, to draw its findings over.

`render_page` draws a page of a PDF (PDFium), of a DOCX or DOC (LibreOffice makes a PDF by the
bounded conversion the .doc checks use, then PDFium) or of a JPEG scan (its decoded image). The
drawing runs in the sandbox pool like every parse (`checks/render.py` is the child's side), so a
hostile file costs at most the policy's time and memory bounds. Anything that keeps a page from
being drawn is answered as a `NoPicture` whose reason code `reason_text` explains in kk/ru/en.

Pictures are cached on disk by content (sha256), format, page, width and policy (sha256), in a
directory the caller names: created private (0700, files 0600), bounded in size, the entries used
least recently (by mtime, touched on every hit) evicted first. The PDF made of a Word document is
cached there too, so its other pages do not start LibreOffice again. A picture says the page's
size in PDF points: a box in points from the top-left corner is drawn at `Picture.scale` pixels
per point.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..checks import doc_convert, render
from ..core.policy import Policy
from .sandbox import SandboxMemory, SandboxPool, SandboxTimeout, shared_pool

FORMATS = ("pdf", "docx", "doc", "jpeg")
MIN_WIDTH_PX, MAX_WIDTH_PX = 64, 4096
DEFAULT_CACHE_BYTES = 512 * 1_048_576
# Failures that the same bytes under the same policy always meet: remembered like pictures.
# A timeout, a memory blow-up or a crash may come from a busy machine; a missing LibreOffice
# may be installed tomorrow: those are tried again on the next request.
_LASTING = frozenset({"unreadable", "encrypted", "no_such_page", "too_large", "convert_failed"})
_VERSION = "1"  # part of every cache key: a change of drawing code starts a fresh cache
_MAGIC = b"courtdoc-picture-1\n"
REASONS_PATH = Path(__file__).resolve().parents[1] / "core" / "data" / "pictures.toml"


@dataclass(frozen=True)
class Picture:
    """A page drawn: `data` is `media_type` bytes, `width_px` × `height_px`; the page measures
    `page_width_pt` × `page_height_pt` PDF points as displayed."""

    data: bytes
    media_type: str
    width_px: int
    height_px: int
    page_width_pt: float
    page_height_pt: float
    page: int
    cached: bool = False

    @property
    def scale(self) -> float:
        """Pixels per PDF point: a box (x, y, w, h) in points from the top-left corner covers
        (x·scale, y·scale, w·scale, h·scale) in the picture."""
        return self.width_px / self.page_width_pt


@dataclass(frozen=True)
class NoPicture:
    """Why a page has no picture: `reason` is a code of core/data/pictures.toml; `detail` is
    the technical cause, for the log (it may quote the file's contents: not for a filer)."""

    reason: str
    detail: str = ""
    cached: bool = False

    def text(self, lang: str = "en") -> str:
        return reason_text(self.reason, lang)


@cache
def _reasons() -> dict[str, dict[str, str]]:
    with REASONS_PATH.open("rb") as fh:
        data: dict[str, dict[str, str]] = tomllib.load(fh)["reasons"]
    return data


def reason_text(reason: str, lang: str = "en") -> str:
    """What a `NoPicture` reason means and what to do, in kk, ru or en (en for another language)."""
    texts = _reasons().get(reason) or _reasons()["failed"]
    return texts.get(lang) or texts["en"]


# --- the cache ------------------------------------------------------------------------------------


class PictureCache:
    """A private directory of entries named by key: a JSON header line, then the payload bytes."""

    def __init__(self, directory: str | Path, max_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        self.dir = Path(directory)
        self.max_bytes = max_bytes
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.dir, 0o700)  # mkdir leaves an existing directory's mode as it was

    def _path(self, key: str) -> Path:
        return self.dir / f"{key}.pic"

    def get(self, key: str) -> tuple[dict[str, Any], bytes] | None:
        path = self._path(key)
        try:
            with path.open("rb") as fh:
                blob = fh.read()
            os.utime(path)  # used now: the last to be evicted
        except OSError:
            return None
        if not blob.startswith(_MAGIC):
            return None
        header, _, payload = blob[len(_MAGIC) :].partition(b"\n")
        try:
            meta: dict[str, Any] = json.loads(header)
        except ValueError:
            return None
        return meta, payload

    def path_of(self, key: str) -> Path | None:
        """The file of an entry stored raw (`put_raw`), touched as used; None when absent."""
        path = self.dir / f"{key}.raw"
        try:
            os.utime(path)
        except OSError:
            return None
        return path

    def put(self, key: str, meta: dict[str, Any], payload: bytes = b"") -> None:
        self._write(self._path(key), _MAGIC + json.dumps(meta).encode() + b"\n" + payload)

    def put_raw(self, key: str, payload: bytes) -> Path:
        path = self.dir / f"{key}.raw"
        self._write(path, payload)
        return path

    def _write(self, path: Path, blob: bytes) -> None:
        tmp = self.dir / f".tmp-{os.getpid()}-{secrets.token_hex(6)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        self.evict(keep=path)

    def evict(self, keep: Path | None = None) -> None:
        """Remove the least recently used entries until the directory is within `max_bytes`."""
        entries: list[tuple[float, int, Path]] = []
        total = 0
        with os.scandir(self.dir) as it:
            for entry in it:
                if entry.name.startswith("."):
                    continue
                with contextlib.suppress(OSError):
                    st = entry.stat(follow_symlinks=False)
                    entries.append((st.st_mtime, st.st_size, Path(entry.path)))
                    total += st.st_size
        entries.sort(key=lambda e: e[0])
        for _, size, path in entries:
            if total <= self.max_bytes:
                break
            if path == keep:
                continue
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size


# --- the parent side ------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _key(*parts: object) -> str:
    return hashlib.sha256("|".join([_VERSION, *map(str, parts)]).encode()).hexdigest()


def _bounded(pool: SandboxPool, fn: Any, args: tuple[Any, ...], timeout: float) -> Any:
    """`fn(*args)` in the sandbox; a run that fails there becomes a `render.Failed`."""
    try:
        return pool.run(fn, args, timeout=timeout)
    except SandboxTimeout as exc:
        return render.Failed("timeout", str(exc))
    except SandboxMemory as exc:
        return render.Failed("memory", str(exc))
    except Exception as exc:  # a crash of the child is this page's problem, not the caller's
        return render.Failed("failed", f"{type(exc).__name__}: {exc}"[:300])


class _Job:
    """What every request needs: the file's identity, the pool, the cache, the policy's bounds."""

    def __init__(
        self, path: Path, fmt: str, policy: Policy, cache: PictureCache, pool: SandboxPool | None, sha256: str
    ) -> None:
        self.path = path
        self.fmt = "jpeg" if fmt.lower() == "jpg" else fmt.lower()
        self.policy = policy
        self.cache = cache
        bounds = policy.sandbox
        self.pool = pool or shared_pool(bounds.memory_limit_mb, bounds.recycle_rss_mb)
        self.timeout = bounds.time_limit_seconds
        self.sha256 = sha256

    @classmethod
    def start(
        cls,
        path: str | Path,
        fmt: str,
        policy: Policy,
        cache_dir: str | Path,
        pool: SandboxPool | None,
        sha256: str | None,
        max_cache_bytes: int,
    ) -> _Job | NoPicture:
        """The job, or why there is none: an unknown format, a file that cannot be read. A cache
        directory that cannot be made private is the caller's to fix: its OSError is raised."""
        if fmt.lower() not in (*FORMATS, "jpg"):
            return NoPicture("unsupported", f"format {fmt!r}")
        cache = PictureCache(cache_dir, max_cache_bytes)
        try:
            digest = sha256 or _sha256(Path(path))
        except OSError as exc:
            return NoPicture("unreadable", exc.strerror or str(exc))
        return cls(Path(path), fmt, policy, cache, pool, digest)

    def pdf_source(self) -> Path | render.Failed:
        """The file PDFium reads: the file itself, or the PDF LibreOffice made of a Word document."""
        if self.fmt == "pdf":
            return self.path
        key = _key("pdf-of", self.sha256, self.fmt)
        cached = self.cache.path_of(key)
        if cached is not None:
            return cached
        failed = self.cache.get(key)
        if failed is not None:
            return render.Failed(str(failed[0].get("reason", "convert_failed")), "")
        soffice = doc_convert.find_soffice()
        if soffice is None:
            return render.Failed("no_converter", "LibreOffice is not installed")
        bounds = self.policy.doc
        made = _bounded(
            self.pool,
            render.word_to_pdf,
            (self.path, self.fmt, soffice, bounds.convert_timeout_seconds, bounds.convert_memory_mb),
            # the conversion has its own bound inside; the child gets the drawing's time on top
            timeout=bounds.convert_timeout_seconds + self.timeout,
        )
        if isinstance(made, render.Failed):
            if made.reason in _LASTING:
                self.cache.put(key, {"reason": made.reason})
            return made
        return self.cache.put_raw(key, made)


def _no_picture(failed: render.Failed, cached: bool = False) -> NoPicture:
    return NoPicture(failed.reason, failed.detail, cached)


def render_page(
    path: str | Path,
    fmt: str,
    page: int,
    width_px: int,
    policy: Policy,
    cache_dir: str | Path,
    pool: SandboxPool | None = None,
    *,
    sha256: str | None = None,
    max_cache_bytes: int = DEFAULT_CACHE_BYTES,
) -> Picture | NoPicture:
    """Page `page` (1-based) of the file at `path`, whose sniffed format is `fmt` (pdf, docx, doc
    or jpeg: the report's `format`), drawn `width_px` wide (64…4096; narrower when the page is so
    long that the picture would pass 24 megapixels). `sha256` is the file's, when known."""
    width = min(max(int(width_px), MIN_WIDTH_PX), MAX_WIDTH_PX)
    job = _Job.start(path, fmt, policy, cache_dir, pool, sha256, max_cache_bytes)
    if isinstance(job, NoPicture):
        return job
    if page < 1 or (job.fmt == "jpeg" and page != 1):
        return NoPicture("no_such_page", f"page {page}")
    key = _key("page", job.sha256, job.fmt, page, width, policy.sha256)
    hit = job.cache.get(key)
    if hit is not None:
        meta, payload = hit
        if "reason" in meta:
            return NoPicture(meta["reason"], "", cached=True)
        return Picture(payload, meta["media_type"], meta["width_px"], meta["height_px"],
                       meta["page_width_pt"], meta["page_height_pt"], page, cached=True)  # fmt: skip
    result: render.Rendered | render.Failed
    if job.fmt == "jpeg":
        result = _bounded(job.pool, render.render_jpeg, (job.path, width, policy), job.timeout)
    else:
        source = job.pdf_source()
        if isinstance(source, render.Failed):
            return _no_picture(source)
        result = _bounded(job.pool, render.render_pdf_page, (source, page, width), job.timeout)
    if isinstance(result, render.Failed):
        if result.reason in _LASTING:
            job.cache.put(key, {"reason": result.reason})
        return _no_picture(result)
    meta = {
        "media_type": result.media_type,
        "width_px": result.width_px,
        "height_px": result.height_px,
        "page_width_pt": result.page_width_pt,
        "page_height_pt": result.page_height_pt,
    }
    job.cache.put(key, meta, result.data)
    return Picture(result.data, result.media_type, result.width_px, result.height_px,
                   result.page_width_pt, result.page_height_pt, page)  # fmt: skip


def page_count(
    path: str | Path,
    fmt: str,
    policy: Policy,
    cache_dir: str | Path,
    pool: SandboxPool | None = None,
    *,
    sha256: str | None = None,
    max_cache_bytes: int = DEFAULT_CACHE_BYTES,
) -> int | NoPicture:
    """How many pages the file has as drawn (a Word document: as LibreOffice lays it out)."""
    job = _Job.start(path, fmt, policy, cache_dir, pool, sha256, max_cache_bytes)
    if isinstance(job, NoPicture):
        return job
    if job.fmt == "jpeg":
        return 1
    key = _key("pages", job.sha256, job.fmt)
    hit = job.cache.get(key)
    if hit is not None:
        meta = hit[0]
        return NoPicture(meta["reason"], "", cached=True) if "reason" in meta else int(meta["pages"])
    source = job.pdf_source()
    if isinstance(source, render.Failed):
        return _no_picture(source)
    counted = _bounded(job.pool, render.pdf_page_count, (source,), job.timeout)
    if isinstance(counted, render.Failed):
        if counted.reason in _LASTING:
            job.cache.put(key, {"reason": counted.reason})
        return _no_picture(counted)
    job.cache.put(key, {"pages": counted})
    return int(counted)
