"""The index at city scale: p95 of the playback timeline, a ten-camera event search and an
interview report over a generated index, PostgreSQL beside SQLite at 1/10 of the size.

The rows are generated inside each database (PostgreSQL ``generate_series``, SQLite a
recursive CTE): ``--cameras`` cameras with one 60 s segment a minute each, back to back, in
time order as cameras write them; ``--events`` events of 30 s to 10 min spread over the same
time (half of the last hour's still open); a 20 s reconnect per camera and day, and one
camera in a thousand down for three days. On PostgreSQL each day is a partition (migration
0017), loaded as a standalone table and attached; the indexes are those of the migrations.
As in a live index, the closed days (all but the last two) are rewritten in camera order by
the partitions job's own function before the last two days' rows arrive.

The queries are the code's own: the playback timeline of one camera's day
(vms.recordings.day_rows, the timeline route's), the search page's event query over ten
cameras (vms.events.find_events, newest 200), and an interview report's segments and gaps
of a camera over two hours (vms.recordings), each ``--runs`` times on random cameras and
times; the database and its files are removed at the end.

    .venv/bin/python -m bench.index --segments 100000000 --events 10000000 --json out.json

``--sqlite-fraction 0`` leaves the SQLite phase out.

Needs about 500 bytes of disk per segment row (PostgreSQL, with indexes) and room for one
day's partition twice: it checks ``df`` of the temporary folder first and refuses a size
that does not fit.
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

from sqlalchemy import text

from tests.support.postgres import PostgresCluster
from vms.db.migrate import upgrade
from vms.db.session import Database

BASE = datetime(2026, 1, 1, tzinfo=UTC)
BYTES_PER_ROW = 500
#: A PostgreSQL configured for the index rather than the tests' defaults: a quarter of this
#: 24 GB machine for shared buffers, and no WAL for the day tables the load makes.
PG_SETTINGS = {
    "shared_buffers": "6GB",
    "effective_cache_size": "16GB",
    "maintenance_work_mem": "1GB",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_wal_size": "2GB",
}

#: One day of rows, loaded into a new table that becomes that day's partition.
_PG_DAY = {
    "segments": """
INSERT INTO {part} (id, camera_id, start, "end", duration_s, path, bytes, sha256, codec, width,
                    height, fps, packets, status, location)
SELECT i, format('c%s', lpad((i % {cams})::text, 5, '0')),
       {base} + ((i / {cams}) * interval '60 seconds'),
       {base} + ((i / {cams}) * interval '60 seconds') + interval '60 seconds',
       60, format('recordings/c%s/%s.mp4', i % {cams}, i), 30000000,
       md5(i::text) || md5((i + 1)::text), 'h265', 1920, 1080, 25, 1500, 'complete', 'bucket'
FROM generate_series({lo}::bigint, {hi} - 1) AS i""",
    # Events last 30 s to 10 min; those of the last hour are half still open.
    "events": """
INSERT INTO {part} (id, type, camera_id, zone, start, "end", severity, data)
SELECT i, (ARRAY['loitering','intrusion','person_down','crowd','camera_offline'])[1 + i % 5],
       format('c%s', lpad(((i * 7919) % {cams})::text, 5, '0')), NULL, t,
       CASE WHEN t > {last_hour} AND i % 2 = 0 THEN NULL
            ELSE t + ((30 + i % 570) * interval '1 second') END, 'warning', '{{}}'::json
FROM generate_series({lo}::bigint, {hi} - 1) AS i,
     LATERAL (SELECT {day} + (((i * 104729) % {day_s}) * interval '1 second') AS t) AS x
WHERE t < {end_t}""",
    # One 20 s reconnect a camera a day, and one camera in a thousand down for days.
    "gaps": """
INSERT INTO {part} (id, camera_id, start, "end", reason, kind)
SELECT i, format('c%s', lpad((i % {cams})::text, 5, '0')), t,
       CASE WHEN i % 1000 = 7 THEN t + interval '3 days' ELSE t + interval '20 seconds' END,
       'camera offline', 'video'
FROM generate_series({lo}::bigint, {hi} - 1) AS i,
     LATERAL (SELECT {day} + (((i * 7) % {day_s}) * interval '1 second') AS t) AS x
WHERE t < {end_t}""",
}


def _day_ranges(table: str, cams: int, segs: int, events: int, days: int) -> list[tuple[int, int]]:
    """The id range of each day's rows (every generator numbers its rows from 0)."""
    if table == "segments":
        per = cams * 1440
        return [(d * per, min((d + 1) * per, segs)) for d in range(days)]
    if table == "events":
        per = -(-events // days)
        return [(d * per, min((d + 1) * per, events)) for d in range(days)]
    return [(d * cams, (d + 1) * cams) for d in range(days)]


def fill_postgres(url: str, cams: int, segs: int, events: int) -> dict[str, float]:
    """Load the rows a day partition at a time, two at once, as PostgreSQL loads best: each
    day into a new table (with ``wal_level=minimal`` a table made in its loading transaction
    writes no WAL), its indexes built, then attached as that day's partition of the
    migrated table. The rows of each day are in time order, as cameras write them."""
    from concurrent.futures import ThreadPoolExecutor

    from vms.db.partitions import (
        PARTITIONED,
        index_statements,
        partition_name,
        reorder,
        standalone_day,
    )

    engine = Database(url).engine
    span_s = (segs // cams) * 60
    days = max(1, -(-span_s // 86400))
    end_t = BASE + timedelta(seconds=span_s)
    t0 = time.perf_counter()

    def load(table: str, d: int, lo: int, hi: int) -> str:
        day = BASE + timedelta(days=d)
        part = partition_name(table, day.date())
        with engine.begin() as conn:
            bounds = standalone_day(conn, table, day.date(), part)
            conn.exec_driver_sql(
                _PG_DAY[table].format(
                    part=part, cams=cams, lo=lo, hi=hi, base=f"'{BASE.isoformat()}'::timestamptz",
                    day=f"'{day.isoformat()}'::timestamptz", day_s=86400,
                    end_t=f"'{end_t.isoformat()}'::timestamptz",
                    last_hour=f"'{(end_t - timedelta(hours=1)).isoformat()}'::timestamptz",
                ).replace("%", "%%")
            )  # fmt: skip
        with engine.begin() as conn:
            for statement in index_statements(conn, table, part):
                conn.execute(text(statement))
        return f"ALTER TABLE {table} ATTACH PARTITION {part} {bounds}"

    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO cameras (id, name, kind, site, room, room_type, source, record, "
                "retention_days, updated_at) SELECT format('c%s', lpad(i::text, 5, '0')), "
                "'cam', 'street', 'city', NULL, NULL, 'rtsp://x', true, 30, now() "
                "FROM generate_series(0, :n - 1) AS i"
            ),
            {"n": cams},
        )
        for table in PARTITIONED:  # the bench makes its own day partitions
            for name in conn.execute(
                text(
                    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = CAST(:t AS regclass) AND c.relname <> :d"
                ),
                {"t": table, "d": f"{table}_default"},
            ).scalars():
                conn.execute(text(f"DROP TABLE {name}"))
    work = [
        (table, d, lo, hi)
        for table in PARTITIONED
        for d, (lo, hi) in enumerate(_day_ranges(table, cams, segs, events, days))
        if hi > lo
    ]
    # As in a live index: the closed days (all but yesterday and today, the partitions job's
    # default) are rewritten in camera order by the job's own function, at "night", before
    # the last two days' rows arrive.
    closed = [w for w in work if w[1] < days - 2]
    recent = [w for w in work if w[1] >= days - 2]

    def attach(statements: list[str]) -> None:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(text(statement))

    def rewrite(w: tuple[str, int, int, int]) -> None:
        with engine.begin() as conn:
            reorder(conn, w[0], (BASE + timedelta(days=w[1])).date())

    with ThreadPoolExecutor(2) as pool:
        attach(list(pool.map(lambda w: load(*w), closed)))
        loaded = time.perf_counter() - t0
        for w in closed:  # one at a time, as the job does (each detach holds the table)
            rewrite(w)
        reordered = time.perf_counter() - t0 - loaded
        t1 = time.perf_counter()
        attach(list(pool.map(lambda w: load(*w), recent)))
        loaded += time.perf_counter() - t1
    with engine.begin() as conn:
        for table in PARTITIONED:
            top = conn.execute(text(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")).scalar()
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {top})"))
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
        size = conn.execute(
            text(
                "SELECT (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE "
                "inhparent = 'segments'::regclass), (SELECT sum(pg_total_relation_size(inhrelid)) "
                "FROM pg_inherits WHERE inhparent = 'events'::regclass), (SELECT count(*) FROM "
                "pg_inherits WHERE inhparent = 'segments'::regclass)"
            )
        ).one()
    engine.dispose()
    return {
        "load_s": round(loaded, 1),
        "reorder_s": round(reordered, 1),
        "partitions_reordered": len(closed),
        "attach_analyze_s": round(time.perf_counter() - t0 - loaded - reordered, 1),
        "segments_bytes": int(size[0]),
        "events_bytes": int(size[1]),
        "segment_partitions": int(size[2]),
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
            CASE WHEN (i * 104729) % {span} > {span} - 3600 AND i % 2 = 0 THEN NULL
                 ELSE strftime('%Y-%m-%d %H:%M:%f', '{base}',
                      printf('+%d seconds', (i * 104729) % {span} + 30 + i % 570)) END,
            'warning', '{{}}' FROM n;
        WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n
                                WHERE i < {cams} * max(1, {span} / 86400) - 1)
        INSERT INTO gaps (camera_id, start, "end", reason, kind)
        SELECT printf('c%05d', i % {cams}),
            strftime('%Y-%m-%d %H:%M:%f', '{base}',
                     printf('+%d seconds', (i / {cams}) * 86400 + (i * 7) % 86400)),
            strftime('%Y-%m-%d %H:%M:%f', '{base}',
                     printf('+%d seconds', (i / {cams}) * 86400 + (i * 7) % 86400
                            + CASE WHEN i % 1000 = 7 THEN 3 * 86400 ELSE 20 END)),
            'camera offline', 'video' FROM n;
        ANALYZE;
        """
    )
    con.close()


def queries(db: Database, cams: int, days: float, runs: int, seed: int) -> dict[str, float]:
    """p50/p95 (ms) of the three queries, as the code runs them, on random cameras and
    times: the playback timeline of one camera's day (vms.recordings.day_rows, which the
    timeline route runs), the search page's event search over ten cameras, and an interview
    report's segments and gaps of a room's camera over two hours."""
    from vms.events import NEWEST, EventFilter, find_events
    from vms.recordings import day_rows, gaps_in_range, segments_in_range

    rng = random.Random(seed)
    span_days = max(days, 1 / 24)

    def cam() -> str:
        return f"c{rng.randrange(cams):05d}"

    def moment() -> datetime:
        return BASE + timedelta(seconds=rng.uniform(0, span_days * 86400))

    def timeline() -> None:
        c, day = cam(), moment().replace(hour=0, minute=0, second=0, microsecond=0)
        with db.session() as s:
            day_rows(s, c, day, day + timedelta(days=1))

    def search() -> None:  # the search page's query (vms.web.routes.search)
        ten = [cam() for _ in range(10)]
        start = moment()
        f = EventFilter(cameras=ten, since=start, until=start + timedelta(days=1))
        with db.session() as s:
            find_events(s, f, order=NEWEST, limit=200)

    def report() -> None:
        c, start = cam(), moment()
        end = start + timedelta(hours=2)
        segments_in_range(db, c, start, end)
        gaps_in_range(db, c, start, end, kind=None)

    out: dict[str, float] = {}
    for name, fn in (("timeline", timeline), ("event_search_10", search), ("report", report)):
        fn()  # warm the connection pool once
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
    # PostgreSQL's files (and one day rewritten beside itself) go before SQLite's are made.
    need = int(args.segments * BYTES_PER_ROW * max(1.1, args.sqlite_fraction))
    free = shutil.disk_usage(tmp).free
    if need > free * 0.95:
        raise SystemExit(f"needs ~{need / 1e9:.0f} GB in {tmp}, {free / 1e9:.0f} GB free")
    days = args.segments / args.cameras / 1440
    result: dict[str, Any] = {
        "segments": args.segments,
        "events": args.events,
        "cameras": args.cameras,
        "days": round(days, 2),
    }
    with PostgresCluster(settings=PG_SETTINGS) as pg:
        url = pg.create_database("bench_index")
        db = Database(url)
        upgrade(db.engine)
        result["postgresql_fill"] = fill_postgres(url, args.cameras, args.segments, args.events)
        result["postgresql"] = queries(db, args.cameras, days, args.runs, seed=1)
        db.dispose()
    if args.sqlite_fraction > 0:
        result.update(sqlite_phase(args))
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    return 0


def sqlite_phase(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {}
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
    return result


if __name__ == "__main__":
    raise SystemExit(main())
