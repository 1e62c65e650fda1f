"""vms.cameras.supervisor: stopping worker processes that send their health as they stop."""

from __future__ import annotations

from pathlib import Path

from tests.cameras.helpers import camera, make_config
from vms.cameras.health import CameraHealth, CameraState
from vms.cameras.supervisor import Supervisor, WorkerArgs

#: More health than the queue's pipe holds (64 KiB) from each of the children together.
LAST_WORDS = 400


def _put_health_as_it_stops(args: WorkerArgs) -> None:
    """A worker process that records nothing: once told to stop it sends a burst of health
    for its cameras, as a worker with many cameras does as it closes them, then returns."""
    args.stop.poll(None)  # the supervisor closed the stop pipe
    for n in range(LAST_WORDS):
        for cam in args.camera_ids:
            args.health.put(
                CameraHealth(cam, CameraState.STOPPED, packets_written=n, last_error="x" * 100)
            )


def test_children_whose_last_health_outgrows_the_pipe_stop_without_being_killed(
    tmp_path: Path,
) -> None:
    cams = [camera(f"c{i}", f"synthetic://c{i}") for i in range(4)]
    config = make_config(tmp_path, cams, workers={"cameras_per_process": 2})
    sup = Supervisor(config, _put_health_as_it_stops)
    sup.start()
    children = list(sup._children)
    try:
        assert len(children) == 2
    finally:
        sup.stop(timeout=60)
    # Each child exited by itself (exit code 0); one killed at the deadline reads -9.
    assert [c.process.exitcode for c in children if c.process] == [0, 0]
    last = sup.health()
    assert {cam: h.packets_written for cam, h in last.items()} == {
        f"c{i}": LAST_WORDS - 1 for i in range(4)
    }
    assert all(h.state is CameraState.STOPPED for h in last.values())
