"""Lease planning, a pure function: pinning, capacity, takeover of a dead node's cameras, and
balancing when a node joins, one camera per round."""

from __future__ import annotations

from vms.cluster.plan import LeaseState, NodeState, plan_leases, targets

CAMS = {f"c{i:02d}": None for i in range(12)}


def _leases(
    holders: dict[str, str | None], expired: set[str] = frozenset()
) -> dict[str, LeaseState]:
    return {c: LeaseState(c, n, c in expired) for c, n in holders.items()}


def _nodes(*ids: str, cap: dict[str, int] | None = None) -> list[NodeState]:
    return [NodeState(i, (cap or {}).get(i)) for i in ids]


def test_free_cameras_are_shared_evenly_and_capacity_is_respected() -> None:
    assert targets(CAMS, _nodes("a", "b", "c")) == {"a": 4, "b": 4, "c": 4}
    assert targets(CAMS, _nodes("a", "b", cap={"a": 2})) == {"a": 2, "b": 10}
    assert targets(CAMS, _nodes("a", cap={"a": 5})) == {"a": 5}  # 7 stay free: reported
    free = _leases(dict.fromkeys(CAMS))
    plan = plan_leases("a", CAMS, free, _nodes("a", "b", "c"))
    assert len(plan.take) == 4
    assert plan.give == []


def test_a_pinned_camera_goes_to_its_node_and_to_anyone_while_that_node_is_dead() -> None:
    cams = dict(CAMS, c11="b")
    free = _leases(dict.fromkeys(cams))
    assert "c11" not in plan_leases("a", cams, free, _nodes("a", "b")).take
    assert plan_leases("b", cams, free, _nodes("a", "b")).take[0] == "c11"
    assert "c11" in plan_leases("a", cams, free, _nodes("a")).take  # b is not alive
    held_by_a = _leases({**dict.fromkeys(cams, "a")})
    assert plan_leases("a", cams, held_by_a, _nodes("a", "b")).give == ["c11"]


def test_a_dead_nodes_expired_cameras_are_taken_by_the_live_ones() -> None:
    holders = {c: ("a", "b", "c")[i % 3] for i, c in enumerate(CAMS)}
    dead = {c for c, n in holders.items() if n == "c"}
    state = _leases(holders, expired=dead)
    took_a = plan_leases("a", CAMS, state, _nodes("a", "b")).take
    assert len(took_a) == 2  # up to its share of 6
    # SKIP LOCKED: what a took is a's by the time b's round looks.
    state = _leases({**holders, **dict.fromkeys(took_a, "a")}, expired=dead - set(took_a))
    took_b = plan_leases("b", CAMS, state, _nodes("a", "b")).take
    assert set(took_a) | set(took_b) == dead


def test_a_joining_node_gets_a_fair_share_one_camera_per_round() -> None:
    holders = {c: ("a", "b")[i % 2] for i, c in enumerate(CAMS)}
    state = _leases(holders)
    nodes = _nodes("a", "b", "c")
    assert plan_leases("c", CAMS, state, nodes).take == []  # nothing is free yet
    give_a = plan_leases("a", CAMS, state, nodes).give
    assert len(give_a) == 1  # over its share of 4: one camera handed over per round
    assert plan_leases("a", CAMS, state, _nodes("a", "b")).give == []  # balanced: stays
