"""Legacy Word (.doc) → .docx with LibreOffice headless, so .doc files get the DOCX text checks;
the same bounded conversion turns a .doc or .docx into a PDF for its page pictures (`converted`).

Each conversion runs `soffice` in a fresh temporary directory holding a copy of the input and
the output, removed afterwards, with a user profile (`-env:UserInstallation`) of its own
process: reused by the next conversion in the same process (a fresh profile costs about a
second), thrown away after any failure so a broken profile is never reused. The
subprocess is bounded twice: a wall-time limit (its whole process tree is killed when it runs
over) and its own address-space limit (RLIMIT_AS, never above the limit it inherits from the
sandbox child). It stays in the sandbox child's process group, so when the sandbox kills a child
that ran out of time, LibreOffice dies with it. Directories left by a killed child are swept
by the next conversion.

`find_soffice()` honours COURTDOC_SOFFICE (a path; empty means "not installed").
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

PREFIX = "courtdoc-soffice-"
_DIR_PID = re.compile(re.escape(PREFIX) + r"(\d+)-")
_FILTERS = {"docx": "docx:MS Word 2007 XML", "pdf": "pdf:writer_pdf_Export"}


class ConversionError(Exception):
    """LibreOffice could not convert the file; the message says why (for the finding)."""


def find_soffice() -> str | None:
    """Path of the LibreOffice binary, or None when it is not installed."""
    configured = os.environ.get("COURTDOC_SOFFICE")
    if configured is not None:
        return configured if configured and os.access(configured, os.X_OK) else None
    return shutil.which("soffice") or shutil.which("libreoffice")


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, grandchildren…), from /proc."""
    tree = _children_map()
    out: list[int] = []
    todo = [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def kill_tree(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process and everything it started (LibreOffice's launcher forks soffice.bin)."""
    for pid in [*descendants(proc.pid), proc.pid]:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(5)


@contextlib.contextmanager
def helpers_die_with_child(proc: subprocess.Popen[bytes]) -> Iterator[None]:
    """While `proc` runs, SIGTERM (the sandbox child's signal that its parent is gone) first kills
    `proc`'s tree, then ends this process as SIGTERM would have. Main thread only (elsewhere
    Python cannot install handlers, and nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def leave(signum: int, frame: object) -> None:
        kill_tree(proc)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, leave)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _limit_memory(memory_mb: int) -> Callable[[], None]:
    def apply() -> None:
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        limit = memory_mb * 1_048_576
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))

    return apply


def sweep_stale(tmp: Path | None = None) -> None:
    """Remove conversion directories whose process is gone (it was killed mid-conversion)."""
    base = tmp or Path(tempfile.gettempdir())
    with contextlib.suppress(OSError):
        for entry in base.iterdir():
            m = _DIR_PID.match(entry.name)
            if m is None or not entry.is_dir():
                continue
            pid = int(m.group(1))
            if pid == os.getpid():
                continue
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                shutil.rmtree(entry, ignore_errors=True)
            except PermissionError:
                pass


def converted_docx(
    path: Path, *, soffice: str, timeout: float, memory_mb: int
) -> contextlib.AbstractContextManager[Path]:
    """Yields the path of a .docx converted from the .doc at `path`; raises ConversionError."""
    return converted(path, to="docx", soffice=soffice, timeout=timeout, memory_mb=memory_mb)


@contextlib.contextmanager
def converted(
    path: Path, *, to: str, soffice: str, timeout: float, memory_mb: int, source_suffix: str = ".doc"
) -> Iterator[Path]:
    """Yields the path of the `to` file ("docx" or "pdf") converted from the Word document at
    `path` (its extension `source_suffix`); raises ConversionError."""
    sweep_stale()
    work = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-"))
    try:
        source = work / f"input{source_suffix}"
        shutil.copyfile(path, source)
        out_dir = work / "out"
        profile = Path(tempfile.gettempdir()) / f"{PREFIX}{os.getpid()}-profile"
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
        env.update(HOME=str(work), SAL_USE_VCLPLUGIN="svp")
        cmd = [
            soffice,
            f"-env:UserInstallation={profile.as_uri()}",
            "--headless", "--invisible", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
            "--convert-to", _FILTERS[to], "--outdir", str(out_dir), str(source),
        ]  # fmt: skip
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=work,
                preexec_fn=_limit_memory(memory_mb),  # the sandbox child is single-threaded
            )
        except OSError as exc:
            raise ConversionError(f"LibreOffice could not be started: {exc.strerror}") from None
        try:
            with helpers_die_with_child(proc):
                _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(proc)
            shutil.rmtree(profile, ignore_errors=True)
            raise ConversionError(f"LibreOffice did not finish within {timeout:g} s") from None
        finally:
            if proc.poll() is None:
                kill_tree(proc)
        result = out_dir / f"input.{to}"
        if proc.returncode != 0 or not result.is_file() or result.stat().st_size == 0:
            shutil.rmtree(profile, ignore_errors=True)
            tail = err.decode("utf-8", "replace").strip().splitlines()
            reason = next((line for line in reversed(tail) if "javaldx" not in line), "")
            code = proc.returncode
            raise ConversionError(
                f"LibreOffice could not convert it (exit code {code}"
                + (f", {reason[:120]}" if reason else "")
                + f", {time.monotonic() - started:.1f} s)"
            )
        yield result
    finally:
        shutil.rmtree(work, ignore_errors=True)
