"""storage: where each file lives (node disk or bucket) and which node wrote it

Adds ``location`` ("local" or "bucket") and ``node`` (the node whose disk holds a local
file) to ``segments`` and ``evidence_items``, and ``note`` to ``segments`` (why one is
missing: ``node failover (node X lost)``). Existing rows are local files of no named node.

Create Date: 2026-12-01 14:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_storage"
down_revision = "0005"

_TABLES = ("segments", "evidence_items")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("location", sa.String(16), nullable=False, server_default="local")
            )
            batch.add_column(sa.Column("node", sa.String(64), nullable=True))
    with op.batch_alter_table("segments") as batch:
        batch.add_column(sa.Column("note", sa.Text(), nullable=True))
    op.create_index("ix_segments_location_end", "segments", ["location", "end"])


def downgrade() -> None:
    op.drop_index("ix_segments_location_end", table_name="segments")
    with op.batch_alter_table("segments") as batch:
        batch.drop_column("note")
    for table in _TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("node")
            batch.drop_column("location")
