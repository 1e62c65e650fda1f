"""GB/T 28181 fixtures: a platform on free ports, device simulators, workers on channels."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cameras.conftest import H264Clip
from tests.support.gb28181 import DeviceSimulator
from vms.cameras.gb28181.config import Gb28181Config
from vms.cameras.gb28181.control import control_address
from vms.cameras.gb28181.platform import Gb28181Platform
from vms.cameras.gb28181.source import Gb28181Media
from vms.cameras.gb28181.store import DeviceStore
from vms.cameras.index import RecordingIndex
from vms.cameras.live import LiveTap
from vms.cameras.worker import CameraWorker
from vms.config import CameraConfig
from vms.db.session import Database

NVR = "34020000001320000001"
PASSWORD = "gb-test-password"


def channel(n: int) -> str:
    return f"3402000000131{n:07d}"


CHANNELS = [channel(n) for n in range(1, 21)]


def gb_settings(**over: Any) -> dict[str, Any]:
    """The gb28181: section for tests: loopback, any SIP port, a port pool.

    Keepalives as devices are usually set (60 s, 3 misses): a device goes offline only after
    3 minutes of silence, never because a loaded machine stalled a process for a few seconds.
    The keepalive test makes the silence pass on the platform's clock (``ShiftedClock``).
    """
    start = random.randrange(20000, 60000 - 400)
    return {
        "enabled": True,
        "listen_host": "127.0.0.1",
        "sip_port": 0,
        "password": PASSWORD,
        "keepalive_interval_s": 60.0,
        "keepalive_misses": 3,
        "invite_timeout_s": 10,
        "rtp_ports": {"start": start, "end": start + 399},
        **over,
    }


class ShiftedClock:
    """The real clock, whose wall time a test moves on (the platform's view of silence).

    ``monotonic`` stays real: SIP retransmissions and transaction timeouts run as usual.
    """

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def monotonic(self) -> float:
        return time.monotonic()

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@contextmanager
def running_platform(
    root: Path, db: Database | None = None, *, clock: ShiftedClock | None = None, **over: Any
) -> Iterator[Gb28181Platform]:
    config = Gb28181Config.model_validate(gb_settings(**over))
    store = DeviceStore(db) if db is not None else None
    platform = Gb28181Platform(config, control_address(root), store=store, clock=clock)
    platform.start()
    try:
        yield platform
    finally:
        platform.stop()
        if store is not None:
            store.close()


def simulator(
    platform: Gb28181Platform, clip: H264Clip, device_id: str = NVR, **settings: Any
) -> DeviceSimulator:
    settings.setdefault("channels", CHANNELS[:2])
    settings.setdefault("keepalive_s", 0.5)
    return DeviceSimulator(
        device_id,
        settings.pop("password", PASSWORD),
        platform.sip_port,
        clip=clip.path,
        fps=clip.fps,
        **settings,
    )


@pytest.fixture(scope="module")
def gb_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gb")


@pytest.fixture(scope="module")
def platform(gb_root: Path) -> Iterator[Gb28181Platform]:
    """One platform for the module (no database: the recording tests need none)."""
    with running_platform(gb_root) as p:
        yield p


@pytest.fixture(scope="module")
def nvr(platform: Gb28181Platform, h264_clip: H264Clip) -> Iterator[DeviceSimulator]:
    """A 20-channel NVR sending the real clip (H.264 and G.711 A-law audio in PS)."""
    with simulator(platform, h264_clip, channels=CHANNELS, audio=True) as dev:
        dev.wait_for("registered")
        yield dev


def media(platform: Gb28181Platform) -> Gb28181Media:
    return Gb28181Media(platform.config, platform.control_address)


@dataclass
class Worker:
    worker: CameraWorker
    index: RecordingIndex
    thread: threading.Thread

    def stop(self) -> None:
        self.worker.stop()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "camera worker did not stop within 30 s"
        self.index.flush()
        self.index.close()


@contextmanager
def workers(
    cams: list[CameraConfig],
    root: Path,
    db: Database,
    platform: Gb28181Platform,
    live: dict[str, LiveTap] | None = None,
) -> Iterator[list[Worker]]:
    started = []
    for cam in cams:
        index = RecordingIndex(db, root)
        w = CameraWorker(cam, root, index, gb28181=media(platform), live=(live or {}).get(cam.id))
        t = threading.Thread(target=w.run, name=f"camera-{cam.id}", daemon=True)
        t.start()
        started.append(Worker(w, index, t))
    try:
        yield started
    finally:
        for s in started:
            if s.thread.is_alive():
                s.stop()
