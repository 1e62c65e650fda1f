"""bodyworn: officers, devices and assignments, shifts, files, case and person links,
approvals, uploads, the ingest log, dock files

Create Date: 2026-12-01 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from vms.db.migrations import ddl

revision = "0013_bodyworn"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "bw_officers",
        ddl.key(),
        sa.Column("badge", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=False),
        ddl.ref("user_id", nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        ddl.moment("created_at"),
        ddl.user_name("created_by"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.UniqueConstraint("user_id"),
        sa.UniqueConstraint("badge"),
    )
    op.create_table(
        "bw_devices",
        ddl.key(),
        sa.Column("serial", sa.String(length=48), nullable=False),
        ddl.camera_id(),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("registered", sa.Boolean(), nullable=False),
        ddl.moment("created_at"),
        ddl.user_name("created_by"),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"]),
        sa.UniqueConstraint("camera_id"),
        sa.UniqueConstraint("serial"),
    )
    op.create_table(
        "bw_assignments",
        ddl.key(),
        ddl.ref("device_id"),
        ddl.ref("officer_id"),
        ddl.moment("start"),
        ddl.moment("end", nullable=True),
        ddl.user_name("created_by"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["bw_devices.id"]),
        sa.ForeignKeyConstraint(["officer_id"], ["bw_officers.id"]),
    )
    op.create_index("ix_bw_assignments_device_start", "bw_assignments", ["device_id", "start"])
    op.create_table(
        "bw_shifts",
        ddl.key(),
        sa.Column("name", sa.String(length=100), nullable=False),
        ddl.ref("device_id"),
        ddl.ref("officer_id", nullable=True),
        ddl.moment("start"),
        ddl.moment("end"),
        ddl.moment("created_at"),
        ddl.user_name("created_by"),
        ddl.ref("event_id", nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["bw_devices.id"]),
        sa.ForeignKeyConstraint(["officer_id"], ["bw_officers.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
    )
    op.create_index("ix_bw_shifts_end", "bw_shifts", ["end"])
    op.create_table(
        "bw_files",
        ddl.key(),
        ddl.sha256(),
        ddl.ref("segment_id", nullable=True),
        ddl.ref("device_id"),
        ddl.ref("officer_id", nullable=True),
        sa.Column("officer_source", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("original_name", sa.String(length=300), nullable=False),
        sa.Column("container", sa.String(length=64), nullable=False),
        sa.Column("video_codec", sa.String(length=32), nullable=False),
        sa.Column("audio_codec", sa.String(length=32), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("fps", sa.Float(), nullable=True),
        sa.Column("duration_s", sa.Float(), nullable=False),
        ddl.moment("start"),
        ddl.moment("end"),
        sa.Column("time_source", sa.String(length=16), nullable=False),
        sa.Column("gps", sa.JSON(), nullable=True),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.Column("min_lon", sa.Float(), nullable=True),
        sa.Column("max_lon", sa.Float(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("dock_id", sa.String(length=64), nullable=True),
        ddl.moment("ingested_at"),
        ddl.user_name("ingested_by"),
        sa.Column("lateness_s", sa.Float(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        ddl.ref("late_event_id", nullable=True),
        sa.Column("category", sa.String(length=24), nullable=False),
        ddl.user_name("category_by", nullable=True),
        sa.Column("category_reason", sa.Text(), nullable=True),
        ddl.moment("category_at", nullable=True),
        ddl.moment("deleted_at", nullable=True),
        sa.ForeignKeyConstraint(["segment_id"], ["segments.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["device_id"], ["bw_devices.id"]),
        sa.ForeignKeyConstraint(["officer_id"], ["bw_officers.id"]),
        sa.ForeignKeyConstraint(["late_event_id"], ["events.id"]),
        sa.UniqueConstraint("sha256"),
        sa.UniqueConstraint("segment_id"),
    )
    op.create_index("ix_bw_files_category", "bw_files", ["category", "status"])
    op.create_index("ix_bw_files_device_start", "bw_files", ["device_id", "start"])
    op.create_index("ix_bw_files_officer_start", "bw_files", ["officer_id", "start"])
    op.create_index("ix_bw_files_start", "bw_files", ["start"])
    op.create_table(
        "bw_case_links",
        ddl.key(),
        ddl.ref("file_id"),
        ddl.ref("case_id"),
        ddl.moment("start"),
        ddl.moment("end"),
        ddl.ref("hold_id", nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        ddl.moment("created_at"),
        ddl.user_name("created_by"),
        sa.ForeignKeyConstraint(["file_id"], ["bw_files.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["hold_id"], ["holds.id"]),
    )
    op.create_index("ix_bw_case_links_case", "bw_case_links", ["case_id"])
    op.create_index("ix_bw_case_links_file", "bw_case_links", ["file_id"])
    op.create_table(
        "bw_person_links",
        ddl.key(),
        ddl.ref("file_id"),
        ddl.ref("person_id"),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        ddl.moment("created_at"),
        ddl.user_name("created_by"),
        sa.ForeignKeyConstraint(["file_id"], ["bw_files.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["custody_persons.id"]),
    )
    op.create_index("ix_bw_person_links_file", "bw_person_links", ["file_id"])
    op.create_index("ix_bw_person_links_person", "bw_person_links", ["person_id"])
    op.create_table(
        "bw_approvals",
        ddl.key(),
        ddl.ref("file_id"),
        sa.Column("action", sa.String(length=8), nullable=False),
        ddl.user_name("requested_by"),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        ddl.moment("requested_at"),
        sa.Column("status", sa.String(length=16), nullable=False),
        ddl.user_name("decided_by", nullable=True),
        ddl.moment("decided_at", nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        ddl.moment("valid_until", nullable=True),
        sa.ForeignKeyConstraint(["file_id"], ["bw_files.id"]),
    )
    op.create_index("ix_bw_approvals_file", "bw_approvals", ["file_id"])
    op.create_index("ix_bw_approvals_requester", "bw_approvals", ["requested_by", "status"])
    op.create_table(
        "bw_uploads",
        sa.Column("id", sa.String(length=32), nullable=False),
        ddl.user_name("created_by"),
        ddl.moment("created_at"),
        ddl.moment("updated_at"),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        ddl.sha256(nullable=True),
        sa.Column("officer_badge", sa.String(length=32), nullable=True),
        sa.Column("device_serial", sa.String(length=48), nullable=True),
        ddl.moment("modified_at", nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        ddl.ref("file_id", nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["bw_files.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "bw_ingests",
        ddl.key(),
        ddl.moment("at"),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("dock_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        ddl.sha256(),
        sa.Column("result", sa.String(length=16), nullable=False),
        ddl.ref("file_id", nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        ddl.user_name("by"),
        sa.Column("quarantine", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["file_id"], ["bw_files.id"]),
    )
    op.create_index("ix_bw_ingests_at", "bw_ingests", ["at"])
    op.create_table(
        "bw_dock_files",
        ddl.key(),
        sa.Column("dock_id", sa.String(length=64), nullable=False),
        sa.Column("rel_path", sa.String(length=500), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        ddl.moment("first_seen"),
        ddl.moment("changed_at"),
        sa.Column("status", sa.String(length=16), nullable=False),
        ddl.sha256(nullable=True),
        ddl.ref("file_id", nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["bw_files.id"]),
    )
    op.create_index("ux_bw_dock_files_path", "bw_dock_files", ["dock_id", "rel_path"], unique=True)


def downgrade() -> None:
    ddl.drop_tables(
        "bw_dock_files",
        "bw_ingests",
        "bw_uploads",
        "bw_approvals",
        "bw_person_links",
        "bw_case_links",
        "bw_files",
        "bw_shifts",
        "bw_assignments",
        "bw_devices",
        "bw_officers",
    )
