"""The motion gate: real footage and generated frames; lighting and noise are not motion."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import shared_file
from vms.detection.config import MotionConfig
from vms.detection.motion import MotionDetector
from vms.detection.video import read_frames


def room(seed: int = 0, brightness: float = 1.0) -> np.ndarray:
    """A textured grey scene with a little sensor noise."""
    rng = np.random.default_rng(seed)
    base = np.tile(np.linspace(60, 200, 320, dtype=np.float32), (180, 1))
    base[40:140:20, :] = 90  # some structure
    img = base * brightness + rng.normal(0, 3, base.shape)
    return np.clip(np.repeat(img[..., None], 3, axis=2), 0, 255).astype(np.uint8)


def test_the_first_frame_wakes_the_detector() -> None:
    assert MotionDetector(MotionConfig()).update(room()).moving


def test_sensor_noise_is_not_motion() -> None:
    gate = MotionDetector(MotionConfig())
    results = [gate.update(room(seed=i)) for i in range(30)]
    assert not any(r.moving for r in results[1:])


@pytest.mark.parametrize("factor", [0.5, 1.6])
def test_a_lighting_change_is_not_motion(factor: float) -> None:
    gate = MotionDetector(MotionConfig())
    for i in range(10):
        gate.update(room(seed=i))
    after = [gate.update(room(seed=20 + i, brightness=factor)) for i in range(10)]
    assert not any(r.moving for r in after)


def test_a_moving_object_is_found_where_it_is() -> None:
    gate = MotionDetector(MotionConfig())
    for i in range(5):
        gate.update(room(seed=i))
    frame = room(seed=9)
    frame[100:160, 200:230] = 255  # someone in a white shirt, right of centre
    result = gate.update(frame)
    assert len(result.regions) == 1
    x1, y1, x2, y2 = result.regions[0]
    assert x1 >= 0.58
    assert x2 <= 0.76
    assert y1 >= 0.5
    assert y2 <= 0.92


def test_real_footage_empty_room_is_still_and_a_visitor_moves() -> None:
    gate = MotionDetector(MotionConfig())
    clip = shared_file("footage/one-by-one-person-detection.mp4")
    moving = {}
    for t, image in read_frames(clip, fps=5):
        moving[round(t, 1)] = gate.update(image).moving
        if t > 12:
            break
    assert not any(v for t, v in moving.items() if 0.5 <= t <= 5.5)  # nobody there yet
    assert any(v for t, v in moving.items() if 6.0 <= t <= 8.0)  # the first visitor walks in
