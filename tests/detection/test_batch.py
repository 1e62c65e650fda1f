"""The cameras of a worker process in one detector call: the same events as one at a time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.conftest import shared_file
from tests.detection.conftest import ORIGIN, MemoDetector, camera
from vms.detection import offline
from vms.detection.batch import CameraBatch
from vms.detection.events import MemorySink
from vms.detection.pipeline import Pipeline, pipeline_for

CROWDING = {"rules": {"crowding": {"people": 4, "seconds": 1}}}
CAMERAS: dict[str, tuple[str, dict[str, Any]]] = {
    # a custody room: four seated people (3 s, played back and forth), crowding
    "room": ("footage/classroom.gif", {"kind": "custody", **CROWDING}),
    # a street: traffic and one scooter rider, intrusion over the whole frame
    "road": ("footage/traffic-cctv-no-people.avi", {"rules": {"intrusion": {}}}),
}
N = 60  # 12 s at 5 fps


def brief(sink: MemorySink) -> list[tuple[Any, ...]]:
    return [(e.type, e.start, e.end, e.track_ids, e.peak_count) for e in sink.events]


@pytest.mark.parametrize("option", ["onnxruntime-320"], indirect=True)
def test_batched_cameras_give_the_events_of_cameras_analysed_alone(
    detector: MemoDetector,
) -> None:
    room = [img for _t, img in offline.read_frames(shared_file(CAMERAS["room"][0]), 5)]
    road = [img for _t, img in offline.read_frames(shared_file(CAMERAS["road"][0]), 5)]
    frames = {
        "room": [(i / 5, img) for i, img in enumerate(((room + room[::-1]) * 4)[:N])],
        "road": [(i / 5, img) for i, img in enumerate(road[:N])],
    }

    def pipes() -> dict[str, tuple[Pipeline, MemorySink]]:
        out = {}
        for cam, (_, cfg) in CAMERAS.items():
            sink = MemorySink()
            out[cam] = (pipeline_for(camera(cam, fps=5, **cfg), detector=detector, sink=sink), sink)
        return out

    alone = pipes()
    for cam, (pipe, _) in alone.items():
        for t, image in frames[cam]:
            pipe.process(image, ORIGIN + timedelta(seconds=t))
    together = pipes()
    batch = CameraBatch(detector)
    calls_before = detector.calls
    steps = 0
    for (ta, a), (tb, b) in zip(frames["room"], frames["road"], strict=True):
        results = batch.step(
            [
                (together["room"][0], a, ORIGIN + timedelta(seconds=ta)),
                (together["road"][0], b, ORIGIN + timedelta(seconds=tb)),
            ]
        )
        assert all(r is not None for r in results)
        steps += 1
    end = ORIGIN + timedelta(seconds=N / 5)
    for group in (alone, together):
        for pipe, _ in group.values():
            pipe.close(end)
    # One detector call a step at most, holding the crops of both cameras.
    assert detector.calls - calls_before == batch.calls <= steps
    both = sum(together[c][0].detector_images for c in CAMERAS)
    assert batch.crops == both
    assert batch.calls < both  # some calls carried crops of both cameras
    for cam in CAMERAS:
        assert brief(together[cam][1]) == brief(alone[cam][1])
        assert together[cam][0].detector_calls == alone[cam][0].detector_calls
    kinds = sorted(e.type for c in CAMERAS for e in together[c][1].events)
    assert kinds == ["crowding", "intrusion"]
