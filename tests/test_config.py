"""Configuration: valid files load, every broken one names its YAML path."""

from __future__ import annotations

from pathlib import Path

import pytest

from vms.config import load_config, parse_config
from vms.errors import ConfigError
from vms.vocab import CameraKind, RoomType

ROOT = Path(__file__).resolve().parent.parent

GOOD = """
storage: {root: /srv/vms}
cameras:
  - id: street-1
    kind: street
    site: Main St
    source: rtsp://cam.example/stream
  - id: cell-1
    kind: custody
    site: Central custody
    room: Cell 1
    room_type: cell
    source: synthetic://cell-1
"""


def test_good_config_loads_with_defaults() -> None:
    cfg = parse_config(GOOD)
    street, cell = cfg.cameras
    assert street.kind is CameraKind.STREET
    assert cell.room_type is RoomType.CELL
    assert street.segment_seconds == 60
    assert street.analysis_fps == 5
    assert cfg.retention_days_of(street) == 30
    assert cfg.retention_days_of(cell) == 90
    assert cfg.database_url == "sqlite:////srv/vms/vms.db"


def test_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("CAM_MAIN_USER", "CAM_MAIN_PASS", "CAM_INT1_USER", "CAM_INT1_PASS"):
        monkeypatch.setenv(name, "x")
    cfg = load_config(ROOT / "config" / "vms.example.yaml")
    assert len(cfg.cameras) == 4
    assert cfg.cameras[0].source == "rtsp://x:x@192.0.2.10:554/stream1"


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return info.value.problems


CAM = "  - {id: c%d, kind: street, site: s, source: 'rtsp://h/%d'}\n"


@pytest.mark.parametrize(
    ("third_camera", "expected"),  # expected: the YAML path, or (path, part of the message)
    [
        ("  - {id: c2, kind: street, site: s, source: rtsp://h, colour: red}", "cameras[2].colour"),
        ("  - {id: C 2, kind: street, site: s, source: rtsp://h}", "cameras[2].id"),
        ("  - {id: c2, kind: lorry, site: s, source: rtsp://h}", "cameras[2].kind"),
        ("  - {id: c2, kind: street, site: s}", "cameras[2].source"),
        (
            "  - {id: c2, kind: street, site: s, source: rtsp://h, segment_seconds: 0}",
            "cameras[2].segment_seconds",
        ),
        (
            "  - {id: c2, kind: custody, site: s, source: rtsp://h, room: R, room_type: kitchen}",
            "cameras[2].room_type",
        ),
        (
            "  - {id: c2, kind: custody, site: s, source: rtsp://h}",
            ("cameras[2]", "custody cameras need room_type"),
        ),
        (
            "  - {id: c2, kind: street, site: s, source: rtsp://h, room_type: cell}",
            ("cameras[2]", "room_type is only for custody"),
        ),
        (
            "  - {id: c2, kind: street, site: s, source: 'rtsp://admin:hunter2@h/'}",
            ("cameras[2].source", "a password is written"),
        ),
        (
            "  - {id: c2, kind: street, site: s, source: 'rtsp://${NOT_SET_ANYWHERE}@h/'}",
            ("cameras[2].source", "environment variable NOT_SET_ANYWHERE is not set"),
        ),
        (
            "  - {id: c2, kind: street, site: s, source: rtsp://h, reconnect: {initial_s: -1}}",
            "cameras[2].reconnect.initial_s",
        ),
        (
            "  - {id: c1, kind: street, site: s, source: rtsp://h}",
            ("(top level)", "camera id 'c1' is used twice"),
        ),
    ],
)
def test_broken_config_names_the_yaml_path(
    third_camera: str, expected: str | tuple[str, str]
) -> None:
    text = "cameras:\n" + CAM % (0, 0) + CAM % (1, 1) + third_camera + "\n"
    path, fragment = expected if isinstance(expected, tuple) else (expected, "")
    problems = _problems(text)
    assert any(p.split(" (line")[0].split(":")[0] == path and fragment in p for p in problems), (
        problems
    )


def test_every_problem_is_reported_with_its_line() -> None:
    text = (
        "storage: {root: 3}\n"
        "cameras:\n"
        "  - id: a\n"
        "    kind: street\n"
        "    site: s\n"
        "    source: rtsp://h\n"
        "    analysis_fps: fast\n"
        "  - id: b\n"
        "    kind: street\n"
        "    site: s\n"
        "    source: rtsp://h\n"
        "    recrod: false\n"
        "unknown_section: 1\n"
    )
    problems = _problems(text)
    assert any(p.startswith("cameras[0].analysis_fps (line 7)") for p in problems), problems
    assert any(p.startswith("cameras[1].recrod (line 12)") for p in problems), problems
    assert any(p.startswith("unknown_section (line 13)") for p in problems), problems


def test_secrets_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAM_PW", "s3cret")
    text = "cameras:\n  - {id: a, kind: street, site: s, source: 'rtsp://u:${CAM_PW}@h/x'}\n"
    assert parse_config(text).cameras[0].source == "rtsp://u:s3cret@h/x"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("cameras: [\n", "not valid YAML"),
        ("- just\n- a list\n", "top level must be a mapping"),
    ],
)
def test_unreadable_yaml(text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        parse_config(text)


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read the configuration file"):
        load_config(tmp_path / "nope.yaml")


# --- hostile YAML (vms/safe_yaml.py) ---------------------------------------------------


def _alias_bomb(levels: int = 9, width: int = 9) -> str:
    """The "billion laughs": each level repeats the one before ``width`` times (9**9 values)."""
    lines = [f"l0: &l0 [{', '.join(['lol'] * width)}]"]
    for n in range(1, levels):
        lines.append(f"l{n}: &l{n} [{', '.join([f'*l{n - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_before_it_expands(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(_alias_bomb())
    assert path.stat().st_size < 500
    with pytest.raises(ConfigError, match=r"would expand to more than 2,000,000 values"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &a [*a]\n", "a recursive alias"),
        ("x: " + "[" * 200 + "]" * 200 + "\n", "nested more than 100 deep"),
        ("x: &x 1\ny: [" + ", ".join(["*x"] * 10_001) + "]\n", "more than 10,000 YAML aliases"),
    ],
)
def test_hostile_yaml_is_refused_with_a_clear_message(text: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=expected):
        parse_config(text)


def test_an_oversized_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    with path.open("wb") as f:
        f.truncate(64 << 20)  # sparse: 64 MiB of nothing on disk
    with pytest.raises(ConfigError, match="more than the 16,777,216 bytes"):
        load_config(path)


def test_aliases_in_a_real_configuration_still_work() -> None:
    text = (
        "cameras:\n"
        "  - &cam {id: a, kind: street, site: Main St, source: synthetic://a}\n"
        "  - {<<: *cam, id: b, source: synthetic://b}\n"
        "  - {<<: *cam, id: c, source: synthetic://c}\n"
    )
    config = parse_config(text)
    assert [(c.id, c.site) for c in config.cameras] == [("a", "Main St"), ("b", "Main St"),
                                                        ("c", "Main St")]  # fmt: skip
