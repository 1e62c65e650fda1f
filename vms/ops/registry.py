"""Runs and failures of the scheduled jobs, kept in memory for /metrics and /api/ops/jobs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from vms.clock import Clock, SystemClock

log = logging.getLogger("vms.ops.jobs")


@dataclass
class JobStats:
    """What one job has done since the process started."""

    name: str
    runs: int = 0
    failures: int = 0
    total_duration_s: float = 0.0
    last_duration_s: float | None = None
    last_started_at: datetime | None = None
    last_error: str | None = None
    last_result: str | None = None


class JobRegistry:
    """Wraps jobs so that every run is timed, logged and counted; failures never propagate
    into the scheduler (the next run happens)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, JobStats] = {}

    def track(
        self, name: str, fn: Callable[[], object], clock: Clock | None = None
    ) -> Callable[[], None]:
        clock = clock or SystemClock()
        with self._lock:
            self._jobs.setdefault(name, JobStats(name))
        extra = {"job": name}

        def run() -> None:
            started_at = clock.now()
            t0 = time.monotonic()
            error: str | None = None
            result: object = None
            try:
                result = fn()
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                log.exception("job %s failed", name, extra=extra)
            took = time.monotonic() - t0
            with self._lock:
                stats = self._jobs[name]
                stats.runs += 1
                stats.total_duration_s += took
                stats.last_duration_s = took
                stats.last_started_at = started_at
                if error is None:
                    stats.last_error = None
                    stats.last_result = _summary(result)
                else:
                    stats.failures += 1
                    stats.last_error = error
            if error is None:
                log.info("job %s done in %.3f s", name, took, extra=extra)

        run.__name__ = f"job_{name.replace('-', '_')}"
        return run

    def snapshot(self) -> list[JobStats]:
        with self._lock:
            return [replace(s) for s in sorted(self._jobs.values(), key=lambda s: s.name)]


def _summary(result: object) -> str | None:
    if result is None:
        return None
    text = repr(result)
    return text if len(text) <= 300 else text[:297] + "..."
