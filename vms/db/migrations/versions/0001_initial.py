"""initial schema: cameras, segments, gaps, events

Create Date: 2026-11-26 13:36:51.115324
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vms.db.migrations import ddl

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "cameras",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.Column("room", sa.String(length=200), nullable=True),
        sa.Column("room_type", sa.String(length=32), nullable=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("record", sa.Boolean(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        ddl.moment("updated_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "events",
        ddl.key(),
        sa.Column("type", sa.String(length=32), nullable=False),
        ddl.camera_id(),
        sa.Column("zone", sa.String(length=100), nullable=True),
        ddl.moment("start"),
        ddl.moment("end", nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"]),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_camera_start", ["camera_id", "start"], unique=False)
        batch_op.create_index("ix_events_start", ["start"], unique=False)
        batch_op.create_index("ix_events_type_start", ["type", "start"], unique=False)

    op.create_table(
        "gaps",
        ddl.key(),
        ddl.camera_id(),
        ddl.moment("start"),
        ddl.moment("end", nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"]),
    )
    with op.batch_alter_table("gaps", schema=None) as batch_op:
        batch_op.create_index("ix_gaps_camera_start", ["camera_id", "start"], unique=False)

    op.create_table(
        "segments",
        ddl.key(),
        ddl.camera_id(),
        ddl.moment("start"),
        ddl.moment("end", nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=True),
        ddl.sha256(nullable=True),
        sa.Column("codec", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("fps", sa.Float(), nullable=True),
        sa.Column("packets", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"]),
        sa.UniqueConstraint("path"),
    )
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.create_index("ix_segments_camera_end", ["camera_id", "end"], unique=False)
        batch_op.create_index("ix_segments_camera_start", ["camera_id", "start"], unique=False)
        batch_op.create_index("ix_segments_status", ["status"], unique=False)


def downgrade() -> None:
    ddl.drop_tables("segments", "gaps", "events", "cameras")
