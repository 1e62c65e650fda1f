"""Fixtures for the custody tests: a fake clock, a custody-area configuration, the service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.clock import FakeClock
from vms.bootstrap import sync_cameras
from vms.config import Config
from vms.custody.presence import RoomObservation
from vms.custody.service import CustodyService
from vms.db.session import Database

T0 = datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC)


def custody_config(root: Path, **custody: Any) -> Config:
    """Site 'Station 1': a holding room, a cell and an interrogation room with one camera
    each, and an inquiry room listed under custody.sites with no camera."""
    cams = [
        ("holding-cam", "Holding 1", "holding"),
        ("cell-cam", "Cell 1", "cell"),
        ("interrogation-cam", "Interrogation 1", "interrogation"),
    ]
    return Config.model_validate(
        {
            "storage": {"root": str(root)},
            "cameras": [
                {
                    "id": cam,
                    "kind": "custody",
                    "site": "Station 1",
                    "room": room,
                    "room_type": rtype,
                    "source": f"synthetic://{cam}",
                    "segment_seconds": 60,
                }
                for cam, room, rtype in cams
            ],
            "custody": {
                "sites": [
                    {
                        "name": "Station 1",
                        "rooms": [
                            {"name": "Inquiry 1", "type": "inquiry"},
                            {"name": "Interrogation 1", "type": "interrogation", "id": "int-1"},
                        ],
                    }
                ],
                **custody,
            },
        }
    )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return custody_config(tmp_path)


@pytest.fixture
def svc(db: Database, config: Config, clock: FakeClock) -> CustodyService:
    sync_cameras(db, config)
    return CustodyService(db, config, clock)


def frames(camera: str, script: list[tuple[float, int]], fps: float = 5) -> list[RoomObservation]:
    """Observations at ``fps`` from a script of (seconds, count): each count holds until the
    next step; the last step is a single frame."""
    out = []
    for (t, n), nxt in zip(script, [*script[1:], None], strict=True):
        end = nxt[0] if nxt else t + 1 / fps
        k = 0
        while t + k / fps < end - 1e-9:
            out.append(RoomObservation(camera, T0 + timedelta(seconds=t + k / fps), n))
            k += 1
    return out
