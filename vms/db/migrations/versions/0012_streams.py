"""recording: each segment's elementary streams; audio gaps (gaps.kind)

Create Date: 2026-12-01 15:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vms.db.migrations import ddl

revision = "0012_streams"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "segment_streams",
        ddl.ref("segment_id"),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("codec", sa.String(length=32), nullable=False),
        sa.Column("sample_rate", sa.Integer(), nullable=True),
        sa.Column("channels", sa.Integer(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("fps", sa.Float(), nullable=True),
        sa.Column("bit_rate", sa.BigInteger(), nullable=True),
        sa.Column("packets", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["segment_id"], ["segments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("segment_id", "index"),
    )
    # Every gap recorded before audio was recorded is a whole outage: kind 'video'.
    with op.batch_alter_table("gaps") as batch:
        batch.add_column(
            sa.Column("kind", sa.String(length=8), nullable=False, server_default="video")
        )
    op.create_index("ix_gaps_kind_camera_start", "gaps", ["kind", "camera_id", "start"])


def downgrade() -> None:
    op.drop_index("ix_gaps_kind_camera_start", table_name="gaps")
    with op.batch_alter_table("gaps") as batch:
        batch.drop_column("kind")
    op.drop_table("segment_streams")
