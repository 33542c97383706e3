"""Everything an API or worker process needs, built once from the settings.

A `Runtime` owns its broker and its actors (declared on that broker, not on Dramatiq's global
one), so a process — or a test — can hold several, each against its own Redis or namespace.
Other modules declare their actors on a runtime through `ACTOR_FACTORIES` (the bulk
re-validation module adds its factory there, on the `bulk` queue; the pre-checks theirs, on
the `precheck` queue).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dramatiq
import httpx
import redis

from ..core import logs
from ..core.policy import Policy, load_policy
from ..infra.blobstore import BlobStore
from ..infra.clients import Clients, load_clients
from ..infra.netguard import AddressPolicy, guarded_client
from ..infra.settings import Settings
from .broker import CALLBACKS, INTAKE, CourtdocBroker, build_broker
from .collector import Collector
from .filings import FilingStore
from .journal import IntakeJournal
from .keys import Keys
from .metrics import Metrics
from .outbox import Outbox, OutboxPoller
from .reconciler import Reconciler, ReconcilerThread

log = logs.get(__name__)


class Background(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


class QueueBackground(dramatiq.Middleware):
    """Runs a background task in every worker that serves `queue`: the outbox poller for
    `callbacks`, the reconciler and the blob collector for `intake`. `make` builds the task when
    the worker boots (None: nothing to run); it stops before the worker shuts down."""

    def __init__(self, queue: str, make: Callable[[], Background | None]) -> None:
        self.queue = queue
        self.make = make
        self.task: Background | None = None
        self._worker: dramatiq.Worker | None = None

    def _serves(self, worker: dramatiq.Worker) -> bool:
        # Dramatiq keeps the queues a Worker was given as `consumer_whitelist` (None: all).
        queues = getattr(worker, "consumer_whitelist", None)
        return not queues or self.queue in queues

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # One task per process, also when it runs two Workers (`serve`: intake's, the precheck's).
        if not self._serves(worker) or self.task is not None:
            return
        self.task = self.make()
        if self.task is not None:
            self.task.start()
            self._worker = worker

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self.task is not None and self._worker is worker:
            self.task.stop()
            self.task = None


@dataclass
class Runtime:
    settings: Settings
    redis_url: str
    redis: redis.Redis
    broker: CourtdocBroker
    keys: Keys
    blobs: BlobStore
    journal: IntakeJournal
    policy: Policy
    clients: Clients
    filings: FilingStore
    outbox: Outbox
    metrics: Metrics
    address_policy: AddressPolicy
    actors: dict[str, dramatiq.Actor[Any, Any]] = field(default_factory=dict)
    _http: httpx.Client | None = None

    @property
    def http(self) -> httpx.Client:
        """The callback HTTP client: no redirects, no private addresses, the callback timeout."""
        if self._http is None:
            self._http = guarded_client(self.address_policy, self.settings.callback_timeout_s)
        return self._http

    def status_url(self, fid: str) -> str:
        base = (self.settings.public_url or "").rstrip("/")
        return f"{base}/v1/filings/{fid}"

    def report_path(self, fid: str) -> Path:
        return self.settings.report_dir / fid[:2] / f"{fid}.json"

    def write_report_file(self, fid: str, document: dict[str, Any]) -> Path:
        """The audit copy of a decided filing, independent of Redis retention (fsync'd)."""
        path = self.report_path(fid)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(document, fh, ensure_ascii=False, indent=2)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return path

    def read_report_file(self, fid: str) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.report_path(fid).read_text(encoding="utf-8"))
            return data
        except (OSError, ValueError):
            return None

    def submit(self, fid: str, record: dict[str, Any]) -> None:
        """Journal a filing, record it and enqueue one check per file (after its files are
        stored). Once this returns, the filing reaches a verdict whatever fails next."""
        self.journal.write(fid, record)
        check = self.actors["check_file"]
        try:
            self.filings.create(fid, record)
            for index in range(int(record["nfiles"])):
                check.send(fid, index)
        except Exception:
            # The client gets an error, not a 202: drop the record and the journal entry so no
            # half-queued filing stays behind (checks already sent find no filing and end).
            self.journal.remove(fid)
            with contextlib.suppress(redis.RedisError):
                self.redis.delete(*self.keys.all_for(fid))
            raise
        self.metrics.received()

    def close_filing(self, fid: str) -> None:
        """The filing needs nothing more (decided, callback settled): expire its Redis state
        after retention and drop its journal entry."""
        self.filings.expire(fid, self.retention_s())
        self.journal.remove(fid)

    def local_date(self, ts: float) -> dt.date:
        """The calendar date of a moment in the court's time zone (COURTDOC_TIMEZONE)."""
        try:
            zone: dt.tzinfo = ZoneInfo(self.settings.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            zone = dt.UTC
        return dt.datetime.fromtimestamp(ts, tz=zone).date()

    def retention_s(self) -> float:
        return self.settings.retention_days * 86400

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
        self.broker.close()
        self.redis.close()


#: Functions that declare actors on a runtime; each returns {actor name: actor}.
ActorFactory = Callable[[Runtime], dict[str, Any]]


def _intake_actors(rt: Runtime) -> dict[str, Any]:
    from .actors import declare

    return declare(rt)


def _bulk_actors(rt: Runtime) -> dict[str, Any]:
    from .bulk import declare

    return declare(rt)


def _precheck_actors(rt: Runtime) -> dict[str, Any]:
    from .precheck import declare

    return declare(rt)


ACTOR_FACTORIES: list[ActorFactory] = [_intake_actors, _bulk_actors, _precheck_actors]


def clients_path(settings: Settings) -> Path:
    return settings.clients_file or settings.data_dir / "clients.toml"


def build_runtime(
    settings: Settings, redis_url: str | None = None, clients: Clients | None = None
) -> Runtime:
    url = redis_url or settings.redis_url
    if not url:
        raise ValueError("no Redis: set COURTDOC_REDIS_URL (or REDIS_URL)")
    keys = Keys(settings.namespace)
    client = redis.Redis.from_url(url, decode_responses=True, health_check_interval=30)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    rt = Runtime(
        settings=settings,
        redis_url=url,
        redis=client,
        broker=build_broker(settings, url, keys.dramatiq),
        keys=keys,
        blobs=BlobStore(settings.blob_dir),
        journal=IntakeJournal(settings.journal_dir),
        policy=load_policy(settings.policy),
        clients=clients if clients is not None else load_clients(clients_path(settings)),
        filings=FilingStore(client, keys),
        outbox=Outbox(client, keys, settings.callback_lease_s),
        metrics=Metrics(client, keys),
        address_policy=AddressPolicy(settings.callback_allow_networks),
    )
    rt.broker.add_middleware(
        QueueBackground(
            CALLBACKS,
            lambda: OutboxPoller(rt.outbox, rt.actors["deliver_callback"].send, settings.outbox_poll_s),
        )
    )
    rt.broker.add_middleware(QueueBackground(INTAKE, lambda: ReconcilerThread(Reconciler(rt))))

    def collector() -> Collector | None:
        if settings.collector_interval_s <= 0:
            return None
        return Collector(
            rt.blobs, rt.redis, rt.keys, rt.retention_s(), settings.collector_interval_s, rt.journal
        )

    rt.broker.add_middleware(QueueBackground(INTAKE, collector))
    for factory in ACTOR_FACTORIES:
        rt.actors.update(factory(rt))
    log.debug("runtime.ready", redis=url.split("@")[-1], namespace=settings.namespace, at=time.time())
    return rt
