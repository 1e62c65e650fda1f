"""Worker processes: each runs a few camera workers; a crash kills one child, not the service.

The supervisor (in ``vms serve``) starts the children, restarts one that dies (with backoff),
and gathers the health snapshots they send every ``health_interval_s``. What a child runs is
composed by ``vms.worker_process`` and handed to the supervisor by ``vms.app``.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import multiprocessing.connection
import queue
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from multiprocessing.process import BaseProcess
from typing import Any

from vms.cameras.health import CameraHealth, CameraState
from vms.cameras.live import LiveChannel, LiveTap
from vms.cluster.leases import Grant
from vms.config import Config

log = logging.getLogger(__name__)

# Worker processes fork from a fork server, a fresh interpreter (not a fork of ``vms serve``,
# so no thread or web state of the parent is inherited) that has imported the worker's entry
# point and what it needs (PyAV, SQLAlchemy, pydantic) once: the children share those pages
# instead of each loading its own copy, and start without importing anything.
_SPAWN = mp.get_context("forkserver")
#: Imported by the fork server after the entry point's module: ``gc.freeze()``.
_FREEZE = "vms.cameras.forkserver"
#: A worker process's stop budget before its cameras' share (``stop_budget_s``).
STOP_BASE_S = 20.0
_MAIN_LOCK = threading.Lock()


@contextlib.contextmanager
def _bare_main() -> Iterator[None]:
    """While a worker process is started, ``__main__`` is an empty module.

    A child first imports its parent's main module (``python -m vms.cli``, or the ``vms``
    script: the CLI, the web app, and everything they import) before it runs its target. A
    worker needs none of that; without a main module to re-import, the child loads only its
    entry point's module. ``Process.start()`` reads ``__main__`` once, synchronously, in this
    thread.
    """
    with _MAIN_LOCK:
        main = sys.modules.get("__main__")
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            if main is not None:
                sys.modules["__main__"] = main


#: How often ``Supervisor.stop`` looks whether its children have exited, reading their health.
STOP_POLL_S = 0.05


def stop_budget_s(config: Config, cameras: int) -> float:
    """How long a worker process with ``cameras`` cameras may take to stop cleanly.

    Each camera closes its segment (an fsync of up to tens of MB) and its SHA-256 is taken
    before the process exits, so the time grows with the cameras a process records.
    """
    return STOP_BASE_S + config.workers.stop_s_per_camera * cameras


@dataclass
class WorkerArgs:
    """What a worker process is started with (pickled into the spawned child).

    ``stop`` is the read end of a pipe whose write end only the supervisor holds: closing it
    (or the supervisor dying) stops every child. Not a ``multiprocessing.Event``: a child
    killed while in ``Event.wait`` is still counted as a sleeper, and ``Event.set`` then waits
    forever for it to wake, hanging the supervisor's shutdown. ``health`` is the queue the
    child puts a ``CameraHealth`` per camera on, every ``workers.health_interval_s``.
    ``grants`` (cluster nodes): the camera leases this process records under; every index
    write and every new segment is fenced by their generations (vms.cluster.fence).
    """

    config_json: str
    camera_ids: list[str]
    health: Any  # multiprocessing.Queue[CameraHealth]
    stop: multiprocessing.connection.Connection
    log_level: int = logging.INFO
    live_taps: dict[str, LiveTap] = field(default_factory=dict)
    grants: dict[str, Grant] | None = None


#: The entry point of a worker process (``vms.worker_process.run_worker_process``): a
#: module-level function, so the spawned child can import it.
WorkerMain = Callable[[WorkerArgs], None]


@dataclass
class _Child:
    camera_ids: list[str]
    process: BaseProcess | None = None
    restarts: int = 0
    next_start: float = 0.0
    started_at: float = 0.0
    exits: list[int | None] = field(default_factory=list)
    grants: dict[str, Grant] | None = None
    retired: bool = False
    # Its own stop pipe (see WorkerArgs): one child can be stopped alone.
    pipe: tuple[Any, Any] = field(default_factory=lambda: _SPAWN.Pipe(duplex=False))


class Supervisor:
    """Owns the worker processes of every recording camera; ``main`` is what each runs
    (composed by ``vms.worker_process``: the supervisor knows nothing of what is inside)."""

    def __init__(
        self,
        config: Config,
        main: WorkerMain,
        *,
        log_level: int = logging.INFO,
        dynamic: bool = False,
        preload: Sequence[str] = (),
    ) -> None:
        """``dynamic`` (cluster nodes): no camera is recorded until ``assign`` gives it, under
        its lease, one process per camera; ``retire`` stops it."""
        self.config = config
        self.main = main
        self.log_level = log_level
        self.preload = tuple(preload)
        self.dynamic = dynamic
        per = config.workers.cameras_per_process
        ids = [] if dynamic else [c.id for c in config.cameras]
        self._children = [_Child(ids[i : i + per]) for i in range(0, len(ids), per)]
        self._health: dict[str, CameraHealth] = {i: CameraHealth(i) for i in ids}
        self._ctx: Any = _SPAWN
        self._queue: Any = self._ctx.Queue()
        self._live = {c.id: LiveChannel(self._ctx) for c in config.cameras}
        self._lock = threading.Lock()
        self._monitor: threading.Thread | None = None
        self._running = threading.Event()

    def start(self) -> None:
        self._preload()
        if self.dynamic:
            # The fork server imports the recording stack now, at the node's start, not at
            # its first takeover (a node may start with no camera to record).
            from multiprocessing import forkserver

            with _bare_main():
                forkserver.ensure_running()
        self._running.set()
        for child in self._children:
            self._spawn(child)
        self._monitor = threading.Thread(target=self._watch, name="supervisor", daemon=True)
        self._monitor.start()

    def _spawn(self, child: _Child) -> None:
        args = WorkerArgs(
            self.config.model_dump_json(),
            child.camera_ids,
            self._queue,
            child.pipe[0],
            self.log_level,
            {cam_id: self._live[cam_id].tap() for cam_id in child.camera_ids},
            child.grants,
        )
        proc = self._ctx.Process(
            target=self.main,
            args=(args,),
            name="vms-worker-" + "+".join(child.camera_ids),
            daemon=False,
        )
        self._preload()
        with _bare_main():
            proc.start()
        child.process = proc
        child.started_at = time.monotonic()
        log.info("worker %s started (pid %s)", "+".join(child.camera_ids), proc.pid)

    def _preload(self) -> None:
        # Only the first start launches the fork server; later calls change nothing.
        _SPAWN.set_forkserver_preload([self.main.__module__, *self.preload, _FREEZE])

    def assign(self, grant: Grant) -> None:
        """Start recording ``grant.camera_id`` under its lease (dynamic mode)."""
        child = _Child(
            [grant.camera_id],
            grants={grant.camera_id: grant},
            pipe=self._ctx.Pipe(duplex=False),
        )
        with self._lock:
            if any(grant.camera_id in c.camera_ids and not c.retired for c in self._children):
                return
            self._health[grant.camera_id] = CameraHealth(grant.camera_id)
            self._children.append(child)
            if self._running.is_set():
                self._spawn(child)

    def retire(self, camera_id: str, timeout: float = 20.0) -> None:
        """Stop recording ``camera_id``: its worker closes the segment and exits."""
        with self._lock:
            found = [c for c in self._children if camera_id in c.camera_ids and not c.retired]
            for child in found:
                child.retired = True
        for child in found:
            child.pipe[1].close()
            if child.process is not None:
                child.process.join(timeout)
                if child.process.is_alive():
                    log.error("worker %s did not stop; killing it", child.camera_ids)
                    child.process.kill()
                    child.process.join(5)
            child.pipe[0].close()
        with self._lock:
            self._children = [c for c in self._children if c not in found]
            self._health.pop(camera_id, None)

    def recording(self) -> dict[str, int | None]:
        """Cameras with a worker here -> the lease generation they record under."""
        with self._lock:
            return {
                cam: (c.grants[cam].generation if c.grants else None)
                for c in self._children
                if not c.retired
                for cam in c.camera_ids
            }

    def _watch(self) -> None:
        while self._running.is_set():
            self._drain(timeout=0.5)
            now = time.monotonic()
            with self._lock:
                children = [c for c in self._children if not c.retired]
            for child in children:
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
        with self._lock:
            children = list(self._children)
        for child in children:
            child.pipe[1].close()
        deadline = time.monotonic() + (self.stop_budget_s() if timeout is None else timeout)
        alive = [c.process for c in children if c.process is not None]
        while alive and time.monotonic() < deadline:
            # The health queue is read while the children stop: a child exits only once its
            # queue's feeder thread has written everything it put (multiprocessing joins
            # it at exit), and the pipe that every child shares holds 64 KiB.
            self._drain(timeout=STOP_POLL_S)
            alive = [p for p in alive if p.is_alive()]
        for child in children:
            if child.process is not None and child.process.is_alive():
                log.error("worker %s did not stop; killing it", child.camera_ids)
                child.process.kill()
                child.process.join(5)
        self._drain(timeout=0.2)
        for channel in self._live.values():
            channel.close()
        stamp = datetime.now(UTC)
        log.info("all camera workers stopped at %s", stamp.isoformat())
        self._queue.close()
        for child in children:
            child.pipe[0].close()
