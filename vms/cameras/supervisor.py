"""Worker processes: each runs a few camera workers; a crash kills one child, not the service.

The supervisor (in ``vms serve``) starts the children, restarts one that dies (with backoff),
and gathers the health snapshots they send every ``health_interval_s``.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import multiprocessing.connection
import queue
import signal
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from vms.cameras.gb28181.source import Gb28181Media
from vms.cameras.health import CameraHealth, CameraState
from vms.cameras.index import RecordingIndex
from vms.cameras.live import LiveChannel, LiveTap
from vms.cameras.recovery import recover_camera
from vms.cameras.worker import CameraWorker
from vms.config import Config
from vms.db.session import Database
from vms.detection.startup import analysed
from vms.logs import setup_logging

if TYPE_CHECKING:
    from vms.detection.live import LiveAnalysis

log = logging.getLogger(__name__)

# Worker processes fork from a fork server that has imported what recording needs (PyAV,
# SQLAlchemy, pydantic, this package) once: they share those pages instead of each loading
# its own copy, and start without importing anything. The server is a fresh interpreter
# (not a fork of ``vms serve``), so no thread or web state of the parent is inherited.
_SPAWN = mp.get_context("forkserver")
_SPAWN.set_forkserver_preload(["vms.cameras.forkserver"])
#: A worker process's stop budget before its cameras' share (``stop_budget_s``).
STOP_BASE_S = 20.0
_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def _bare_main() -> Iterator[None]:
    """While a worker process is started, ``__main__`` is an empty module.

    A spawned child first imports its parent's main module (``python -m vms.cli``, or the
    ``vms`` script: the CLI, the web app, and everything they import) before it runs its
    target. A worker needs none of that; without a main module to re-import, the child loads
    only ``run_worker_process``'s own module. ``Process.start()`` reads ``__main__`` once,
    synchronously, in this thread.
    """
    with _MAIN_LOCK:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if main is not None:
                sys.modules["__main__"] = main


def run_worker_process(
    config_json: str,
    camera_ids: list[str],
    health_queue: Any,
    stop: multiprocessing.connection.Connection,
    log_level: int = logging.INFO,
    live_taps: dict[str, LiveTap] | None = None,
) -> None:
    """Entry point of a worker process: record ``camera_ids`` until ``stop`` is readable.

    ``stop`` is the read end of a pipe whose write end only the supervisor holds: closing it
    (or the supervisor dying) stops every child. Not a ``multiprocessing.Event``: a child
    killed while in ``Event.wait`` is still counted as a sleeper, and ``Event.set`` then waits
    forever for it to wake, hanging the supervisor's shutdown.

    Ctrl-C reaches the whole process group: the child ignores SIGINT and lets the supervisor
    stop it through ``stop``, so segments are closed cleanly. A SIGTERM sent to the child
    itself (or its group) also closes its segments before it exits.
    """
    setup_logging(log_level)
    terminated = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda _sig, _frame: terminated.set())
    config = Config.model_validate_json(config_json)
    db = Database(config.database_url)
    root = config.storage.root
    index = RecordingIndex(db, root)
    workers: list[CameraWorker] = []
    threads: list[threading.Thread] = []
    gb28181 = Gb28181Media.of(config.gb28181, root) if config.gb28181.enabled else None
    slots = threading.Semaphore(config.workers.connects_at_once)
    for cam_id in camera_ids:
        cam = config.camera(cam_id)
        report = recover_camera(db, root, cam_id)
        worker = CameraWorker(
            cam,
            root,
            index,
            last_recorded_end=report.last_end,
            live=(live_taps or {}).get(cam_id),
            gb28181=gb28181,
            connect_slots=slots,
        )
        workers.append(worker)
        t = threading.Thread(target=worker.run, name=f"camera-{cam_id}", daemon=True)
        t.start()
        threads.append(t)
    analysis = _start_analysis(config, workers, db, camera_ids)
    interval = config.workers.health_interval_s
    while not stop.poll(interval) and not terminated.is_set():
        for w in workers:
            h = w.health()
            if analysis is not None:
                stats = analysis.stats(w.camera.id)
                h = replace(h, detector_calls=stats.calls, detector_latency_ms=stats.latency_ms)
            health_queue.put(h)
    for w in workers:
        w.stop()
    # The threads close their segments in parallel; what is left of the budget goes to the
    # index (the SHA-256 of every closed file) before the supervisor's own deadline.
    deadline = time.monotonic() + 0.75 * stop_budget_s(config, len(camera_ids))
    for t in threads:
        t.join(timeout=max(0.1, deadline - time.monotonic()))
    if analysis is not None:
        analysis.stop()  # after recording stopped: recording never waits for analysis
    index.flush()
    index.close()
    for w in workers:
        health_queue.put(w.health())
    db.dispose()


def stop_budget_s(config: Config, cameras: int) -> float:
    """How long a worker process with ``cameras`` cameras may take to stop cleanly.

    Each camera closes its segment (an fsync of up to tens of MB) and its SHA-256 is taken
    before the process exits, so the time grows with the cameras a process records.
    """
    return STOP_BASE_S + config.workers.stop_s_per_camera * cameras


def _start_analysis(
    config: Config, workers: list[CameraWorker], db: Database, camera_ids: list[str]
) -> LiveAnalysis | None:
    """Live analysis for this process's analysed cameras; None (and the analytics stack,
    torch, Ultralytics, OpenCV, never imported) when it records only."""
    if not any(c.id in camera_ids for c in analysed(config)):
        return None
    from vms.custody.presence import presence_observers  # people per custody room
    from vms.detection.live import LiveAnalysis  # the analytics stack loads here only

    analysis = LiveAnalysis(
        config, workers, db, observers=presence_observers(config, db, camera_ids)
    )
    analysis.start()
    return analysis


@dataclass
class _Child:
    camera_ids: list[str]
    process: BaseProcess | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = 0.0
    exits: list[int | None] = field(default_factory=list)


class Supervisor:
    """Owns the worker processes of every recording camera."""

    def __init__(
        self,
        config: Config,
        *,
        log_level: int = logging.INFO,
        worker_main: Callable[..., None] = run_worker_process,
    ) -> None:
        self.config = config
        self.log_level = log_level
        self._worker_main = worker_main  # a worker process's entry point (a seam for tests)
        per = config.workers.cameras_per_process
        ids = [c.id for c in config.cameras]
        self._children = [_Child(ids[i : i + per]) for i in range(0, len(ids), per)]
        self._health: dict[str, CameraHealth] = {c.id: CameraHealth(c.id) for c in config.cameras}
        self._queue: Any = _SPAWN.Queue()
        self._stop, self._stop_writer = _SPAWN.Pipe(duplex=False)  # see run_worker_process
        self._live = {c.id: LiveChannel(_SPAWN) for c in config.cameras}
        self._lock = threading.Lock()
        self._monitor: threading.Thread | None = None
        self._running = threading.Event()

    def start(self) -> None:
        self._running.set()
        for child in self._children:
            self._spawn(child)
        self._monitor = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._monitor.start()

    def _spawn(self, child: _Child) -> None:
        proc = _SPAWN.Process(
            target=self._worker_main,
            args=(
                self.config.model_dump_json(),
                child.camera_ids,
                self._queue,
                self._stop,
                self.log_level,
                {cam_id: self._live[cam_id].tap() for cam_id in child.camera_ids},
            ),
            name="vms-worker-" + "+".join(child.camera_ids),
            daemon=False,
        )
        with _bare_main():
            proc.start()
        child.process = proc
        child.started_at = time.monotonic()
        log.info("worker %s started (pid %s)", "+".join(child.camera_ids), proc.pid)

    def _watch(self) -> None:
        while self._running.is_set():
            self._drain(timeout=0.5)
            now = time.monotonic()
            for child in self._children:
                proc = child.process
                if proc is not None and not proc.is_alive() and self._running.is_set():
                    code = proc.exitcode
                    child.exits.append(code)
                    child.process = None
                    # A child that ran a minute before dying starts over at a short wait.
                    if now - child.started_at > 60:
                        child.restarts = 0
                    child.restarts += 1
                    wait = min(30.0, 2.0 ** (child.restarts - 1))
                    child.next_start = now + wait
                    reason = f"worker process died (exit code {code}); restarting in {wait:.0f} s"
                    log.error("%s: %s", "+".join(child.camera_ids), reason)
                    with self._lock:
                        for cam_id in child.camera_ids:
                            h = self._health[cam_id]
                            h.state, h.connected, h.last_error = CameraState.FAILED, False, reason
                if child.process is None and self._running.is_set() and now >= child.next_start:
                    self._spawn(child)

    def _drain(self, timeout: float) -> None:
        try:
            item = self._queue.get(timeout=timeout)
        except queue.Empty:
            return
        while True:
            self._apply(item)
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return

    def _apply(self, item: CameraHealth) -> None:
        with self._lock:
            self._health[item.camera_id] = item

    def health(self) -> dict[str, CameraHealth]:
        """The latest health of every camera (at most ``health_interval_s`` old)."""
        with self._lock:
            return {k: replace(v) for k, v in self._health.items()}

    def live_channel(self, camera_id: str) -> LiveChannel | None:
        """Where the camera's worker sends its packets while somebody watches it live."""
        return self._live.get(camera_id)

    def worker_pids(self) -> dict[str, int | None]:
        return {
            "+".join(c.camera_ids): (c.process.pid if c.process else None) for c in self._children
        }

    def stop_budget_s(self) -> float:
        """How long ``stop()`` waits for the children: the budget of the largest one."""
        most = max((len(c.camera_ids) for c in self._children), default=0)
        return stop_budget_s(self.config, most)

    def stop(self, timeout: float | None = None) -> None:
        """Ask every child to close its segments, wait (by default ``stop_budget_s()``, the
        children stopping in parallel), and kill what does not stop."""
        self._running.clear()
        if self._monitor is not None:
            self._monitor.join()
        self._stop_writer.close()
        deadline = time.monotonic() + (self.stop_budget_s() if timeout is None else timeout)
        for child in self._children:
            if child.process is not None:
                child.process.join(max(0.1, deadline - time.monotonic()))
                if child.process.is_alive():
                    log.error("worker %s did not stop; killing it", child.camera_ids)
                    child.process.kill()
                    child.process.join(5)
        self._drain(timeout=0.2)
        for channel in self._live.values():
            channel.close()
        stamp = datetime.now(UTC)
        log.info("all camera workers stopped at %s", stamp.isoformat())
        self._queue.close()
        self._stop.close()
