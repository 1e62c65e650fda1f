"""Day partitions of the footage tables on PostgreSQL: made ahead, empty old ones dropped.

Migration 0017 partitions ``segments``, ``gaps`` and ``events`` by range of ``start`` with a
default partition (``<table>_default``). This module keeps one partition per UTC day,
``<table>_pYYYYMMDD``, from yesterday to ``database.partitions_ahead_days`` ahead. A row
dated outside them (a camera clock years off, a body-worn file recorded a week ago, a
database just migrated) is never refused: it lands in the default partition, and the next
run makes its day's partition and moves it there. Retention deletes rows (held footage
stays); a day partition older than yesterday that retention has emptied is dropped.

``plan_partitions`` is the decision, a pure function of what exists and the day;
``maintain`` reads the catalogue, applies the plan and returns what it did. It runs when a
node starts (after the migrations) and as the ``partitions`` job, on one node at a time.
SQLite has no partitions: ``maintain`` does nothing there.

PostgreSQL's declarative partitioning does the work; no extension (pg_partman) is needed
for day ranges this simple, and a plain SQL job keeps vms on a stock PostgreSQL.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

PARTITIONED = ("segments", "gaps", "events")


@dataclass(frozen=True)
class PartitionState:
    """What one table has: its day partitions, the days of the rows waiting in its default
    partition, and which of its day partitions hold no row."""

    days: frozenset[date]
    in_default: frozenset[date]
    empty: frozenset[date]


@dataclass(frozen=True)
class PartitionPlan:
    create: tuple[date, ...]  # days to make (rows of those in the default move in)
    drop: tuple[date, ...]  # empty old days to drop


def plan_partitions(state: PartitionState, today: date, ahead_days: int) -> PartitionPlan:
    """Yesterday to ``ahead_days`` ahead, and every day a waiting row needs; drop the empty
    days before yesterday (never a day a waiting row needs)."""
    wanted = {today + timedelta(days=d) for d in range(-1, ahead_days + 1)}
    wanted |= state.in_default
    drop = {d for d in state.empty & state.days if d < today - timedelta(days=1)}
    return PartitionPlan(
        create=tuple(sorted(wanted - state.days)),
        drop=tuple(sorted(drop - state.in_default)),
    )


@dataclass(frozen=True)
class PartitionReport:
    created: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    moved: int = 0  # rows moved from a default partition to their day


def partition_name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def _bounds(day: date) -> tuple[datetime, datetime]:
    lo = datetime.combine(day, time(), tzinfo=UTC)
    return lo, lo + timedelta(days=1)


def _state(conn: Connection, table: str, today: date) -> PartitionState:
    pattern = re.compile(rf"^{table}_p(\d{{8}})$")
    names = conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:t AS regclass)"
        ),
        {"t": table},
    ).scalars()
    days = {
        datetime.strptime(m.group(1), "%Y%m%d").date()
        for n in names
        if (m := pattern.match(n)) is not None
    }
    waiting = conn.execute(
        text(f"SELECT DISTINCT CAST(start AT TIME ZONE 'UTC' AS date) FROM {table}_default")  # noqa: S608
    ).scalars()
    empty = {
        d
        for d in days
        if d < today - timedelta(days=1)
        and not conn.execute(
            text(f"SELECT EXISTS (SELECT 1 FROM {partition_name(table, d)})")  # noqa: S608
        ).scalar()
    }
    return PartitionState(frozenset(days), frozenset(waiting), frozenset(empty))


def _create(conn: Connection, table: str, day: date, waiting: bool) -> int:
    name = partition_name(table, day)
    lo, hi = _bounds(day)
    bounds = {"lo": lo, "hi": hi}
    literal = f"FOR VALUES FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}')"
    if not waiting:
        conn.execute(text(f"CREATE TABLE {name} PARTITION OF {table} {literal}"))
        return 0
    # Rows of that day wait in the default partition, which PostgreSQL will not split:
    # move them into a new table, then attach it. The move is no deletion of footage, so
    # the reference triggers of migration 0017 let it pass.
    conn.execute(text("SET LOCAL vms.moving_rows = 'on'"))
    conn.execute(
        text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    )
    moved = conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {table}_default WHERE start >= :lo AND start < :hi "  # noqa: S608
            f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        ),
        bounds,
    ).rowcount
    conn.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} {literal}"))
    conn.execute(text("SET LOCAL vms.moving_rows = 'off'"))
    return int(moved or 0)


def _drop(conn: Connection, table: str, day: date) -> bool:
    name = partition_name(table, day)
    conn.execute(text(f"LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE"))
    if conn.execute(text(f"SELECT EXISTS (SELECT 1 FROM {name})")).scalar():  # noqa: S608
        return False  # a late row arrived since the plan: keep it
    conn.execute(text(f"DROP TABLE {name}"))
    return True


def maintain(
    engine: Engine, now: datetime, ahead_days: int, tables: Iterable[str] = PARTITIONED
) -> PartitionReport:
    """Make the day partitions the plan wants and drop the empty old ones (PostgreSQL)."""
    if engine.dialect.name != "postgresql":
        return PartitionReport()
    today = now.astimezone(UTC).date()
    created: list[str] = []
    dropped: list[str] = []
    moved = 0
    for table in tables:
        with engine.begin() as conn:
            # Nodes starting together: one maintains the partitions at a time.
            conn.execute(text("SELECT pg_advisory_xact_lock(7761267, 3)"))
            state = _state(conn, table, today)
            plan = plan_partitions(state, today, ahead_days)
            for day in plan.create:
                moved += _create(conn, table, day, day in state.in_default)
                created.append(partition_name(table, day))
            for day in plan.drop:
                if _drop(conn, table, day):
                    dropped.append(partition_name(table, day))
    if created or dropped:
        log.info("partitions: made %s, dropped %s, moved %d rows", created, dropped, moved)
    return PartitionReport(tuple(created), tuple(dropped), moved)
