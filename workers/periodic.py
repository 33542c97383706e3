"""A step run every interval on a daemon thread of a worker process, through Redis outages.

The heartbeat, the outbox poller, the reconciler and the blob collector all run this way: the
step is called every `interval_s` until `stop()`; a step that returns True has more to do and
is called again at once; a step that raises is tried again next interval, and the failure is
logged once per outage (`<name>.failed`, then `<name>.recovered`), not once per attempt.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..core import logs

log = logs.get(__name__)


class Periodic:
    def __init__(
        self,
        name: str,
        interval_s: float,
        step: Callable[[], object],
        *,
        first_wait_s: float = 0.0,
    ) -> None:
        self.name = name
        self.interval_s = interval_s
        self.step = step
        self.first_wait_s = first_wait_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Periodic:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        if self._stop.wait(self.first_wait_s):
            return
        failing = False
        while not self._stop.is_set():
            try:
                more = self.step()
            except Exception as exc:  # Redis away, a disk error: the next interval tries again
                if not failing:
                    log.warning(f"{self.name}.failed", error=str(exc))
                failing = True
                self._stop.wait(self.interval_s)
                continue
            if failing:
                log.info(f"{self.name}.recovered")
            failing = False
            if more is not True:
                self._stop.wait(self.interval_s)
