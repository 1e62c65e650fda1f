"""The pipeline's own decisions, with a scripted detector at the seam: when the detector
runs, what the rules see without one, the detection region, snapshots."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import cv2
import numpy as np
import supervision as sv

from tests.detection.conftest import ORIGIN, camera
from vms.detection.detections import empty_tracks
from vms.detection.events import MemorySink
from vms.detection.pipeline import FrameResult, pipeline_for
from vms.detection.tracking import PassthroughTracker

W, H = 320, 180


class Scripted:
    """Always the same person (id 1) at ``box``, in the coordinates of the image it gets."""

    def __init__(self, box: tuple[float, float, float, float] = (100, 40, 130, 160)) -> None:
        self.box = box
        self.calls = 0
        self.shapes: list[tuple[int, ...]] = []

    def detect(self, image: np.ndarray) -> sv.Detections:
        self.calls += 1
        self.shapes.append(image.shape)
        return sv.Detections(
            xyxy=np.array([self.box], np.float32),
            confidence=np.array([0.9], np.float32),
            class_id=np.array([0]),
            tracker_id=np.array([1]),
        )


def still_scene() -> np.ndarray:
    img = np.full((H, W, 3), 120, np.uint8)
    cv2.rectangle(img, (20, 20), (80, 60), (200, 200, 200), -1)
    return img


def run(
    cam_kwargs: dict[str, Any], detector: Scripted | None, seconds: float = 10.0
) -> tuple[list[FrameResult], MemorySink]:
    sink = MemorySink()
    frames: list[FrameResult] = []
    pipe = pipeline_for(
        camera(fps=5, **cam_kwargs),
        detector=detector,
        sink=sink,
        tracker=PassthroughTracker(),
        observers=[frames.append],
    )
    img = still_scene()
    for i in range(round(seconds * 5)):
        pipe.process(img, ORIGIN + timedelta(seconds=i / 5))
    pipe.close(ORIGIN + timedelta(seconds=seconds))
    return frames, sink


def test_motion_mode_detects_at_the_minimum_rate_when_nothing_moves() -> None:
    det = Scripted()
    frames, _ = run({"min_detect_fps": 0.5, "rules": {"loitering": {"seconds": 60}}}, det)
    # 50 frames over 10 s: the first, then every 2 s
    assert det.calls == 5
    assert [i for i, f in enumerate(frames) if f.detected] == [0, 10, 20, 30, 40]
    assert all(f.track_ids == (1,) for f in frames)  # tracks are held between detections


def test_custody_cameras_never_go_a_second_without_a_detection_while_occupied() -> None:
    det = Scripted()
    frames, _ = run({"kind": "custody", "rules": {"person_down": {}}}, det)
    # A person sits still: the tracker carries their box, the detector re-checks every 1 s.
    assert [i for i, f in enumerate(frames) if f.detected] == list(range(0, 50, 5))
    assert all(f.track_ids == (1,) for f in frames)
    det = Scripted()
    run({"kind": "custody", "occupied_detect_s": 0.4, "rules": {"person_down": {}}}, det)
    assert det.calls == 25  # every other frame at 5 fps
    det = Scripted()
    run({"kind": "custody", "detect": "steady", "rules": {"person_down": {}}}, det)
    assert det.calls == 50  # every analysed frame, when configured so


def test_an_empty_custody_room_is_rechecked_at_the_minimum_rate() -> None:
    class Nobody(Scripted):
        def detect(self, image: np.ndarray) -> sv.Detections:
            super().detect(image)
            return empty_tracks()

    det = Nobody()
    frames, _ = run({"kind": "custody", "rules": {"person_down": {}}}, det)
    assert [i for i, f in enumerate(frames) if f.detected] == [0, 16, 32, 48]  # 1 / 0.33 s


def test_no_rule_no_observer_no_detector_calls() -> None:
    det = Scripted()
    sink = MemorySink()
    pipe = pipeline_for(camera(fps=5), detector=det, sink=sink)
    for i in range(10):
        pipe.process(still_scene(), ORIGIN + timedelta(seconds=i / 5))
    assert det.calls == 0


def test_without_a_detector_person_rules_stay_silent_and_tamper_still_works() -> None:
    frames, sink = run(
        {"rules": {"occupancy": {"min": 1, "seconds": 1}}, "tamper": {"seconds": 1}},
        None,
        seconds=4,
    )
    assert frames == []  # observers are not told "nobody" when nobody can be seen
    assert sink.events == []
    sink = MemorySink()
    pipe = pipeline_for(camera(fps=5, tamper={"seconds": 1}), detector=None, sink=sink)
    black = np.zeros((H, W, 3), np.uint8)
    for i in range(20):
        pipe.process(still_scene() if i < 5 else black, ORIGIN + timedelta(seconds=i / 5))
    assert [e.data["kind"] for e in sink.events] == ["covered"]


def test_the_detection_region_is_cropped_and_boxes_mapped_back() -> None:
    det = Scripted(box=(10, 20, 30, 80))
    frames, _ = run(
        {"kind": "custody", "region": [0.5, 0.0, 1.0, 1.0], "rules": {"person_down": {}}},
        det,
        seconds=1,
    )
    assert det.shapes[0] == (H, W // 2, 3)
    assert frames[-1].tracks.xyxy.tolist() == [[170.0, 20.0, 190.0, 80.0]]


def test_a_snapshot_with_boxes_is_taken_when_an_event_fires() -> None:
    _, sink = run({"rules": {"loitering": {"seconds": 2}}}, Scripted(), seconds=4)
    (event,) = sink.events
    jpeg = sink.snapshots[0]
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (H, W, 3)
    # The event's person is boxed in red where the detector put them.
    b, g, r = (int(v) for v in img[100, 100])
    assert r > 150
    assert g < 100
    assert b < 100
    assert event.end == ORIGIN + timedelta(seconds=4)
    assert event.data["ended_by"] == "analysis stopped"


def test_detector_calls_and_latency_are_reported_for_metrics() -> None:
    det = Scripted()
    pipe = pipeline_for(
        camera(fps=5, kind="custody", detect="steady", rules={"person_down": {}}),
        detector=det,
        sink=MemorySink(),
        tracker=PassthroughTracker(),
    )
    assert pipe.detector_latency_ms is None  # nothing measured before the first call
    for i in range(3):
        pipe.process(still_scene(), ORIGIN + timedelta(seconds=i / 5))
    assert pipe.detector_calls == det.calls == 3
    assert pipe.detector_latency_ms is not None
    assert pipe.detector_latency_ms >= 0


class Painted:
    """Finds the white rectangles of the image it is given (a crop or the whole frame), as
    a detector at the seam that behaves like a real one under cropping; 320x320 input."""

    input_hw = (320, 320)

    def __init__(self) -> None:
        self.calls = 0
        self.shapes: list[tuple[int, ...]] = []

    def detect(self, image: np.ndarray) -> sv.Detections:
        self.calls += 1
        self.shapes.append(image.shape)
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        contours, _ = cv2.findContours(
            (grey > 200).astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
        )
        boxes = [cv2.boundingRect(c) for c in contours]
        xyxy = np.array([(x, y, x + w, y + h) for x, y, w, h in boxes], np.float32).reshape(-1, 4)
        return sv.Detections(
            xyxy=xyxy,
            confidence=np.full(len(xyxy), 0.9, np.float32),
            class_id=np.zeros(len(xyxy), int),
            data={"class_name": np.array(["person"] * len(xyxy))},
        )


def street(walker_x: int) -> np.ndarray:
    img = np.full((720, 1280, 3), 90, np.uint8)
    cv2.rectangle(img, (100, 300), (140, 400), (255, 255, 255), -1)  # stands still
    cv2.rectangle(img, (walker_x, 350), (walker_x + 40, 450), (255, 255, 255), -1)
    return img


def test_motion_is_detected_in_a_crop_at_model_size_and_still_people_are_carried() -> None:
    det = Painted()
    frames: list[FrameResult] = []
    pipe = pipeline_for(
        camera(fps=5, rules={"loitering": {"seconds": 60}}),
        detector=det,
        sink=MemorySink(),
        observers=[frames.append],
    )
    for i in range(10):
        pipe.process(street(700 + 10 * i), ORIGIN + timedelta(seconds=i / 5))
    first, *rest = frames
    # The first frame is looked at all over (tiles at model resolution), both found.
    assert len(first.windows) > 1
    assert len(first.tracks) == 0 or len(first.tracks) == 2  # a track shows on its 2nd call
    moving = [f for f in rest if f.detected]
    assert moving
    for f in moving:
        (win,) = f.windows  # only around the walker, at the model's own size
        assert (win.width, win.height) == (320, 320)
        assert win.x1 > 400
    last = frames[-1]
    assert len(last.tracks) == 2
    still = int(np.argmin(last.tracks.xyxy[:, 0]))
    assert last.tracks.data["carried"][still]  # nobody looked there: carried as it was
    assert last.tracks.xyxy[still].tolist() == [100.0, 300.0, 141.0, 401.0]
    walker = 1 - still
    assert not last.tracks.data["carried"][walker]
    assert last.tracks.xyxy[walker][0] == 790.0  # found where it walked to
    ids = [set(f.track_ids) for f in frames[2:]]
    assert all(i == ids[0] for i in ids)  # the same two people throughout
