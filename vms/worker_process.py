"""Composition root of a worker process: what ``vms serve`` runs for a few cameras.

    recovery scan --> CameraWorker thread per camera (record; decode copies into frames)
                      LatestFrameBuffer per camera --> LiveAnalysis (detection, rules, events)
                                                       + custody presence (people per room)
    RecordingIndex thread (segment, gap and event rows; hashing at close)

``vms.app`` composes the supervisor process and hands it :func:`run_worker_process`, the
entry point of each spawned child; ``vms.cameras`` itself knows nothing of analysis or
custody. Parts that decide which cameras a process records (node leases) plug in here.
"""

from __future__ import annotations

import functools
import signal
import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING

from sqlalchemy import update

from vms.cameras.frames import LatestFrameBuffer
from vms.cameras.gb28181.source import Gb28181Media
from vms.cameras.health import CameraHealth
from vms.cameras.index import RecordingIndex
from vms.cameras.live import LiveTap
from vms.cameras.memory import MemoryTrimmer, libc_trim, limit_arenas
from vms.cameras.recovery import recover_camera
from vms.cameras.supervisor import WorkerArgs, stop_budget_s
from vms.cameras.worker import CameraWorker
from vms.cluster.fence import LeaseFence
from vms.cluster.leases import Grant
from vms.config import Config
from vms.db.models import Gap
from vms.db.session import Database
from vms.detection.startup import analysed
from vms.logs import setup_logging

if TYPE_CHECKING:
    from collections.abc import Callable

    from vms.detection.live import LiveAnalysis
    from vms.detection.pipeline import FrameResult

#: Frames waiting for analysis per camera: the newest two (older ones are dropped, counted).
FRAME_BUFFER = 2


class WorkerProcess:
    """The cameras of one worker process: ``start()`` in order, ``stop()`` in reverse.

    Recording starts first and stops first: analysis never delays it.
    """

    def __init__(
        self,
        config: Config,
        camera_ids: list[str],
        live_taps: dict[str, LiveTap] | None = None,
        grants: dict[str, Grant] | None = None,
    ) -> None:
        """``grants`` (a cluster node): the leases this process records under; every index
        write and every new segment is fenced by their generations (vms.cluster.fence)."""
        self.config = config
        self.camera_ids = camera_ids
        self.live_taps = live_taps or {}
        self.grants = grants
        self.db = Database(config.database_url)
        #: On a cluster node: the node whose disk holds the files, and the lease fence.
        self.node = config.node_id if grants is not None else None
        self.fence = (
            LeaseFence(self.db, config.node_id, {c: g.generation for c, g in grants.items()})
            if grants is not None
            else None
        )
        self.index = RecordingIndex(self.db, config.storage.root, node=self.node, fence=self.fence)
        self.workers: list[CameraWorker] = []
        self._threads: list[threading.Thread] = []
        self.analysis: LiveAnalysis | None = None

    def start(self) -> None:
        config, root = self.config, self.config.storage.root
        gb28181 = Gb28181Media.of(config.gb28181, root) if config.gb28181.enabled else None
        # Shared by the cameras of this process: at most so many connect at once (staggered).
        slots = threading.Semaphore(config.workers.connects_at_once)
        feeds = []
        for cam_id in self.camera_ids:
            cam = config.camera(cam_id)
            grant = (self.grants or {}).get(cam_id)
            handover = grant.handover if grant else None
            if handover:
                relabel_open_gap(self.db, cam_id, handover)  # one gap row for the handover
            report = recover_camera(self.db, root, cam_id, node=self.node, reason=handover)
            frames = LatestFrameBuffer(capacity=FRAME_BUFFER)
            worker = CameraWorker(
                cam,
                root,
                self.index,
                frames=frames,
                last_recorded_end=report.last_end,
                live=self.live_taps.get(cam_id),
                gb28181=gb28181,
                fence=(
                    functools.partial(self.fence.holds, cam_id) if self.fence is not None else None
                ),
                outage_reason=handover,
                connect_slots=slots,
            )
            self.workers.append(worker)
            feeds.append((cam, frames))
            t = threading.Thread(target=worker.run, name=f"camera-{cam_id}", daemon=True)
            t.start()
            self._threads.append(t)
        if not any(c.id in self.camera_ids for c in analysed(config)):
            return  # recording only: the analytics stack (torch, Ultralytics, OpenCV) never loads
        # The analytics stack (OpenCV, supervision, the detector) loads in worker processes
        # only, not in the supervisor, which imports this module for its entry point.
        from vms.cameras.overlay import OverlayWriter
        from vms.custody.presence import presence_observers
        from vms.detection.live import LiveAnalysis

        # The live wall's overlays: each analysed frame's tracks, into the camera's shared slot.
        overlays = OverlayWriter(
            {c: t.overlay for c, t in self.live_taps.items() if t.overlay is not None},
            self._stream_size,
        )
        observers: list[Callable[[FrameResult], None]] = [
            *presence_observers(config, self.db, self.camera_ids),
            overlays.on_frame,
        ]
        self.analysis = LiveAnalysis(config, feeds, self.db, observers=observers)
        self.analysis.start()

    def _stream_size(self, camera_id: str) -> tuple[int, int] | None:
        """The camera's picture size as its worker last saw it (what overlays are scaled to)."""
        for w in self.workers:
            if w.camera.id == camera_id:
                h = w.health()
                return (h.width, h.height) if h.width and h.height else None
        return None

    def health(self) -> list[CameraHealth]:
        """Each camera's health, with its detector figures."""
        out = []
        for w in self.workers:
            h = w.health()
            if self.analysis is not None:
                stats = self.analysis.stats(w.camera.id)
                h = replace(h, detector_calls=stats.calls, detector_latency_ms=stats.latency_ms)
            out.append(h)
        return out

    def stop(self) -> None:
        for w in self.workers:
            w.stop()
        # The threads close their segments in parallel; what is left of the budget goes to
        # the index (the SHA-256 of every closed file) before the supervisor's own deadline.
        deadline = time.monotonic() + 0.75 * stop_budget_s(self.config, len(self.camera_ids))
        for t in self._threads:
            t.join(timeout=max(0.1, deadline - time.monotonic()))
        if self.analysis is not None:
            self.analysis.stop()  # after recording stopped: recording never waits for it
        self.index.flush()
        self.index.close()

    def close(self) -> None:
        self.db.dispose()


def relabel_open_gap(db: Database, camera_id: str, reason: str) -> None:
    """The gap left open by the node that recorded the camera before ("recorder stopped")
    becomes the handover's gap: one row, with the handover's reason."""
    with db.session() as s:
        s.execute(
            update(Gap).where(Gap.camera_id == camera_id, Gap.end.is_(None)).values(reason=reason)
        )


def run_worker_process(args: WorkerArgs) -> None:
    """Entry point of a worker process: record ``args.camera_ids`` until ``args.stop`` is
    readable, sending each camera's health every ``workers.health_interval_s``.

    Ctrl-C reaches the whole process group: the child ignores SIGINT and lets the supervisor
    stop it through ``stop``, so segments are closed cleanly. A SIGTERM sent to the child
    itself (or its group) also closes its segments before it exits.
    """
    setup_logging(args.log_level)
    terminated = threading.Event()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda _sig, _frame: terminated.set())
    config = Config.model_validate_json(args.config_json)
    limit_arenas(config.workers.malloc_arenas)  # before the camera threads allocate
    process = WorkerProcess(config, args.camera_ids, args.live_taps, args.grants)
    process.start()
    interval = config.workers.health_interval_s
    trimmer = MemoryTrimmer(config.workers.trim_memory_s, libc_trim(), time.monotonic())
    while not args.stop.poll(interval) and not terminated.is_set():
        for h in process.health():
            args.health.put(h)
        trimmer.tick(time.monotonic())
    process.stop()
    for h in process.health():
        args.health.put(h)
    process.close()
