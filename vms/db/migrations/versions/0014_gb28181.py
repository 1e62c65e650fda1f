"""gb28181: registered devices and their channels"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_gb28181"
down_revision = "0005"


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


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
        _ts("registered_at", True),
        _ts("expires_at", True),
        _ts("last_keepalive_at", True),
        sa.Column("channel_count", sa.Integer(), nullable=True),
        _ts("updated_at"),
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
        _ts("updated_at"),
        sa.ForeignKeyConstraint(["device_id"], ["gb28181_devices.id"]),
        sa.PrimaryKeyConstraint("device_id", "channel_id"),
    )


def downgrade() -> None:
    op.drop_table("gb28181_channels")
    op.drop_table("gb28181_devices")
