"""ByteTrack plus re-identification: a short loss near the same place keeps the id."""

from __future__ import annotations

import numpy as np
import pytest
import supervision as sv

from vms.detection.config import TrackerConfig
from vms.detection.tracking import ByteTrackTracker, PassthroughTracker


def person(x: float, y: float = 100.0, conf: float = 0.9) -> sv.Detections:
    return sv.Detections(
        xyxy=np.array([[x, y, x + 40, y + 160]], np.float32),
        confidence=np.array([conf], np.float32),
        class_id=np.array([0]),
    )


def nobody() -> sv.Detections:
    return sv.Detections.empty()


def feed(tracker: ByteTrackTracker, steps: list[tuple[float, sv.Detections]]) -> list[list[int]]:
    return [list(tracker.update(d, t).tracker_id) for t, d in steps]  # type: ignore[arg-type]


def walk(x0: float, t0: float, n: int, hz: float = 5.0, speed: float = 10.0) -> list:
    return [(t0 + i / hz, person(x0 + speed * i / hz)) for i in range(n)]


def test_a_track_keeps_its_id_while_seen() -> None:
    ids = feed(ByteTrackTracker(TrackerConfig(), fps=5), walk(100, 0, 20))
    assert {i for frame in ids[1:] for i in frame} == {1}


@pytest.mark.parametrize(
    ("gap_s", "jump_px", "same"),
    [
        (1.0, 0.0, True),  # lost 1 s, back where it was
        (1.8, 30.0, True),  # lost 1.8 s, back nearby
        (3.0, 0.0, False),  # lost longer than 2 s: a new person
        (1.0, 300.0, False),  # back far away: someone else
    ],
)
def test_a_short_loss_near_the_same_place_keeps_the_id(
    gap_s: float, jump_px: float, same: bool
) -> None:
    tracker = ByteTrackTracker(TrackerConfig(lost_timeout_s=2.0), fps=5)
    before = feed(tracker, walk(100, 0, 10))
    last_x = 100 + 10 * 9 / 5
    t = 9 / 5
    gap = [(t + (i + 1) / 5, nobody()) for i in range(round(gap_s * 5))]
    feed(tracker, gap)
    back = t + gap_s + 0.2
    after = feed(tracker, walk(last_x + jump_px, back, 10))
    first_id = before[-1][0]
    later = {i for frame in after for i in frame}
    assert (later == {first_id}) is same, (before, after)


def test_the_dwell_clock_survives_reidentification() -> None:
    tracker = ByteTrackTracker(TrackerConfig(), fps=5)
    feed(tracker, walk(100, 0, 10))
    feed(tracker, [(2.0 + i / 5, nobody()) for i in range(5)])
    (ids,) = feed(tracker, [(3.2, person(118))])[-1:]
    feed(tracker, [(3.4, person(120))])
    assert tracker.first_seen(1) == 0.0
    assert ids in ([], [1])


def test_weak_detections_only_continue_tracks() -> None:
    tracker = ByteTrackTracker(TrackerConfig(start_confidence=0.35), fps=5)
    assert feed(tracker, [(0.0, person(100, conf=0.2)), (0.2, person(100, conf=0.2))]) == [[], []]
    ids = feed(tracker, [(1.0 + i / 5, person(300, conf=0.9 if i < 3 else 0.15)) for i in range(8)])
    assert ids[-1] == ids[2] != []


def test_passthrough_keeps_given_ids_and_needs_them() -> None:
    det = person(10)
    det.tracker_id = np.array([42])
    assert list(PassthroughTracker().update(det, 0.0).tracker_id) == [42]  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="tracker_id"):
        PassthroughTracker().update(person(10), 0.0)


def test_with_sparse_detection_a_single_miss_does_not_end_a_track() -> None:
    # Nothing moves: the detector runs every 2 s; it misses the person once.
    tracker = ByteTrackTracker(TrackerConfig(lost_timeout_s=2.0), fps=5)
    steps = [(0.0, person(100)), (0.2, person(100)), (2.2, nobody()), (4.2, person(101))]
    ids = feed(tracker, steps)
    assert ids[1] == ids[3] == [1]
    assert tracker.first_seen(1) == 0.0
