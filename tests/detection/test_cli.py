"""``vms analyze`` and ``vms events search`` as a user runs them (subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import shared_file
from tests.detection.conftest import record
from vms.bootstrap import prepare
from vms.config import load_config
from vms.detection.events import DatabaseEventSink

VMS = [sys.executable, "-m", "vms.cli"]


def vms(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VMS, *args], capture_output=True, text=True, timeout=300, check=False)


def write_config(tmp_path: Path, model: Path | str | None, camera_yaml: str) -> Path:
    cfg = tmp_path / "vms.yaml"
    detector = f"detector: {{model: {model}}}\n" if model else ""
    cfg.write_text(f"storage: {{root: {tmp_path / 'data'}}}\n{detector}cameras:\n{camera_yaml}")
    return cfg


CLASSROOM_CAM = """\
  - id: room
    kind: custody
    room: Classroom
    room_type: holding
    site: test
    source: synthetic://room
    analysis_fps: 15
    analytics:
      zones:
        - name: desks
          polygon: [[0, 0.3], [1, 0.3], [1, 1], [0, 1]]
          rules: {crowding: {people: 4, seconds: 1}}
"""


def test_analyze_prints_one_json_line_per_event(tmp_path: Path, model_path: Path) -> None:
    cfg = write_config(tmp_path, model_path, CLASSROOM_CAM)
    gif = shared_file("footage/classroom.gif")
    res = vms("analyze", str(gif), "--config", str(cfg), "--camera", "room", "--json")
    assert res.returncode == 0, res.stderr
    lines = [json.loads(line) for line in res.stdout.splitlines()]
    assert len(lines) == 1, res.stdout
    event = lines[0]
    assert (event["type"], event["zone"], event["count"]) == ("crowding", "desks", 4)
    assert len(event["track_ids"]) == 4
    assert 0.9 <= event["start"] <= 1.5
    assert event["end"] == pytest.approx(2.9, abs=0.1)  # the last frame: still a crowd
    assert "30 frames analysed" in res.stderr  # 45 GIF frames, sampled at 15 fps


def test_analyze_survives_a_hostile_file(tmp_path: Path) -> None:
    cam = "  - {id: cam, kind: street, site: s, source: synthetic://x, analytics: {tamper: {}}}\n"
    cfg = write_config(tmp_path, None, cam)
    res = vms(
        "analyze", str(shared_file("hostile/crashes-opencv-48x48.avi")),
        "--config", str(cfg), "--camera", "cam", "--json",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert res.stdout == ""
    assert "Traceback" not in res.stderr


def test_analyze_of_a_file_that_is_no_video_is_a_clear_error(tmp_path: Path) -> None:
    cam = "  - {id: cam, kind: street, site: s, source: synthetic://x}\n"
    cfg = write_config(tmp_path, None, cam)
    junk = tmp_path / "clip.mp4"
    junk.write_bytes(b"\x00" * 4096)
    res = vms("analyze", str(junk), "--config", str(cfg), "--camera", "cam")
    assert res.returncode == 1
    assert "clip.mp4" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_missing_model_is_a_clear_error_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "models" / "nope.onnx"
    cfg = write_config(tmp_path, missing, CLASSROOM_CAM)
    gif = shared_file("footage/classroom.gif")
    res = vms("analyze", str(gif), "--config", str(cfg), "--camera", "room")
    assert res.returncode == 1
    assert str(missing) in res.stderr
    assert "does not exist" in res.stderr
    assert "detector.model" in res.stderr
    assert "Traceback" not in res.stderr


def test_events_search(tmp_path: Path) -> None:
    cams = "".join(
        f"  - {{id: {c}, kind: street, site: s, source: synthetic://{c}}}\n"
        for c in ("door", "yard")
    )
    cfg = write_config(tmp_path, None, cams)
    db = prepare(load_config(cfg))
    t0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    sink = DatabaseEventSink(db, tmp_path / "data")
    for i in range(6):
        cam = ("door", "yard")[i % 2]
        kind = ("loitering", "intrusion")[i // 3]
        sink.opened(record(cam, kind, "porch", t0 + timedelta(minutes=i)), None)
    sink.close()
    db.dispose()
    res = vms(
        "events", "search", "--config", str(cfg), "--camera", "door", "--type", "loitering",
        "--zone", "porch", "--from", "2026-03-02T12:00:00Z", "--to", "2026-03-02T13:00", "--json",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [(r["camera"], r["type"], r["start"]) for r in rows] == [
        ("door", "loitering", "2026-03-02T12:00:00Z"),
        ("door", "loitering", "2026-03-02T12:02:00Z"),
    ]
    assert rows[0]["track_ids"] == [7]
    table = vms("events", "search", "--config", str(cfg), "--type", "intrusion")
    assert table.returncode == 0, table.stderr
    assert table.stdout.count("intrusion") == 3
    bad = vms("events", "search", "--config", str(cfg), "--camera", "nope")
    assert bad.returncode == 2
    assert "no camera 'nope'" in bad.stderr


# -- vms models bench ----------------------------------------------------------------------

STREET_CAM = """\
  - id: road
    kind: street
    site: test
    source: synthetic://road
    analysis_fps: 2
    analytics:
      rules: {intrusion: {}}
"""


def test_models_bench_measures_each_model_on_the_cameras_newest_recording(
    tmp_path: Path,
) -> None:
    import hashlib
    import shutil

    from vms.bootstrap import sync_cameras
    from vms.cli_identity import os_user
    from vms.db.models import Segment
    from vms.evidence.audit import list_entries

    qdq = shared_file("models/yolo11n_int8qdq-fixed_320.onnx")
    pose = shared_file("models/yolo11n-pose_fp32_320.onnx")
    cfg_path = write_config(tmp_path, qdq, STREET_CAM)
    config = load_config(cfg_path)
    db = prepare(config)
    sync_cameras(db, config)
    clip = shared_file("footage/traffic-cctv-no-people.avi")
    rel = "recordings/road/20260302T120000-1.avi"
    (config.storage.root / rel).parent.mkdir(parents=True)
    shutil.copy(clip, config.storage.root / rel)
    start = datetime(2026, 3, 2, 12, tzinfo=UTC)
    with db.session() as s:
        s.add(
            Segment(
                camera_id="road", start=start, end=start + timedelta(seconds=30),
                duration_s=30.0, path=rel, bytes=clip.stat().st_size,
                sha256=hashlib.sha256(clip.read_bytes()).hexdigest(), codec="mpeg4",
                status="complete",
            )
        )  # fmt: skip
    gif = shared_file("footage/classroom.gif")
    res = vms(
        "models", "bench", str(qdq), f"{pose}@openvino", "--video", str(gif),
        "--frames", "3", "--config", str(cfg_path), "--json",
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert [(r["backend"], r["input"], r["pose"]) for r in rows] == [
        ("onnxruntime", [320, 320], False),
        ("openvino", [320, 320], True),
    ]
    for r in rows:
        by_source = {m["source"]: m for m in r["sources"]}
        assert set(by_source) == {"road", "classroom.gif"}
        assert all(m["frames"] == 3 and m["whole_ms"] > 0 for m in by_source.values())
        assert by_source["classroom.gif"]["whole_persons"] == [4, 4, 4]  # four seated
        assert by_source["road"]["whole_persons"] == [0, 0, 0]  # cars only, 0-1.5 s
    # Reading recordings is audited, with who (the OS user: no --login or $VMS_TOKEN) and why.
    (view,) = list_entries(db, object_type="segment", action="view")
    details = json.loads(view.details)
    assert {k: details[k] for k in ("camera", "path", "frames")} == {
        "camera": "road",
        "path": rel,
        "frames": 3,
    }
    assert (details["via"], details["auth"], details["os_user"]) == ("cli", "os", os_user())
    assert view.reason == "detector benchmark (vms models bench)"
    assert view.actor == f"os:{os_user()}"
    db.dispose()


def test_models_bench_names_a_missing_model(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, None, STREET_CAM)
    res = vms("models", "bench", str(tmp_path / "nope.onnx"), "--config", str(cfg))
    assert res.returncode == 1
    assert "nope.onnx does not exist" in res.stderr
    assert "Traceback" not in res.stderr
