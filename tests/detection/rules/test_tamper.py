"""Camera tamper through the real pipeline, on frames generated from real footage:
blacked out, blurred, turned (the view panned); and the negatives: noise, dimmer or brighter
light, people walking through."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from tests.conftest import shared_file
from tests.detection.conftest import ORIGIN, camera
from vms.detection.events import MemorySink
from vms.detection.pipeline import pipeline_for

HZ = 5.0


@pytest.fixture(scope="module")
def scene() -> list[np.ndarray]:
    """Frames 0 s (empty room) and 30 s (someone at the table) of the real footage."""
    out = []
    with av.open(str(shared_file("footage/one-by-one-person-detection.mp4"))) as c:
        for i, frame in enumerate(c.decode(video=0)):
            if i in (0, 300):
                out.append(frame.to_ndarray(format="bgr24"))
            if i >= 300:
                break
    return out


def view(image: np.ndarray, pan: float = 0.0) -> np.ndarray:
    """What the camera sees: 75 % of the room's width, panned right by ``pan``."""
    h, w = image.shape[:2]
    cw = int(w * 0.75)
    x0 = int(w * pan)
    return cv2.resize(image[:, x0 : x0 + cw], (w, h))


def run(frames: list[np.ndarray], tmp_path: Path | None = None, **tamper: object) -> list[dict]:
    sink = MemorySink()
    pipe = pipeline_for(camera(fps=HZ, tamper={"seconds": 3, **tamper}), detector=None, sink=sink)
    for i, f in enumerate(frames):
        pipe.process(f, ORIGIN + timedelta(seconds=i / HZ))
    pipe.close(ORIGIN + timedelta(seconds=len(frames) / HZ))
    return [e.seconds_from(ORIGIN) for e in sink.events]


def seconds_of(image: np.ndarray, s: float) -> list[np.ndarray]:
    return [image] * round(s * HZ)


def rng_noise(image: np.ndarray, seed: int) -> np.ndarray:
    noise = np.random.default_rng(seed).normal(0, 10, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    ("kind", "make"),
    [
        ("covered", lambda room: np.zeros_like(view(room))),
        ("covered", lambda room: np.full_like(view(room), 40)),  # a hand on the lens: flat
        ("blurred", lambda room: cv2.GaussianBlur(view(room), (0, 0), 6)),
        ("turned", lambda room: view(room, pan=0.25)),  # panned a quarter of the room
        ("turned", lambda room: view(room, pan=0.1)),
    ],
)
def test_tamper_fires_once_per_kind(
    scene: list[np.ndarray], kind: str, make: Callable[[np.ndarray], np.ndarray]
) -> None:
    normal = view(scene[0])
    frames = seconds_of(normal, 4) + seconds_of(make(scene[0]), 6) + seconds_of(normal, 4)
    events = run(frames)
    assert len(events) == 1, events
    e = events[0]
    assert (e["type"], e["kind"]) == ("tamper", kind)
    assert e["began"] == pytest.approx(4.0, abs=0.21)
    assert e["start"] == pytest.approx(7.0, abs=0.21)  # T = 3 s
    assert e["end"] == pytest.approx(10.0, abs=0.21)


def test_tamper_is_silent_for_noise_light_and_people(scene: list[np.ndarray]) -> None:
    empty, busy = view(scene[0]), view(scene[1])
    frames = (
        [rng_noise(empty, i) for i in range(20)]
        + seconds_of((empty * 0.55).astype(np.uint8), 5)  # dusk
        + seconds_of(np.clip(empty * 1.3, 0, 255).astype(np.uint8), 5)  # lights on
        + seconds_of(busy, 6)  # a person at the table
        + [rng_noise(empty, 100 + i) for i in range(20)]
    )
    assert run(frames) == []


def test_tamper_against_a_configured_reference_image(
    scene: list[np.ndarray], tmp_path: Path
) -> None:
    reference = tmp_path / "reference.jpg"
    cv2.imwrite(str(reference), view(scene[0]))
    # The camera is already turned when analysis starts: nothing to learn from, still caught.
    events = run(seconds_of(view(scene[0], pan=0.25), 5), reference=str(reference))
    assert [(e["kind"], e["start"]) for e in events] == [("turned", 3.0)]
