"""analytics: event track ids, peak count, confidence, snapshot, recording range; search indexes

Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vms.db.migrations import ddl

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("track_ids", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("peak_count", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("confidence", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("snapshot", sa.String(length=500), nullable=True))
        batch_op.add_column(ddl.moment("recording_start", nullable=True))
        batch_op.add_column(ddl.moment("recording_end", nullable=True))
        batch_op.create_index(
            "ix_events_camera_type_start", ["camera_id", "type", "start"], unique=False
        )
        batch_op.create_index("ix_events_zone_start", ["zone", "start"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_zone_start")
        batch_op.drop_index("ix_events_camera_type_start")
        batch_op.drop_column("recording_end")
        batch_op.drop_column("recording_start")
        batch_op.drop_column("snapshot")
        batch_op.drop_column("confidence")
        batch_op.drop_column("peak_count")
        batch_op.drop_column("track_ids")
