"""Clocks: every decision takes ``now`` from a Clock passed in, never from time.time()."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Wall time in UTC and a monotonic counter for measuring intervals."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()


def utc(dt: datetime) -> datetime:
    """Return ``dt`` as an aware UTC datetime (naive values are taken to be UTC)."""
    tz = dt.tzinfo
    if tz is UTC:  # what PostgreSQL gives a session in UTC (vms.db.session): as it is
        return dt
    if tz is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)
