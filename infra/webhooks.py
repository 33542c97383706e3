"""Signed callbacks per the Standard Webhooks specification, and the retry schedule.

Every attempt carries the same `webhook-id` (the portal deduplicates on it) and body, a fresh
`webhook-timestamp`, and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`
made by the `standardwebhooks` package with the portal's `whsec_…` secret. Only a 2xx answer is
success; redirects are not followed; a `Retry-After` answer pushes the next attempt back.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from standardwebhooks import Webhook

from .. import __version__
from .netguard import AddressRefused

EVENT_TYPE = "filing.checked"
#: A portal cannot push its next callback further away than this with Retry-After.
MAX_RETRY_AFTER_S = 86_400.0


def sign_headers(secret: str, webhook_id: str, body: str, now: float | None = None) -> dict[str, str]:
    ts = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(ts.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, ts, body),
        "content-type": "application/json",
        "user-agent": f"courtdoc/{__version__}",
    }


@dataclass
class Attempt:
    """The outcome of one POST; `outcome` is `delivered`, `http_<code>`, `timeout`, `refused`
    (address not allowed) or `connect_error`."""

    number: int
    started_at: float
    duration_ms: int
    outcome: str
    status: int | None = None
    error: str | None = None
    retry_after_s: float | None = None

    @property
    def delivered(self) -> bool:
        return self.outcome == "delivered"

    def to_dict(self) -> dict[str, object]:
        return {
            "attempt": self.number,
            "at": self.started_at,
            "duration_ms": self.duration_ms,
            "outcome": self.outcome,
            "status": self.status,
            "error": self.error,
            "retry_after_s": self.retry_after_s,
        }


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def post(client: httpx.Client, url: str, secret: str, webhook_id: str, body: str, number: int) -> Attempt:
    started = time.time()
    t0 = time.perf_counter()

    def done(outcome: str, **kw: object) -> Attempt:
        return Attempt(number, started, int((time.perf_counter() - t0) * 1000), outcome, **kw)  # type: ignore[arg-type]

    try:
        response = client.post(
            url, content=body.encode("utf-8"), headers=sign_headers(secret, webhook_id, body)
        )
    except AddressRefused as exc:
        return done("refused", error=str(exc)[:300])
    except httpx.TimeoutException as exc:
        return done("timeout", error=f"{type(exc).__name__}: no answer in time")
    except httpx.HTTPError as exc:
        return done("connect_error", error=f"{type(exc).__name__}: {exc}"[:300])
    if 200 <= response.status_code < 300:
        return done("delivered", status=response.status_code)
    return done(
        f"http_{response.status_code}",
        status=response.status_code,
        retry_after_s=parse_retry_after(response.headers.get("retry-after"), time.time()),
        error=response.text[:200] or None,
    )


def next_delay(
    schedule: Sequence[float], attempts_made: int, jitter: float, retry_after: float | None = None
) -> float | None:
    """Delay before attempt `attempts_made + 1`, or None when the schedule is exhausted.

    Jitter only ever lengthens the wait (up to `jitter` × the delay); `Retry-After` wins when it
    asks for longer than the schedule (capped at 24 h).
    """
    if attempts_made >= len(schedule):
        return None
    delay = schedule[attempts_made]
    delay += delay * jitter * random.random()
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER_S))
    return delay
