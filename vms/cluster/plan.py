"""Which cameras this node should hold: a pure function of the lease table and the live nodes.

Every node computes the same targets: cameras pinned to a node (``cameras[].node``) go to it;
the others are shared out by water-filling, each live node up to its ``node.max_cameras``,
so targets differ by at most one. A node takes free or expired cameras while it is under its
target, and gives one camera away per heartbeat while it is over and another node is under
(when a node joins), so each moved camera is cut once. Free cameras nobody's target covers
(every node is full) stay free: they are reported, never silently dropped.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LeaseState:
    camera_id: str
    node: str | None
    expired: bool


@dataclass(frozen=True)
class NodeState:
    id: str
    max_cameras: int | None


@dataclass(frozen=True)
class LeasePlan:
    take: list[str] = field(default_factory=list)
    give: list[str] = field(default_factory=list)
    target: int = 0


def targets(cameras: Mapping[str, str | None], nodes: Sequence[NodeState]) -> dict[str, int]:
    """How many cameras each live node should hold (pinned ones included)."""
    live = {n.id for n in nodes}
    pinned: dict[str, int] = {n.id: 0 for n in nodes}
    free = 0
    for pin in cameras.values():
        if pin is not None and pin in live:
            pinned[pin] += 1
        else:  # unpinned, or pinned to a node that is not alive: anyone's
            free += 1
    room = {
        n.id: (math.inf if n.max_cameras is None else max(0, n.max_cameras - pinned[n.id]))
        for n in nodes
    }
    share = {n.id: 0 for n in nodes}
    order = sorted(live)
    while free > 0:
        open_nodes = [n for n in order if share[n] < room[n]]
        if not open_nodes:
            break
        for n in sorted(open_nodes, key=lambda x: (share[x], x)):
            if free == 0:
                break
            if share[n] < room[n]:
                share[n] += 1
                free -= 1
    return {n: pinned[n] + share[n] for n in order}


def plan_leases(
    me: str,
    cameras: Mapping[str, str | None],
    leases: Mapping[str, LeaseState],
    nodes: Sequence[NodeState],
) -> LeasePlan:
    """What ``me`` should take and give now. ``cameras`` maps each recorded camera to the
    node it is pinned to (or None); ``nodes`` are the live nodes, ``me`` among them."""
    goal = targets(cameras, nodes)
    mine = sorted(c for c, lease in leases.items() if lease.node == me and c in cameras)
    live = {n.id for n in nodes}
    give: list[str] = []
    # A camera pinned elsewhere (to a live node) goes back to its node.
    for c in mine:
        pin = cameras[c]
        if pin is not None and pin != me and pin in live:
            give.append(c)
    kept = [c for c in mine if c not in give]
    target = goal.get(me, 0)
    held = {n: 0 for n in live}
    for lease in leases.values():
        if lease.node in held and not lease.expired:
            held[lease.node] += 1
    someone_under = any(held[n] < goal.get(n, 0) for n in live if n != me)
    if len(kept) > target and someone_under and not give:
        movable = [c for c in kept if cameras[c] is None]
        if movable:
            give.append(movable[-1])  # one per heartbeat: each moved camera is cut once
    take: list[str] = []
    room = target - len(kept)
    candidates = sorted(
        c
        for c, pin in cameras.items()
        if (pin is None or pin == me or pin not in live)
        and (c not in leases or leases[c].node is None or leases[c].expired)
        and (c not in leases or leases[c].node != me)
    )
    # Pinned to me first, then the rest in an order of this node's own (a hash), so nodes
    # taking over together mostly reach for different cameras.
    candidates.sort(key=lambda c: (cameras[c] != me, _spread(me, c)))
    for c in candidates:
        if room <= 0 and cameras[c] != me:
            break
        take.append(c)
        room -= 1
    return LeasePlan(take, give, target)


def _spread(node: str, camera_id: str) -> bytes:
    return hashlib.sha256(f"{node}/{camera_id}".encode()).digest()
