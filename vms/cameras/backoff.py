"""Reconnect delays: exponential backoff with jitter, a pure function of the attempt number."""

from __future__ import annotations

import random

from vms.config import ReconnectConfig


def backoff_delay(attempt: int, cfg: ReconnectConfig, rng: random.Random | None = None) -> float:
    """Seconds to wait before reconnect ``attempt`` (1 = first retry after a failure)."""
    base = min(cfg.max_s, cfg.initial_s * cfg.factor ** max(0, attempt - 1))
    r = (rng or random).uniform(-cfg.jitter, cfg.jitter)
    return max(0.0, base * (1.0 + r))
