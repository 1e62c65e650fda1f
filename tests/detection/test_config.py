"""Analytics configuration: one field on Config and on CameraConfig; errors name YAML paths."""

from __future__ import annotations

import pytest

from vms.config import parse_config
from vms.detection.config import AnalyticsConfig, DetectMode, demo_model_path
from vms.errors import ConfigError

CAMERA = "  - {id: a, kind: street, site: s, source: synthetic://a}\n"


def test_a_full_analytics_configuration_parses() -> None:
    config = parse_config(
        """
detector: {model: models/yolov8n.onnx, classes: [person, car], confidence: 0.2}
cameras:
  - id: door
    kind: street
    site: s
    source: synthetic://a
    analytics:
      min_detect_fps: 0.5
      tamper: {seconds: 10}
      rules: {person_down: {seconds: 5}}
      zones:
        - name: porch
          polygon: [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]
          rules:
            loitering: {seconds: 60}
            intrusion: {schedule: {start: "22:00", end: "06:00", timezone: Europe/London}}
            crowding: {people: 4, seconds: 20}
            occupancy: {max: 2, seconds: 30}
            stillness: {seconds: 120}
"""
    )
    assert config.detector.classes == ["person", "car"]
    zone = config.cameras[0].analytics.zones[0]
    assert zone.rules.loitering is not None
    assert zone.rules.loitering.seconds == 60
    assert zone.rules.intrusion is not None
    assert zone.rules.intrusion.schedule is not None


@pytest.mark.parametrize(
    ("yaml", "where"),
    [
        ("    analytics: {zones: [{name: z, polygon: [[0, 0], [2, 0], [1, 1]]}]}\n", "polygon"),
        ("    analytics: {rules: {loiter: {seconds: 5}}}\n", "analytics.rules.loiter"),
        ("    analytics: {rules: {occupancy: {seconds: 5}}}\n", "occupancy"),
        ("    analytics: {rules: {occupancy: {min: 3, max: 1}}}\n", "occupancy"),
        (
            "    analytics: {zones: [{name: z, polygon: [[0, 0], [1, 0], [1, 1]], rules: "
            "{intrusion: {schedule: {start: '22:00', end: '06:00', timezone: Mars/Base}}}}]}\n",
            "timezone",
        ),
        ("    analytics: {region: [0.5, 0, 0.2, 1]}\n", "analytics.region"),
    ],
)
def test_mistakes_are_reported_with_their_yaml_path(yaml: str, where: str) -> None:
    text = "cameras:\n  - id: a\n    kind: street\n    site: s\n    source: synthetic://a\n" + yaml
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert any(where in p and p.startswith("cameras[0].analytics") for p in info.value.problems)


def test_custody_cameras_detect_an_occupied_room_at_least_every_second_by_default() -> None:
    assert AnalyticsConfig().detect is DetectMode.MOTION
    assert AnalyticsConfig().occupied_interval_for(custody=True) == 1.0
    assert AnalyticsConfig().occupied_interval_for(custody=False) is None
    assert AnalyticsConfig(occupied_detect_s=0.4).occupied_interval_for(custody=True) == 0.4
    assert AnalyticsConfig(detect=DetectMode.STEADY).detect is DetectMode.STEADY


def test_no_model_is_the_default_and_the_demo_finds_the_shared_one() -> None:
    config = parse_config("cameras:\n" + CAMERA)
    assert config.detector.model is None
    assert demo_model_path() is not None  # ../shared/data/models/yolo11n_int8qdq-fixed_320.onnx
