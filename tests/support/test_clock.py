"""The shared FakeClock: its monotonic counter follows the time the test moves forward."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.clock import FakeClock

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


def test_monotonic_counts_the_time_moved_forward_only() -> None:
    clock = FakeClock(T0)
    assert (clock.now(), clock.monotonic()) == (T0, 0.0)
    assert clock.advance(minutes=2) == T0 + timedelta(minutes=2)
    assert clock.monotonic() == 120.0
    clock.set(T0)  # the wall clock is set back: the counter is not
    assert (clock.now(), clock.monotonic()) == (T0, 120.0)
    clock.set(T0 + timedelta(seconds=30))
    assert clock.monotonic() == 150.0


def test_it_refuses_naive_times_and_moving_back_by_advance() -> None:
    with pytest.raises(ValueError, match="aware"):
        FakeClock(datetime(2026, 3, 2))
    with pytest.raises(ValueError, match="forward"):
        FakeClock(T0).advance(seconds=-1)
