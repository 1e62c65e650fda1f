"""bodyworn: officers, devices and assignments, shifts, files, case and person links,
approvals, uploads, the ingest log, dock files

Create Date: 2026-12-01 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_bodyworn"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "bw_officers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("badge", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=200), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id"),
        sa.UniqueConstraint("badge"),
    )
    op.create_table(
        "bw_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.String(length=48), nullable=False),
        sa.Column("camera_id", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("registered", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["cameras.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("camera_id"),
        sa.UniqueConstraint("serial"),
    )
    op.create_table(
        "bw_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["bw_devices.id"]),
        sa.ForeignKeyConstraint(["officer_id"], ["bw_officers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bw_assignments_device_start", "bw_assignments", ["device_id", "start"])
    op.create_table(
        "bw_shifts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["bw_devices.id"]),
        sa.ForeignKeyConstraint(["officer_id"], ["bw_officers.id"]),
        sa.ForeignKeyConstraint(["event_id"], ["events.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bw_shifts_end", "bw_shifts", ["end"])
    op.create_table(
        "bw_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("segment_id", sa.Integer(), nullable=True),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("officer_id", sa.Integer(), nullable=True),
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
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("time_source", sa.String(length=16), nullable=False),
        sa.Column("gps", sa.JSON(), nullable=True),
        sa.Column("min_lat", sa.Float(), nullable=True),
        sa.Column("max_lat", sa.Float(), nullable=True),
        sa.Column("min_lon", sa.Float(), nullable=True),
        sa.Column("max_lon", sa.Float(), nullable=True),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("dock_id", sa.String(length=64), nullable=True),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ingested_by", sa.String(length=100), nullable=False),
        sa.Column("lateness_s", sa.Float(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("late_event_id", sa.Integer(), nullable=True),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("category_by", sa.String(length=100), nullable=True),
        sa.Column("category_reason", sa.Text(), nullable=True),
        sa.Column("category_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["segment_id"], ["segments.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["device_id"], ["bw_devices.id"]),
        sa.ForeignKeyConstraint(["officer_id"], ["bw_officers.id"]),
        sa.ForeignKeyConstraint(["late_event_id"], ["events.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
        sa.UniqueConstraint("segment_id"),
    )
    op.create_index("ix_bw_files_category", "bw_files", ["category", "status"])
    op.create_index("ix_bw_files_device_start", "bw_files", ["device_id", "start"])
    op.create_index("ix_bw_files_officer_start", "bw_files", ["officer_id", "start"])
    op.create_index("ix_bw_files_start", "bw_files", ["start"])
    op.create_table(
        "bw_case_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hold_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["bw_files.id"]),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"]),
        sa.ForeignKeyConstraint(["hold_id"], ["holds.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bw_case_links_case", "bw_case_links", ["case_id"])
    op.create_index("ix_bw_case_links_file", "bw_case_links", ["file_id"])
    op.create_table(
        "bw_person_links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["bw_files.id"]),
        sa.ForeignKeyConstraint(["person_id"], ["custody_persons.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bw_person_links_file", "bw_person_links", ["file_id"])
    op.create_index("ix_bw_person_links_person", "bw_person_links", ["person_id"])
    op.create_table(
        "bw_approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=8), nullable=False),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("hours", sa.Float(), nullable=False),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=100), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["file_id"], ["bw_files.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bw_approvals_file", "bw_approvals", ["file_id"])
    op.create_index("ix_bw_approvals_requester", "bw_approvals", ["requested_by", "status"])
    op.create_table(
        "bw_uploads",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("officer_badge", sa.String(length=32), nullable=True),
        sa.Column("device_serial", sa.String(length=48), nullable=True),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["bw_files.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "bw_ingests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("dock_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("quarantine", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["file_id"], ["bw_files.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bw_ingests_at", "bw_ingests", ["at"])
    op.create_table(
        "bw_dock_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dock_id", sa.String(length=64), nullable=False),
        sa.Column("rel_path", sa.String(length=500), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("file_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["file_id"], ["bw_files.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ux_bw_dock_files_path", "bw_dock_files", ["dock_id", "rel_path"], unique=True)


def downgrade() -> None:
    op.drop_index("ux_bw_dock_files_path", table_name="bw_dock_files")
    op.drop_table("bw_dock_files")
    op.drop_index("ix_bw_ingests_at", table_name="bw_ingests")
    op.drop_table("bw_ingests")
    op.drop_table("bw_uploads")
    op.drop_index("ix_bw_approvals_file", table_name="bw_approvals")
    op.drop_index("ix_bw_approvals_requester", table_name="bw_approvals")
    op.drop_table("bw_approvals")
    op.drop_index("ix_bw_person_links_file", table_name="bw_person_links")
    op.drop_index("ix_bw_person_links_person", table_name="bw_person_links")
    op.drop_table("bw_person_links")
    op.drop_index("ix_bw_case_links_case", table_name="bw_case_links")
    op.drop_index("ix_bw_case_links_file", table_name="bw_case_links")
    op.drop_table("bw_case_links")
    op.drop_index("ix_bw_files_category", table_name="bw_files")
    op.drop_index("ix_bw_files_device_start", table_name="bw_files")
    op.drop_index("ix_bw_files_officer_start", table_name="bw_files")
    op.drop_index("ix_bw_files_start", table_name="bw_files")
    op.drop_table("bw_files")
    op.drop_index("ix_bw_shifts_end", table_name="bw_shifts")
    op.drop_table("bw_shifts")
    op.drop_index("ix_bw_assignments_device_start", table_name="bw_assignments")
    op.drop_table("bw_assignments")
    op.drop_table("bw_devices")
    op.drop_table("bw_officers")
