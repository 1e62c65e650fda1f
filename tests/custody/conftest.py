"""Fixtures for the custody tests: a fake clock, a custody-area configuration, the service."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from vms.bootstrap import sync_cameras
from vms.config import Config
from vms.custody.service import CustodyService
from vms.db.session import Database

T0 = datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand: no sleeping, no wall time in any decision."""

    def __init__(self, now: datetime = T0) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return time.monotonic()

    def set(self, now: datetime) -> None:
        self._now = now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


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
    return FakeClock()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return custody_config(tmp_path)


@pytest.fixture
def svc(db: Database, config: Config, clock: FakeClock) -> CustodyService:
    sync_cameras(db, config)
    return CustodyService(db, config, clock)
