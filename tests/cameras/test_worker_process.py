"""A worker process as the supervisor starts it: what it loads, how it starts and stops."""

from __future__ import annotations

import importlib.util
import json
import multiprocessing.forkserver
import sys
import types
from pathlib import Path

import pytest

from tests.cameras.conftest import H264Clip
from tests.cameras.helpers import camera, make_config, segments
from tests.support.rtsp import RtspServer
from tests.support.waiting import wait_for
from tests.support.worker_probe import ARENAS_FILE, MODULES_FILE, record_then_list_modules
from vms.app import prepare
from vms.cameras.supervisor import STOP_BASE_S, Supervisor
from vms.worker_process import run_worker_process

#: What a recording-only worker must never load: the analysis stack (and numpy under it),
#: the web stack, the command line's stack, the PostgreSQL driver (the database is SQLite).
NOT_FOR_RECORDING = (
    *("torch", "ultralytics", "cv2", "supervision", "numpy"),
    *("fastapi", "starlette", "uvicorn", "aiortc"),
    *("typer", "rich", "psycopg"),
)


def test_recording_only_worker_imports_no_analysis_stack(
    rtsp_camera: RtspServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The parent runs as `python -m vms.cli serve` does: its __main__ is the CLI, which a
    # spawned child would re-import (and with it the web app and everything else).
    main = types.ModuleType("__main__")
    main.__spec__ = importlib.util.find_spec("vms.cli")
    monkeypatch.setitem(sys.modules, "__main__", main)
    config = make_config(
        tmp_path,
        [camera("rec", rtsp_camera.url("/cam1"), analysis_fps=0, segment_seconds=2)],
        workers={"health_interval_s": 0.5},
    )
    prepare(config).dispose()
    # The fork server is one per process: a fresh one, whatever an earlier test preloaded
    # (an App with analysed cameras preloads the analytics entry).
    multiprocessing.forkserver._forkserver._stop()  # type: ignore[attr-defined]
    sup = Supervisor(config, record_then_list_modules)
    sup.start()
    try:
        wait_for("the camera recording", lambda: sup.health()["rec"].packets_written > 20, 90)
    finally:
        sup.stop()
    listed = tmp_path / MODULES_FILE
    assert listed.exists(), "the worker process did not stop cleanly"
    modules = set(json.loads(listed.read_text()))
    assert "vms.cameras.worker" in modules
    assert "av" in modules
    loaded = sorted(m for m in modules if m.split(".")[0] in NOT_FOR_RECORDING)
    assert not loaded, f"a recording-only worker imported {loaded[:10]}"
    assert "vms.cli" not in modules
    assert "vms.detection.live" not in modules
    # Its threads (camera, index, queue feeder) share workers.malloc_arenas (2) arenas;
    # glibc's default would have given each its own.
    assert 1 <= int((tmp_path / ARENAS_FILE).read_text()) <= config.workers.malloc_arenas


def test_stop_budget_grows_with_the_cameras_of_a_process(tmp_path: Path) -> None:
    def budget(per_process: int) -> float:
        cams = [camera(f"c{i}", f"rtsp://127.0.0.1:1/c{i}") for i in range(50)]
        config = make_config(tmp_path, cams, workers={"cameras_per_process": per_process})
        return Supervisor(config, run_worker_process).stop_budget_s()

    assert budget(1) == STOP_BASE_S + 1.5
    assert budget(25) == STOP_BASE_S + 25 * 1.5  # 57.5 s: 25 segments fsynced and hashed


@pytest.mark.slow
def test_25_cameras_in_one_process_start_together_and_stop_cleanly(
    h264_clip: H264Clip, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ids = [f"cam{i:02d}" for i in range(25)]
    with RtspServer({f"/{c}": (h264_clip.path, h264_clip.fps) for c in ids}) as server:
        config = make_config(
            tmp_path,
            [camera(c, server.url(f"/{c}"), analysis_fps=0) for c in ids],
            workers={"cameras_per_process": 25, "health_interval_s": 0.5},
        )
        db = prepare(config)
        sup = Supervisor(config, run_worker_process)
        sup.start()
        try:
            wait_for(
                "all 25 cameras recording",
                lambda: all(h.packets_written > 0 for h in sup.health().values()),
                240,
            )
        finally:
            sup.stop()
    try:
        assert "did not stop" not in caplog.text  # no worker process was killed
        for cam in ids:
            rows = segments(db, cam)
            assert rows, cam
            # Every segment closed at the stop, its hash taken: nothing left to recovery.
            assert {(r.status, r.sha256 is not None) for r in rows} == {("complete", True)}, cam
    finally:
        db.dispose()
