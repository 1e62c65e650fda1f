"""Typed views of body-worn records, as the CLI (``--json``) and the web API show them."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from vms.vocab import View


class OfficerView(View):
    """An officer who wears a recorder."""

    id: int
    badge: str = Field(description="Police number (警号).")
    name: str
    unit: str = Field(description="Station, squad or department.")
    username: str | None = Field(description="The vms account of the officer, if any.")
    active: bool
    device: str | None = Field(description="Serial of the recorder the officer holds now.")


class AssignmentView(View):
    """A recorder in an officer's hands from ``start`` to ``end`` (none: still)."""

    id: int
    serial: str
    badge: str
    officer: str = Field(description="The officer's name.")
    start: datetime
    end: datetime | None
    by: str
    reason: str


class DeviceView(View):
    """A body-worn recorder and who had it when."""

    id: int
    serial: str
    camera_id: str = Field(description="Its id on the playback timeline (bw.<serial>).")
    model: str
    note: str
    registered: bool = Field(description="False when first seen in a file, not registered.")
    officer: str | None = Field(description="Badge of the officer holding it now.")
    history: list[AssignmentView]


class ShiftView(View):
    """A duty shift a recorder was issued for."""

    id: int
    name: str
    serial: str
    badge: str | None
    start: datetime
    end: datetime
    event_id: int | None = Field(description="The 'no footage' alert, once raised.")


class FileView(View):
    """One body-worn file: what it is, whose it is, where and when it was recorded."""

    id: int
    sha256: str
    status: str = Field(description="active or deleted (by retention).")
    segment_id: int | None = Field(description="Its segment on the playback timeline.")
    device: str = Field(description="Recorder serial.")
    camera_id: str
    officer: str | None = Field(description="Badge of the officer it is filed under (一人一档).")
    officer_name: str | None
    unit: str | None
    officer_source: str = Field(description="assignment, declared, file or none.")
    start: datetime
    end: datetime
    duration_s: float
    time_source: str = Field(description="Where start/end came from: metadata, file_name or "
                             "file_time.")  # fmt: skip
    original_name: str
    container: str
    video_codec: str
    audio_codec: str | None
    width: int | None
    height: int | None
    fps: float | None
    bytes: int
    gps: list[list[float]] = Field(description="[[seconds from start, latitude, longitude]].")
    source: str = Field(description="dock, upload or cli.")
    dock_id: str | None
    ingested_at: datetime
    ingested_by: str
    lateness_s: float = Field(description="Upload time minus the end of recording.")
    late: bool
    category: str = Field(description="Retention category.")
    category_by: str | None
    category_reason: str | None
    cases: list[str] = Field(default_factory=list, description="Case numbers it is linked to.")
    persons: list[int] = Field(default_factory=list, description="People held it is linked to.")


class ApprovalView(View):
    """A request to view or copy a file, and its decision."""

    id: int
    file_id: int
    action: str = Field(description="view, or copy (download, clip; includes view).")
    requested_by: str
    reason: str
    hours: float
    requested_at: datetime
    status: str = Field(description="pending, granted, refused, revoked or expired.")
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    valid_until: datetime | None


class CaseLinkView(View):
    """A file (or part of it) linked to a case, and the hold that keeps it."""

    id: int
    file_id: int
    case_number: str
    start: datetime
    end: datetime
    hold_id: int | None
    note: str
    reason: str
    created_at: datetime
    created_by: str


class IngestView(View):
    """What became of a file offered for ingest."""

    result: str = Field(description="stored, duplicate, rejected or incomplete.")
    sha256: str
    bytes: int
    name: str
    file_id: int | None = None
    reason: str = ""


class DockFileView(View):
    """A file in a dock folder and how far it got."""

    dock: str
    path: str
    bytes: int
    status: str = Field(description="copying, stored, duplicate, rejected, incomplete, error.")
    message: str
    file_id: int | None
    first_seen: datetime
    changed_at: datetime
