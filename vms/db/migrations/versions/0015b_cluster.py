"""cluster: node heartbeats, camera leases, and NOTIFY on new or changed alerts (PostgreSQL)

Create Date: 2026-12-01 15:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vms.db.migrations import ddl

revision = "0015b_cluster"
down_revision = "0015_storage"

_NOTIFY_FN = """
CREATE OR REPLACE FUNCTION vms_notify_alert() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('vms_alerts', TG_ARGV[0] || ':' || NEW.id);
    RETURN NULL;
END
$$ LANGUAGE plpgsql
"""
_TRIGGERS = {"events": "events_notify", "custody_alerts": "custody_alerts_notify"}


def upgrade() -> None:
    op.create_table(
        "nodes",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("host", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        ddl.moment("started_at"),
        ddl.moment("heartbeat_at"),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("max_cameras", sa.Integer(), nullable=True),
        sa.Column("web_url", sa.String(300), nullable=True),
        sa.Column("load", sa.JSON(), nullable=False),
    )
    op.create_table(
        "camera_leases",
        sa.Column("camera_id", sa.String(64), sa.ForeignKey("cameras.id"), primary_key=True),
        sa.Column("node", sa.String(64), nullable=True),
        sa.Column("generation", sa.BigInteger(), nullable=False, server_default="0"),
        ddl.moment("acquired_at", nullable=True),
        ddl.moment("expires_at", nullable=True),
        sa.Column("previous_node", sa.String(64), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
    )
    op.create_index("ix_camera_leases_node", "camera_leases", ["node"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_NOTIFY_FN)
        for table, trigger in _TRIGGERS.items():
            op.execute(
                f"CREATE TRIGGER {trigger} AFTER INSERT OR UPDATE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION vms_notify_alert('{table}')"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, trigger in _TRIGGERS.items():
            op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        op.execute("DROP FUNCTION IF EXISTS vms_notify_alert()")
    op.drop_index("ix_camera_leases_node", table_name="camera_leases")
    op.drop_table("camera_leases")
    op.drop_table("nodes")
