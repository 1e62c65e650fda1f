"""Request and response bodies of the web API (pydantic), kept apart from the ORM models."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from vms.custody.views import AlertView, InterviewView
from vms.web.limits import InModel
from vms.web.roles import Role


class _In(InModel):
    """A request body: unknown fields refused; integers and times within range (limits)."""

    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Message(_Out):
    message: str


# -- auth ------------------------------------------------------------------------------


class LoginIn(_In):
    username: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=1, max_length=1000)


class UserOut(_Out):
    id: int
    username: str
    full_name: str
    role: Role
    active: bool
    camera_scope: list[str] | None
    created_at: datetime
    disabled_at: datetime | None
    language: str | None = Field(None, description="zh-CN or en; null: the browser's.")


class MeOut(_Out):
    id: int
    username: str
    role: Role
    camera_scope: list[str] | None
    permissions: list[str]
    language: str | None = Field(None, description="zh-CN or en; null: the browser's.")


class MeIn(_In):
    language: str | None = Field(
        description="The language of the pages: zh-CN or en; null: the browser's language."
    )


class TokenIn(_In):
    name: str = Field(min_length=1, max_length=100, description="What the token is for.")
    days: float | None = Field(None, gt=0, le=3650, description="Expiry; none: until revoked.")


class TokenOut(_Out):
    id: int
    name: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The secret, shown only now: send it as 'Bearer <token>'.")


# -- users -----------------------------------------------------------------------------


class UserIn(_In):
    username: str = Field(min_length=2, max_length=100)
    password: str = Field(min_length=10, max_length=1000)
    role: Role
    full_name: str = Field("", max_length=200)
    camera_scope: list[str] | None = Field(None, description="Camera ids; none: every camera.")


class UserPatch(_In):
    role: Role | None = None
    full_name: str | None = Field(None, max_length=200)
    camera_scope: list[str] | None = None
    all_cameras: bool = Field(False, description="Clear the camera scope (see every camera).")
    active: bool | None = None
    password: str | None = Field(None, min_length=10, max_length=1000)


# -- cameras ---------------------------------------------------------------------------


class CameraOut(_Out):
    id: str
    name: str
    kind: str
    site: str
    room: str | None
    room_type: str | None
    record: bool
    online: bool
    state: str
    fps: float
    bitrate_bps: float
    packets_skipped: int
    analysis_frames_dropped: int
    reconnects: int
    last_packet_at: datetime | None
    last_error: str | None
    codec: str | None
    width: int | None
    height: int | None


# -- recordings ------------------------------------------------------------------------


class SegmentOut(_Out):
    id: int
    start: datetime
    end: datetime | None
    duration_s: float | None
    status: str
    bytes: int | None
    sha256: str | None


class GapOut(_Out):
    id: int
    start: datetime
    end: datetime | None
    reason: str
    kind: str = Field("video", description="video: nothing recorded; audio: picture without sound.")


class EventOut(_Out):
    id: int
    type: str
    camera_id: str
    zone: str | None
    start: datetime
    end: datetime | None
    severity: str
    has_snapshot: bool
    acked: bool = False
    data: dict[str, Any]


class TimelineOut(_Out):
    camera_id: str
    custody: bool = Field(description="Playing this camera's footage needs a reason.")
    bodyworn: bool = Field(
        False,
        description=(
            "A body-worn recorder (bw.<serial>): each segment is one of its files; playing or "
            "downloading one needs the file's approval unless it is the caller's own."
        ),
    )
    day_start: datetime
    day_end: datetime
    segments: list[SegmentOut]
    gaps: list[GapOut]
    events: list[EventOut]


class PlaybackIn(_In):
    segment_id: int
    reason: str | None = Field(
        None, max_length=1000, description="Why: required for custody-room cameras."
    )
    hevc: bool = Field(
        False, description="The browser decodes H.265 in MP4 (canPlayType): served as recorded."
    )


class PlaybackOut(_Out):
    segment_id: int
    url: str = Field(description="The video, with a signed grant; supports HTTP range requests.")
    start: datetime
    end: datetime | None
    viewing_copy: bool = Field(
        False,
        description="The URL serves a copy made for this browser (transcoded for viewing), "
        "not the recorded file; the evidence is the original.",
    )
    note: str | None = Field(None, description="What to tell the viewer about the copy.")
    original_sha256: str | None = Field(None, description="SHA-256 of the recorded segment.")


# -- live ------------------------------------------------------------------------------


class SdpIn(_In):
    sdp: str = Field(min_length=1, max_length=100_000)
    type: str = Field(pattern="^offer$")


class SdpOut(_Out):
    sdp: str
    type: str
    audio: str | None = Field(
        None, description="The camera's sound: PCMA / PCMU (as sent), opus (transcoded), none."
    )
    transcoded: str | None = Field(
        None, description="Why the picture is not the camera's own packets (H.265 cameras)."
    )


# -- alerts ----------------------------------------------------------------------------


class AckIn(_In):
    note: str = Field("", max_length=2000)


class AckOut(_Out):
    id: int
    event_id: int
    username: str
    note: str
    at: datetime


class CustodyAlertOut(AlertView):
    """A custody alert with the name of its room."""

    room_name: str | None = Field(description="The room's name (its id if unknown).")


class AlertMessage(EventOut):
    """Feed message ``alert``: a new event."""

    kind: Literal["alert"] = "alert"
    late: bool = Field(
        False,
        description="Committed after a newer alert was sent (another node's slower write).",
    )


class AckMessage(AckOut):
    """Feed message ``ack``: an alert was acknowledged."""

    kind: Literal["ack"] = "ack"
    camera_id: str


class CustodyMessage(CustodyAlertOut):
    """Feed message ``custody``: a custody alert raised, escalated, acknowledged or cleared."""

    kind: Literal["custody"] = "custody"
    camera_id: str | None
    open: bool = Field(description="Not yet acknowledged or not yet cleared.")


#: What the alert feed sends (server-sent event ``event:`` is the ``kind``).
FeedMessage = AlertMessage | AckMessage | CustodyMessage


class AlertsOut(_Out):
    last_id: int = Field(description="The newest event id: where the live feed takes over.")
    alerts: list[EventOut]
    custody: list[CustodyMessage] = Field(
        default_factory=list,
        description="Open custody alerts (not acknowledged or not cleared), oldest first.",
    )


class SearchHitOut(EventOut):
    camera_name: str
    recording_start: datetime | None
    play_url: str = Field(description="The playback page at the event's recording.")


class PersonBriefOut(_Out):
    """A person in the custody ledger, for the search page's "person held" filter."""

    id: int
    name: str
    case_number: str | None
    entered_at: datetime
    exited_at: datetime | None


# -- health, ops, briefings ------------------------------------------------------------


class HealthOut(_Out):
    status: Literal["ok"] = "ok"


class BriefingLink(_Out):
    date: str
    json_url: str = Field(serialization_alias="json", description="The day's briefing as JSON.")
    html: str = Field(description="The day's briefing page.")


# -- cases -----------------------------------------------------------------------------


class CaseIn(_In):
    number: str = Field(min_length=1, max_length=64, description="e.g. 2026-0142")
    title: str = Field(min_length=1, max_length=300)
    investigators: list[str] = Field(default_factory=list)


class CaseOut(_Out):
    id: int
    number: str
    title: str
    status: str
    owner: str
    investigators: list[str]
    created_at: datetime
    created_by: str
    closed_at: datetime | None


class InterviewListOut(InterviewView):
    person_name: str


class ItemOut(_Out):
    id: int
    kind: str
    camera_id: str
    start: datetime
    end: datetime
    sha256: str | None
    bytes: int | None
    gaps: list[dict[str, Any]]
    note: str
    reason: str
    created_at: datetime
    created_by: str


class CaseDetailOut(CaseOut):
    items: list[ItemOut]
    exports: list[str] = Field(description="Export packages made so far (newest last).")


class ClipIn(_In):
    camera_id: str
    start: datetime
    end: datetime
    note: str = Field("", max_length=2000)
    reason: str | None = Field(
        None, max_length=1000, description="Why: required for custody-room cameras."
    )


class ExportIn(_In):
    reason: str | None = Field(
        None, max_length=1000, description="Why: required when the case holds custody footage."
    )


class ExportOut(_Out):
    name: str
    url: str
    manifest_sha256: str
    key_fingerprint: str
    files: int
    bytes: int


# -- court copies ----------------------------------------------------------------------


class CourtCopyIn(_In):
    reason: str = Field(
        "", max_length=1000, description="Why (required: custody footage; audited)."
    )


class CourtCopyOut(_Out):
    """A court copy asked for: its progress, then what was made (a derived copy)."""

    id: str
    interview_id: int
    state: str = Field(description="queued, rendering, done or failed.")
    progress: float = Field(description="0 to 1.")
    done_s: float
    total_s: float
    error: str | None = None
    derived: bool = True
    sha256: str | None = Field(None, description="Of the court copy MP4.")
    seconds: float | None = None
    complete: bool | None = Field(None, description="The interview's picture and sound.")
    gaps: int | None = Field(None, description="Gaps shown in the copy (slates, banners).")
    originals: int | None = Field(None, description="Original segments in the package.")
    download: str | None = Field(None, description="The package (zip), once done.")
