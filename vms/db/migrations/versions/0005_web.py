"""web: users, login sessions, API tokens, alert acknowledgements

Create Date: 2026-11-27 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vms.db.migrations import ddl

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "users",
        ddl.key(),
        ddl.user_name("username"),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("camera_scope", sa.JSON(), nullable=True),
        ddl.moment("created_at"),
        ddl.moment("disabled_at", nullable=True),
        sa.UniqueConstraint("username"),
    )
    op.create_table(
        "login_sessions",
        ddl.key(),
        ddl.ref("user_id"),
        ddl.sha256("token_sha256"),
        ddl.moment("created_at"),
        ddl.moment("expires_at"),
        ddl.moment("revoked_at", nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_index("ix_login_sessions_user", "login_sessions", ["user_id"])
    op.create_table(
        "api_tokens",
        ddl.key(),
        ddl.ref("user_id"),
        sa.Column("name", sa.String(length=100), nullable=False),
        ddl.sha256("token_sha256"),
        ddl.moment("created_at"),
        ddl.moment("expires_at", nullable=True),
        ddl.moment("revoked_at", nullable=True),
        ddl.moment("last_used_at", nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.UniqueConstraint("token_sha256"),
    )
    op.create_index("ix_api_tokens_user", "api_tokens", ["user_id"])
    op.create_table(
        "alert_acks",
        ddl.key(),
        ddl.ref("event_id"),
        ddl.ref("user_id"),
        sa.Column("note", sa.Text(), nullable=False),
        ddl.moment("at"),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
    )
    op.create_index("ix_alert_acks_event", "alert_acks", ["event_id"])


def downgrade() -> None:
    ddl.drop_tables("alert_acks", "api_tokens", "login_sessions", "users")
