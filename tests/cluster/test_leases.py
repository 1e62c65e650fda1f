"""A node that dies is seen dead at once: its liveness lock goes with its PostgreSQL session,
so its leases are free for a live node before they run out (the 30 s takeover target); a
node that merely has not heartbeated lately keeps its leases until they expire."""

from __future__ import annotations

from vms.bootstrap import sync_cameras
from vms.cluster import leases
from vms.cluster.leases import liveness_job
from vms.cluster.locks import JobLocks
from vms.config import Config
from vms.db.migrate import upgrade
from vms.db.session import Database

CAMS = [{"id": f"c{i}", "kind": "street", "site": "s", "source": "rtsp://x/"} for i in range(2)]


def test_a_dead_nodes_leases_are_free_at_once_and_a_live_ones_are_not(postgres_url: str) -> None:
    config = Config.model_validate({"database": {"url": postgres_url}, "cameras": CAMS})
    db = Database(postgres_url)
    upgrade(db.engine)
    sync_cameras(db, config)
    alive = {n: JobLocks(postgres_url, n) for n in ("a", "b")}
    try:
        for node, lock in alive.items():
            assert lock.holds(liveness_job(node))
        with db.session() as s:
            leases.ensure_leases(s, ["c0", "c1"])
            for node in ("a", "b"):
                load = {"session_lock": True}
                leases.heartbeat(s, node, max_cameras=None, web_url=None, load=load)
        with db.session() as s:
            assert [g.camera_id for g in leases.acquire(s, "a", ["c0", "c1"], 600)] == ["c0", "c1"]
        with db.session() as s:
            state, nodes, dead = leases.read_state(s, 600)
            assert dead == set()
            assert not state["c0"].expired  # a lives: its 10-minute lease stands
            assert leases.acquire(s, "b", ["c0"], 600, dead) == []
        alive["a"].release_all()  # node a's process dies: PostgreSQL ends its session
        with db.session() as s:
            state, nodes, dead = leases.read_state(s, 600)
            assert dead == {"a"}
            assert [n.id for n in nodes] == ["b"]
            assert state["c0"].expired  # long before it runs out
            assert state["c1"].expired
            taken = leases.acquire(s, "b", ["c0", "c1"], 600, dead)
        assert [g.handover for g in taken] == ["node failover (node a lost)"] * 2
        with db.session() as s:
            assert not leases.lease_valid(s, "a", "c0", 1)  # a's writes are fenced
            # A node that never said it holds the lock is judged by its lease alone.
            leases.heartbeat(s, "c", max_cameras=None, web_url=None, load={})
        with db.session() as s:
            assert leases.dead_nodes(s) == {"a"}
    finally:
        for lock in alive.values():
            lock.release_all()
        db.dispose()
