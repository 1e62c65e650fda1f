"""the index at city scale: segments, gaps and events partitioned by time on PostgreSQL

PostgreSQL: ``segments``, ``gaps`` and ``events`` become tables partitioned by range of
``start`` (a ``<table>_default`` partition here; the day partitions are made ahead and the
empty old ones dropped by vms.db.partitions, run at start and by the ``partitions`` job).
A partitioned table's unique keys must hold its partition key: the primary keys become
``(id, start)`` (ids still come from one sequence, so ``id`` stays unique), and the segment
path is unique with its start. Foreign keys that point at these tables (segment streams,
alert acknowledgements, custody alerts, evidence items, body-worn files and shifts) cannot
be declared on a partitioned table's id alone, so triggers keep the same promise: a row
that refers to one must find it (``FOR KEY SHARE``, as a foreign key does), and deleting
the referred row does what the foreign key did (cascade, set null, or refuse).

Both backends: a partial index of *long* rows (still open, or longer than two hours) per
table, so a range query bounded below (which the partitions need) still finds an outage or a
body-worn file that began long before the range (vms.db.ranges).

Revision ID: 0017_partitions
Revises: 0012_streams, 0013_bodyworn, 0015b_cluster
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_partitions"
down_revision = ("0012_streams", "0013_bodyworn", "0015b_cluster")
branch_labels = None
depends_on = None

TABLES = ("segments", "gaps", "events")

#: The long-row predicate of vms.db.ranges, as each backend's partial index states it.
LONG_WHERE = {
    "postgresql": '"end" IS NULL OR "end" - start > interval \'2 hours\'',
    "sqlite": '"end" IS NULL OR "end" > datetime(start, \'+2 hours\')',
}

_REF_FUNCTIONS = """
CREATE OR REPLACE FUNCTION vms_ref_check() RETURNS trigger AS $$
-- A row's reference (TG_ARGV[0], a column) to TG_ARGV[1]'s id must find its row.
DECLARE
    ref bigint;
BEGIN
    EXECUTE format('SELECT ($1).%I', TG_ARGV[0]) INTO ref USING NEW;
    IF ref IS NOT NULL THEN
        EXECUTE format('SELECT id FROM %I WHERE id = $1 FOR KEY SHARE', TG_ARGV[1])
            INTO ref USING ref;
        IF ref IS NULL THEN
            RAISE foreign_key_violation USING MESSAGE = format(
                '%s.%s refers to a row %s does not have', TG_TABLE_NAME, TG_ARGV[0], TG_ARGV[1]);
        END IF;
    END IF;
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION vms_ref_deleted() RETURNS trigger AS $$
-- A referred row went: TG_ARGV = the referring table, its column, what its foreign key
-- did (c cascade, n set null, else refuse while referred to), and the referred table (the
-- trigger runs on its partitions: TG_TABLE_NAME is one of them).
DECLARE
    referred boolean;
BEGIN
    IF current_setting('vms.moving_rows', true) = 'on' THEN
        RETURN NULL;  -- vms.db.partitions moving rows from the default partition to their day
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE id = $1)', TG_ARGV[3])
        INTO referred USING OLD.id;
    IF referred THEN
        RETURN NULL;  -- an UPDATE moved the row to another partition: it is still there
    END IF;
    IF TG_ARGV[2] = 'c' THEN
        EXECUTE format('DELETE FROM %I WHERE %I = $1', TG_ARGV[0], TG_ARGV[1]) USING OLD.id;
    ELSIF TG_ARGV[2] = 'n' THEN
        EXECUTE format('UPDATE %I SET %I = NULL WHERE %I = $1', TG_ARGV[0], TG_ARGV[1],
                       TG_ARGV[1]) USING OLD.id;
    ELSE
        EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I = $1)', TG_ARGV[0], TG_ARGV[1])
            INTO referred USING OLD.id;
        IF referred THEN
            RAISE foreign_key_violation USING MESSAGE = format(
                '%s %s is still referred to by %s.%s', TG_ARGV[3], OLD.id, TG_ARGV[0],
                TG_ARGV[1]);
        END IF;
    END IF;
    RETURN NULL;
END
$$ LANGUAGE plpgsql;
"""


def _rows(sql: str, **params: object) -> list[tuple[str, ...]]:
    return [tuple(r) for r in op.get_bind().execute(sa.text(sql), params).fetchall()]


def _references() -> list[tuple[str, str, str, str, str]]:
    """(constraint, referring table, column, referred table, on delete) of every foreign key
    that points at one of ``TABLES``."""
    return [
        (r[0], r[1], r[2], r[3], r[4])
        for r in _rows(
            "SELECT c.conname, c.conrelid::regclass::text, a.attname, "
            "c.confrelid::regclass::text, c.confdeltype::text FROM pg_constraint c "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1] "
            "WHERE c.contype = 'f' AND c.confrelid::regclass::text = ANY(:tables) "
            "ORDER BY c.conname",
            tables=list(TABLES),
        )
    ]


def _trigger_name(child: str, column: str) -> tuple[str, str]:
    return f"vms_ref_{child}_{column}"[:63], f"vms_refd_{child}_{column}"[:63]


def _rebuild(table: str, *, partitioned: bool) -> None:
    """Copy ``table`` into a new table (partitioned by ``start``, or plain again), keeping
    its sequence, indexes, outgoing foreign keys and triggers."""
    seq = _rows("SELECT pg_get_serial_sequence(:t, 'id')", t=table)[0][0]
    indexes = [
        r[0].replace(" ON ONLY ", " ON ")
        for r in _rows(
            "SELECT i.indexdef FROM pg_indexes i WHERE i.tablename = :t AND NOT EXISTS "
            "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname "
            "AND c.conrelid = i.tablename::regclass)",
            t=table,
        )
    ]
    foreign = _rows(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE "
        "conrelid = CAST(:t AS regclass) AND contype = 'f'",
        t=table,
    )
    triggers = [
        r[0]
        for r in _rows(
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal AND "
            "tgrelid = CAST(:t AS regclass) AND tgparentid = 0",
            t=table,
        )
    ]
    new = f"{table}_rebuilt"
    how = "PARTITION BY RANGE (start)" if partitioned else ""
    op.execute(f"ALTER SEQUENCE {seq} OWNED BY NONE")
    op.execute(
        f"CREATE TABLE {new} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        f"INCLUDING STORAGE INCLUDING COMMENTS) {how}"
    )
    if partitioned:
        op.execute(f"CREATE TABLE {table}_default PARTITION OF {new} DEFAULT")
    op.execute(f"INSERT INTO {new} SELECT * FROM {table}")  # noqa: S608 (our table names)
    op.execute(f"DROP TABLE {table}")
    op.execute(f"ALTER TABLE {new} RENAME TO {table}")
    op.execute(f"ALTER SEQUENCE {seq} OWNED BY {table}.id")
    key = "id, start" if partitioned else "id"
    op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_pkey PRIMARY KEY ({key})")
    if table == "segments":
        if partitioned:
            op.execute("ALTER TABLE segments ADD CONSTRAINT segments_path_start_key "
                       "UNIQUE (path, start)")  # fmt: skip
        else:
            op.execute("ALTER TABLE segments ADD CONSTRAINT segments_path_key UNIQUE (path)")
    for name, definition in foreign:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for statement in indexes + triggers:
        op.execute(statement)


def _postgres_upgrade() -> None:
    refs = _references()
    op.execute(_REF_FUNCTIONS)
    for name, child, column, parent, on_delete in refs:
        op.execute(f"ALTER TABLE {child} DROP CONSTRAINT {name}")
        check, deleted = _trigger_name(child, column)
        op.execute(
            f"CREATE TRIGGER {check} BEFORE INSERT OR UPDATE OF {column} ON {child} "
            f"FOR EACH ROW EXECUTE FUNCTION vms_ref_check('{column}', '{parent}')"
        )
        op.execute(
            f"CREATE TRIGGER {deleted} AFTER DELETE ON {parent} FOR EACH ROW "
            f"EXECUTE FUNCTION vms_ref_deleted('{child}', '{column}', '{on_delete}', '{parent}')"
        )
    for table in TABLES:
        _rebuild(table, partitioned=True)


def _postgres_downgrade() -> None:
    emulated = _rows(
        "SELECT tgname, tgrelid::regclass::text, encode(tgargs, 'escape') FROM pg_trigger "
        "WHERE tgname LIKE 'vms_refd_%' AND tgparentid = 0"
    )
    for table in TABLES:
        _rebuild(table, partitioned=False)
    for name, parent, args in emulated:
        child, column, on_delete = args.split("\\000")[:3]
        check, _ = _trigger_name(child, column)
        op.execute(f"DROP TRIGGER IF EXISTS {check} ON {child}")
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {parent}")
        action = {"c": " ON DELETE CASCADE", "n": " ON DELETE SET NULL"}.get(on_delete, "")
        op.execute(
            f"ALTER TABLE {child} ADD FOREIGN KEY ({column}) REFERENCES {parent} (id){action}"
        )
    op.execute("DROP FUNCTION IF EXISTS vms_ref_check()")
    op.execute("DROP FUNCTION IF EXISTS vms_ref_deleted()")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _postgres_upgrade()
    for table in TABLES:
        op.create_index(
            f"ix_{table}_long",
            table,
            ["camera_id", "start"],
            postgresql_where=sa.text(LONG_WHERE["postgresql"]),
            sqlite_where=sa.text(LONG_WHERE["sqlite"]),
        )


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f"ix_{table}_long", table_name=table)
    if op.get_bind().dialect.name == "postgresql":
        _postgres_downgrade()
