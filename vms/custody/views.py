"""Typed views of the custody ledger: people held, interviews, checks, alerts and the status of
the custody area, as the CLI (``--json``), the web API and the alert feed show them.

Built from the ORM rows (``PersonView.model_validate(row)``); field names are the JSON keys
(``room`` for ``room_id``, ``person`` for ``person_id``, ...).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from vms.custody.config import EscalationConfig
from vms.custody.models import Alert
from vms.vocab import View


class PersonView(View):
    """A person held (or once held) in the custody area."""

    id: int
    name: str
    id_number: str | None
    case_number: str | None
    reason: str
    legal_basis: str
    limit_h: float = Field(description="The legal limit in force at entry, in hours.")
    risk: str
    site: str
    room: str = Field(validation_alias="room_id", description="The room the person is in.")
    entered_at: datetime
    entered_by: str
    exited_at: datetime | None
    exited_by: str | None
    flags: dict[str, Any]


class HeldView(PersonView):
    """A person held now, with their legal clock and the next welfare check."""

    legal_basis_title: str | None = Field(
        None, description="The legal basis as the reader calls it (the web fills it in)."
    )
    deadline: datetime = Field(description="When the legal limit is reached.")
    minutes_left: float = Field(description="Minutes to the deadline (negative: overdue).")
    room_since: datetime | None = Field(description="Since when the person is in their room.")
    last_check: datetime | None = Field(description="The latest welfare check.")
    next_check_due: datetime | None = Field(
        description="When the next observation is due; none where the room needs none."
    )


class InterviewView(View):
    id: int
    person: int = Field(validation_alias="person_id")
    room: str = Field(validation_alias="room_id")
    kind: str = Field(description="interrogation or inquiry (the room's type).")
    officers: list[dict[str, str]]
    started_at: datetime
    started_by: str
    ended_at: datetime | None
    ended_by: str | None
    note: str | None
    recording_incomplete: bool
    gaps: list[dict[str, Any]] = Field(description="Gaps in the room's recording meanwhile.")


class CheckView(View):
    """A welfare check of a person held (manual, or seen on video)."""

    id: int
    person: int = Field(validation_alias="person_id")
    at: datetime
    by: str
    source: str = Field(description="manual or video")
    camera: str | None = Field(validation_alias="camera_id")
    note: str | None


class AlertView(View):
    """A custody alert with its escalation level and who it has reached."""

    id: int
    type: str
    severity: str
    level: int
    level_to: str | None = Field(None, description="Who the current level notifies.")
    message: str
    site: str | None
    room: str | None = Field(validation_alias="room_id")
    person: int | None = Field(validation_alias="person_id")
    interview: int | None = Field(validation_alias="interview_id")
    camera: str | None = Field(validation_alias="camera_id")
    event: int | None = Field(validation_alias="event_id")
    raised_at: datetime = Field(description="When the situation began.")
    opened_at: datetime | None = Field(
        None,
        description="When vms raised the alert: its escalation clock starts here (a "
        "back-dated entry's alerts are about the past, yet start at level 1).",
    )
    cleared_at: datetime | None
    escalated_at: datetime | None
    acknowledged_by: str | None
    ack_note: str | None
    ack_at: datetime | None
    data: dict[str, Any]

    @classmethod
    def of(cls, a: Alert, cfg: EscalationConfig | None = None) -> AlertView:
        levels = cfg.levels if cfg else []
        level_to = levels[a.level - 1] if 0 < a.level <= len(levels) else None
        opened = a.opened_at or a.raised_at
        return cls.model_validate(a).model_copy(update={"level_to": level_to, "opened_at": opened})


class RoomVideo(View):
    """How many people a room's cameras see now (``count`` None: unknown or stale)."""

    count: int | None
    seen_at: datetime | None = Field(description="The room's latest observation.")
    cameras: dict[str, int | None] = Field(description="Each camera's current count.")


class RoomStatus(View):
    """A room of the custody area now: who the ledger puts there and what video sees."""

    id: str
    name: str
    site: str
    type: str
    cameras: list[str]
    held: list[int] = Field(description="Ids of the people the ledger puts in the room.")
    interview: bool = Field(description="An interview is in progress in the room.")
    video: RoomVideo = Field(description="People seen on video.")


class StatusView(View):
    """The custody area now: people held, interviews in progress, open alerts, rooms."""

    now: datetime
    held: list[HeldView]
    interviews: list[InterviewView]
    alerts: list[AlertView]
    rooms: list[RoomStatus] = Field(default_factory=list)
