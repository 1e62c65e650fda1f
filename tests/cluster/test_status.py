"""Leases on a real PostgreSQL as `vms nodes` and /api/nodes show them; SQLite refuses a
multi-node configuration with a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from vms.bootstrap import sync_cameras
from vms.cluster import leases
from vms.cluster.status import cluster_view
from vms.config import Config, parse_config
from vms.db.migrate import upgrade
from vms.db.session import Database
from vms.errors import ConfigError

CAMS = [{"id": f"c{i}", "kind": "street", "site": "s", "source": "rtsp://x/"} for i in range(3)]


def test_leases_are_taken_once_fenced_by_generation_and_shown_per_node(postgres_url: str) -> None:
    config = Config.model_validate({"database": {"url": postgres_url}, "cameras": CAMS})
    db = Database(postgres_url)
    upgrade(db.engine)
    sync_cameras(db, config)
    with db.session() as s:
        leases.ensure_leases(s, ["c0", "c1", "c2"])
        for node in ("a", "b"):
            leases.heartbeat(s, node, max_cameras=None, web_url=None, load={})
    with db.session() as s:
        got_a = leases.acquire(s, "a", ["c0", "c1"], 30)
    with db.session() as s:
        assert leases.acquire(s, "b", ["c1", "c2"], 30)[0].camera_id == "c2"  # c1 is a's
    assert [g.camera_id for g in got_a] == ["c0", "c1"]
    with db.session() as s:
        assert leases.lease_valid(s, "a", "c0", got_a[0].generation)
        assert not leases.lease_valid(s, "b", "c0", got_a[0].generation)
        # a gives c0 back; b takes it: a's generation no longer writes.
        assert leases.release(s, "a", "c0", got_a[0].generation, "rebalanced from node a")
    with db.session() as s:
        taken = leases.acquire(s, "b", ["c0"], 30)
        assert taken[0].handover == "node handover (rebalanced from node a)"
        assert not leases.lease_valid(s, "a", "c0", got_a[0].generation)
    view = cluster_view(db, 30)
    assert view.cluster
    held = {n.id: n.cameras for n in view.nodes}
    assert held == {"a": ["c1"], "b": ["c0", "c2"]}
    assert view.unassigned == []
    assert all(n.state == "up" for n in view.nodes)
    db.dispose()


def test_sqlite_refuses_a_multi_node_configuration() -> None:
    text = (
        "node: {max_cameras: 10}\ncameras:\n"
        "  - {id: a, kind: street, site: s, source: 'rtsp://x/', node: rec-2}\n"
    )
    with pytest.raises(ConfigError) as err:
        parse_config(text)
    assert "SQLite is the single-node index" in str(err.value.problems)


def test_a_single_sqlite_node_reports_no_cluster(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'vms.db'}")
    upgrade(db.engine)
    assert not cluster_view(db, 15).cluster
    db.dispose()
