"""Hostile input and a killed worker process stay confined to their own camera."""

from __future__ import annotations

import itertools
import os
import signal
import threading
from pathlib import Path

import psutil
import pytest

from tests.cameras.helpers import camera, events, gaps, make_config, seconds, segments
from tests.support.waiting import wait_for
from vms.bootstrap import prepare
from vms.cameras.health import CameraHealth, CameraState
from vms.cameras.supervisor import Supervisor
from vms.vocab import sha256_file
from vms.worker_process import run_worker_process

pytestmark = pytest.mark.slow

BAD, GOOD_A, GOOD_B = "hostile", "good-a", "good-b"
# The segment a kill -9 cut: recovered with what reached the disk, or empty (none did).
CUT = ("recovered", "empty")


def synthetic(name: str) -> str:
    return f"synthetic://{name}?size=320x180&fps=15&gop=15"


def test_hostile_file_and_killed_worker_do_not_stop_other_cameras(
    hostile_avi: Path, tmp_path: Path
) -> None:
    fast_retry = {"initial_s": 0.5, "max_s": 2}
    config = make_config(
        tmp_path,
        [
            # The file that aborts any process opening it with cv2.VideoCapture. Its analysis
            # decoder stays on: untrusted video is decoded only inside a worker process.
            camera(BAD, str(hostile_avi), segment_seconds=2, reconnect=fast_retry),
            camera(GOOD_A, synthetic(GOOD_A), segment_seconds=2, analysis_fps=0),
            camera(GOOD_B, synthetic(GOOD_B), segment_seconds=2, analysis_fps=0),
        ],
        workers={"cameras_per_process": 1, "health_interval_s": 0.5},
    )
    db = prepare(config)
    sup = Supervisor(config, run_worker_process)
    sup.start()
    try:
        health = sup.health

        def written(cam: str) -> int:
            return health()[cam].packets_written

        def settled() -> dict[str, CameraHealth] | None:
            h = health()
            bad_given_up = h[BAD].state is CameraState.FAILED and h[BAD].last_error
            return h if bad_given_up and written(GOOD_A) and written(GOOD_B) else None

        h = wait_for("the hostile camera failed, the good ones recording", settled, 120)
        pids = sup.worker_pids()
        assert all(pid is not None and psutil.pid_exists(pid) for pid in pids.values()), pids
        bad = h[BAD]
        assert bad.packets_written == 0
        assert bad.last_error is not None
        assert "rawvideo" in bad.last_error, bad.last_error  # refused cleanly, not a crash
        for cam in (GOOD_A, GOOD_B):
            before = written(cam)
            wait_for(f"{cam} recording on", lambda cam=cam, n=before: written(cam) > n, 60)
        wait_for("segments of the good cameras", lambda: segments(db, GOOD_B), 60)

        # Kill -9 one camera's worker process: only that camera stops, and only briefly.
        os.kill(pids[GOOD_A], signal.SIGKILL)
        b_at_kill = written(GOOD_B)
        new_pid = wait_for(
            "a restarted worker",
            lambda: (p := sup.worker_pids()[GOOD_A]) not in (None, pids[GOOD_A]) and p,
            30,
        )
        assert psutil.pid_exists(new_pid)

        def recording_again() -> bool:
            # The new worker recovered the cut segment and records a new one after it.
            rows = segments(db, GOOD_A)
            cut = [n for n, r in enumerate(rows) if r.status in CUT]
            return bool(cut) and cut[0] < len(rows) - 1

        wait_for("the restarted worker recording", recording_again, 120)
        wait_for("its health", lambda: health()[GOOD_A].state is CameraState.CONNECTED, 60)
        wait_for("the other camera recording on", lambda: written(GOOD_B) > b_at_kill, 60)
        after = sup.worker_pids()
        assert (after[BAD], after[GOOD_B]) == (pids[BAD], pids[GOOD_B])  # untouched
    finally:
        # A child killed while the supervisor waits on it must not hang the shutdown.
        stopper = threading.Thread(target=sup.stop, name="stop-supervisor")
        stopper.start()
        stopper.join(timeout=90)
        alive = stopper.is_alive()
        if alive:  # leave no orphan recorder behind
            for pid in sup.worker_pids().values():
                if pid is not None and psutil.pid_exists(pid):
                    os.kill(pid, signal.SIGKILL)
        db_rows = {
            cam: (segments(db, cam), gaps(db, cam), events(db, cam))
            for cam in (BAD, GOOD_A, GOOD_B)
        }
        db.dispose()
    assert not alive, "Supervisor.stop() hung"

    # The hostile camera: no footage, an open outage with a camera-offline event.
    bad_segments, bad_gaps, bad_events = db_rows[BAD]
    assert bad_segments == []
    assert len(bad_gaps) == 1
    assert bad_gaps[0].reason.startswith("camera offline")
    assert [e.type for e in bad_events] == ["camera_offline"]
    assert bad_events[0].end is None

    # The camera whose worker was killed: its cut segment recovered, then a gap, then more.
    a_segments, a_gaps, _ = db_rows[GOOD_A]
    recovered = [s for s in a_segments if s.status in CUT]
    assert len(recovered) == 1
    cut = recovered[0]
    assert (cut.sha256, cut.bytes) == sha256_file(tmp_path / cut.path)
    if cut.status == "empty":  # killed within its first GOP: no fragment reached the disk
        assert (cut.packets, cut.end) == (0, cut.start)
    else:
        assert cut.packets
    resumed = [s for s in a_segments if s.start > cut.start]
    assert resumed
    assert all(s.status == "complete" for s in resumed)
    closed = [g for g in a_gaps if g.end is not None]
    assert len(closed) == 1
    assert closed[0].start == cut.end
    assert abs(seconds(closed[0].end, resumed[0].start)) <= 0.001

    # The other camera recorded straight through: contiguous segments, no gap but the last.
    b_segments, b_gaps, _ = db_rows[GOOD_B]
    assert all(s.status == "complete" for s in b_segments)
    for prev, seg in itertools.pairwise(b_segments):
        assert prev.end is not None
        assert abs(seconds(prev.end, seg.start)) <= 0.001, (prev.path, seg.path)
    assert [(g.start, g.end) for g in b_gaps] == [(b_segments[-1].end, None)]
