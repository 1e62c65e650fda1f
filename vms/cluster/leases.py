"""Camera leases and node heartbeats in PostgreSQL (row locks; no consensus of our own).

A lease row per camera says which node records it, until when (database time, so the
nodes' clocks do not matter), and its ``generation``, which grows with every change of
holder. Taking free or expired leases is ``SELECT ... FOR UPDATE SKIP LOCKED``: two nodes
never take one camera, and neither waits for the other. Renewal rides on the heartbeat.
A node's death is also seen at once: each node holds a session-level advisory lock of its
own (:func:`liveness_job`, through :class:`vms.cluster.locks.JobLocks`) and says so in its
heartbeat row (``load.session_lock``). PostgreSQL frees that lock the moment the node's
session ends (kill -9, crash: the kernel closes its sockets), so a live node finds the dead
node's leases free at its next round instead of waiting ``lease_s`` for them to run out
(:func:`dead_nodes`). A node cut off by the network keeps its session until TCP keepalives
end it; there the lease's expiry is the bound. Either way the generation fences it.
Fencing: a node's writes for a camera (segment rows, gaps, events) check, in their own
transaction and under ``FOR SHARE`` of the lease row, that the row still names this node
and generation (:func:`lease_valid`); a takeover's UPDATE waits for such a write to commit,
and every write after it is refused.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from vms.cluster.locks import NAMESPACE, lock_key
from vms.cluster.plan import LeaseState, NodeState


@dataclass(frozen=True)
class Grant:
    """A lease this node holds: the generation its writes carry, and for a new holder the
    reason of the gap left by the handover (``node failover (node X lost)``)."""

    camera_id: str
    generation: int
    handover: str | None = None


def ensure_leases(s: Session, camera_ids: list[str]) -> None:
    """A (free) lease row for every camera that has none."""
    for cam in camera_ids:
        s.execute(
            text(
                "INSERT INTO camera_leases (camera_id, generation) VALUES (:c, 0) "
                "ON CONFLICT (camera_id) DO NOTHING"
            ),
            {"c": cam},
        )


def heartbeat(
    s: Session, node: str, *, max_cameras: int | None, web_url: str | None, load: dict[str, Any]
) -> None:
    s.execute(
        text(
            "INSERT INTO nodes (id, host, pid, started_at, heartbeat_at, state, max_cameras, "
            "web_url, load) VALUES (:id, :host, :pid, now(), now(), 'up', :cap, :web, "
            "CAST(:load AS json)) ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), "
            "state = 'up', host = :host, pid = :pid, max_cameras = :cap, web_url = :web, "
            "load = CAST(:load AS json)"
        ),
        {
            "id": node,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "cap": max_cameras,
            "web": web_url,
            "load": _json(load),
        },
    )


def mark_started(s: Session, node: str) -> None:
    s.execute(text("UPDATE nodes SET started_at = now() WHERE id = :id"), {"id": node})


def mark_stopped(s: Session, node: str) -> None:
    s.execute(text("UPDATE nodes SET state = 'stopped' WHERE id = :id"), {"id": node})


def renew(s: Session, node: str, lease_s: float) -> dict[str, int]:
    """Extend every lease still naming ``node`` (even one that ran out but nobody took);
    camera id -> generation."""
    rows = s.execute(
        text(
            "UPDATE camera_leases SET expires_at = now() + make_interval(secs => :ttl) "
            "WHERE node = :me RETURNING camera_id, generation"
        ),
        {"me": node, "ttl": lease_s},
    )
    return {r.camera_id: int(r.generation) for r in rows}


def liveness_job(node: str) -> str:
    """The name of the advisory lock node ``node`` holds for as long as its session lives."""
    return f"node-alive:{node}"


def dead_nodes(s: Session) -> set[str]:
    """Nodes whose heartbeat row says they hold their liveness lock, while PostgreSQL says
    nobody holds it: their session ended (the process died). A heartbeat written before the
    database last started does not count (after a PostgreSQL restart every lock is gone,
    and the nodes take theirs again as they reconnect: no false failover)."""
    claimed = {
        r.id: lock_key(liveness_job(r.id))
        for r in s.execute(
            text(
                "SELECT id FROM nodes WHERE state = 'up' "
                "AND CAST(load AS jsonb) ->> 'session_lock' = 'true' "
                "AND heartbeat_at > pg_postmaster_start_time()"
            )
        )
    }
    if not claimed:
        return set()
    held = {
        int(r.objid)
        for r in s.execute(
            text(
                "SELECT objid::bigint AS objid FROM pg_locks WHERE locktype = 'advisory' "
                "AND granted AND objsubid = 2 AND classid::bigint = :ns"
            ),
            {"ns": NAMESPACE},
        )
    }
    return {node for node, key in claimed.items() if key not in held}


def read_state(
    s: Session, lease_s: float
) -> tuple[dict[str, LeaseState], list[NodeState], set[str]]:
    """The leases (expired: run out, or held by a dead node), the live nodes, the dead ones."""
    dead = dead_nodes(s)
    leases = {
        r.camera_id: LeaseState(r.camera_id, r.node, bool(r.expired) or r.node in dead)
        for r in s.execute(
            text(
                "SELECT camera_id, node, (expires_at IS NULL OR expires_at < now()) AS expired "
                "FROM camera_leases"
            )
        )
    }
    nodes = [
        NodeState(r.id, r.max_cameras)
        for r in s.execute(
            text(
                "SELECT id, max_cameras FROM nodes WHERE state = 'up' "
                "AND heartbeat_at > now() - make_interval(secs => :ttl)"
            ),
            {"ttl": lease_s},
        )
        if r.id not in dead
    ]
    return leases, nodes, dead


def acquire(
    s: Session, node: str, cameras: list[str], lease_s: float, dead: set[str] | None = None
) -> list[Grant]:
    """Take those of ``cameras`` that are free, expired or held by a ``dead`` node, and not
    being taken right now."""
    if not cameras:
        return []
    rows = s.execute(
        text(
            "SELECT camera_id FROM camera_leases WHERE camera_id = ANY(:cams) "
            "AND (node IS NULL OR expires_at IS NULL OR expires_at < now() "
            "OR node = ANY(:dead)) ORDER BY camera_id FOR UPDATE SKIP LOCKED"
        ),
        {"cams": cameras, "dead": sorted(dead or ())},
    ).all()
    got = [r.camera_id for r in rows]
    if not got:
        return []
    updated = s.execute(
        text(
            "UPDATE camera_leases SET "
            "release_reason = CASE WHEN node IS NULL THEN release_reason "
            "  ELSE 'node ' || node || ' lost' END, "
            "previous_node = COALESCE(node, previous_node), "
            "node = :me, generation = generation + 1, acquired_at = now(), "
            "expires_at = now() + make_interval(secs => :ttl) "
            "WHERE camera_id = ANY(:cams) "
            "RETURNING camera_id, generation, previous_node, release_reason"
        ),
        {"me": node, "ttl": lease_s, "cams": got},
    )
    return [
        Grant(r.camera_id, int(r.generation), handover_reason(r.previous_node, r.release_reason))
        for r in updated
    ]


def handover_reason(previous: str | None, why: str | None) -> str | None:
    """The gap reason a new holder writes (None for a camera nobody recorded before)."""
    if previous is None:
        return None
    if why and why.endswith(" lost"):
        return f"node failover (node {previous} lost)"
    return f"node handover ({why or f'from node {previous}'})"


def release(s: Session, node: str, camera_id: str, generation: int, why: str) -> bool:
    """Give a camera up (its worker has stopped): free for the next node at once."""
    res = s.execute(
        text(
            "UPDATE camera_leases SET node = NULL, expires_at = now(), previous_node = :me, "
            "release_reason = :why WHERE camera_id = :c AND node = :me AND generation = :g"
        ),
        {"me": node, "c": camera_id, "g": generation, "why": why},
    )
    return bool(getattr(res, "rowcount", 0))


def lease_valid(s: Session, node: str, camera_id: str, generation: int) -> bool:
    """Fencing, inside a write's own transaction: does the lease still name us?"""
    row = s.execute(
        text("SELECT node, generation FROM camera_leases WHERE camera_id = :c FOR SHARE"),
        {"c": camera_id},
    ).first()
    return row is not None and row.node == node and int(row.generation) == generation


def _json(value: dict[str, Any]) -> str:
    import json

    return json.dumps(value, default=str)
