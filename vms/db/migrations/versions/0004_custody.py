"""custody: rooms, people held, stays, interviews, checks, presence, alerts"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "custody_rooms",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("room_type", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _ts("updated_at"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "custody_room_cameras",
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["custody_rooms.id"]),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"]),
        sa.PrimaryKeyConstraint("room_id", "camera_id"),
    )
    op.create_table(
        "custody_persons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("id_number", sa.String(length=64), nullable=True),
        sa.Column("case_number", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.String(length=64), nullable=False),
        sa.Column("limit_h", sa.Float(), nullable=False),
        sa.Column("risk", sa.String(length=16), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        _ts("entered_at"),
        sa.Column("entered_by", sa.String(length=100), nullable=False),
        _ts("exited_at", nullable=True),
        sa.Column("exited_by", sa.String(length=100), nullable=True),
        sa.Column("exit_note", sa.Text(), nullable=True),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["room_id"], ["custody_rooms.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_custody_persons_exited", "custody_persons", ["exited_at"])
    op.create_index("ix_custody_persons_id_number", "custody_persons", ["id_number"])
    op.create_table(
        "custody_stays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        _ts("start"),
        _ts("end", nullable=True),
        sa.Column("moved_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["custody_persons.id"]),
        sa.ForeignKeyConstraint(["room_id"], ["custody_rooms.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_custody_stays_person_start", "custody_stays", ["person_id", "start"])
    op.create_table(
        "custody_interviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("officers", sa.JSON(), nullable=False),
        _ts("started_at"),
        sa.Column("started_by", sa.String(length=100), nullable=False),
        _ts("ended_at", nullable=True),
        sa.Column("ended_by", sa.String(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recording_incomplete", sa.Boolean(), nullable=False),
        sa.Column("gaps", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["person_id"], ["custody_persons.id"]),
        sa.ForeignKeyConstraint(["room_id"], ["custody_rooms.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_custody_interviews_room_start", "custody_interviews", ["room_id", "started_at"]
    )
    op.create_index("ix_custody_interviews_ended", "custody_interviews", ["ended_at"])
    op.create_table(
        "custody_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        _ts("at"),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["custody_persons.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_custody_checks_person_at", "custody_checks", ["person_id", "at"])
    op.create_table(
        "custody_presence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        _ts("start"),
        _ts("end", nullable=True),
        _ts("seen_at"),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_custody_presence_camera_start", "custody_presence", ["camera_id", "start"])
    op.create_table(
        "custody_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=200), nullable=True),
        sa.Column("room_id", sa.String(length=64), nullable=True),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("interview_id", sa.Integer(), nullable=True),
        sa.Column("camera_id", sa.String(length=64), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        _ts("raised_at"),
        _ts("cleared_at", nullable=True),
        _ts("escalated_at", nullable=True),
        sa.Column("acknowledged_by", sa.String(length=100), nullable=True),
        sa.Column("ack_note", sa.Text(), nullable=True),
        _ts("ack_at", nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["custody_persons.id"]),
        sa.ForeignKeyConstraint(["interview_id"], ["custody_interviews.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_custody_alerts_raised", "custody_alerts", ["raised_at"])
    op.create_index("ix_custody_alerts_type_raised", "custody_alerts", ["type", "raised_at"])
    op.create_index("ix_custody_alerts_ack", "custody_alerts", ["ack_at"])


def downgrade() -> None:
    for table in (
        "custody_alerts",
        "custody_presence",
        "custody_checks",
        "custody_interviews",
        "custody_stays",
        "custody_persons",
        "custody_room_cameras",
        "custody_rooms",
    ):
        op.drop_table(table)
