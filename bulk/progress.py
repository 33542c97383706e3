"""What a person or a log collector sees while a bulk run works.

On a terminal: a rich progress bar with files done of the total, files per second, the time
left, and running counts of accepted, rejected and unreadable files. Elsewhere (CI, cron, a
container): structlog JSON lines on stderr, one `bulk.progress` event every few seconds.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

import structlog

_LOG_EVERY_S = 5.0


def configure_logging(json_logs: bool, level: str = "info") -> None:
    """structlog to stderr: JSON lines when not on a terminal, readable lines when on one."""
    renderer: Any = structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer()
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(getattr(logging, level.upper(), logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )


class Progress:
    """Counts files as their lines are written, and shows them (bar) or logs them (JSON)."""

    def __init__(self, enabled: bool = True, bar: bool | None = None) -> None:
        self.enabled = enabled
        self.bar = sys.stderr.isatty() if bar is None else bar
        self.counts = {"accept": 0, "reject": 0, "error": 0}
        self.total = 0
        self.already = 0
        self._progress: Any = None
        self._task: Any = None
        self._started = time.monotonic()
        self._last_log = self._started
        self._log = structlog.get_logger("courtdoc.bulk")

    def start(self, total: int, already: int = 0) -> None:
        self.total, self.already = total, already
        self._started = self._last_log = time.monotonic()
        if not self.enabled:
            return
        if self.bar:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as RichProgress

            self._progress = RichProgress(
                TextColumn("[bold]revalidate"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[rate]} files/s"),
                TimeRemainingColumn(),
                TextColumn("[green]{task.fields[accept]} accepted[/] [red]{task.fields[reject]} rejected[/]"),
                TextColumn("{task.fields[error]}"),
                console=Console(stderr=True),
                transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(
                "revalidate", total=total, completed=already, rate="-", accept=0, reject=0, error=""
            )
        else:
            self._log.info("bulk.start", total=total, already_done=already)

    def advance(self, verdict: str) -> None:
        self.counts[verdict] = self.counts.get(verdict, 0) + 1
        if self._progress is not None:
            self._progress.advance(self._task)

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def _rate(self) -> float:
        elapsed = time.monotonic() - self._started
        return self.done / elapsed if elapsed > 0 else 0.0

    def refresh(self) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self._progress is not None:
            errors = self.counts["error"]
            self._progress.update(
                self._task,
                rate=f"{self._rate():.0f}",
                accept=self.counts["accept"],
                reject=self.counts["reject"],
                error=f"[yellow]{errors} unreadable[/]" if errors else "",
            )
        elif now - self._last_log >= _LOG_EVERY_S:
            self._last_log = now
            self._event("bulk.progress")

    def _event(self, event: str) -> None:
        rate = self._rate()
        left = self.total - self.already - self.done
        self._log.info(
            event,
            done=self.already + self.done,
            total=self.total,
            files_per_s=round(rate, 1),
            eta_s=round(left / rate) if rate > 0 and left > 0 else 0,
            **self.counts,
        )

    def stop(self) -> None:
        if not self.enabled:
            return
        if self._progress is not None:
            self.refresh()
            self._progress.stop()
        else:
            self._event("bulk.stopped")
