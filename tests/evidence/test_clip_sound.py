"""A clip cut into a case carries the camera's sound as recorded, in the container the
recording was made in (MP4 with AAC; MOV with G.711), on real footage with speech."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest

from tests.support.clock import FakeClock
from tests.support.footage import Take, record_segments
from vms.bootstrap import sync_cameras
from vms.config import Config
from vms.db.session import Database
from vms.evidence import cases, items
from vms.evidence.audit import Actor, list_entries

pytestmark = pytest.mark.slow

T0 = datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC)
ALICE = Actor("alice", "case 2026-31: assault at the gate")


def _packets(path: Path) -> dict[str, list[bytes]]:
    got: dict[str, list[bytes]] = {"video": [], "audio": []}
    with av.open(str(path)) as c:
        for p in c.demux():
            if p.size:
                got[p.stream.type].append(bytes(p))
    return got


@pytest.mark.parametrize(("codec", "suffix"), [("aac", ".mp4"), ("pcm_alaw", ".mov")])
def test_a_case_clip_keeps_the_sound_as_recorded(
    db: Database,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    codec: str,
    suffix: str,
) -> None:
    cam = {"kind": "street", "site": "Main St", "source": "synthetic://x", "analysis_fps": 0}
    config = Config.model_validate(
        {"storage": {"root": str(tmp_path / "store")}, "cameras": [{**cam, "id": "gate-1"}]}
    )
    config.recordings_dir.mkdir(parents=True)
    sync_cameras(db, config)
    work = tmp_path_factory.getbasetemp() / "camera-streams"
    rec = record_segments(db, config.storage.root, Take("gate-1", audio=codec), T0, 8.0, work=work)
    clock = FakeClock(T0 + timedelta(hours=1))
    cases.create_case(db, clock, ALICE, "2026-31", "Assault at the gate")
    item = items.add_clip(
        db,
        config,
        clock,
        ALICE,
        "2026-31",
        "gate-1",
        T0 + timedelta(seconds=1),
        T0 + timedelta(seconds=6),
    )
    assert item.path is not None
    assert item.path.endswith(suffix)
    recorded: dict[str, set[bytes]] = {"video": set(), "audio": set()}
    for seg in rec.segments:
        for kind, data in _packets(config.storage.root / seg.path).items():
            recorded[kind].update(data)
    clip = _packets(config.storage.root / item.path)
    # about 5 s of sound, each packet the camera's own
    assert len(clip["audio"]) > 20
    assert all(b in recorded["audio"] for b in clip["audio"])
    assert all(b in recorded["video"] for b in clip["video"])
    (entry,) = [e for e in list_entries(db, object_type="item") if e.action == "create"]
    assert json.loads(entry.details)["audio_packets"] == len(clip["audio"])
