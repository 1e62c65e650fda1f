"""A worker process's side of the overlay test (a light module: the child imports only it)."""

from __future__ import annotations

from vms.cameras.overlay import Overlay, OverlaySlot


def write_many(slot: OverlaySlot, n: int, time: str) -> None:
    for i in range(n):
        slot.write(Overlay("cam", time, 640, 360, i, [(i, 1, 2, 3, 4)] * (i % 40)).encode())
