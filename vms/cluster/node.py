"""This process as a node: heartbeat, lease renewal, takeover and balancing, every
``node.heartbeat_s``, in one thread of the supervisor process.

Each round, in two short transactions: heartbeat and renew (``renew``), read the lease table
and the live nodes, decide (``plan_leases``, pure), take what the plan says (``FOR UPDATE
SKIP LOCKED``) and start a worker per new camera; a camera whose lease is no longer ours
(another node took it while this one could not renew) has its worker stopped at once; a
camera given away to balance the load is stopped first, then released, so the next node
starts it within one heartbeat: one cut per moved camera.

Takeover bound: a node that dies (crash, kill -9) loses its liveness lock with its session
(vms.cluster.leases.dead_nodes); a live node finds its leases free at its next round, within
``node.heartbeat_s``, and starts the worker (forked from a preloaded forkserver), which
records from the camera's next keyframe. A node cut off by the network keeps its session for
a while: its leases run out ``node.lease_s`` after its last renewal. With the defaults (lease
15 s, heartbeat 5 s) recording resumes within about 5 s after a crash and 20 s after a cut,
plus the worker's start and the camera's connect time; the target is 30 s.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from vms.cluster import leases
from vms.cluster.leases import Grant, liveness_job
from vms.cluster.locks import JobLocks
from vms.cluster.plan import LeasePlan, plan_leases
from vms.config import Config
from vms.db.session import Database

log = logging.getLogger(__name__)


class Recorder(Protocol):
    """What the agent drives: the supervisor's dynamic mode."""

    def assign(self, grant: Grant) -> None: ...

    def retire(self, camera_id: str, timeout: float = 20.0) -> None: ...

    def recording(self) -> dict[str, int | None]: ...


class NodeAgent:
    def __init__(
        self,
        db: Database,
        config: Config,
        recorder: Recorder,
        *,
        web_url: str | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.recorder = recorder
        self.node = config.node_id
        self.web_url = web_url
        self.pins = {c.id: c.node for c in config.cameras}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0
        self.queries = 0  # statements sent to PostgreSQL (coordinator overhead)
        self.last_plan = LeasePlan()
        self.last_ok: float | None = None
        #: Cameras whose worker is being stopped (in a thread: the heartbeat never waits).
        self._retiring: set[str] = set()
        self._lock = threading.Lock()
        self._started = time.monotonic()
        #: This node's liveness lock: freed by PostgreSQL the moment this process dies.
        self._alive = JobLocks(config.database_url, self.node)

    def start(self) -> None:
        locked = self._alive.holds(liveness_job(self.node))
        with self.db.session() as s:
            leases.ensure_leases(s, list(self.pins))
            leases.heartbeat(
                s,
                self.node,
                max_cameras=self.config.node.max_cameras,
                web_url=self.web_url,
                load={"cameras": 0, "session_lock": locked},
            )
            leases.mark_started(s, self.node)
        self.queries += 1 + len(self.pins) + 1
        self._thread = threading.Thread(target=self._run, name="node-agent", daemon=True)
        self._thread.start()
        log.info("node %s joined the cluster", self.node)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except SQLAlchemyError as exc:
                log.error("node %s: coordinator round failed: %s", self.node, exc)
            except Exception:  # a bug here must not stop the heartbeat for good
                log.exception("node %s: coordinator round failed", self.node)
            self._stop.wait(self.config.node.heartbeat_s)

    def tick(self) -> LeasePlan:
        """One round: heartbeat, renew, stop what was lost, take and give per the plan."""
        ttl = self.config.node.lease_s
        recording = self.recorder.recording()
        # Held before the heartbeat says so: "session_lock" is never claimed without it.
        locked = self._alive.holds(liveness_job(self.node))
        with self.db.session() as s:
            leases.heartbeat(
                s,
                self.node,
                max_cameras=self.config.node.max_cameras,
                web_url=self.web_url,
                load={
                    "cameras": len(recording),
                    "camera_ids": sorted(recording),
                    "coordinator_statements": self.queries,
                    "session_lock": locked,
                },
            )
            held = leases.renew(s, self.node, ttl)
            state, nodes, dead = leases.read_state(s, ttl)
        self.queries += 7  # with the liveness lock's check
        self.last_ok = time.monotonic()
        self.rounds += 1
        for cam, gen in recording.items():
            if held.get(cam) != gen:
                log.error("%s: lease lost by node %s; stopping its recording", cam, self.node)
                self._retire(cam, None)
        plan = plan_leases(self.node, self.pins, state, nodes)
        with self._lock:
            retiring = set(self._retiring)
        # Just joined: two heartbeats for the other nodes' heartbeats to show, so a cluster
        # started cold is balanced at once instead of the first node taking every camera.
        if time.monotonic() - self._started < 2 * self.config.node.heartbeat_s:
            plan = LeasePlan([], [], plan.target)
        elif retiring:  # one handover at a time: the plan is looked at again next round
            plan = LeasePlan(plan.take, [], plan.target)
        self.last_plan = plan
        # Leases named ours that no worker records (a restart of this node): resume them.
        resume = [
            Grant(cam, gen)
            for cam, gen in held.items()
            if cam not in recording and cam not in retiring and cam in self.pins
        ]
        for grant in resume:
            self.recorder.assign(grant)
        if plan.take:
            with self.db.session() as s:
                grants = leases.acquire(s, self.node, plan.take, ttl, dead)
            self.queries += 2
            for grant in grants:
                log.info(
                    "%s: node %s takes the camera (generation %d)%s",
                    grant.camera_id,
                    self.node,
                    grant.generation,
                    f": {grant.handover}" if grant.handover else "",
                )
                self.recorder.assign(grant)
        for cam in plan.give:
            gen = held.get(cam)
            if gen is None or cam in retiring:
                continue
            log.info("%s: node %s hands the camera over to balance load", cam, self.node)
            self._retire(cam, gen)
        return plan

    def _retire(self, cam: str, release_gen: int | None) -> None:
        """Stop the camera's worker in a thread; then, for a camera given away, free the
        lease (after the worker closed its segment: the next node starts at once)."""
        with self._lock:
            if cam in self._retiring:
                return
            self._retiring.add(cam)

        def run() -> None:
            try:
                self.recorder.retire(cam)
                if release_gen is not None:
                    with self.db.session() as s:
                        leases.release(
                            s, self.node, cam, release_gen, f"rebalanced from node {self.node}"
                        )
                    self.queries += 1
            except SQLAlchemyError as exc:
                log.error("%s: lease not released (it will expire): %s", cam, exc)
            finally:
                with self._lock:
                    self._retiring.discard(cam)

        threading.Thread(target=run, name=f"retire-{cam}", daemon=True).start()

    def stop(self) -> None:
        """Stop the rounds (the supervisor stops the workers), then free every lease."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.config.node.heartbeat_s + 10)
            self._thread = None

    def leave(self) -> None:
        """After the workers stopped: give every lease back so others take over at once."""
        try:
            with self.db.session() as s:
                held = leases.renew(s, self.node, 0)
                for cam, gen in held.items():
                    leases.release(s, self.node, cam, gen, f"node {self.node} stopped")
                leases.mark_stopped(s, self.node)
        except SQLAlchemyError as exc:
            log.error("node %s: leases not released (they will expire): %s", self.node, exc)
        self._alive.release_all()
        log.info("node %s left the cluster", self.node)
