"""Evidence fixtures: a fake clock, a configuration, and real segments cut from real footage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import shared_file
from tests.support.clock import FakeClock
from vms.bootstrap import sync_cameras
from vms.cameras.recorder import SegmentWriter, finalize
from vms.cameras.sources import open_source
from vms.config import Config
from vms.db.models import Gap, Segment
from vms.db.session import Database
from vms.evidence.audit import Actor
from vms.evidence.cases import create_case
from vms.evidence.items import ItemView, add_clip

T0 = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)
FOOTAGE = "footage/one-by-one-person-detection.mp4"  # 768x432, 10 fps, a keyframe every 2 s
ALICE = Actor("alice", "case 2026-17: assault in the hall")


def make_config(root: Path, **evidence: Any) -> Config:
    return Config.model_validate(
        {
            "storage": {"root": str(root)},
            "cameras": [
                {"id": "street-1", "kind": "street", "site": "Main St", "source": "synthetic://a"},
                {
                    "id": "cell-1",
                    "kind": "custody",
                    "site": "Central custody",
                    "room": "Cell 1",
                    "room_type": "cell",
                    "source": "synthetic://b",
                },
            ],
            "evidence": evidence,
        }
    )


@dataclass(frozen=True)
class Recorded:
    """A segment written from real footage, as indexed."""

    id: int
    path: str
    start: datetime
    end: datetime
    bytes: int
    sha256: str


@dataclass(frozen=True)
class SourcePacket:
    """A packet of the footage with the wall times of its decoding and its presentation."""

    wall: datetime  # decode time (DTS)
    shown: datetime  # presentation time (PTS)
    data: bytes
    key: bool


def record_segments(
    db: Database,
    root: Path,
    camera_id: str,
    *,
    start: datetime = T0,
    gops_per_segment: int = 3,
    count: int = 4,
    skip_gops_after: dict[int, int] | None = None,
) -> tuple[list[Recorded], list[SourcePacket]]:
    """Record ``count`` segments of ``gops_per_segment`` GOPs (2 s each) of the real footage.

    Like a camera worker: every segment starts at a keyframe and its start is the wall time
    of its first packet (``start`` plus the packet's offset in the footage). With
    ``skip_gops_after={i: n}`` the n GOPs after segment i are not recorded: a gap, with its
    gap row. Returns the segments and every packet written, with its wall time.
    """
    skip = dict(skip_gops_after or {})
    src = open_source(str(shared_file(FOOTAGE)), native_speed=False)
    tb = src.info.time_base
    gops: list[list[tuple[Any, datetime, datetime]]] = []
    needed = count * gops_per_segment + sum(skip.values())
    dts0: int | None = None
    segments: list[Recorded] = []
    written: list[SourcePacket] = []
    try:
        for pkt in src.packets():
            assert pkt.dts is not None
            if pkt.is_keyframe:
                if len(gops) == needed:
                    break
                gops.append([])
            if not gops:
                continue
            dts0 = pkt.dts if dts0 is None else dts0
            gops[-1].append(
                (pkt, _wall(start, pkt.dts - dts0, tb), _wall(start, pkt.pts - dts0, tb))
            )
        n = 0
        gap_start: datetime | None = None
        while len(segments) < count:
            seg_gops, n = gops[n : n + gops_per_segment], n + gops_per_segment
            first, wall0, _shown = seg_gops[0][0]
            rel = Path("recordings") / camera_id / f"{len(segments):03d}.mp4"
            writer = SegmentWriter(root, rel, src.stream, src.info, wall0, first.dts)
            for gop in seg_gops:
                for pkt, wall, shown in gop:
                    written.append(SourcePacket(wall, shown, bytes(pkt), pkt.is_keyframe))
                    writer.write(pkt)
            segments.append(_close(db, root, camera_id, writer, wall0))
            if gap_start is not None:
                with db.session() as s:
                    s.add(Gap(camera_id=camera_id, start=gap_start, end=wall0, reason="offline"))
                gap_start = None
            if len(segments) - 1 in skip:
                n += skip[len(segments) - 1]
                gap_start = segments[-1].end
    finally:
        src.close()
    return segments, written


def _wall(start: datetime, ticks: int, tb: Any) -> datetime:
    return start + timedelta(microseconds=round(float(ticks * tb) * 1e6))


def _close(
    db: Database, root: Path, camera_id: str, writer: SegmentWriter, start: datetime
) -> Recorded:
    rel, end, packets = writer.close()
    res = finalize(root, rel, start, end, packets)
    with db.session() as s:
        row = Segment(
            camera_id=camera_id,
            start=start,
            end=end,
            duration_s=res.duration_s,
            path=rel.as_posix(),
            bytes=res.bytes,
            sha256=res.sha256,
            codec="h264",
            width=768,
            height=432,
            fps=10.0,
            packets=packets,
            status="complete",
        )
        s.add(row)
        s.flush()
        return Recorded(row.id, row.path, start, end, res.bytes, res.sha256)


def packets_between(
    packets: Sequence[SourcePacket], start: datetime, end: datetime
) -> list[SourcePacket]:
    """The packets a clip of [start, end) must hold, in decode order: from the keyframe
    shown at or before ``start`` (else the first after it) to the last one decoded before
    ``end``."""
    keys = [i for i, p in enumerate(packets) if p.key]
    before = [i for i in keys if packets[i].shown <= start]
    first = before[-1] if before else next(i for i in keys if packets[i].shown > start)
    return [p for p in packets[first:] if p.wall < end]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0 + timedelta(hours=1))


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path / "store")


@pytest.fixture
def store(db: Database, config: Config) -> Database:
    """The migrated database with the configured cameras registered."""
    config.recordings_dir.mkdir(parents=True, exist_ok=True)
    sync_cameras(db, config)
    return db


CASE = "2026-17"
EXPORTER = Actor("dave", "disclosure to the court, hearing 2026-05-04")


@pytest.fixture
def case_with_clips(
    store: Database, config: Config, clock: FakeClock
) -> tuple[list[Recorded], list[ItemView]]:
    """Case 2026-17 with a clip of three street segments and one of two custody segments."""
    root = config.storage.root
    street, _ = record_segments(store, root, "street-1", count=3)
    cell, _ = record_segments(store, root, "cell-1", count=2)
    create_case(store, clock, ALICE, CASE, "Assault in the hall", investigators=["bob"])
    made = [
        add_clip(store, config, clock, ALICE, CASE, "street-1", T0, street[2].end),
        add_clip(store, config, clock, ALICE, CASE, "cell-1", T0, cell[1].end),
    ]
    return street + cell, made
