"""What the cluster looks like now: nodes, heartbeats, cameras held, load (``vms nodes``,
``/api/nodes``, the nodes panel on the cameras page)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import select, text

from vms.cluster.models import CameraLease, Node
from vms.db.session import Database
from vms.vocab import View


class NodeView(View):
    id: str = Field(description="Node id (node.id, default the host name).")
    host: str = Field(description="Host name of the machine.")
    pid: int = Field(description="Process id of vms serve there.")
    state: str = Field(description="up, stopped, or lost (no heartbeat within node.lease_s).")
    started_at: datetime = Field(description="When the node (re)joined.")
    heartbeat_at: datetime = Field(description="Last heartbeat (database time).")
    heartbeat_age_s: float = Field(description="Seconds since the last heartbeat.")
    max_cameras: int | None = Field(description="Capacity (node.max_cameras); null: no limit.")
    cameras: list[str] = Field(description="Cameras whose lease it holds.")
    web_url: str | None = Field(description="Where its web application listens, if it serves.")
    load: dict[str, Any] = Field(description="What the node reported with its heartbeat.")


class LeaseView(View):
    camera_id: str = Field(description="Camera id.")
    node: str | None = Field(description="Holder; null while free.")
    generation: int = Field(description="Grows with every change of holder (fencing).")
    expires_at: datetime | None = Field(description="When the lease ends unless renewed.")
    previous_node: str | None = Field(description="The holder before.")
    release_reason: str | None = Field(description="Why the previous holder let it go.")


class ClusterView(View):
    cluster: bool = Field(description="False on SQLite: a single node, no leases.")
    nodes: list[NodeView] = Field(description="Every node that ever joined, newest first.")
    leases: list[LeaseView] = Field(description="One lease per camera.")
    unassigned: list[str] = Field(description="Cameras no live node holds now.")


def cluster_view(db: Database, lease_s: float) -> ClusterView:
    if db.engine.dialect.name != "postgresql":
        return ClusterView(cluster=False, nodes=[], leases=[], unassigned=[])
    with db.session() as s:
        now = s.scalar(text("SELECT now()"))
        leases = list(s.scalars(select(CameraLease).order_by(CameraLease.camera_id)))
        nodes = list(s.scalars(select(Node).order_by(Node.started_at.desc())))
    assert isinstance(now, datetime)
    held: dict[str, list[str]] = {}
    for lease in leases:
        if lease.node and lease.expires_at and lease.expires_at > now:
            held.setdefault(lease.node, []).append(lease.camera_id)
    out = []
    for n in nodes:
        age = (now - n.heartbeat_at).total_seconds()
        state = n.state if n.state != "up" or age <= lease_s else "lost"
        out.append(
            NodeView(
                id=n.id,
                host=n.host,
                pid=n.pid,
                state=state,
                started_at=n.started_at,
                heartbeat_at=n.heartbeat_at,
                heartbeat_age_s=round(age, 3),
                max_cameras=n.max_cameras,
                cameras=held.get(n.id, []),
                web_url=n.web_url,
                load=dict(n.load or {}),
            )
        )
    live_held = {c for cams in held.values() for c in cams}
    return ClusterView(
        cluster=True,
        nodes=out,
        leases=[LeaseView.model_validate(lease) for lease in leases],
        unassigned=[lease.camera_id for lease in leases if lease.camera_id not in live_held],
    )
