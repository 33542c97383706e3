"""The content cache: what the sandbox said about some bytes, recorded once and replayed for copies.

`pipeline.validate_file` does the cheap name and size checks itself and hands the parsing to a
sandbox pool (`pool.run(inspect, (path, ext, policy), timeout)`). That parsed result depends only
on the bytes, the claimed type and the policy, so a bulk run records it (`RecordingPool`) the
first time it checks some content and, for every other copy of the same bytes — under the same
or another name, in the same or another filing — gives `validate_file` a `ReplayPool` that
answers from the record instead of parsing again. The file report is then built by the pipeline
exactly as for a fresh check: a copy's report is the one a fresh check would give.

Records are JSON (they cross Redis in queue mode): dataclasses are tagged with their class,
and only classes from the courtdoc package are rebuilt. A result that does not survive the
round trip unchanged is not recorded, and its copies are checked afresh.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from . import pipeline
from .core.policy import Policy
from .engine import sandbox
from .engine.sandbox import RunStats, SandboxError, SandboxPool

Record = list[dict[str, Any]]


class _NotEncodable(Exception):
    pass


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        return {
            "__dc__": f"{cls.__module__}:{cls.__qualname__}",
            "f": {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)},
        }
    if isinstance(value, list):
        items = [_encode(v) for v in value]
        if type(value) is list:
            return items
        list_cls = type(value)
        return {"__list__": f"{list_cls.__module__}:{list_cls.__qualname__}", "items": items}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        if any(k.startswith("__") for k in value):
            return {"__map__": {k: _encode(v) for k, v in value.items()}}
        return {k: _encode(v) for k, v in value.items()}
    raise _NotEncodable(type(value).__name__)


#: Where modules named in records written before the tree was grouped by concern live now, so a
#: bulk run resumed across that upgrade still reads its records.
_MOVED_MODULES = {
    "courtdoc.report": "courtdoc.core.report",
    "courtdoc.policy": "courtdoc.core.policy",
    "courtdoc.messages": "courtdoc.core.messages",
    "courtdoc.inspection": "courtdoc.engine.inspection",
    "courtdoc.sandbox": "courtdoc.engine.sandbox",
}


def _class(ref: str) -> type:
    module, _, qualname = ref.partition(":")
    module = _MOVED_MODULES.get(module, module)
    if module != "courtdoc" and not module.startswith("courtdoc."):
        raise ValueError(f"refusing to rebuild {ref}")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not isinstance(obj, type):
        raise ValueError(f"{ref} is not a class")
    return obj


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__dc__" in value:
        cls = _class(value["__dc__"])
        if not dataclasses.is_dataclass(cls):
            raise ValueError(f"{value['__dc__']} is not a dataclass")
        fields = {k: _decode(v) for k, v in value["f"].items()}
        init = {f.name for f in dataclasses.fields(cls) if f.init}
        obj = cls(**{k: v for k, v in fields.items() if k in init})
        for k, v in fields.items():
            if k not in init:
                object.__setattr__(obj, k, v)
        return obj
    if "__list__" in value:
        cls = _class(value["__list__"])
        if not issubclass(cls, list):
            raise ValueError(f"{value['__list__']} is not a list")
        return cls(_decode(v) for v in value["items"])
    if "__tuple__" in value:
        return tuple(_decode(v) for v in value["__tuple__"])
    if "__map__" in value:
        return {k: _decode(v) for k, v in value["__map__"].items()}
    return {k: _decode(v) for k, v in value.items()}


def _fn_name(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def _same_fn(recorded: str, fn: Callable[..., Any]) -> bool:
    module, _, qualname = recorded.partition(":")
    return f"{_MOVED_MODULES.get(module, module)}:{qualname}" == _fn_name(fn)


def _args_signature(args: tuple[Any, ...], *, earlier: bool = False) -> list[str]:
    """What of the arguments a result depends on besides the bytes: not the path, the policy's
    hash (`earlier`: the hash earlier versions gave the same policy file, its bytes alone)."""
    out: list[str] = []
    for a in args:
        if isinstance(a, Path):
            out.append("<path>")
        elif isinstance(a, Policy):
            out.append(f"policy:{a.file_sha256 if earlier else a.sha256}")
        else:
            out.append(repr(a))
    return out


class RecordingPool:
    """Runs jobs in the real pool and records each outcome, to replay them for copies."""

    def __init__(self, pool: SandboxPool) -> None:
        self.pool = pool
        self.record: Record = []
        self.cacheable = True
        self.calls = 0

    def run_measured(
        self, fn: Callable[..., Any], args: tuple[Any, ...], timeout: float
    ) -> tuple[Any, RunStats]:
        self.calls += 1
        entry: dict[str, Any] = {"fn": _fn_name(fn), "args": _args_signature(args)}
        try:
            value, stats = self.pool.run_measured(fn, args, timeout)
        except SandboxError as exc:
            entry["raise"] = type(exc).__name__
            entry["message"] = str(exc)
            self.record.append(entry)
            raise
        try:
            encoded = _encode(value)
            if _decode(json.loads(json.dumps(encoded))) != value:
                raise _NotEncodable("changed in the round trip")
        except (_NotEncodable, ValueError, TypeError):
            self.cacheable = False
        else:
            entry["value"] = encoded
            self.record.append(entry)
        return value, stats

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], timeout: float) -> Any:
        return self.run_measured(fn, args, timeout)[0]

    def result(self) -> Record | None:
        """The record to keep, or None when some outcome could not be recorded faithfully."""
        return self.record if self.cacheable else None


class ReplayPool:
    """Answers jobs from a record; anything the record does not cover goes to the real pool."""

    def __init__(self, record: Record, fallback: Callable[[], SandboxPool]) -> None:
        self._record = list(record)
        self._fallback = fallback
        self.missed = 0

    def run_measured(
        self, fn: Callable[..., Any], args: tuple[Any, ...], timeout: float
    ) -> tuple[Any, RunStats]:
        if self._record:
            entry = self._record[0]
            if _same_fn(entry["fn"], fn) and entry["args"] in (
                _args_signature(args),
                _args_signature(args, earlier=True),
            ):
                self._record.pop(0)
                if "raise" in entry:
                    cls = getattr(sandbox, entry["raise"], SandboxError)
                    if not (isinstance(cls, type) and issubclass(cls, SandboxError)):
                        cls = SandboxError
                    raise cls(entry["message"])
                return _decode(entry["value"]), RunStats()
        self.missed += 1
        return self._fallback().run_measured(fn, args, timeout)

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], timeout: float) -> Any:
        return self.run_measured(fn, args, timeout)[0]


def dumps(record: Record) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def loads(text: str) -> Record:
    data = json.loads(text)
    if not isinstance(data, list):
        raise ValueError("not a record")
    return data


class _HerePool:
    """Inside a sandbox child, which is itself the sandbox: the inspection runs right here."""

    def run_measured(
        self, fn: Callable[..., Any], args: tuple[Any, ...], timeout: float
    ) -> tuple[Any, RunStats]:
        return fn(*args), RunStats()


class _FailedPool:
    """Answers the inspection with the failure the sandbox child met (memory, time, crash)."""

    def __init__(self, error: SandboxError) -> None:
        self.error = error

    def run_measured(
        self, fn: Callable[..., Any], args: tuple[Any, ...], timeout: float
    ) -> tuple[Any, RunStats]:
        raise self.error


def _recorded_check(
    path: Path, name: str, policy: Policy, lang: str, pool: Any, sha256: str | None
) -> tuple[dict[str, Any], str | None, int]:
    recorder = RecordingPool(pool)
    report = pipeline.validate_file(
        path, policy, name=name, lang=lang, pool=cast(SandboxPool, recorder), sha256=sha256
    )
    record = recorder.result()
    return report.to_dict(), dumps(record) if record is not None else None, recorder.calls


def _check_in_child(
    path: Path, name: str, policy: Policy, lang: str, sha256: str | None
) -> tuple[dict[str, Any], str | None, int]:
    return _recorded_check(path, name, policy, lang, _HerePool(), sha256)


def check_file(
    path: Path, name: str, policy: Policy, lang: str, pool: SandboxPool, sha256: str | None = None
) -> tuple[dict[str, Any], str | None, int]:
    """A fresh check, recorded: (report, the record as JSON text or None, sandbox runs).

    The whole check — the parse, the name and outline checks, the report, the record — runs in
    one sandbox child, so the process that drives a bulk run spends almost nothing per file.
    When the child is killed (memory, time) or crashes, the report is built here from that
    failure exactly as `validate_file` builds it, and the failure is what gets recorded."""
    try:
        result: tuple[dict[str, Any], str | None, int] = pool.run(
            _check_in_child, (path, name, policy, lang, sha256), policy.sandbox.time_limit_seconds
        )
    except SandboxError as exc:
        return _recorded_check(path, name, policy, lang, _FailedPool(exc), sha256)
    return result


def replay_file(
    path: Path,
    name: str,
    policy: Policy,
    lang: str,
    record: Record,
    fallback: Callable[[], SandboxPool],
    sha256: str | None = None,
) -> tuple[dict[str, Any], int]:
    """A copy's report from a record: (report, sandbox runs the record did not cover)."""
    player = ReplayPool(record, fallback)
    report = pipeline.validate_file(
        path, policy, name=name, lang=lang, pool=cast(SandboxPool, player), sha256=sha256
    )
    return report.to_dict(), player.missed
