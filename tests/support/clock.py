"""The one fake clock of the tests: wall time the test sets or advances by hand.

``monotonic()`` follows the fake wall time: it counts the seconds the test has moved the
clock *forward* since it was made (starting at 0.0). Code that measures an interval with
``clock.monotonic()`` (a keepalive, a timeout, a rate) therefore sees exactly the time the
test advanced, never the real time the test took on a loaded machine. Setting the wall time
back (a clock corrected by NTP, a time given by hand) leaves it where it is, as a real
monotonic counter would.
"""

from __future__ import annotations

from datetime import datetime, timedelta


class FakeClock:
    """``vms.clock.Clock`` moved by the test: no sleeping, no real time in any decision."""

    def __init__(self, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("FakeClock needs an aware (UTC) time")
        self._now = now
        self._elapsed = 0.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._elapsed

    def set(self, now: datetime) -> datetime:
        """Jump to ``now`` (forward or back); ``monotonic()`` moves only forward."""
        self._elapsed += max(0.0, (now - self._now).total_seconds())
        self._now = now
        return now

    def advance(self, **delta: float) -> datetime:
        """Move forward by ``timedelta(**delta)``; returns the new time."""
        step = timedelta(**delta)
        if step < timedelta(0):
            raise ValueError("advance() moves forward; use set() to go back")
        return self.set(self._now + step)
