"""Request and response bodies of the body-worn API (the records themselves are the typed
views of vms.bodyworn.views)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from vms.bodyworn.views import ApprovalView, CaseLinkView, FileView
from vms.web.limits import InModel


class _In(InModel):
    """A request body: unknown fields refused; integers and times within range (limits)."""

    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


Reason = Field(min_length=1, max_length=1000, description="Why, for the audit log.")


class FilesOut(_Out):
    files: list[FileView]
    own_only: bool = Field(description="Only the caller's own files are listed (an officer).")


class AccessOut(_Out):
    own: bool = Field(description="The caller's own file: no approval needed.")
    can_view: bool = Field(description="The caller may play it now.")
    can_copy: bool = Field(description="The caller may download or clip it now.")
    approval_id: int | None = Field(description="The approval that allows it, if any.")
    valid_until: datetime | None


class FileDetailOut(_Out):
    file: FileView
    access: AccessOut
    links: list[CaseLinkView]
    approvals: list[ApprovalView] = Field(description="Requests for this file the caller may see.")


class PlayIn(_In):
    reason: str = Field("", max_length=1000, description="Why (audited).")


class PlayOut(_Out):
    file_id: int
    segment_id: int
    url: str = Field(description="The video, with a signed grant; HTTP range requests.")
    start: datetime
    end: datetime
    playable: bool = Field(description="False for H.265: the browser may not decode it.")


class CategoryIn(_In):
    category: str = Field(description="default, evidence, obstruction, major_incident, "
                          "complex_case")  # fmt: skip
    reason: str = Reason


class CaseLinkIn(_In):
    case_number: str = Field(min_length=1, max_length=64)
    start: datetime | None = Field(None, description="Part of the file (default: all of it).")
    end: datetime | None = None
    note: str = Field("", max_length=2000)
    reason: str = Reason


class PersonLinkIn(_In):
    person_id: int
    note: str = Field("", max_length=2000)
    reason: str = Reason


class LinkOut(_Out):
    id: int
    file_id: int


class BodywornClipIn(_In):
    case_number: str = Field(min_length=1, max_length=64)
    start: datetime
    end: datetime
    note: str = Field("", max_length=2000)
    reason: str = Reason


class ApprovalIn(_In):
    action: str = Field("view", pattern="^(view|copy)$", description="view, or copy.")
    reason: str = Reason
    hours: float | None = Field(None, gt=0, description="How long (default from config).")


class DecisionIn(_In):
    grant: bool
    hours: float | None = Field(None, gt=0, description="Valid for (default: as requested).")
    reason: str = Reason


class RevokeIn(_In):
    reason: str = Reason


class OfficerIn(_In):
    badge: str = Field(min_length=1, max_length=32)
    name: str = Field(min_length=1, max_length=200)
    unit: str = Field("", max_length=200)
    username: str | None = Field(None, description="The officer's vms account, if any.")


class OfficerPatch(_In):
    name: str | None = Field(None, max_length=200)
    unit: str | None = Field(None, max_length=200)
    username: str | None = None
    unlink_user: bool = False
    active: bool | None = None


class DeviceIn(_In):
    serial: str = Field(min_length=1, max_length=48)
    model: str = Field("", max_length=100)
    note: str = Field("", max_length=2000)


class AssignIn(_In):
    badge: str = Field(min_length=1, max_length=32)
    start: datetime | None = Field(None, description="Since (default: now).")
    reason: str = Field("issued", max_length=1000)


class ReturnIn(_In):
    end: datetime | None = Field(None, description="When (default: now).")
    reason: str = Field("returned", max_length=1000)


class ShiftIn(_In):
    serial: str = Field(min_length=1, max_length=48)
    name: str = Field("", max_length=100)
    start: datetime
    end: datetime
    badge: str | None = Field(None, description="Default: the recorder's holder at the start.")


class LaneFile(_Out):
    file_id: int
    segment_id: int | None
    start: datetime
    end: datetime
    duration_s: float
    video_codec: str
    audio_codec: str | None
    category: str
    gps: list[list[float]]
    access: str = Field(description="own, approved, or approval (an approval is needed).")


class Lane(_Out):
    camera_id: str = Field(description="Use it with /api/recordings/{camera_id}/timeline too.")
    device: str
    officer: str | None
    officer_name: str | None
    unit: str | None
    files: list[LaneFile]


class BodywornTimelineOut(_Out):
    start: datetime
    end: datetime
    lanes: list[Lane]


class UploadIn(_In):
    filename: str = Field(min_length=1, max_length=300)
    size: int = Field(gt=0, description="Bytes.")
    sha256: str | None = Field(None, description="Checked against the bytes received.")
    officer_badge: str | None = Field(None, max_length=32, description="File it under.")
    device_serial: str | None = Field(None, max_length=48, description="If the file lacks it.")
    modified_at: datetime | None = Field(None, description="The file's time on the client.")


class UploadOut(_Out):
    id: str
    filename: str
    size: int
    offset: int = Field(description="Bytes received: send the next ones from here.")
    status: str = Field(description="open, stored, duplicate, rejected or cancelled.")
    file_id: int | None
    message: str
    chunk_bytes: int = Field(description="The chunk size the server suggests.")
    url: str = Field(description="Where to PUT the next bytes (?offset=N).")
