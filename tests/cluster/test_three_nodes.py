"""Three ``vms serve`` nodes (separate storage roots) on one real PostgreSQL and one
SeaweedFS, recording 12 cameras from a real RTSP server: leases share the cameras, a
``kill -9`` is taken over with one failover gap per camera, the dead node rejoins without
double recording, a node cut off from PostgreSQL is fenced for what it lost and catches up
for what it kept, and finished segments move to the bucket with their hashes.

One cluster for every claim (the suite's time budget): the phases run in order.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from tests.cameras.conftest import H264Clip
from tests.support.rtsp import RtspServer, free_port
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedServer
from tests.support.tcpproxy import TcpProxy
from tests.support.vmsnode import ServeNode, node_config
from tests.support.waiting import wait_for
from vms.cluster.models import CameraLease
from vms.config import ObjectStoreConfig
from vms.db.migrate import upgrade
from vms.db.models import Gap, Segment
from vms.db.session import Database
from vms.storage.base import BUCKET
from vms.storage.s3 import S3Store
from vms.web.roles import Role
from vms.web.users import create_user, find_user, start_session

pytestmark = pytest.mark.slow

NODES = ("n0", "n1", "n2")
CAMS = [f"cam{i:02d}" for i in range(12)]
LEASE_S, HEARTBEAT_S = 8.0, 2.0
WEB_PORT = free_port()
TAKEOVER_TARGET_S = 30.0
SEGMENT_S = 2  # tests.support.vmsnode.node_config's segment_seconds


@pytest.fixture
def cluster(
    tmp_path: Path, postgres_url: str, h264_clip: H264Clip, seaweed: SeaweedServer
) -> Iterator[tuple[dict[str, ServeNode], Database, RtspServer, TcpProxy, ObjectStoreConfig]]:
    mounts = {f"/{c}": (h264_clip.path, h264_clip.fps) for c in CAMS}
    store = ObjectStoreConfig(
        endpoint=seaweed.endpoint,
        bucket=seaweed.new_bucket_name(),
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        interval_s=2,
    )
    url = make_url(postgres_url)
    proxy = TcpProxy(int(url.port or 5432))
    nodes: dict[str, ServeNode] = {}
    with RtspServer(mounts) as rtsp:
        for i, name in enumerate(NODES):
            db_url = url if name != "n0" else url.set(port=proxy.port)  # n0 can be cut off
            nodes[name] = ServeNode(
                name,
                tmp_path / name,
                node_config(
                    name,
                    tmp_path / name,
                    db_url.render_as_string(hide_password=False),
                    [rtsp.url(f"/{c}") for c in CAMS],
                    CAMS,
                    store,
                    heartbeat_s=HEARTBEAT_S,
                    lease_s=LEASE_S,
                    # n1 and n2 can take one extra camera each (see the cut-off phase).
                    max_cameras=None if i == 0 else 5,
                ),
                web_port=WEB_PORT if name == "n1" else None,  # n1 serves the web app
            )
        db = Database(postgres_url)
        upgrade(db.engine)  # so the test can read the index from the first moment
        with db.session() as s:  # a duty officer watching node n1's alert feed
            create_user(s, "duty", "a long passphrase", Role.SUPERVISOR)
        try:
            for node in nodes.values():
                node.start()
            yield nodes, db, rtsp, proxy, store
        finally:
            for node in nodes.values():
                node.stop()
            proxy.close()
            db.dispose()


def _holders(db: Database) -> dict[str, str | None]:
    with db.session() as s:
        return {
            r.camera_id: r.node
            for r in s.execute(
                text(
                    "SELECT camera_id, CASE WHEN expires_at > now() THEN node END AS node "
                    "FROM camera_leases"
                )
            )
        }


def _segments(db: Database) -> list[Segment]:
    with db.session() as s:
        return list(s.scalars(select(Segment).order_by(Segment.camera_id, Segment.start)))


def _gaps(db: Database) -> list[Gap]:
    with db.session() as s:
        return list(s.scalars(select(Gap).order_by(Gap.camera_id, Gap.start)))


def _no_instant_twice(db: Database) -> None:
    """Every camera is recorded by one node at a time: indexed segments never overlap."""
    by_cam: dict[str, list[Segment]] = {}
    for seg in _segments(db):
        if seg.status in ("complete", "recovered", "recording"):
            by_cam.setdefault(seg.camera_id, []).append(seg)
    for cam, segs in by_cam.items():
        for a, b in itertools.pairwise(segs):
            end = a.end or datetime.now(UTC)
            assert end <= b.start + timedelta(milliseconds=50), (
                f"{cam}: {a.path} ({a.node}, to {end}) overlaps {b.path} ({b.node}, {b.start})"
            )


def _recorded_by(seg: Segment) -> str:
    """The node that recorded a segment: its file name says (``HH-MM-SS_<node>.mp4``, as
    vms.cameras.recorder names it); ``node`` is cleared once tiering moved it to the bucket."""
    return PurePosixPath(seg.path).stem.rpartition("_")[2]


def _recording_everywhere(db: Database, since: datetime) -> dict[str, str]:
    """Cameras with a closed segment that started after ``since``: camera -> node."""
    found = {
        s.camera_id: _recorded_by(s)
        for s in _segments(db)
        if s.status == "complete" and s.start > since and s.end is not None
    }
    return found if set(found) == set(CAMS) else {}


def test_three_nodes_share_cameras_fail_over_rejoin_fence_and_tier_to_the_bucket(
    cluster: tuple[dict[str, ServeNode], Database, RtspServer, TcpProxy, ObjectStoreConfig],
) -> None:
    nodes, db, rtsp, proxy, store = cluster
    t0 = datetime.now(UTC)

    # 1. Leases share the 12 cameras, 4 per node; every camera records, on one node.
    wait_for("every camera recorded", lambda: _recording_everywhere(db, t0), 180, poll=1)
    balanced = wait_for(
        "4 cameras per node",
        lambda: (
            (h := _holders(db))
            and sorted(list(h.values()).count(n) for n in NODES) == [4, 4, 4]
            and h
        ),
        180,
        poll=0.5,
    )
    _no_instant_twice(db)

    # 2. kill -9 n2: its cameras record again on n0 and n1 within the target, each outage
    #    one gap row "node failover (node n2 lost)".
    lost = sorted(c for c, n in balanced.items() if n == "n2")
    killed_at = datetime.now(UTC)
    nodes["n2"].kill9()
    back = wait_for(
        "n2's cameras recorded elsewhere",
        lambda: (
            (r := _recording_everywhere(db, killed_at))
            and all(r[c] in ("n0", "n1") for c in lost)
            and r
        ),
        120,
        poll=0.5,
    )
    assert all(back[c] != "n2" for c in lost)
    # The gaps that cover the kill (an earlier rebalancing handover's gap ended before it).
    gaps = [
        g
        for g in _gaps(db)
        if g.start >= killed_at - timedelta(seconds=10) and (g.end is None or g.end > killed_at)
    ]
    with db.session() as s:
        taken_at = {lease.camera_id: lease.acquired_at for lease in s.scalars(select(CameraLease))}
    for cam in lost:
        mine = [g for g in gaps if g.camera_id == cam]
        assert len(mine) == 1, (cam, [(g.start, g.end, g.reason) for g in mine])
        assert mine[0].reason == "node failover (node n2 lost)"
        assert mine[0].end is not None
        # Recording again within the target: the dead node's liveness lock went with its
        # session, so a live node took the lease at its next round (not lease_s later),
        # and its worker recorded from the camera's next keyframe.
        took = taken_at[cam]
        assert took is not None
        assert (took - killed_at).total_seconds() < LEASE_S  # seen dead before it ran out
        assert (mine[0].end - killed_at).total_seconds() < TAKEOVER_TARGET_S
        print(
            f"{cam}: lease taken {(took - killed_at).total_seconds():.1f} s after the kill, "
            f"recording again {(mine[0].end - killed_at).total_seconds():.1f} s after it "
            f"(gap {(mine[0].end - mine[0].start).total_seconds():.1f} s)"
        )
    missing = [s for s in _segments(db) if s.node == "n2" and s.status == "missing"]
    assert missing, "the dead node's unfinished segments are marked missing"
    assert all(s.note == "node failover (node n2 lost)" for s in missing)
    _no_instant_twice(db)

    # 3. n2 restarts: it recovers its own unfinished segments from its disk, rejoins and
    #    takes a fair share back, never recording a camera another node records.
    restarted = datetime.now(UTC)
    nodes["n2"].start()
    wait_for(
        "n2 holds a fair share again",
        lambda: sorted(list(_holders(db).values()).count(n) for n in NODES) == [4, 4, 4],
        120,
        poll=0.5,
    )
    wait_for("every camera recorded", lambda: _recording_everywhere(db, restarted), 120, poll=1)
    recovered = [s for s in _segments(db) if s.id in {m.id for m in missing}]
    # Hashed and indexed from n2's disk; one whose packets had not reached the disk when the
    # process was killed is "empty" (no playable packet).
    assert len(recovered) == len(missing)
    assert all(s.status in ("recovered", "empty") for s in recovered), [
        (s.path, s.status, s.note, s.start, s.end) for s in recovered
    ]
    _no_instant_twice(db)

    # 4. Segments moved to the bucket keep their write-time hash.
    moved = wait_for(
        "segments in the bucket",
        lambda: [s for s in _segments(db) if s.location == BUCKET][:20],
        180,
        poll=1,
    )
    bucket = S3Store(store)
    for seg in moved:
        got = b"".join(bucket.read(seg.path))
        assert hashlib.sha256(got).hexdigest() == seg.sha256
        for node in nodes.values():
            assert not (node.root / "data" / seg.path).exists()

    # 5. n0 cut off from PostgreSQL past its leases: n1 and n2 (5 cameras each at most)
    #    take 2 of its 4 cameras; back, n0 stops those (fenced) and catches up the index
    #    for the 2 it kept.
    mine = sorted(c for c, n in _holders(db).items() if n == "n0")
    assert len(mine) == 4
    cut_at = datetime.now(UTC)
    proxy.cut()
    taken = wait_for(
        "two of n0's cameras taken over",
        lambda: (
            [c for c, n in _holders(db).items() if c in mine and n in ("n1", "n2")]
            if len([c for c, n in _holders(db).items() if c in mine and n in ("n1", "n2")]) == 2
            else []
        ),
        180,
        poll=0.5,
    )
    kept = [c for c in mine if c not in taken]
    wait_for(
        "the takers record",
        lambda: all(
            any(
                s.camera_id == c and s.start > cut_at and _recorded_by(s) != "n0"
                for s in _segments(db)
            )
            for c in taken
        ),
        180,
        poll=0.5,
    )
    proxy.restore()
    restored_at = datetime.now(UTC)
    wait_for(
        "n0 renews the cameras it kept",
        lambda: all(_holders(db).get(c) == "n0" for c in kept),
        180,
        poll=0.5,
    )
    # What n0 recorded for its kept cameras while cut off reaches the index (queued writes).
    wait_for(
        "n0's queued index writes",
        lambda: all(
            any(
                s.camera_id == c
                and _recorded_by(s) == "n0"
                and s.start < restored_at
                and s.start > cut_at
                for s in _segments(db)
            )
            for c in kept
        ),
        180,
        poll=0.5,
    )
    _no_instant_twice(db)
    with db.session() as s:
        leases = {lease.camera_id: lease for lease in s.scalars(select(CameraLease))}
    assert all(leases[c].node in ("n1", "n2") for c in taken)
    # Fenced: nothing n0 recorded for the cameras it lost is claimed as footage after the
    # takeover. A segment n0 opened just before it (its row written under the old lease) may
    # be dated after it, by more than a segment: segment times come from the camera's packet
    # clock, which can run a second or two ahead of the database's. The taker marks that row
    # missing (never footage), and the fence refuses every later write of n0's.
    for c in taken:
        took = leases[c].acquired_at
        assert took is not None
        after = took + timedelta(seconds=SEGMENT_S)
        late = [
            s
            for s in _segments(db)
            if s.camera_id == c and _recorded_by(s) == "n0" and s.start > after
        ]
        assert all(s.status == "missing" for s in late), [(x.path, x.status) for x in late]

    # 6. An alert raised on node n0 (its cameras go offline) appears in the live feed that
    #    node n1's web application serves (LISTEN/NOTIFY; polling is the fallback).
    with db.session() as s:
        token, _ = start_session(s, find_user(s, "duty"), 1)
        newest = int(s.scalar(text("SELECT coalesce(max(id), 0) FROM events")) or 0)
    held_by_n0 = {c for c, n in _holders(db).items() if n == "n0"}
    seen: list[dict[str, Any]] = []
    opened = threading.Event()

    def listen() -> None:
        with (
            httpx.Client(
                base_url=f"http://127.0.0.1:{WEB_PORT}", cookies={"vms_session": token}
            ) as client,
            client.stream("GET", "/api/alerts/stream", params={"after": newest}, timeout=60) as res,
        ):
            opened.set()
            kind = ""
            for line in res.iter_lines():
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "alert":
                    seen.append(json.loads(line[6:]))
                    if seen[-1]["camera_id"] in held_by_n0:
                        return

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    wait_for("n1's alert feed open", opened.is_set, 60)
    rtsp.stop()  # every camera goes offline; n0's workers write their camera_offline events
    reader.join(90)
    assert not reader.is_alive(), "no alert of n0's cameras reached n1's feed"
    alert = seen[-1]
    assert alert["type"] == "camera_offline"
    assert alert["camera_id"] in held_by_n0
