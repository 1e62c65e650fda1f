"""The live wall's overlays: the analysis's newest tracks cross from a worker process to the
web process through shared memory, newest only, never half-written."""

from __future__ import annotations

import multiprocessing as mp
from datetime import UTC, datetime

import numpy as np
import supervision as sv

from tests.cameras.overlay_child import write_many
from vms.cameras.overlay import CAPACITY, Overlay, OverlaySlot, OverlayWriter
from vms.detection.motion import MotionResult
from vms.detection.pipeline import FrameResult

SPAWN = mp.get_context("spawn")
T = datetime(2026, 3, 9, 8, 0, tzinfo=UTC)


def test_a_worker_process_writes_the_web_process_reads_whole_overlays() -> None:
    slot = OverlaySlot(SPAWN)
    assert slot.read() is None  # nothing analysed yet
    writer = SPAWN.Process(target=write_many, args=(slot, 3000, T.isoformat()))
    writer.start()
    seen = []
    while writer.is_alive() or not seen:
        got = slot.read()
        if got is not None:
            overlay = Overlay.decode("cam", got[1])  # never a torn write: always valid JSON
            assert len(overlay.boxes) == overlay.count % 40
            seen.append(got[0])
    writer.join(timeout=30)
    assert writer.exitcode == 0
    final = slot.read()
    assert final is not None
    assert Overlay.decode("cam", final[1]).count == 2999  # the newest one stays
    assert seen == sorted(seen)  # sequence numbers only rise


def test_the_writer_turns_tracks_into_boxes_of_the_stream() -> None:
    slot = OverlaySlot(SPAWN)
    writer = OverlayWriter({"cam": slot}, lambda cam: (768, 432) if cam == "cam" else None)
    tracks = sv.Detections(
        xyxy=np.array([[10.4, 20.6, 110.0, 300.2], [400, 50, 480, 260]], dtype=float),
        confidence=np.array([0.9, 0.6]),
        tracker_id=np.array([7, 12]),
    )
    writer.on_frame(FrameResult("cam", T, MotionResult((), 0.0), True, tracks))
    writer.on_frame(FrameResult("other", T, MotionResult((), 0.0), True, tracks))  # no slot
    got = slot.read()
    assert got is not None
    overlay = Overlay.decode("cam", got[1])
    assert (overlay.width, overlay.height, overlay.count) == (768, 432, 2)
    assert overlay.boxes == [(7, 10, 21, 110, 300), (12, 400, 50, 480, 260)]
    assert overlay.time == T.isoformat()


def test_a_crowd_too_big_for_the_slot_keeps_its_true_count() -> None:
    boxes = [(i, 1000, 1000, 1100, 1300) for i in range(2000)]
    data = Overlay("cam", T.isoformat(), 1920, 1080, 2000, boxes).encode()
    assert len(data) <= CAPACITY
    overlay = Overlay.decode("cam", data)
    assert overlay.count == 2000
    assert 0 < len(overlay.boxes) < 2000
