"""custody: rooms, people held, stays, interviews, checks, presence, alerts"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vms.db.migrations import ddl

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_table(
        "custody_rooms",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("room_type", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        ddl.moment("updated_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "custody_room_cameras",
        sa.Column("room_id", sa.String(length=64), nullable=False),
        ddl.camera_id(),
        sa.ForeignKeyConstraint(["room_id"], ["custody_rooms.id"]),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"]),
        sa.PrimaryKeyConstraint("room_id", "camera_id"),
    )
    op.create_table(
        "custody_persons",
        ddl.key(),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("id_number", sa.String(length=64), nullable=True),
        sa.Column("case_number", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.String(length=64), nullable=False),
        sa.Column("limit_h", sa.Float(), nullable=False),
        sa.Column("risk", sa.String(length=16), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        ddl.moment("entered_at"),
        ddl.user_name("entered_by"),
        ddl.moment("exited_at", nullable=True),
        ddl.user_name("exited_by", nullable=True),
        sa.Column("exit_note", sa.Text(), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["custody_rooms.id"]),
    )
    op.create_index("ix_custody_persons_exited", "custody_persons", ["exited_at"])
    op.create_index("ix_custody_persons_id_number", "custody_persons", ["id_number"])
    op.create_table(
        "custody_stays",
        ddl.key(),
        ddl.ref("person_id"),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        ddl.moment("start"),
        ddl.moment("end", nullable=True),
        ddl.user_name("moved_by"),
        sa.ForeignKeyConstraint(["person_id"], ["custody_persons.id"]),
        sa.ForeignKeyConstraint(["room_id"], ["custody_rooms.id"]),
    )
    op.create_index("ix_custody_stays_person_start", "custody_stays", ["person_id", "start"])
    op.create_table(
        "custody_interviews",
        ddl.key(),
        ddl.ref("person_id"),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("officers", sa.JSON(), nullable=False),
        ddl.moment("started_at"),
        ddl.user_name("started_by"),
        ddl.moment("ended_at", nullable=True),
        ddl.user_name("ended_by", nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recording_incomplete", sa.Boolean(), nullable=False),
        sa.Column("gaps", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["custody_persons.id"]),
        sa.ForeignKeyConstraint(["room_id"], ["custody_rooms.id"]),
    )
    op.create_index(
        "ix_custody_interviews_room_start", "custody_interviews", ["room_id", "started_at"]
    )
    op.create_index("ix_custody_interviews_ended", "custody_interviews", ["ended_at"])
    op.create_table(
        "custody_checks",
        ddl.key(),
        ddl.ref("person_id"),
        ddl.moment("at"),
        ddl.user_name("by"),
        sa.Column("source", sa.String(length=16), nullable=False),
        ddl.camera_id(nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["custody_persons.id"]),
    )
    op.create_index("ix_custody_checks_person_at", "custody_checks", ["person_id", "at"])
    op.create_table(
        "custody_presence",
        ddl.key(),
        ddl.camera_id(),
        ddl.moment("start"),
        ddl.moment("end", nullable=True),
        ddl.moment("seen_at"),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"]),
    )
    op.create_index("ix_custody_presence_camera_start", "custody_presence", ["camera_id", "start"])
    op.create_table(
        "custody_alerts",
        ddl.key(),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=True),
        sa.Column("room_id", sa.String(length=64), nullable=True),
        ddl.ref("person_id", nullable=True),
        ddl.ref("interview_id", nullable=True),
        ddl.camera_id(nullable=True),
        ddl.ref("event_id", nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        ddl.moment("raised_at"),
        ddl.moment("cleared_at", nullable=True),
        ddl.moment("escalated_at", nullable=True),
        ddl.user_name("acknowledged_by", nullable=True),
        sa.Column("ack_note", sa.Text(), nullable=True),
        ddl.moment("ack_at", nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["custody_persons.id"]),
        sa.ForeignKeyConstraint(["interview_id"], ["custody_interviews.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_custody_alerts_raised", "custody_alerts", ["raised_at"])
    op.create_index("ix_custody_alerts_type_raised", "custody_alerts", ["type", "raised_at"])
    op.create_index("ix_custody_alerts_ack", "custody_alerts", ["ack_at"])


def downgrade() -> None:
    ddl.drop_tables(
        "custody_alerts",
        "custody_presence",
        "custody_checks",
        "custody_interviews",
        "custody_stays",
        "custody_persons",
        "custody_room_cameras",
        "custody_rooms",
    )
