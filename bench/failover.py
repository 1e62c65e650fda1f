"""Failover benchmark: three ``vms serve`` nodes on one PostgreSQL and one SeaweedFS, N
cameras from the test RTSP server; ``--kills`` times a node is killed with SIGKILL (a
different one each time) and restarted once its cameras record elsewhere.

Prints (and with ``--json`` writes): takeover time per camera per kill (kill -> lease taken
by a live node), recording again (kill -> the new node's first keyframe: the 30 s target)
and outage (the failover gap row: last packet recorded -> first keyframe on
the new node), median and max; packets lost per failover (outage x the camera's frame rate:
every packet the camera sent in the gap); coordinator overhead (the node agents' PostgreSQL
statements, and all transactions of the database, per camera per minute); and the bucket
upload throughput of vms's verified upload (SHA-256 sent with the PUT, HEAD check) against a
plain ``aws s3 cp``-style PUT of the same files, in one run.

    .venv/bin/python -m bench.failover --cameras 6 --kills 10 --json bench/out/failover.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text

from tests.conftest import shared_file
from tests.support.postgres import PostgresCluster
from tests.support.rtsp import RtspServer, prepare_h264
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, SeaweedServer
from tests.support.vmsnode import ServeNode, node_config
from vms.cluster.models import CameraLease, Node
from vms.config import ObjectStoreConfig
from vms.db.migrate import upgrade
from vms.db.models import Gap, Segment
from vms.db.session import Database
from vms.storage.s3 import S3Store

CLIP = "footage/one-by-one-person-detection.mp4"


def _wait(what: str, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.5)


def _holders(db: Database) -> dict[str, str | None]:
    with db.session() as s:
        rows = s.execute(
            text(
                "SELECT camera_id, CASE WHEN expires_at > now() THEN node END AS node "
                "FROM camera_leases"
            )
        )
        return {r.camera_id: r.node for r in rows}


def _recording_since(
    db: Database, cams: list[str], since: datetime, not_on: str | None = None
) -> bool:
    """Each of ``cams`` has a closed segment that started after ``since`` (on a node other
    than ``not_on``: a dead node's last segments can start after the kill by the camera's
    packet clock)."""
    q = select(Segment.camera_id).where(Segment.status == "complete", Segment.start > since)
    if not_on is not None:
        q = q.where(Segment.node != not_on)
    with db.session() as s:
        got = set(s.scalars(q))
    return set(cams) <= got


def _stats(db: Database) -> tuple[int, int]:
    with db.session() as s:
        agents = sum(
            int((n.load or {}).get("coordinator_statements", 0)) for n in s.scalars(select(Node))
        )
        xacts = int(
            s.scalar(
                text(
                    "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                    "WHERE datname = current_database()"
                )
            )
            or 0
        )
    return agents, xacts


def upload_throughput(store: ObjectStoreConfig, files: list[Path]) -> dict[str, float]:
    """vms's verified upload against a plain PUT of the same files (MB/s each)."""
    vms_store = S3Store(store)
    vms_store.ensure_ready()
    plain = vms_store.client
    size = sum(f.stat().st_size for f in files)
    digests = {f: hashlib.sha256(f.read_bytes()).hexdigest() for f in files}
    t0 = time.perf_counter()
    for i, f in enumerate(files):
        with f.open("rb") as body:
            plain.put_object(Bucket=store.bucket, Key=f"plain/{i}.mp4", Body=body)
    plain_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i, f in enumerate(files):
        vms_store.put(f"vms/{i}.mp4", f, digests[f])
    vms_s = time.perf_counter() - t0
    mb = size / 1e6
    return {
        "files": len(files),
        "megabytes": round(mb, 1),
        "plain_mb_s": round(mb / plain_s, 1),
        "vms_mb_s": round(mb / vms_s, 1),
        "vms_vs_plain": round(plain_s / vms_s, 2),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cameras", type=int, default=6)
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--lease-s", type=float, default=8.0)
    ap.add_argument("--heartbeat-s", type=float, default=2.0)
    ap.add_argument("--overhead-s", type=float, default=60.0, help="window for the overhead")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    cams = [f"cam{i:02d}" for i in range(args.cameras)]
    work = Path(tempfile.mkdtemp(prefix="vms-failover-"))
    h264, fps = prepare_h264(shared_file(CLIP), work / "h264", max_seconds=20)
    out: dict[str, Any] = {
        "cameras": args.cameras,
        "lease_s": args.lease_s,
        "heartbeat_s": args.heartbeat_s,
    }
    with (
        PostgresCluster() as pg,
        SeaweedServer() as weed,
        RtspServer({f"/{c}": (h264, fps) for c in cams}) as rtsp,
    ):
        url = pg.create_database("failover")
        db = Database(url)
        upgrade(db.engine)
        store = ObjectStoreConfig(
            endpoint=weed.endpoint,
            bucket=weed.new_bucket_name(),
            access_key=ACCESS_KEY,
            secret_key=SECRET_KEY,
        )
        nodes = {
            name: ServeNode(
                name,
                work / name,
                node_config(
                    name,
                    work / name,
                    url,
                    [rtsp.url(f"/{c}") for c in cams],
                    cams,
                    store,
                    heartbeat_s=args.heartbeat_s,
                    lease_s=args.lease_s,
                ),
            )
            for name in ("n0", "n1", "n2")
        }
        try:
            t0 = datetime.now(UTC)
            for n in nodes.values():
                n.start()
            _wait("every camera recording", lambda: _recording_since(db, cams, t0), 300)
            # Coordinator overhead over a quiet window.
            a0, x0 = _stats(db)
            time.sleep(args.overhead_s)
            a1, x1 = _stats(db)
            minutes = args.overhead_s / 60
            out["agent_statements_per_camera_minute"] = round((a1 - a0) / args.cameras / minutes, 2)
            out["db_transactions_per_camera_minute"] = round((x1 - x0) / args.cameras / minutes, 2)
            takeovers: list[float] = []
            outages: list[float] = []
            again: list[float] = []  # kill -> the new node's first keyframe (the target)
            for k in range(args.kills):
                holders = _holders(db)
                victim = sorted(nodes)[k % 3]
                lost = sorted(c for c, n in holders.items() if n == victim)
                killed = datetime.now(UTC)
                nodes[victim].kill9()
                _wait(
                    "takeover",
                    lambda lost=lost, at=killed, v=victim: _recording_since(db, lost, at, v),
                    300,
                )
                with db.session() as s:
                    leases = {r.camera_id: r for r in s.scalars(select(CameraLease))}
                    gaps = list(
                        s.scalars(
                            select(Gap).where(Gap.end > killed, Gap.reason.like("node failover%"))
                        )
                    )
                for c in lost:
                    took = leases[c].acquired_at
                    if took is not None:
                        takeovers.append((took - killed).total_seconds())
                    mine = [
                        g for g in gaps if g.camera_id == c and g.end is not None and g.end > killed
                    ]
                    if mine:
                        outages.append((mine[-1].end - mine[-1].start).total_seconds())
                        again.append((mine[-1].end - killed).total_seconds())
                print(f"kill {k + 1}: {victim} ({len(lost)} cameras) taken over", file=sys.stderr)
                restarted = datetime.now(UTC)
                nodes[victim].start()
                _wait("rejoin", lambda at=restarted: _recording_since(db, cams, at), 300)
            out["takeover_s"] = {
                "median": round(statistics.median(takeovers), 2),
                "max": round(max(takeovers), 2),
                "n": len(takeovers),
            }
            out["recording_again_s"] = {
                "median": round(statistics.median(again), 2),
                "max": round(max(again), 2),
                "n": len(again),
            }
            out["outage_s"] = {
                "median": round(statistics.median(outages), 2),
                "max": round(max(outages), 2),
                "n": len(outages),
            }
            out["packets_lost_per_failover"] = {
                "median": round(statistics.median(outages) * fps),
                "max": round(max(outages) * fps),
                "fps": fps,
            }
            # Bucket throughput: the same files both ways (copies of the camera's stream).
            files = []
            data = h264.read_bytes()
            for i in range(20):
                f = work / "upload" / f"{i}.h264"
                f.parent.mkdir(exist_ok=True)
                f.write_bytes(data + bytes([i]))
                files.append(f)
            out["upload"] = upload_throughput(store, files)
        finally:
            for n in nodes.values():
                n.stop()
            db.dispose()
            shutil.rmtree(work, ignore_errors=True)
    text_out = json.dumps(out, indent=2)
    print(text_out)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text_out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
