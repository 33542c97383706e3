"""Service configuration from `COURTDOC_*` environment variables (pydantic-settings).

One `Settings` object configures the API, the workers and the embedded Redis alike; `docs/service.md`
("Configuration") lists every variable. List values accept JSON (`[0, 5, 300]`) or
a comma-separated string (`0,5,300`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The Standard Webhooks retry schedule: immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h,
#: 20 h, 24 h (delays before each attempt, in seconds).
STANDARD_WEBHOOKS_SCHEDULE: tuple[float, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)


def _split(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            return json.loads(text)
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


class Settings(BaseSettings):
    """Everything the service reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="COURTDOC_", extra="ignore", populate_by_name=True)

    # --- where things live ---------------------------------------------------------------------
    data_dir: Path = Path("data-dir")
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("COURTDOC_REDIS_URL", "REDIS_URL")
    )
    policy: Path | None = None
    clients_file: Path | None = None
    #: Prefix of every Redis key the service writes (Dramatiq's queues live under `<namespace>:dq`).
    namespace: str = "courtdoc"

    # --- the API -------------------------------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8080
    #: Base URL the API is reached at, for `status_url`; relative URLs when unset.
    public_url: str | None = None
    max_files: int = 50
    max_metadata_bytes: int = 65_536
    default_lang: Literal["kk", "ru", "en"] = "en"
    #: The court's time zone: a filing's time limits count to the day it was received there.
    timezone: str = "Asia/Almaty"
    #: A connection must send a complete request head within this time (else it is closed).
    header_timeout_s: float = 10.0
    #: Connections still sending their request head (not yet authenticated) at once; past it,
    #: the one waiting longest is closed.
    max_pending_connections: int = 256
    #: An upload with no byte for this long is cut off (408 upload_too_slow) ...
    upload_idle_timeout_s: float = 30.0
    #: ... and so is one sending fewer than this many bytes a second over any rate window.
    upload_min_bytes_per_s: int = 1024
    upload_rate_window_s: float = 30.0
    #: Uploads one API key may have in progress at once in one API process (429 beyond).
    max_uploads_per_key: int = 8
    #: How long an idempotency key (header or external_id) answers with its first filing;
    #: unset: the retention period (COURTDOC_RETENTION_DAYS).
    idempotency_ttl_s: float | None = None

    # --- workers -------------------------------------------------------------------------------
    worker_processes: int = 2
    worker_threads: int = 8
    #: An idle worker asks Redis for new messages at least this often (Dramatiq's worker_timeout).
    worker_poll_ms: int = 100
    queues: Annotated[list[str], NoDecode] = ["intake", "callbacks"]
    #: Threads of in-process workers in `courtdoc serve` (0: none; unset: 8 with the embedded Redis).
    serve_worker_threads: int | None = None
    #: Each worker process proves it is alive this often ...
    heartbeat_interval_s: float = 1.0
    #: ... and is presumed dead (its unacknowledged messages requeued) after this long without.
    heartbeat_timeout_s: float = 10.0
    #: Redis keys of a finished filing expire after this long; the report file on disk stays.
    retention_days: float = 30.0
    #: The reconciler looks for filings that stopped moving this often (in every intake worker
    #: process, one at a time) ...
    reconcile_interval_s: float = 5.0
    #: ... among those received at least this long ago (workers/reconciler.py) ...
    reconcile_after_s: float = 30.0
    #: ... and a filing that has not moved for this long trusts only messages still waiting on a
    #: queue (a fetched message whose answer Redis never sent is stuck with a live worker).
    reconcile_stuck_s: float = 600.0
    #: Worker processes look for blobs past retention this often (0: never); see docs/operations.md "Retention".
    collector_interval_s: float = 3600.0

    # --- callbacks -----------------------------------------------------------------------------
    callback_schedule_s: Annotated[list[float], NoDecode] = list(STANDARD_WEBHOOKS_SCHEDULE)
    #: Each retry waits up to this share longer than scheduled (never shorter).
    callback_jitter: float = 0.1
    callback_timeout_s: float = 15.0
    #: Networks callbacks may reach although they are not public (e.g. `127.0.0.1/32` in tests).
    callback_allow_networks: Annotated[list[str], NoDecode] = []
    outbox_poll_s: float = 1.0
    #: A claimed delivery comes back to the outbox if its worker has not finished it after this.
    callback_lease_s: float = 60.0

    # --- embedded Redis and logs ---------------------------------------------------------------
    embedded_appendfsync: Literal["always", "everysec"] = "always"
    log_level: str = "info"
    log_format: Literal["json", "console"] = "json"

    #: Failure-injection for recovery tests: `point=seconds[,point=seconds]` with points `check`
    #: (before a file's check starts) and `stored` (after the barrier stored the last file's
    #: report and won the final key, before finalize is enqueued). Each pauses once per filing.
    fault_pause: str | None = None

    # --- pages: the pre-check page and signed report links ---------------------------------------
    #: Who may use the pre-check page (`GET /`): `off`, `open` (anyone, rate-limited per client
    #: address) or `key` (an API key, as for the API). Unset: `open` under `courtdoc serve` with
    #: its embedded Redis (one machine), `key` otherwise.
    precheck: Literal["off", "open", "key"] | None = None
    #: A pre-check's files, report and Redis keys are deleted this long after it was made.
    precheck_ttl_s: float = 900.0
    #: Pre-checks one client address may start in a minute (429 beyond).
    precheck_per_minute: int = 10
    #: Threads `courtdoc serve` runs for the `precheck` queue, apart from intake's; the pre-checks
    #: also get as many sandbox children of their own.
    precheck_worker_threads: int = 2
    #: The HMAC key of report links; unset: `<data dir>/report-link.key`, made (0600) on first start.
    report_link_secret: str | None = None
    #: A report link works for this long after it was handed out (a fresh one comes with each answer).
    report_link_ttl_s: float = 30 * 86400.0

    _split_lists = field_validator("queues", "callback_schedule_s", "callback_allow_networks", mode="before")(
        _split
    )

    @field_validator("callback_schedule_s")
    @classmethod
    def _schedule_non_empty(cls, value: list[float]) -> list[float]:
        if not value or any(v < 0 for v in value):
            raise ValueError("the callback schedule needs at least one delay, none negative")
        return value

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def journal_dir(self) -> Path:
        return self.data_dir / "journal"

    @property
    def report_dir(self) -> Path:
        return self.data_dir / "reports"

    @property
    def precheck_dir(self) -> Path:
        return self.data_dir / "precheck"

    def faults(self) -> dict[str, float]:
        if not self.fault_pause:
            return {}
        out: dict[str, float] = {}
        for item in self.fault_pause.split(","):
            point, _, seconds = item.partition("=")
            out[point.strip()] = float(seconds or 0)
        return out
