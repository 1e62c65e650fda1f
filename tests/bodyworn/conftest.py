"""Body-worn fixtures: real recorder files (made once per session), a configuration, the
ingest path over a real database (SQLite and PostgreSQL) and a clock the test moves."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.bodyworn.media import Recording, make_recording
from tests.support.clock import FakeClock
from vms.bodyworn.ingest import CLI, Ingestor, Offer
from vms.bodyworn.officers import add_device, add_officer, assign
from vms.config import Config
from vms.db.session import Database
from vms.evidence.audit import Actor

T_REC = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # when the test recordings start (UTC)
NOW = T_REC + timedelta(hours=2)  # when they are uploaded, unless a test says otherwise
SUPERVISOR = Actor("wang.sup", "duty roster")
CLERK = Actor("li.clerk", "handed in at the station")
# People's Square, Shanghai, and a walk north-east from it
SQUARE = (31.2304, 121.4737)
TRACK = [(0.0, 31.2304, 121.4737), (1.0, 31.2306, 121.4740), (2.0, 31.2309, 121.4744)]


@dataclass(frozen=True)
class Media:
    """The session's recorder files (copy before changing one)."""

    mp4: Recording  # H.264 + AAC, creation_time T_REC, serial tag DSJ-A1, GPS track
    mov: Recording  # H.264 + G.711 A-law, MOV, name convention DSJ-B2_<local start>, location
    hevc: Recording  # H.265 + AAC, no times, no serial in it
    mp4_later: Recording  # DSJ-A1 again, 10 minutes after mp4, other content
    folder: Path


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    folder = tmp_path_factory.mktemp("bw-media")
    work = folder / "work"
    mp4 = make_recording(
        folder / "DSJ-A1_20261130160000_0001.MP4",
        seconds=6,
        creation_time=T_REC.replace(tzinfo=None),
        serial="DSJ-A1",
        gps=TRACK,
        gps_start=T_REC,
        work=work,
    )
    mov = make_recording(
        folder / "DSJ-B2_20261130160000_0007.MOV",
        audio="pcm_alaw",
        seconds=4,
        offset_s=20,
        location=SQUARE,
        work=work,
    )
    hevc = make_recording(folder / "clip.mp4", codec="hevc", seconds=3, offset_s=40, work=work)
    later = make_recording(
        folder / "DSJ-A1_20261130161000_0002.MP4",
        seconds=4,
        offset_s=60,
        creation_time=(T_REC + timedelta(minutes=10)).replace(tzinfo=None),
        serial="DSJ-A1",
        work=work,
    )
    return Media(mp4, mov, hevc, later, folder)


def make_config(root: Path, **bodyworn: Any) -> Config:
    return Config.model_validate(
        {
            "storage": {"root": str(root)},
            "cameras": [
                {"id": "street-1", "kind": "street", "site": "Main St", "source": "synthetic://a"}
            ],
            "bodyworn": bodyworn,
        }
    )


@dataclass
class Bw:
    config: Config
    db: Database
    clock: FakeClock
    ingestor: Ingestor
    root: Path

    def ingest(self, recording: Recording | Path, actor: Actor = CLERK, **offer: Any) -> Any:
        path = recording.path if isinstance(recording, Recording) else recording
        return self.ingestor.ingest_path(path, Offer(path.name, CLI, actor, **offer))

    def copy(self, recording: Recording, name: str | None = None) -> Path:
        target = self.root / "incoming" / (name or recording.path.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(recording.path, target)
        return target


@pytest.fixture
def bw(db: Database, tmp_path: Path) -> Bw:
    """Officers 031245 (Li Wei, Patrol 1) holding DSJ-A1 since November and 031877 (Wang
    Fang, Patrol 2) holding DSJ-B2; the clock at NOW."""
    from vms.bootstrap import sync_cameras

    config = make_config(tmp_path / "store")
    config.recordings_dir.mkdir(parents=True)
    sync_cameras(db, config)
    clock = FakeClock(NOW)
    since = datetime(2026, 11, 1, tzinfo=UTC)
    add_officer(db, clock, SUPERVISOR, "031245", "Li Wei", "Patrol 1")
    add_officer(db, clock, SUPERVISOR, "031877", "Wang Fang", "Patrol 2")
    add_device(db, clock, SUPERVISOR, "DSJ-A1", model="DSJ-V9")
    add_device(db, clock, SUPERVISOR, "DSJ-B2", model="DSJ-V9")
    assign(db, clock, SUPERVISOR, "DSJ-A1", "031245", start=since)
    assign(db, clock, SUPERVISOR, "DSJ-B2", "031877", start=since)
    return Bw(config, db, clock, Ingestor(db, config, clock), tmp_path)
