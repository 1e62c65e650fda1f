"""The index at city scale: p95 of the playback timeline, a ten-camera event search and an
interview report over a generated index, PostgreSQL beside SQLite at 1/10 of the size.

The rows are generated inside each database (PostgreSQL ``generate_series``, SQLite a
recursive CTE): ``--cameras`` cameras with one 60 s segment a minute each, back to back,
and ``--events`` events spread over the same time. Indexes are those of the migrations,
built after the load. The queries are the ones the code runs (vms.web.routes.recordings
timeline, vms.detection.events.search_events with ten cameras, vms.custody.report's
segments and gaps of a room's camera over two hours), each ``--runs`` times on random
cameras and times; the database and its files are removed at the end.

    .venv/bin/python -m bench.index --segments 100000000 --events 10000000 --json out.json

Needs about 450 bytes of disk per segment row (PostgreSQL, with indexes): it checks
``df`` of the temporary folder first and refuses a size that does not fit.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from tests.support.postgres import PostgresCluster
from vms.db.migrate import upgrade
from vms.db.session import Database

BASE = datetime(2026, 1, 1, tzinfo=UTC)
BYTES_PER_ROW = 450
TYPES = ("loitering", "intrusion", "person_down", "crowd", "camera_offline")

_PG_FILL = """
INSERT INTO cameras (id, name, kind, site, room, room_type, source, record, retention_days,
                     updated_at)
SELECT format('c%%s', lpad(i::text, 5, '0')), 'cam', 'street', 'city', NULL, NULL, 'rtsp://x',
       true, 30, now() FROM generate_series(0, %(cams)s - 1) AS i;
INSERT INTO segments (camera_id, start, "end", duration_s, path, bytes, sha256, codec, width,
                      height, fps, packets, status, location)
SELECT format('c%%s', lpad((i %% %(cams)s)::text, 5, '0')),
       %(base)s::timestamptz + ((i / %(cams)s) * interval '60 seconds'),
       %(base)s::timestamptz + ((i / %(cams)s) * interval '60 seconds') + interval '60 seconds',
       60, format('recordings/c%%s/%%s.mp4', i %% %(cams)s, i), 30000000,
       md5(i::text) || md5((i + 1)::text), 'h265', 1920, 1080, 25, 1500, 'complete', 'bucket'
FROM generate_series(0, %(segs)s - 1) AS i;
INSERT INTO events (type, camera_id, zone, start, "end", severity, data)
SELECT (ARRAY['loitering','intrusion','person_down','crowd','camera_offline'])[1 + i %% 5],
       format('c%%s', lpad(((i::bigint * 7919) %% %(cams)s)::text, 5, '0')), NULL,
       %(base)s::timestamptz + (((i::bigint * 104729) %% %(span)s) * interval '1 second'),
       NULL, 'warning', '{}'::json
FROM generate_series(0, %(events)s - 1) AS i;
"""


def _pg_indexes(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "SELECT indexdef, indexname FROM pg_indexes WHERE tablename IN ('segments', 'events', "
        "'gaps') AND indexname NOT LIKE '%%pkey'"
    ).fetchall()
    for _defn, name in rows:
        conn.execute(f'DROP INDEX "{name}"')
    return [r[0] for r in rows]


def fill_postgres(url: str, cams: int, segs: int, events: int) -> dict[str, float]:
    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    span = max(1, (segs // cams) * 60)
    t0 = time.perf_counter()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("ALTER TABLE segments DROP CONSTRAINT IF EXISTS segments_path_key")
        defs = _pg_indexes(conn)
        for stmt in _PG_FILL.split(";\n"):
            if stmt.strip():
                conn.execute(
                    stmt,
                    {"cams": cams, "segs": segs, "events": events, "base": BASE, "span": span},
                )
        loaded = time.perf_counter() - t0
        for d in defs:
            conn.execute(d)
        conn.execute("ALTER TABLE segments ADD CONSTRAINT segments_path_key UNIQUE (path)")
        conn.execute("ANALYZE")
        size = conn.execute(
            "SELECT pg_total_relation_size('segments'), pg_total_relation_size('events')"
        ).fetchone()
    assert size is not None
    return {
        "load_s": round(loaded, 1),
        "index_s": round(time.perf_counter() - t0 - loaded, 1),
        "segments_bytes": int(size[0]),
        "events_bytes": int(size[1]),
        "bytes_per_segment_row": round(int(size[0]) / max(segs, 1), 1),
    }


def fill_sqlite(path: Path, cams: int, segs: int, events: int) -> None:
    db = Database(f"sqlite:///{path}")
    upgrade(db.engine)
    db.dispose()
    span = max(1, (segs // cams) * 60)
    base = BASE.replace(tzinfo=None).isoformat(sep=" ")
    con = sqlite3.connect(path)
    con.executescript(
        f"""
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {cams} - 1)
        INSERT INTO cameras SELECT printf('c%05d', i), 'cam', 'street', 'city', NULL, NULL,
            'rtsp://x', 1, 30, '{base}' FROM n;
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {segs} - 1)
        INSERT INTO segments (camera_id, start, "end", duration_s, path, bytes, sha256, codec,
            width, height, fps, packets, status, location)
        SELECT printf('c%05d', i % {cams}),
            strftime('%Y-%m-%d %H:%M:%f', '{base}', printf('+%d seconds', (i / {cams}) * 60)),
            strftime('%Y-%m-%d %H:%M:%f', '{base}', printf('+%d seconds', (i / {cams}) * 60 + 60)),
            60, printf('recordings/c%d/%d.mp4', i % {cams}, i), 30000000, hex(randomblob(32)),
            'h265', 1920, 1080, 25, 1500, 'complete', 'bucket' FROM n;
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {events} - 1)
        INSERT INTO events (type, camera_id, zone, start, "end", severity, data)
        SELECT (CASE i % 5 WHEN 0 THEN 'loitering' WHEN 1 THEN 'intrusion'
                WHEN 2 THEN 'person_down' WHEN 3 THEN 'crowd' ELSE 'camera_offline' END),
            printf('c%05d', (i * 7919) % {cams}), NULL,
            strftime('%Y-%m-%d %H:%M:%f', '{base}', printf('+%d seconds', (i * 104729) % {span})),
            NULL, 'warning', '{{}}' FROM n;
        ANALYZE;
        """
    )
    con.close()


def queries(db: Database, cams: int, days: float, runs: int, seed: int) -> dict[str, float]:
    """p50/p95 (ms) of the three queries, on random cameras and times."""
    from sqlalchemy import or_, select

    from vms.db.models import Event, Gap, Segment
    from vms.detection.events import search_events

    rng = random.Random(seed)
    span_days = max(days, 1 / 24)

    def cam() -> str:
        return f"c{rng.randrange(cams):05d}"

    def moment() -> datetime:
        return BASE + timedelta(seconds=rng.uniform(0, span_days * 86400))

    def timeline() -> None:
        c, day = cam(), moment().replace(hour=0, minute=0, second=0, microsecond=0)
        end = day + timedelta(days=1)
        with db.session() as s:
            for model in (Segment, Gap):
                list(
                    s.scalars(
                        select(model)
                        .where(model.camera_id == c, model.start < end)
                        .where(or_(model.end.is_(None), model.end > day))
                        .order_by(model.start)
                    )
                )
            list(
                s.scalars(
                    select(Event)
                    .where(Event.camera_id == c, Event.start < end)
                    .where(or_(Event.end.is_(None), Event.end > day))
                    .order_by(Event.start)
                    .limit(2000)
                )
            )

    def search() -> None:
        ten = [cam() for _ in range(10)]
        start = moment()
        for c in ten:  # the search page asks per camera (the API takes one camera)
            search_events(db, camera=c, start=start, end=start + timedelta(days=1), limit=200)

    def report() -> None:
        c, start = cam(), moment()
        end = start + timedelta(hours=2)
        with db.session() as s:
            list(
                s.scalars(
                    select(Segment)
                    .where(Segment.camera_id == c, Segment.start < end)
                    .where(or_(Segment.end.is_(None), Segment.end > start))
                    .order_by(Segment.camera_id, Segment.start)
                )
            )
            list(
                s.scalars(
                    select(Gap)
                    .where(Gap.camera_id == c, Gap.start < end)
                    .where(or_(Gap.end.is_(None), Gap.end > start))
                )
            )

    out: dict[str, float] = {}
    for name, fn in (("timeline", timeline), ("event_search_10", search), ("report", report)):
        fn()  # warm the connection pool and caches once
        times = []
        for _ in range(runs):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1000)
        times.sort()
        out[f"{name}_p50_ms"] = round(statistics.median(times), 2)
        out[f"{name}_p95_ms"] = round(times[int(0.95 * (len(times) - 1))], 2)
    return out


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    got = fn()
    return got, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--segments", type=int, default=100_000_000)
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--cameras", type=int, default=5000)
    ap.add_argument("--sqlite-fraction", type=float, default=0.1)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    tmp = Path(tempfile.gettempdir())
    need = int(args.segments * BYTES_PER_ROW * (1 + args.sqlite_fraction))
    free = shutil.disk_usage(tmp).free
    if need > free * 0.8:
        raise SystemExit(f"needs ~{need / 1e9:.0f} GB in {tmp}, {free / 1e9:.0f} GB free")
    days = args.segments / args.cameras / 1440
    result: dict[str, Any] = {
        "segments": args.segments,
        "events": args.events,
        "cameras": args.cameras,
        "days": round(days, 2),
    }
    with PostgresCluster() as pg:
        url = pg.create_database("bench_index")
        db = Database(url)
        upgrade(db.engine)
        result["postgresql_fill"] = fill_postgres(url, args.cameras, args.segments, args.events)
        result["postgresql"] = queries(db, args.cameras, days, args.runs, seed=1)
        db.dispose()
    small = max(1, int(args.segments * args.sqlite_fraction))
    small_events = max(1, int(args.events * args.sqlite_fraction))
    with tempfile.TemporaryDirectory(prefix="vms-index-") as d:
        path = Path(d) / "bench.db"
        _, took = _timed(lambda: fill_sqlite(path, args.cameras, small, small_events))
        result["sqlite_fill"] = {
            "segments": small,
            "events": small_events,
            "load_s": round(took, 1),
            "bytes": path.stat().st_size,
        }
        db = Database(f"sqlite:///{path}")
        result["sqlite"] = queries(db, args.cameras, small / args.cameras / 1440, args.runs, seed=1)
        db.dispose()
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
