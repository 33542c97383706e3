"""The API server's defences against slow clients, at the connection (uvicorn's h11 protocol).

uvicorn closes a connection idle between requests, but not one that sends its request head a
byte at a time (each byte resets the keep-alive timer), nor one that keeps sending a body the
application has already answered without reading (a 401 or a 429 sent before the upload). So:

- a connection must send a complete request head within `header_timeout_s` of starting one
  (or of the previous answer); else it is closed, with a JSON 408 when it had sent something;
- at most `max_pending` connections may be waiting for their head at once — none of them is
  authenticated yet, the key is in the head — and past that the one waiting longest is closed;
- a body still arriving after its answer is read and dropped for `header_timeout_s`, then the
  connection is closed.

The slow *body* of an authenticated upload is judged by the application (`uploads.UploadPace`),
which answers 408 `upload_too_slow`. In production a reverse proxy does the same in front
(docs/service.md, "Behind a reverse proxy"); these bounds hold when it is missing or misconfigured.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from typing import Any, ClassVar, Literal

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from ..core import logs
from ..infra.settings import Settings

log = logs.get(__name__)

Phase = Literal["head", "linger"] | None

_TIMEOUT_BODY = json.dumps(
    {
        "error": {
            "code": "header_timeout",
            "message": "the request head did not arrive in time",
            "detail": {},
        }
    }
).encode()
_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY)
)


class ConnectionGuard:
    """The connections of one server that are waiting for their request head, oldest first."""

    def __init__(self, header_timeout_s: float, max_pending: int) -> None:
        self.header_timeout_s = header_timeout_s
        self.max_pending = max(1, max_pending)
        self.pending: OrderedDict[GuardedH11Protocol, None] = OrderedDict()
        self.closed = {"header_timeout": 0, "evicted": 0, "linger": 0}

    def waiting(self, conn: GuardedH11Protocol) -> None:
        self.pending[conn] = None
        while len(self.pending) > self.max_pending:
            oldest, _ = self.pending.popitem(last=False)
            oldest.expire("evicted")

    def served(self, conn: GuardedH11Protocol) -> None:
        self.pending.pop(conn, None)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a request-head deadline and a bounded linger."""

    guard: ClassVar[ConnectionGuard]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._phase: Phase = None
        self._timer: asyncio.TimerHandle | None = None
        self._head_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._enter(None)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._phase == "head":
            self._head_bytes += len(data)
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def _watch(self) -> None:
        """Follow the connection into the phase its h11 state says it is in."""
        if self.transport is None or self.transport.is_closing():
            self._enter(None)
            return
        answered = self.cycle is None or self.cycle.response_complete
        state = self.conn.their_state
        if state is h11.IDLE and answered:
            self._enter("head")
        elif state is h11.SEND_BODY and self.cycle is not None and self.cycle.response_complete:
            self._enter("linger")
        else:
            self._enter(None)

    def _enter(self, phase: Phase) -> None:
        if phase == self._phase:
            return
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.guard.served(self)
        self._phase = phase
        if phase is None:
            return
        self._timer = self.loop.call_later(self.guard.header_timeout_s, self.expire, phase)
        if phase == "head":
            self._head_bytes = 0
            self.guard.waiting(self)

    def expire(self, why: str) -> None:
        """Close the connection: its head is late (or it was evicted), or its linger is over."""
        reason = "linger" if why == "linger" else why if why == "evicted" else "header_timeout"
        self.guard.closed[reason] += 1
        if self.transport is not None and not self.transport.is_closing():
            if why != "linger" and self._head_bytes:
                self.transport.write(_TIMEOUT_RESPONSE)
            log.info("http.connection_closed", reason=reason, client_port=(self.client or ("", 0))[1])
            self.transport.close()
        self._enter(None)


def guarded_protocol(header_timeout_s: float, max_pending: int) -> type[GuardedH11Protocol]:
    """A protocol class with its own guard, for one uvicorn server (`uvicorn.Config(http=…)`)."""
    guard = ConnectionGuard(header_timeout_s, max_pending)
    return type("GuardedH11Protocol", (GuardedH11Protocol,), {"guard": guard})


def server_config(app: Any, settings: Settings, host: str, port: int, **kwargs: Any) -> Any:
    """The uvicorn configuration of the API: the guarded protocol, no access log (logs are the
    service's own structlog events)."""
    import uvicorn

    protocol = guarded_protocol(settings.header_timeout_s, settings.max_pending_connections)
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        http=protocol,
        log_config=None,
        access_log=False,
        **kwargs,
    )
