"""gb28181: registered devices and their channels"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vms.db.migrations import ddl

revision = "0014_gb28181"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "gb28181_devices",
        sa.Column("id", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("manufacturer", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("firmware", sa.String(length=100), nullable=False),
        sa.Column("transport", sa.String(length=8), nullable=False),
        sa.Column("host", sa.String(length=64), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("offline_reason", sa.Text(), nullable=True),
        ddl.moment("registered_at", nullable=True),
        ddl.moment("expires_at", nullable=True),
        ddl.moment("last_keepalive_at", nullable=True),
        sa.Column("channel_count", sa.Integer(), nullable=True),
        ddl.moment("updated_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "gb28181_channels",
        sa.Column("device_id", sa.String(length=20), nullable=False),
        sa.Column("channel_id", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("manufacturer", sa.String(length=100), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("parent_id", sa.String(length=20), nullable=False),
        sa.Column("civil_code", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        ddl.moment("updated_at"),
        sa.ForeignKeyConstraint(["device_id"], ["gb28181_devices.id"]),
        sa.PrimaryKeyConstraint("device_id", "channel_id"),
    )


def downgrade() -> None:
    ddl.drop_tables("gb28181_channels", "gb28181_devices")
