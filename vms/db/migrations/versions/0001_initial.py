"""initial schema: cameras, segments, gaps, events

Create Date: 2026-11-26 13:36:51.115324
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

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
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("zone", sa.String(length=100), nullable=True),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["cameras.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_camera_start", ["camera_id", "start"], unique=False)
        batch_op.create_index("ix_events_start", ["start"], unique=False)
        batch_op.create_index("ix_events_type_start", ["type", "start"], unique=False)

    op.create_table(
        "gaps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["cameras.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("gaps", schema=None) as batch_op:
        batch_op.create_index("ix_gaps_camera_start", ["camera_id", "start"], unique=False)

    op.create_table(
        "segments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=True),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("codec", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("fps", sa.Float(), nullable=True),
        sa.Column("packets", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["camera_id"],
            ["cameras.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("path"),
    )
    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.create_index("ix_segments_camera_end", ["camera_id", "end"], unique=False)
        batch_op.create_index("ix_segments_camera_start", ["camera_id", "start"], unique=False)
        batch_op.create_index("ix_segments_status", ["status"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("segments", schema=None) as batch_op:
        batch_op.drop_index("ix_segments_status")
        batch_op.drop_index("ix_segments_camera_start")
        batch_op.drop_index("ix_segments_camera_end")

    op.drop_table("segments")
    with op.batch_alter_table("gaps", schema=None) as batch_op:
        batch_op.drop_index("ix_gaps_camera_start")

    op.drop_table("gaps")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_type_start")
        batch_op.drop_index("ix_events_start")
        batch_op.drop_index("ix_events_camera_start")

    op.drop_table("events")
    op.drop_table("cameras")
