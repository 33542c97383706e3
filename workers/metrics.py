"""Service metrics, aggregated in Redis and exported for Prometheus by the API's `/metrics`.

Workers run on many machines; rather than one exporter per process (what Dramatiq's Prometheus
middleware does), each observation is a `HINCRBY` on one Redis hash, and the API renders the
totals — one scrape sees the whole service. Queue depths are read from Dramatiq's keys at scrape
time. Field names are `metric|label=value|…`; histogram buckets are stored per bucket (not
cumulative) and summed when rendered.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import redis
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from .broker import QUEUES
from .keys import Keys

CHECK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 60.0)


def _field(name: str, **labels: str) -> str:
    return "|".join([name, *(f"{k}={v}" for k, v in sorted(labels.items()))])


def _parse(field: str) -> tuple[str, dict[str, str]]:
    name, *pairs = field.split("|")
    return name, dict(p.split("=", 1) for p in pairs)


class Metrics:
    """Records observations; every method is one pipelined round trip, and never raises."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r = client
        self.key = keys.metrics

    def _incr(self, items: Iterable[tuple[str, float]]) -> None:
        try:
            pipe = self.r.pipeline(transaction=False)
            for field, amount in items:
                if float(amount).is_integer():
                    pipe.hincrby(self.key, field, int(amount))
                else:
                    pipe.hincrbyfloat(self.key, field, amount)
            pipe.execute()
        except redis.RedisError:
            pass  # metrics never fail the work they measure

    def check(self, fmt: str, seconds: float, verdict: str) -> None:
        bucket = next((b for b in CHECK_BUCKETS if seconds <= b), float("inf"))
        le = "+Inf" if bucket == float("inf") else repr(bucket)
        self._incr(
            [
                (_field("check_seconds_bucket", format=fmt, le=le), 1),
                (_field("check_seconds_sum", format=fmt), seconds),
                (_field("check_seconds_count", format=fmt), 1),
                (_field("files_checked", format=fmt, verdict=verdict), 1),
            ]
        )

    def filing(self, verdict: str, findings: Iterable[tuple[str, str]]) -> None:
        items: list[tuple[str, float]] = [(_field("filings_checked", verdict=verdict), 1)]
        items += [(_field("findings", rule=rule, severity=sev), 1) for rule, sev in findings]
        self._incr(items)

    def received(self) -> None:
        self._incr([(_field("filings_received"), 1)])

    def callback(self, outcome: str, gave_up: bool = False) -> None:
        items: list[tuple[str, float]] = [(_field("callback_attempts", outcome=outcome), 1)]
        if outcome != "delivered":
            items.append((_field("callback_failed_attempts"), 1))
        if gave_up:
            items.append((_field("callbacks_given_up"), 1))
        self._incr(items)

    def reconciled(self, action: str, count: int) -> None:
        if count:
            self._incr([(_field("reconciled", action=action), count)])


class RedisCollector(Collector):
    """Renders the Redis-held totals and the live queue depths for prometheus_client."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys

    def collect(self) -> Iterator[Any]:
        raw: dict[bytes | str, bytes | str] = self.r.hgetall(self.keys.metrics)
        values: dict[str, list[tuple[dict[str, str], float]]] = defaultdict(list)
        for k, v in raw.items():
            name, labels = _parse(k.decode() if isinstance(k, bytes) else k)
            values[name].append((labels, float(v)))

        yield from self._counter(values, "filings_received", "Filings accepted by the API (202).", [])
        yield from self._counter(values, "filings_checked", "Filings decided, by verdict.", ["verdict"])
        yield from self._counter(
            values, "files_checked", "Files checked, by format and verdict.", ["format", "verdict"]
        )
        yield from self._counter(
            values, "findings", "Findings in decided filings, by rule and severity.", ["rule", "severity"]
        )
        yield from self._counter(values, "callback_attempts", "Callback attempts, by outcome.", ["outcome"])
        yield from self._counter(
            values, "callback_failed_attempts", "Callback attempts that did not get a 2xx.", []
        )
        yield from self._counter(
            values, "callbacks_given_up", "Callbacks abandoned after the whole retry schedule.", []
        )
        yield from self._counter(
            values,
            "reconciled",
            "What the reconciler re-sent for stranded filings: recreated filings, checks, finalizes, "
            "callbacks put back in the outbox.",
            ["action"],
        )
        yield self._histogram(values)

        depth = GaugeMetricFamily(
            "courtdoc_queue_messages", "Messages in each Dramatiq queue, by state.", labels=["queue", "state"]
        )
        pipe = self.r.pipeline(transaction=False)
        for q in QUEUES:
            queue = self.keys.queue(q)
            pipe.llen(queue.ready)
            pipe.hlen(queue.messages)
            pipe.hlen(queue.delayed_messages)
            pipe.zcard(queue.dead)
        pipe.zcard(self.keys.outbox)
        counts = pipe.execute()
        for i, q in enumerate(QUEUES):
            ready, total, delayed, dead = counts[4 * i : 4 * i + 4]
            depth.add_metric([q, "ready"], ready)
            depth.add_metric([q, "in_progress"], max(0, total - ready))
            depth.add_metric([q, "delayed"], delayed)
            depth.add_metric([q, "dead"], dead)
        yield depth
        yield GaugeMetricFamily(
            "courtdoc_callbacks_pending", "Callbacks waiting for delivery (the outbox).", value=counts[-1]
        )

    @staticmethod
    def _counter(
        values: dict[str, list[tuple[dict[str, str], float]]], name: str, doc: str, labels: list[str]
    ) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(f"courtdoc_{name}", doc, labels=labels)
        for lab, v in values.get(name, []):
            family.add_metric([lab.get(k, "") for k in labels], v)
        yield family

    @staticmethod
    def _histogram(values: dict[str, list[tuple[dict[str, str], float]]]) -> HistogramMetricFamily:
        family = HistogramMetricFamily(
            "courtdoc_check_duration_seconds",
            "Time to check one file, by detected format.",
            labels=["format"],
        )
        per_format: dict[str, dict[str, float]] = defaultdict(dict)
        for lab, v in values.get("check_seconds_bucket", []):
            per_format[lab["format"]][lab["le"]] = v
        sums = {lab["format"]: v for lab, v in values.get("check_seconds_sum", [])}
        for fmt, buckets in sorted(per_format.items()):
            cumulative, running = [], 0.0
            for b in [*CHECK_BUCKETS, float("inf")]:
                le = "+Inf" if b == float("inf") else repr(b)
                running += buckets.get(le, 0.0)
                cumulative.append((le, running))
            family.add_metric([fmt], cumulative, sums.get(fmt, 0.0))
        return family
