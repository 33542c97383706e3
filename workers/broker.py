"""The Dramatiq broker on Redis: queue names, middleware, and bounded recovery of lost messages.

Queues:
  * `intake`    — `check_file` and `finalize_filing`: what a portal is waiting for.
  * `callbacks` — `deliver_callback`: slow or failing portals never hold up checks' queue.
  * `precheck`  — `precheck_file` and `precheck_finalize` (workers/precheck.py): files a person
    checks on the pre-check page before filing; never on intake's queue or threads.
  * `bulk`      — re-validation of archives (declared by the bulk module). Run it in its own
    worker processes (`courtdoc worker --queues bulk`): Dramatiq's priorities only order messages
    a process has already prefetched, so separate processes are what keeps bulk from starving
    intake.

Recovery of a killed worker's messages. Dramatiq's Redis broker keeps each fetched message in
a per-worker "acks" set until it is acknowledged; a worker counts as dead once its heartbeat
(refreshed by each of its broker commands) is older than `heartbeat_timeout`, and its messages
are requeued by "maintenance" — which runs on a random `maintenance_chance` per million commands
(0.1 % by default) and only for the queue that command touched. An idle worker polls each queue
about ten times a second, so the intake queue's maintenance comes every couple of minutes on
average, with no upper bound. `keep_alive()` makes it deterministic: each worker process runs it
every `heartbeat_interval_s`, refreshing its heartbeat (also while every thread is busy on a slow
file) and running maintenance for every declared queue. A SIGKILLed worker's messages are
therefore back on their queue within `heartbeat_timeout_s + heartbeat_interval_s` of the kill,
as long as any other worker process is alive (a restarted one counts).

Retries that survive a Redis outage. Dramatiq's `Retries` re-enqueues a failed message from
`after_process_message`, and the worker then acknowledges the original. When Redis is down —
the very failure that made the actor raise — the re-enqueue fails, Dramatiq logs it, and the
acknowledgement (which the worker repeats until Redis answers) removes the only copy: the
message is gone. `DurableRetries` instead repeats the re-enqueue until Redis takes it, before
the worker may acknowledge. A process killed while it waits never acknowledges, so the message
comes back through the heartbeat like any other; a process killed between the re-enqueue and
the acknowledgement leaves two copies, which the idempotent barrier absorbs.
"""

from __future__ import annotations

import time
from typing import Any

import dramatiq
import redis
from dramatiq.broker import MessageProxy
from dramatiq.brokers.redis import RedisBroker
from dramatiq.common import current_millis
from dramatiq.errors import BrokerConnectionError
from dramatiq.middleware import CurrentMessage, Middleware, Retries, ShutdownNotifications, TimeLimit

from ..core import logs
from ..infra.settings import Settings
from .periodic import Periodic

INTAKE = "intake"
CALLBACKS = "callbacks"
BULK = "bulk"
PRECHECK = "precheck"
QUEUES = (INTAKE, CALLBACKS, BULK, PRECHECK)

log = logs.get(__name__)


class CourtdocBroker(RedisBroker):
    """RedisBroker with an explicit heartbeat-and-maintenance call (see the module docstring)."""

    def keep_alive(self) -> None:
        dispatch = self.scripts["dispatch"]
        for queue in sorted(self.queues | self.delay_queues):
            dispatch(
                args=[
                    "qsize",
                    current_millis(),
                    queue,
                    self.broker_id,
                    self.heartbeat_timeout,
                    self.dead_message_ttl,
                    1,  # maintenance: requeue dead workers' messages of this queue
                    self._max_unpack_size(),
                ],
                keys=[self.namespace],
            )


#: Waits between attempts to re-enqueue a retry while Redis is away (then the last one repeats).
REENQUEUE_BACKOFF_S = (0.1, 0.2, 0.5, 1.0, 2.0)


class _PersistentEnqueue:
    """The broker as `Retries` sees it: `enqueue` repeats until Redis has the message."""

    def __init__(self, broker: dramatiq.Broker) -> None:
        self._broker = broker

    def __getattr__(self, name: str) -> Any:
        return getattr(self._broker, name)

    def enqueue(self, message: dramatiq.Message[Any], *, delay: int | None = None) -> Any:
        attempt = 0
        while True:
            try:
                result = self._broker.enqueue(message, delay=delay)
            except (redis.RedisError, BrokerConnectionError, OSError) as exc:
                if attempt == 0:
                    log.warning("retry.enqueue_waiting", message_id=message.message_id, error=str(exc))
                time.sleep(REENQUEUE_BACKOFF_S[min(attempt, len(REENQUEUE_BACKOFF_S) - 1)])
                attempt += 1
                continue
            if attempt:
                log.info("retry.enqueued", message_id=message.message_id, attempts=attempt + 1)
            return result


class DurableRetries(Retries):
    """`Retries` whose re-enqueue is never given up for a connection error (module docstring)."""

    def after_process_message(
        self,
        broker: dramatiq.Broker,
        message: MessageProxy,
        *,
        result: Any | None = None,
        exception: BaseException | None = None,
    ) -> None:
        super().after_process_message(
            _PersistentEnqueue(broker), message, result=result, exception=exception
        )


class KeepAlive(Middleware):
    """Runs `CourtdocBroker.keep_alive` on a thread for as long as a worker runs."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._periodic: Periodic | None = None
        self._workers = 0  # `serve` runs a second Worker (the precheck queue's) on the same broker

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        assert isinstance(broker, CourtdocBroker)
        self._workers += 1
        if self._periodic is None:
            self._periodic = Periodic("keep_alive", self.interval_s, broker.keep_alive).start()

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # Only after the worker threads finished: a graceful stop may wait for a long check.
        self._workers -= 1
        if self._periodic is not None and self._workers <= 0:
            self._periodic.stop(timeout=0)
            self._periodic = None


def build_broker(
    settings: Settings, redis_url: str, namespace: str, extra: list[Any] | None = None
) -> CourtdocBroker:
    """The broker with the middleware the service relies on.

    Not used on purpose: Dramatiq's group completion callbacks and Results (their counters are not
    idempotent when a message is redelivered after a killed worker — the filing barrier in
    `filings.py` is), AgeLimit (a filing is never too old to check), and the Prometheus
    middleware (per-process HTTP exporters; our metrics are aggregated in Redis instead so one
    scrape of the API covers every worker on every machine).
    """
    middleware: list[Any] = [
        TimeLimit(),
        ShutdownNotifications(),
        DurableRetries(max_retries=20, min_backoff=1_000, max_backoff=300_000),
        CurrentMessage(),
        KeepAlive(settings.heartbeat_interval_s),
        *(extra or []),
    ]
    return CourtdocBroker(
        url=redis_url,
        namespace=namespace,
        middleware=middleware,
        heartbeat_timeout=int(settings.heartbeat_timeout_s * 1000),
        # Random maintenance stays on as a second line; keep_alive is what bounds recovery.
        maintenance_chance=1000,
    )
