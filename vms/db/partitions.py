"""Day partitions of the footage tables on PostgreSQL: made ahead, empty old ones dropped.

Migration 0017 partitions ``segments``, ``gaps`` and ``events`` by range of ``start`` with a
default partition (``<table>_default``). This module keeps one partition per UTC day,
``<table>_pYYYYMMDD``, from yesterday to ``database.partitions_ahead_days`` ahead. A row
dated outside them (a camera clock years off, a body-worn file recorded a week ago, a
database just migrated) is never refused: it lands in the default partition, and the next
run makes its day's partition and moves it there. Retention deletes rows (held footage
stays); a day partition older than yesterday that retention has emptied is dropped.

Footage arrives in time order from every camera at once, so a day partition holds one
camera's minute next to five thousand others': a day of one camera is 1,440 rows on 1,440
pages, and read from disk (127 us a page here) a timeline takes 180 ms. Once a day is closed
(``database.reorder_after_days``), the job rewrites its partition in (camera, start) order,
so that a camera's day is a few dozen neighbouring pages. The rewrite is a new table filled
in order and swapped in for the old one in one transaction: readers go on reading the old
one meanwhile; writes to that closed day (a tiering move, a retention deletion, a late
body-worn file) wait for the swap (EXCLUSIVE lock), and the swap itself holds the parent
for the moment of the detach and attach. The rows keep their ids, so nothing that refers
to them changes. PostgreSQL's CLUSTER would do the same with an exclusive lock that blocks
readers too for the whole rewrite; pg_repack is an extension a stock server lacks.

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
    partition, which of its day partitions hold no row, and which are in camera order."""

    days: frozenset[date]
    in_default: frozenset[date]
    empty: frozenset[date]
    in_order: frozenset[date] = frozenset()


@dataclass(frozen=True)
class PartitionPlan:
    create: tuple[date, ...]  # days to make (rows of those in the default move in)
    drop: tuple[date, ...]  # empty old days to drop
    reorder: tuple[date, ...] = ()  # closed days to rewrite in camera order


def plan_partitions(
    state: PartitionState, today: date, ahead_days: int, reorder_after_days: int = 0
) -> PartitionPlan:
    """Yesterday to ``ahead_days`` ahead, and every day a waiting row needs; drop the empty
    days before yesterday (never a day a waiting row needs); rewrite in camera order the
    days that ended ``reorder_after_days`` or more ago (0: never) and are not yet."""
    wanted = {today + timedelta(days=d) for d in range(-1, ahead_days + 1)}
    wanted |= state.in_default
    drop = {d for d in state.empty & state.days if d < today - timedelta(days=1)}
    drop -= state.in_default
    closed = today - timedelta(days=reorder_after_days)
    reorder = (
        {d for d in state.days if d < closed} - state.in_order - drop
        if reorder_after_days
        else set()
    )
    return PartitionPlan(
        create=tuple(sorted(wanted - state.days)),
        drop=tuple(sorted(drop)),
        reorder=tuple(sorted(reorder)),
    )


@dataclass(frozen=True)
class PartitionReport:
    created: tuple[str, ...] = ()
    dropped: tuple[str, ...] = ()
    moved: int = 0  # rows moved from a default partition to their day
    reordered: tuple[str, ...] = ()


def partition_name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def _bounds(day: date) -> tuple[datetime, datetime]:
    lo = datetime.combine(day, time(), tzinfo=UTC)
    return lo, lo + timedelta(days=1)


def partitions_of(conn: Connection, table: str, comment: str | None = None) -> list[str]:
    """The names of ``table``'s partitions (those whose comment is ``comment``, if given)."""
    q = (
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = CAST(:t AS regclass)"
    )
    if comment is not None:
        q += " AND obj_description(c.oid) = :mark"
    return list(conn.execute(text(q), {"t": table, "mark": comment}).scalars())


def _state(conn: Connection, table: str, today: date) -> PartitionState:
    pattern = re.compile(rf"^{table}_p(\d{{8}})$")
    names = partitions_of(conn, table)
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
    ordered = partitions_of(conn, table, IN_ORDER)
    in_order = {
        datetime.strptime(m.group(1), "%Y%m%d").date()
        for n in ordered
        if (m := pattern.match(n)) is not None
    }
    return PartitionState(
        frozenset(days), frozenset(waiting), frozenset(empty), frozenset(in_order)
    )


#: The comment a partition rewritten in camera order carries.
IN_ORDER = "vms: in (camera, start) order"


def index_statements(conn: Connection, table: str, part: str) -> list[str]:
    """``table``'s indexes and keys, stated for a standalone table ``part`` that is to
    become its partition (ATTACH then finds them made instead of building them)."""
    out = []
    for defn in conn.execute(
        text("SELECT indexdef FROM pg_indexes WHERE tablename = :t"), {"t": table}
    ).scalars():
        head, using = defn.split(" USING ", 1)
        unique = "UNIQUE " if head.startswith("CREATE UNIQUE") else ""
        out.append(f"CREATE {unique}INDEX ON {part} USING {using}")
    return out


def standalone_day(conn: Connection, table: str, day: date, name: str) -> str:
    """A new table shaped like ``table`` with the CHECK of ``day``'s bounds (so that
    ATTACH need not scan it); returns the FOR VALUES clause to attach it with."""
    lo, hi = _bounds(day)
    conn.execute(
        text(
            f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS, "
            f"CHECK (start >= '{lo.isoformat()}' AND start < '{hi.isoformat()}'))"
        )
    )
    return _for_values(day)


def _for_values(day: date) -> str:
    lo, hi = _bounds(day)
    return f"FOR VALUES FROM ('{lo.isoformat()}') TO ('{hi.isoformat()}')"


def reorder(conn: Connection, table: str, day: date) -> None:
    """Rewrite ``day``'s partition in (camera, start) order, in one transaction."""
    name = partition_name(table, day)
    new = f"{name}_new"
    conn.execute(text(f"LOCK TABLE {name} IN EXCLUSIVE MODE"))  # readers go on
    bounds = standalone_day(conn, table, day, new)
    conn.execute(
        text(f"INSERT INTO {new} SELECT * FROM {name} ORDER BY camera_id, start, id")  # noqa: S608
    )
    for statement in index_statements(conn, table, new):
        conn.execute(text(statement))
    conn.execute(text(f"ALTER TABLE {table} DETACH PARTITION {name}"))
    conn.execute(text(f"DROP TABLE {name}"))
    conn.execute(text(f"ALTER TABLE {new} RENAME TO {name}"))
    conn.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} {bounds}"))
    conn.execute(text(f"COMMENT ON TABLE {name} IS '{IN_ORDER}'"))
    conn.execute(text(f"ANALYZE {name}"))


def _create(conn: Connection, table: str, day: date, waiting: bool) -> int:
    name = partition_name(table, day)
    if not waiting:
        values = _for_values(day)
        conn.execute(text(f"CREATE TABLE {name} PARTITION OF {table} {values}"))
        return 0
    # Rows of that day wait in the default partition, which PostgreSQL will not split:
    # move them into a new table, then attach it. The move is no deletion of footage, so
    # the reference triggers of migration 0017 let it pass.
    conn.execute(text("SET LOCAL vms.moving_rows = 'on'"))
    values = standalone_day(conn, table, day, name)
    lo, hi = _bounds(day)
    moved = conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {table}_default WHERE start >= :lo AND start < :hi "  # noqa: S608
            f"RETURNING *) INSERT INTO {name} SELECT * FROM moved"
        ),
        {"lo": lo, "hi": hi},
    ).rowcount
    conn.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} {values}"))
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
    engine: Engine,
    now: datetime,
    ahead_days: int,
    tables: Iterable[str] = PARTITIONED,
    *,
    reorder_after_days: int = 0,
) -> PartitionReport:
    """Make the day partitions the plan wants, drop the empty old ones, and rewrite the
    closed days in camera order, one each transaction (PostgreSQL)."""
    if engine.dialect.name != "postgresql":
        return PartitionReport()
    today = now.astimezone(UTC).date()
    created: list[str] = []
    dropped: list[str] = []
    reordered: list[str] = []
    moved = 0
    for table in tables:
        with engine.begin() as conn:
            # Nodes starting together: one maintains the partitions at a time.
            conn.execute(text("SELECT pg_advisory_xact_lock(7761267, 3)"))
            state = _state(conn, table, today)
            plan = plan_partitions(state, today, ahead_days, reorder_after_days)
            for day in plan.create:
                moved += _create(conn, table, day, day in state.in_default)
                created.append(partition_name(table, day))
            for day in plan.drop:
                if _drop(conn, table, day):
                    dropped.append(partition_name(table, day))
        for day in plan.reorder:
            with engine.begin() as conn:
                reorder(conn, table, day)
            reordered.append(partition_name(table, day))
    if created or dropped or reordered:
        log.info(
            "partitions: made %s, dropped %s, moved %d rows, put in camera order %s",
            created, dropped, moved, reordered,
        )  # fmt: skip
    return PartitionReport(tuple(created), tuple(dropped), moved, tuple(reordered))
