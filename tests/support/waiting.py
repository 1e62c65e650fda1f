"""Waiting for a condition, not for a time: what the tests do instead of sleeping."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_for(what: str, check: Callable[[], T], timeout: float, poll: float = 0.2) -> T:
    """Poll ``check`` until it returns something truthy and return that; fail the test after
    ``timeout`` seconds, naming ``what`` was awaited.

    The deadline is generous on purpose (the machine may be loaded): it guards against a
    hang, it is not a performance assertion.
    """
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(poll)
