"""evidence: cases, evidence items and sources, legal holds, hash-chained audit log

Create Date: 2026-11-27 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vms.db.migrations import ddl

revision = "0002"
down_revision = "0001"

GENESIS_HASH = "0" * 64


def upgrade() -> None:
    op.create_table(
        "cases",
        ddl.key(),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        ddl.user_name("owner"),
        ddl.moment("created_at"),
        ddl.user_name("created_by"),
        ddl.moment("closed_at", nullable=True),
        sa.UniqueConstraint("number"),
    )
    op.create_table(
        "case_investigators",
        ddl.ref("case_id"),
        ddl.user_name("user"),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.PrimaryKeyConstraint("case_id", "user"),
    )
    op.create_table(
        "evidence_items",
        ddl.key(),
        ddl.ref("case_id"),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        ddl.camera_id(),
        ddl.moment("requested_start"),
        ddl.moment("requested_end"),
        ddl.moment("start"),
        ddl.moment("end"),
        sa.Column("path", sa.String(length=500), nullable=True),
        ddl.sha256(nullable=True),
        sa.Column("bytes", sa.BigInteger(), nullable=True),
        sa.Column("packets", sa.Integer(), nullable=True),
        sa.Column("gaps", sa.JSON(), nullable=False),
        ddl.ref("event_id", nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        ddl.moment("created_at"),
        ddl.user_name("created_by"),
        ddl.moment("deleted_at", nullable=True),
        ddl.user_name("deleted_by", nullable=True),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
    )
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_items_case", ["case_id"], unique=False)

    op.create_table(
        "evidence_sources",
        ddl.key(),
        ddl.ref("item_id"),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        ddl.sha256(),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        ddl.moment("start"),
        ddl.moment("end"),
        sa.ForeignKeyConstraint(["item_id"], ["evidence_items.id"]),
    )
    with op.batch_alter_table("evidence_sources", schema=None) as batch_op:
        batch_op.create_index("ix_evidence_sources_item", ["item_id"], unique=False)

    op.create_table(
        "holds",
        ddl.key(),
        sa.Column("kind", sa.String(length=8), nullable=False),
        ddl.ref("case_id", nullable=True),
        ddl.camera_id(nullable=True),
        ddl.moment("start", nullable=True),
        ddl.moment("end", nullable=True),
        ddl.ref("item_id", nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        ddl.moment("created_at"),
        ddl.user_name("created_by"),
        ddl.moment("released_at", nullable=True),
        ddl.user_name("released_by", nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["item_id"], ["evidence_items.id"]),
    )
    with op.batch_alter_table("holds", schema=None) as batch_op:
        batch_op.create_index("ix_holds_camera_start", ["camera_id", "start"], unique=False)
        batch_op.create_index("ix_holds_item", ["item_id"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger(), autoincrement=False, nullable=False),
        ddl.moment("at"),
        ddl.user_name("actor"),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("object_type", sa.String(length=16), nullable=False),
        sa.Column("object_id", sa.String(length=200), nullable=False),
        sa.Column("case_number", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        ddl.sha256("prev_hash"),
        ddl.sha256("hash"),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index("ix_audit_log_at", ["at"], unique=False)
        batch_op.create_index("ix_audit_log_case", ["case_number"], unique=False)
        batch_op.create_index("ix_audit_log_object", ["object_type", "object_id"], unique=False)

    _append_only_triggers()

    head = op.create_table(
        "audit_head",
        ddl.key(),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        ddl.sha256("hash"),
    )
    # The chain head row exists from the start: writers lock it (never insert it) to append.
    op.bulk_insert(head, [{"id": 1, "seq": 0, "hash": GENESIS_HASH}])


def _append_only_triggers() -> None:
    """Refuse UPDATE and DELETE of audit entries in the database itself."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{verb.lower()} BEFORE {verb} ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )


def downgrade() -> None:
    op.drop_table("audit_head")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION audit_log_append_only()")
    ddl.drop_tables(
        "audit_log", "holds", "evidence_sources", "evidence_items", "case_investigators", "cases"
    )
