"""Live: while ``vms serve`` records a camera, its frames go through the pipeline and the
events land in the database (with their snapshot and recording range)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from tests.conftest import shared_file
from tests.support.waiting import wait_for
from vms.config import load_config
from vms.db.session import Database
from vms.events import search_events

VMS = [sys.executable, "-m", "vms.cli"]


def config(tmp_path: Path, model: str | None, analytics: str) -> Path:
    clip = shared_file("footage/one-by-one-person-detection.mp4")
    cfg = tmp_path / "vms.yaml"
    detector = f"detector: {{model: {model}}}\n" if model else ""
    cfg.write_text(
        f"storage: {{root: {tmp_path / 'data'}}}\n"
        "web: {enabled: false}\n"
        f"{detector}"
        "cameras:\n"
        "  - id: lobby\n"
        "    kind: street\n"
        "    site: test\n"
        f"    source: {clip}\n"
        "    native_speed: true\n"
        "    segment_seconds: 10\n"
        "    analysis_fps: 2\n"
        f"    analytics: {analytics}\n"
    )
    return cfg


TABLE = "{zones: [{name: table, polygon: [[0.25, 0.7], [0.95, 0.7], [0.95, 1], [0.25, 1]], "


def test_events_reach_the_database_while_serving(tmp_path: Path, model_path: Path) -> None:
    cfg = config(tmp_path, str(model_path), TABLE + "rules: {intrusion: {}}}]}")
    proc = subprocess.Popen(
        [*VMS, "serve", "--config", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    db = Database(load_config(cfg).database_url)
    try:

        def intrusions() -> list[object]:
            assert proc.poll() is None, "vms serve ended before an intrusion was seen"
            try:
                return list(search_events(db, camera="lobby", type="intrusion"))
            except SQLAlchemyError:  # the tables are created by the server as it starts
                return []

        # Model load + 7 s of footage, on a busy machine.
        wait_for("an intrusion event while serving", intrusions, 240, poll=0.5)
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
    assert "detection is on" in err
    (event,) = search_events(db, camera="lobby", type="intrusion")
    db.dispose()
    assert event.zone == "table"
    assert event.track_ids
    assert event.end is not None  # ended cleanly at shutdown, or when the visitor left
    assert event.recording_start is not None
    assert event.recording_start < event.start
    assert event.snapshot is not None
    snapshot = tmp_path / "data" / event.snapshot
    assert snapshot.read_bytes()[:2] == b"\xff\xd8"  # a JPEG


def test_serving_without_a_model_says_detection_is_off(tmp_path: Path) -> None:
    cfg = config(tmp_path, None, TABLE + "rules: {loitering: {seconds: 5}}}]}")
    res = subprocess.run(
        [*VMS, "serve", "--config", str(cfg), "--duration", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert "detection is OFF" in res.stderr
    assert "set detector.model to a YOLO model file" in res.stderr


def test_serving_with_a_missing_model_stops_at_start_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nope.onnx"
    cfg = config(tmp_path, str(missing), "{}")
    res = subprocess.run(
        [*VMS, "serve", "--config", str(cfg), "--duration", "3"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 1
    assert f"{missing} does not exist" in res.stderr
    assert "Traceback" not in res.stderr
