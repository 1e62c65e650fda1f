"""Evidence items and holds: events with snapshots, audited views, deletion only when unheld."""

from __future__ import annotations

import shutil
from datetime import timedelta

import pytest

from tests.conftest import shared_file
from tests.evidence.conftest import ALICE, T0, record_segments
from tests.support.clock import FakeClock
from vms.config import Config
from vms.db.models import Event
from vms.db.session import Database
from vms.errors import (
    ConflictError,
    FileIntegrityError,
    InvalidError,
    LegalHoldError,
    NotFoundError,
)
from vms.evidence import audit, cases, holds, items
from vms.evidence.audit import Actor
from vms.evidence.holds import HoldSpan, held_by, item_held_by
from vms.vocab import sha256_file

CASE = "2026-17"


def test_an_event_and_its_snapshot_become_evidence(
    store: Database, config: Config, clock: FakeClock
) -> None:
    root = config.storage.root
    snap = root / "snapshots" / "street-1" / "e1.jpg"
    snap.parent.mkdir(parents=True)
    shutil.copyfile(shared_file("footage/avenue-frames/avenue_train10_0001.jpg"), snap)
    with store.session() as s:
        event = Event(
            type="loitering",
            camera_id="street-1",
            zone="entrance",
            start=T0,
            end=T0 + timedelta(seconds=75),
            severity="warning",
            data={"snapshot": "snapshots/street-1/e1.jpg", "dwell_s": 75},
        )
        s.add(event)
        s.flush()
        event_id = event.id
    cases.create_case(store, clock, ALICE, CASE, "Loitering at the entrance")

    item = items.add_event(store, config, clock, ALICE, CASE, event_id, note="seen on patrol")

    assert (item.kind, item.event_id, item.camera_id) == ("event", event_id, "street-1")
    assert (item.start, item.end) == (T0, T0 + timedelta(seconds=75))
    assert item.data["type"] == "loitering"
    assert item.path is not None
    assert item.path.startswith(f"evidence/{CASE}/event-")
    assert (item.sha256, item.bytes) == sha256_file(snap)
    assert (item.sha256, item.bytes) == sha256_file(root / item.path)
    found = holds.list_holds(store, clock.now(), case_number=CASE)
    assert [(h.kind, h.camera_id, h.start, h.end) for h in found] == [
        ("range", "street-1", T0, T0 + timedelta(seconds=75)),
        ("item", None, None, None),
    ]
    with pytest.raises(NotFoundError, match="no event 999"):
        items.add_event(store, config, clock, ALICE, CASE, 999)


def test_view_is_audited_and_delete_waits_for_every_hold(
    store: Database, config: Config, clock: FakeClock
) -> None:
    root = config.storage.root
    segs, _ = record_segments(store, root, "cell-1", count=2)
    cases.create_case(store, clock, ALICE, CASE, "Injury in custody")
    item = items.add_clip(store, config, clock, ALICE, CASE, "cell-1", T0, segs[1].end)
    assert item.path is not None
    clip = root / item.path

    viewer = Actor("bob", "prosecutor asked to see it")
    shown, path = items.view_item(store, config, clock, viewer, item.id)
    assert path == clip
    assert shown.id == item.id
    views = audit.list_entries(store, action="view")
    assert [(e.actor, e.object_id, e.reason) for e in views] == [
        ("bob", str(item.id), "prosecutor asked to see it")
    ]

    extra = holds.place_item_hold(store, clock, Actor("carol", "appeal pending"), item.id)
    with pytest.raises(LegalHoldError, match="under legal hold"):
        items.delete_item(store, config, clock, ALICE, item.id)
    for h in holds.list_holds(store, clock.now(), case_number=CASE):
        if h.kind == "item" and h.id != extra.id:
            holds.release_hold(store, clock, Actor("alice", "case closed"), h.id)
    with pytest.raises(LegalHoldError, match=rf"\({extra.id}\)"):
        items.delete_item(store, config, clock, ALICE, item.id)
    holds.release_hold(store, clock, Actor("carol", "appeal decided"), extra.id)
    with pytest.raises(ConflictError, match="already released"):
        holds.release_hold(store, clock, ALICE, extra.id)

    deleted = items.delete_item(store, config, clock, Actor("alice", "duplicate clip"), item.id)
    assert deleted.status == "deleted"
    assert not clip.exists()
    assert items.list_items(store, CASE) == []
    assert [i.id for i in items.list_items(store, CASE, include_deleted=True)] == [item.id]
    # The footage it came from is still held by the range hold.
    assert [h.kind for h in holds.list_holds(store, clock.now(), case_number=CASE)] == ["range"]
    actions = [(e.action, e.object_type) for e in audit.list_entries(store)]
    assert actions == [
        ("create", "case"),
        ("create", "item"),
        ("hold", "hold"),  # the clip's footage
        ("hold", "hold"),  # the clip's file
        ("view", "item"),
        ("hold", "hold"),
        ("release", "hold"),
        ("release", "hold"),
        ("delete", "item"),
    ]
    assert audit.verify_chain(store).ok


def test_an_altered_evidence_file_is_not_shown(
    store: Database, config: Config, clock: FakeClock
) -> None:
    root = config.storage.root
    segs, _ = record_segments(store, root, "cell-1", count=1)
    cases.create_case(store, clock, ALICE, CASE, "Injury in custody")
    item = items.add_clip(store, config, clock, ALICE, CASE, "cell-1", T0, segs[0].end)
    assert item.path is not None
    clip = root / item.path
    clip.chmod(0o644)
    data = bytearray(clip.read_bytes())
    data[-10] ^= 0x80
    clip.write_bytes(bytes(data))
    with pytest.raises(FileIntegrityError, match="was altered"):
        items.view_item(store, config, clock, ALICE, item.id)
    assert audit.list_entries(store, action="view") == []


def test_range_holds(store: Database, clock: FakeClock) -> None:
    end = T0 + timedelta(minutes=5)
    with pytest.raises(NotFoundError, match="no camera 'nope'"):
        holds.place_range_hold(store, clock, ALICE, "nope", T0, end)
    with pytest.raises(InvalidError, match="must end after it starts"):
        holds.place_range_hold(store, clock, ALICE, "street-1", end, T0)
    with pytest.raises(NotFoundError, match="no case"):
        holds.place_range_hold(store, clock, ALICE, "street-1", T0, end, case_number="x")
    h = holds.place_range_hold(store, clock, ALICE, "street-1", T0, end)
    assert (h.kind, h.camera_id, h.start, h.end, h.case_number) == (
        "range",
        "street-1",
        T0,
        end,
        None,
    )
    assert [x.id for x in holds.list_holds(store, clock.now(), camera_id="street-1")] == [h.id]
    assert holds.list_holds(store, clock.now(), camera_id="cell-1") == []
    clock.advance(days=1)
    released = holds.release_hold(store, clock, Actor("bob", "no charges"), h.id)
    assert (released.released_by, released.release_reason) == ("bob", "no charges")
    assert holds.list_holds(store, clock.now()) == []
    assert [x.id for x in holds.list_holds(store, clock.now(), include_released=True)] == [h.id]
    assert [e.action for e in audit.list_entries(store)] == ["hold", "release"]


H = HoldSpan(1, "range", "cam", T0, T0 + timedelta(minutes=10))


@pytest.mark.parametrize(
    ("holds_", "camera", "start_s", "end_s", "expected"),
    [
        ([H], "cam", 0, 60, [1]),
        ([H], "cam", -60, 1, [1]),  # overlaps the start
        ([H], "cam", 599, 700, [1]),  # overlaps the end
        ([H], "cam", -60, 0, []),  # ends where the hold starts
        ([H], "cam", 600, 660, []),  # starts where it ends
        ([H], "other", 0, 60, []),
        ([HoldSpan(1, "range", "cam", T0, T0 + timedelta(1), released_at=T0)], "cam", 0, 60, []),
        ([HoldSpan(2, "item", item_id=5)], "cam", 0, 60, []),
    ],
)
def test_held_by(
    holds_: list[HoldSpan], camera: str, start_s: float, end_s: float, expected: list[int]
) -> None:
    now = T0 + timedelta(hours=1)
    got = held_by(
        holds_, camera, T0 + timedelta(seconds=start_s), T0 + timedelta(seconds=end_s), now
    )
    assert got == expected


def test_item_held_by() -> None:
    now = T0
    spans = [
        HoldSpan(1, "item", item_id=5),
        HoldSpan(2, "item", item_id=5, released_at=now),
        HoldSpan(3, "item", item_id=6),
        HoldSpan(4, "range", "cam", T0, T0 + timedelta(1)),
    ]
    assert item_held_by(spans, 5, now) == [1]
    assert item_held_by(spans, 7, now) == []
