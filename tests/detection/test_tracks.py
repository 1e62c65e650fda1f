"""Zone and dwell rules driven by real trajectories: MOT16 ground-truth tracks, no detector.

A scripted detector at the seam returns each 10 Hz sample's boxes with their ground-truth
ids, and a pass-through tracker keeps those ids; motion, zones, rules and events are the
real pipeline. Expected events are computed from the tracks directly (the oracle below).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
import supervision as sv

from tests.conftest import shared_file
from tests.detection.conftest import ORIGIN, camera
from vms.detection.config import ZoneConfig
from vms.detection.events import EventRecord, MemorySink
from vms.detection.pipeline import pipeline_for
from vms.detection.tracking import PassthroughTracker
from vms.detection.zones import Zone

W, H = 1920, 1080  # MOT16 frames; the tracks are normalised
HZ = 10.0


def load(name: str) -> tuple[list[float], dict[float, sv.Detections]]:
    """Sample times (s) and each sample's boxes (pixels) with their track ids."""
    rows = np.loadtxt(shared_file(f"tracks/mot16/{name}-scale.csv"), delimiter=",")
    frame, tid, cx, cy, hw, hh = rows
    times = sorted({(f - 1) / 30.0 for f in frame})
    by_time: dict[float, sv.Detections] = {}
    for t in times:
        m = np.isclose((frame - 1) / 30.0, t)
        xyxy = np.stack(
            [(cx[m] - hw[m]) * W, (cy[m] - hh[m]) * H, (cx[m] + hw[m]) * W, (cy[m] + hh[m]) * H],
            axis=1,
        )
        n = int(m.sum())
        by_time[t] = sv.Detections(
            xyxy=xyxy.astype(np.float32),
            confidence=np.ones(n, np.float32),
            class_id=np.zeros(n, int),
            tracker_id=tid[m].astype(int),
        )
    return times, by_time


class ScriptedDetector:
    """Returns the ground truth of the sample being analysed (set before each frame)."""

    def __init__(self, by_time: dict[float, sv.Detections]) -> None:
        self.by_time = by_time
        self.now = 0.0
        self.calls = 0

    def detect(self, image: np.ndarray) -> sv.Detections:
        self.calls += 1
        return self.by_time[self.now]


def run(name: str, **analytics: Any) -> list[EventRecord]:
    times, by_time = load(name)
    det = ScriptedDetector(by_time)
    sink = MemorySink()
    # Every sample is a detection: ground truth changes each sample, the blank frame never.
    cam = camera(kind="custody", fps=HZ, detect="steady", **analytics)
    pipe = pipeline_for(cam, detector=det, sink=sink, tracker=PassthroughTracker())
    blank = np.zeros((H, W, 3), np.uint8)
    for t in times:
        det.now = t
        pipe.process(blank, ORIGIN + timedelta(seconds=t))
    pipe.close(ORIGIN + timedelta(seconds=times[-1]))
    assert det.calls == len(times)
    return sink.events


def inside(d: sv.Detections, rect: tuple[float, float, float, float]) -> np.ndarray:
    """Zone membership as the pipeline sees it (tested on its own in test_zones.py)."""
    zone = Zone(ZoneConfig(name="z", polygon=[tuple(p) for p in rect_polygon(rect)]))
    return zone.contains(d, (W, H))


def visits(
    name: str, rect: tuple[float, float, float, float], bridge_s: float
) -> list[tuple[int, float, float]]:
    """(track id, first, last sample inside ``rect``) of each visit; an absence longer than
    ``bridge_s`` splits two visits."""
    times, by_time = load(name)
    seen: dict[int, list[float]] = defaultdict(list)
    for t in times:
        d = by_time[t]
        for tid in d.tracker_id[inside(d, rect)]:  # type: ignore[index]
            seen[int(tid)].append(t)
    out: list[tuple[int, float, float]] = []
    for tid, ts in seen.items():
        start = prev = ts[0]
        for t in ts[1:]:
            if t - prev > bridge_s:
                out.append((tid, start, prev))
                start = t
            prev = t
        out.append((tid, start, prev))
    return out


def still_oracle(name: str, seconds: float, max_move: float) -> set[int]:
    """Tracks whose bottom centre stays within ``max_move`` box heights of where it was for
    at least ``seconds`` (some window, anywhere in the track)."""
    times, by_time = load(name)
    pts: dict[int, list[tuple[float, float, float, float]]] = defaultdict(list)
    for t in times:
        d = by_time[t]
        for (x1, _y1, x2, y2), tid, h in zip(
            d.xyxy, d.tracker_id, d.xyxy[:, 3] - d.xyxy[:, 1], strict=True
        ):
            pts[int(tid)].append((t, (x1 + x2) / 2, y2, h))
    still: set[int] = set()
    for tid, p in pts.items():
        for i, (t0, x0, y0, _h0) in enumerate(p):
            for t, x, y, h in p[i:]:
                if np.hypot(x - x0, y - y0) > max_move * h:
                    break
                if t - t0 >= seconds - 1e-6:
                    still.add(tid)
                    break
            if tid in still:
                break
    return still


def rect_polygon(r: tuple[float, float, float, float]) -> list[list[float]]:
    return [[r[0], r[1]], [r[2], r[1]], [r[2], r[3]], [r[0], r[3]]]


def secs(e: EventRecord, origin: datetime = ORIGIN) -> float:
    return (e.start - origin).total_seconds()


# The right half of MOT16-02's square (people stand and talk there) and MOT16-04's plaza.
ZONES = {"MOT16-02": (0.5, 0.55, 1.0, 0.95), "MOT16-04": (0.0, 0.5, 0.5, 1.0)}


@pytest.mark.parametrize("name", ["MOT16-02", "MOT16-04"])
def test_loitering_from_real_tracks_matches_the_dwell_oracle(name: str) -> None:
    rect = ZONES[name]
    zone = {"name": "z", "polygon": rect_polygon(rect), "rules": {"loitering": {"seconds": 5}}}
    events = run(name, zones=[zone], clear_s=2.0)
    expected: dict[int, list[float]] = defaultdict(list)
    for tid, first, last in visits(name, rect, bridge_s=2.0):
        if last - first >= 5.0 - 1e-6:
            expected[tid].append(first + 5.0)
    assert expected, "the tracks should contain loiterers"
    got: dict[int, list[float]] = defaultdict(list)
    for e in events:
        assert (e.type, e.zone) == ("loitering", "z")
        assert len(e.track_ids) == 1
        got[e.track_ids[0]].append(secs(e))
    assert set(got) == set(expected)
    for tid, starts in expected.items():
        assert sorted(got[tid]) == pytest.approx(sorted(starts), abs=0.15), tid


@pytest.mark.parametrize("name", ["MOT16-02", "MOT16-04"])
def test_loitering_from_real_tracks_is_silent_below_t(name: str) -> None:
    rect = ZONES[name]
    longest = max(last - first for _tid, first, last in visits(name, rect, bridge_s=2.0))
    zone = {
        "name": "z",
        "polygon": rect_polygon(rect),
        "rules": {"loitering": {"seconds": longest + 1}},
    }
    assert run(name, zones=[zone]) == []


@pytest.mark.parametrize("name", ["MOT16-02", "MOT16-04"])
def test_stillness_finds_people_standing_still_in_real_tracks(name: str) -> None:
    events = run(name, rules={"stillness": {"seconds": 5, "max_move": 0.15}})
    flagged = {e.track_ids[0] for e in events}
    truly_still = still_oracle(name, 5.0, 0.15)
    assert flagged <= truly_still  # never a walker
    assert len(flagged) >= 0.75 * len(truly_still), (sorted(flagged), sorted(truly_still))
    assert all(secs(e) >= 5.0 for e in events)
    assert all(len(e.track_ids) == 1 for e in events)


def test_stillness_is_silent_when_t_exceeds_the_clip() -> None:
    assert run("MOT16-09", rules={"stillness": {"seconds": 30}}) == []


def test_crowding_and_occupancy_from_real_tracks() -> None:
    times, by_time = load("MOT16-04")
    counts = [len(by_time[t]) for t in times]
    low = min(counts)
    events = run(
        "MOT16-04",
        rules={
            "crowding": {"people": low, "seconds": 3},
            "occupancy": {"max": low - 1, "seconds": 3},
        },
    )
    kinds = sorted(e.type for e in events)
    # The plaza never has fewer than `low` people: one crowd, one over-occupancy, whole clip.
    assert kinds == ["crowding", "occupancy"]
    for e in events:
        assert secs(e) == pytest.approx(3.0, abs=0.15)
        assert e.peak_count == max(counts)
        assert e.end == ORIGIN + timedelta(seconds=times[-1])


def test_crowding_is_silent_below_n() -> None:
    _times, by_time = load("MOT16-09")
    most = max(len(d) for d in by_time.values())
    events = run("MOT16-09", rules={"crowding": {"people": most + 1, "seconds": 1}})
    assert events == []


def test_tracks_file_is_what_the_readme_says() -> None:
    times, by_time = load("MOT16-02")
    assert len(times) == 200
    assert times[1] - times[0] == pytest.approx(1 / HZ)
    assert len({int(i) for d in by_time.values() for i in d.tracker_id}) == 46  # type: ignore[union-attr]
