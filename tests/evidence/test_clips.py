"""Clips: remuxed from real segments, bit-identical packets, explicit gaps, no tampering."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import pytest
from sqlalchemy import select

from tests.evidence.conftest import ALICE, T0, packets_between, record_segments
from tests.support.clock import FakeClock
from vms.config import Config
from vms.db.models import Segment
from vms.db.session import Database
from vms.errors import ClipError, ConflictError, FileIntegrityError, NotFoundError
from vms.evidence import audit, cases, holds, items
from vms.evidence.clips import uncovered
from vms.evidence.models import EvidenceItem
from vms.vocab import sha256_file

CASE = "2026-17"


def _read_clip(path: Path) -> list[av.Packet]:
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        packets = [p for p in c.demux(stream) if p.size]
        frames = sum(1 for _ in av.open(str(path)).decode(video=0))
    assert frames == len(packets)  # every packet decodes: nothing references a missing frame
    return packets


@pytest.fixture
def case(store: Database, clock: FakeClock) -> str:
    cases.create_case(store, clock, ALICE, CASE, "Assault in the service hall")
    return CASE


def test_clip_packets_are_bit_identical_to_the_source(
    store: Database, config: Config, clock: FakeClock, case: str
) -> None:
    root = config.storage.root
    segs, written = record_segments(store, root, "street-1", count=4)
    # From inside the second segment's first GOP to inside the fourth segment.
    start, end = T0 + timedelta(seconds=4.43), T0 + timedelta(seconds=10.77)

    item = items.add_clip(store, config, clock, ALICE, case, "street-1", start, end)

    expected = packets_between(written, start, end)
    assert expected[0].key
    assert expected[0].shown <= start < expected[0].shown + timedelta(seconds=1)
    assert item.path is not None
    clip = root / item.path
    got = _read_clip(clip)
    assert [bytes(p) for p in got] == [p.data for p in expected]
    assert [p.is_keyframe for p in got] == [p.key for p in expected]
    # Wall-clock spacing is kept across segment boundaries.
    tb = got[0].time_base
    assert tb is not None
    for p, e in zip(got, expected, strict=True):
        assert p.dts is not None
        offset = float((p.dts - got[0].dts) * tb) if got[0].dts is not None else 0.0
        assert abs(offset - (e.wall - expected[0].wall).total_seconds()) < 1e-3
    assert item.start == expected[0].shown
    assert item.start <= start
    assert item.packets == len(expected)
    assert item.gaps == []
    assert (item.sha256, item.bytes) == sha256_file(clip)
    assert item.path.startswith(f"evidence/{case}/")
    assert [(s.path, s.sha256) for s in item.sources] == [(s.path, s.sha256) for s in segs[1:4]]
    held = holds.list_holds(store, clock.now(), case_number=case)
    assert [(h.kind, h.camera_id, h.start, h.end, h.item_id) for h in held] == [
        ("range", "street-1", item.start, item.end, None),
        ("item", None, None, None, item.id),
    ]
    created = audit.list_entries(store, object_type="item")
    assert [(e.action, e.object_id, e.reason) for e in created] == [
        ("create", str(item.id), ALICE.reason)
    ]


def test_a_gap_in_the_range_is_kept_and_listed(
    store: Database, config: Config, clock: FakeClock, case: str
) -> None:
    root = config.storage.root
    segs, written = record_segments(store, root, "street-1", count=3, skip_gops_after={0: 2})
    start, end = T0 + timedelta(seconds=1.5), segs[2].end

    item = items.add_clip(store, config, clock, ALICE, case, "street-1", start, end)

    assert item.gaps == [
        {
            "start": segs[0].end.isoformat(),
            "end": segs[1].start.isoformat(),
            "seconds": 2.0,
            "reason": "offline",
        }
    ]
    assert item.path is not None
    got = _read_clip(root / item.path)
    expected = packets_between(written, start, end)
    assert [bytes(p) for p in got] == [p.data for p in expected]
    # The clip's own timeline holds the two seconds nobody recorded.
    jump = next(i for i, p in enumerate(expected) if p.wall >= segs[1].start)
    tb = got[0].time_base
    assert tb is not None
    assert got[jump].dts is not None
    assert got[jump - 1].dts is not None
    step = float((got[jump].dts - got[jump - 1].dts) * tb)
    assert step == pytest.approx(2.1, abs=1e-3)

    with pytest.raises(ClipError, match=r"1 gap\(s\).*offline"):
        items.add_clip(store, config, clock, ALICE, case, "street-1", start, end, allow_gaps=False)


def test_a_range_starting_before_the_recording_lists_the_missing_start(
    store: Database, config: Config, clock: FakeClock, case: str
) -> None:
    record_segments(store, config.storage.root, "street-1", count=1)
    early, end = T0 - timedelta(seconds=5), T0 + timedelta(seconds=2)
    item = items.add_clip(store, config, clock, ALICE, case, "street-1", early, end)
    assert item.start > early
    assert [(g["seconds"], g["reason"]) for g in item.gaps] == [(5.0, "not recorded")]


@pytest.mark.parametrize("damage", ["flip a byte", "delete the file"])
def test_an_altered_source_segment_is_refused(
    store: Database, config: Config, clock: FakeClock, case: str, damage: str
) -> None:
    root = config.storage.root
    segs, _ = record_segments(store, root, "street-1", count=3)
    victim = root / segs[1].path
    if damage == "flip a byte":
        data = bytearray(victim.read_bytes())
        data[len(data) // 2] ^= 0x01
        victim.write_bytes(bytes(data))
    else:
        victim.unlink()

    with pytest.raises(FileIntegrityError, match=segs[1].path):
        items.add_clip(store, config, clock, ALICE, case, "street-1", T0, segs[2].end)

    assert items.list_items(store, case) == []
    assert holds.list_holds(store, clock.now()) == []
    assert [e.object_type for e in audit.list_entries(store)] == ["case"]
    evidence = config.storage.root / "evidence"
    assert [p for p in evidence.rglob("*") if p.is_file()] == []


def test_footage_still_being_recorded_is_refused(
    store: Database, config: Config, clock: FakeClock, case: str
) -> None:
    segs, _ = record_segments(store, config.storage.root, "street-1", count=2)
    with store.session() as s:
        s.add(
            Segment(
                camera_id="street-1",
                start=segs[1].end,
                path="recordings/street-1/open.mp4",
                codec="h264",
                status="recording",
            )
        )
    with pytest.raises(ClipError, match="still being recorded"):
        items.add_clip(
            store, config, clock, ALICE, case, "street-1", T0, segs[1].end + timedelta(seconds=5)
        )
    # Up to the end of the closed segments it works.
    items.add_clip(store, config, clock, ALICE, case, "street-1", T0, segs[1].end)


def test_what_cannot_be_clipped(
    store: Database, config: Config, clock: FakeClock, case: str
) -> None:
    record_segments(store, config.storage.root, "street-1", count=1)
    day_later = T0 + timedelta(days=1)
    with pytest.raises(NotFoundError, match="no recorded footage of street-1"):
        items.add_clip(
            store, config, clock, ALICE, case, "street-1", day_later, day_later + timedelta(1)
        )
    with pytest.raises(NotFoundError, match="no camera 'nope'"):
        items.add_clip(store, config, clock, ALICE, case, "nope", T0, day_later)
    with pytest.raises(NotFoundError, match="no case"):
        items.add_clip(store, config, clock, ALICE, "1999-1", "street-1", T0, day_later)
    with pytest.raises(ClipError, match="must end after it starts"):
        items.add_clip(store, config, clock, ALICE, case, "street-1", day_later, T0)
    cases.set_status(store, clock, ALICE, case, cases.CLOSED)
    with pytest.raises(ConflictError, match="closed"):
        items.add_clip(store, config, clock, ALICE, case, "street-1", T0, day_later)
    with store.session() as s:
        assert list(s.scalars(select(EvidenceItem))) == []


def _t(second: float) -> datetime:
    return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=second)


@pytest.mark.parametrize(
    ("spans", "start", "end", "holes"),
    [
        ([], 0, 10, [(0, 10)]),
        ([(0, 10)], 0, 10, []),
        ([(0, 4), (4, 10)], 1, 9, []),
        ([(0, 4), (4.05, 10)], 0, 10, []),  # under the 0.1 s tolerance
        ([(0, 4), (6, 10)], 0, 10, [(4, 6)]),
        ([(2, 4), (6, 8)], 0, 10, [(0, 2), (4, 6), (8, 10)]),
        ([(6, 8), (0, 5)], 1, 7, [(5, 6)]),  # any order
        ([(0, 3), (1, 9)], 0, 9, []),  # overlapping spans
    ],
)
def test_uncovered_parts_of_a_range(
    spans: list[tuple[float, float]],
    start: float,
    end: float,
    holes: list[tuple[float, float]],
) -> None:
    got = uncovered([(_t(a), _t(b)) for a, b in spans], _t(start), _t(end))
    assert got == [(_t(a), _t(b)) for a, b in holes]


def test_clip_file_hash_matches_its_bytes(
    store: Database, config: Config, clock: FakeClock, case: str
) -> None:
    segs, _ = record_segments(store, config.storage.root, "cell-1", count=2)
    item = items.add_clip(store, config, clock, ALICE, case, "cell-1", T0, segs[1].end)
    assert item.path is not None
    data = (config.storage.root / item.path).read_bytes()
    assert hashlib.sha256(data).hexdigest() == item.sha256
    assert len(data) == item.bytes
