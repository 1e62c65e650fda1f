"""The ``custody:`` section of the configuration: rooms without cameras and every rule default.

Numbers that come from law are defaults here, never constants in the rules; docs/custody.md
gives the legal source of each.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from vms.i18n import N_
from vms.vocab import ConfigModel, EventType, RoomType

_ROOM_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"


def _types(*names: str) -> list[RoomType]:
    return [RoomType(n) for n in names]


class RiskLevel(StrEnum):
    """How closely a person held must be watched."""

    NORMAL = "normal"
    ELEVATED = "elevated"
    HIGH = "high"


class CustodyRoomConfig(ConfigModel):
    """A room of a custody area. Rooms with cameras need not be listed: the cameras' ``site``,
    ``room`` and ``room_type`` declare them. List a room here to give it an id, or when it has
    no camera (it is then a room without video whenever it is in use)."""

    name: str = Field(min_length=1, description="The room's name, as in the cameras' 'room'.")
    type: RoomType = Field(description="One of the seven custody-area space types.")
    id: str | None = Field(
        None,
        pattern=_ROOM_ID,
        description="Short id used on the command line; default: the name in lower case, "
        "spaces as '-'.",
    )
    main_camera: str | None = Field(
        None,
        description="Court copy: the camera shown full frame (the frontal medium shot of the "
        "person questioned); default: the room's first camera in the configuration.",
    )
    inset_camera: str | None = Field(
        None,
        description="Court copy: the camera shown inset (the overview of the room); default: "
        "the room's next camera, none if the room has one camera.",
    )
    microphone_camera: str | None = Field(
        None,
        description="Court copy: the camera whose sound it carries; default: the main camera.",
    )


class CustodySiteConfig(ConfigModel):
    """A custody area (case-handling area), named as in the cameras' ``site``."""

    name: str = Field(min_length=1, description="The site's name, as in the cameras' 'site'.")
    rooms: list[CustodyRoomConfig] = Field(
        default_factory=list, description="Rooms of the site not (only) declared by cameras."
    )


class LegalBasisConfig(ConfigModel):
    """A legal basis for holding a person and its time limit from entry."""

    title: str = Field(description="Human name shown in the ledger.")
    limit_h: float | None = Field(
        description="Hours from entry; null: the limit is given at entry (custom).", gt=0
    )
    source: str = Field("", description="Where the limit comes from (law and article).")


def default_legal_bases() -> dict[str, LegalBasisConfig]:
    b = LegalBasisConfig
    return {
        "summons": b(title=N_("Summons"), limit_h=12, source="CPL art. 119"),
        "summons_serious": b(
            title=N_("Summons, serious case (detention or arrest needed)"),
            limit_h=24,
            source="CPL art. 119",
        ),
        "admin_questioning": b(
            title=N_("Questioning after administrative summons"),
            limit_h=8,
            source="Public Security Administration Punishment Law art. 83",
        ),
        "admin_questioning_detention": b(
            title=N_("Administrative questioning, detention may follow"),
            limit_h=24,
            source="Public Security Administration Punishment Law art. 83",
        ),
        "continued_questioning": b(
            title=N_("Continued questioning"), limit_h=24, source="People's Police Law art. 9"
        ),
        "continued_questioning_extended": b(
            title=N_("Continued questioning, extended with approval"),
            limit_h=48,
            source="People's Police Law art. 9",
        ),
        "custom": b(title=N_("Other (limit given at entry)"), limit_h=None, source=""),
    }


class LegalClockConfig(ConfigModel):
    """Warnings before a person's legal limit; an alert at it and while held past it."""

    warn_before_min: list[int] = Field(
        default_factory=lambda: [60, 15],
        description="Minutes before the limit at which a warning is raised.",
    )
    resummons_min_interval_h: float = Field(
        12,
        ge=0,
        description="A new entry of the same ID number sooner than this after release is "
        "flagged (practice rule: at least 12 h between two summons).",
    )

    @field_validator("warn_before_min")
    @classmethod
    def _positive(cls, value: list[int]) -> list[int]:
        if any(v <= 0 for v in value):
            raise ValueError(f"lead times must be positive minutes, got {value}")
        return sorted(set(value), reverse=True)


class ObservationConfig(ConfigModel):
    """Observation rounds of people held in cells and holding rooms."""

    normal_min: int = Field(60, gt=0, description="Risk 'normal': at least this often (min).")
    elevated_min: int = Field(30, gt=0, description="Risk 'elevated' (e.g. intoxicated), min.")
    high_min: int = Field(15, gt=0, description="Risk 'high', min.")
    room_types: list[RoomType] = Field(
        default_factory=lambda: _types("cell", "holding"),
        description="Rooms where a person held must be checked.",
    )
    video_visit_s: float | None = Field(
        5.0,
        gt=0,
        description="A second person seen in the room for this long counts as a check; "
        "null: only checks recorded by hand count.",
    )

    def interval_min(self, risk: RiskLevel) -> int:
        return {
            RiskLevel.NORMAL: self.normal_min,
            RiskLevel.ELEVATED: self.elevated_min,
            RiskLevel.HIGH: self.high_min,
        }[risk]


class TwoOfficerConfig(ConfigModel):
    """During an interview: the subject and at least ``min_officers`` officers are visible."""

    min_officers: int = Field(2, ge=1, description="Officers required (CPL art. 118: two).")
    for_s: float = Field(60, gt=0, description="Too few people visible this long: alert.")


class PersonAloneConfig(ConfigModel):
    """A person held is the only person visible in a room."""

    room_types: list[RoomType] = Field(
        default_factory=lambda: _types("holding", "cell"), description="Rooms it applies to."
    )
    for_s: float = Field(60, gt=0, description="Alone this long: alert.")


class VideoEventsConfig(ConfigModel):
    """Analytics events on cameras of rooms where a person is held become custody alerts."""

    room_types: list[RoomType] = Field(
        default_factory=lambda: _types("cell", "holding"), description="Rooms it applies to."
    )
    person_down: list[str] = Field(
        default_factory=lambda: [EventType.PERSON_DOWN.value],
        description="Analytics event types that mean a person is down (critical).",
    )
    stillness: list[str] = Field(
        default_factory=lambda: [EventType.STILLNESS.value],
        description="Analytics event types that mean a person is lying or sitting still.",
    )


class RecordingCheckConfig(ConfigModel):
    """When a room in use counts as without video, and when an interview as incomplete."""

    stale_s: float = Field(
        30,
        gt=0,
        description="A camera whose newest segment ended (or, if open, was due to rotate) "
        "longer ago than this is not recording.",
    )
    continuity_tolerance_s: float = Field(
        1.0, ge=0, description="Holes between segments shorter than this are not gaps."
    )
    sound_room_types: list[RoomType] = Field(
        default_factory=lambda: _types("interrogation", "inquiry"),
        description="Rooms whose cameras must record sound: a camera of one that sends no "
        "audio raises 'no sound' (MPS interrogation-recording rules art. 3).",
    )


class CourtCopyConfig(ConfigModel):
    """The court copy of an interview: picture-in-picture, time burned in, H.264 + AAC."""

    timezone: str | None = Field(
        None,
        description="IANA time zone of the local time burned in beside UTC; default: the "
        "site's (site.timezone, Asia/Shanghai unless set).",
    )
    max_height: int = Field(
        1080, ge=240, le=2160, description="Output height at most (the main camera's, scaled)."
    )
    fps: float | None = Field(
        None, gt=0, le=60, description="Output frame rate; default: the main camera's."
    )
    inset_width: float = Field(
        0.32, gt=0.1, le=0.5, description="Width of the inset as a share of the frame's width."
    )
    inset_corner: Literal["top-right", "top-left", "bottom-right", "bottom-left"] = Field(
        "top-right", description="Where the inset goes."
    )
    crf: int = Field(23, ge=0, le=51, description="libx264 quality (lower: better, larger).")
    preset: str = Field(
        "veryfast",
        pattern=r"^(ultrafast|superfast|veryfast|faster|fast|medium|slow)$",
        description="libx264 speed preset.",
    )
    audio_bitrate: int = Field(96_000, ge=16_000, le=320_000, description="AAC bit rate, b/s.")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (an IANA name: Asia/Shanghai)") from exc
        return value


class EscalationConfig(ConfigModel):
    """An alert not acknowledged in time goes to the next duty level."""

    after_min: float = Field(5, gt=0, description="Minutes without acknowledgement per level.")
    levels: list[str] = Field(
        default_factory=lambda: ["duty officer", "custody supervisor", "duty commander"],
        min_length=1,
        description="Who each level goes to; the number of entries is the top level.",
    )


class PresenceConfig(ConfigModel):
    """How per-frame person counts from analytics become a room's count over time."""

    settle_s: float = Field(
        2.0,
        ge=0,
        description="The count is the largest seen in this many seconds, so a missed "
        "detection does not look like someone leaving.",
    )
    heartbeat_s: float = Field(5.0, gt=0, description="How often an unchanged count is confirmed.")
    stale_s: float = Field(
        15.0, gt=0, description="No observation for this long: the count is unknown."
    )


class CustodyConfig(ConfigModel):
    """Custody areas: rooms not declared by cameras, legal limits and alert rules."""

    sites: list[CustodySiteConfig] = Field(
        default_factory=list, description="Sites and rooms beyond those of the cameras."
    )
    legal_bases: dict[str, LegalBasisConfig] = Field(
        default_factory=default_legal_bases,
        description="Legal bases by key; entries given here replace or add to the defaults.",
    )
    legal_clock: LegalClockConfig = Field(
        default_factory=LegalClockConfig, description="Warnings before the legal limit."
    )
    observation: ObservationConfig = Field(
        default_factory=ObservationConfig, description="Observation rounds by risk level."
    )
    two_officer: TwoOfficerConfig = Field(
        default_factory=TwoOfficerConfig, description="Two officers at every interview."
    )
    person_alone: PersonAloneConfig = Field(
        default_factory=PersonAloneConfig, description="A person held left alone."
    )
    video_events: VideoEventsConfig = Field(
        default_factory=VideoEventsConfig, description="Person down and stillness from analytics."
    )
    recording: RecordingCheckConfig = Field(
        default_factory=RecordingCheckConfig,
        description="Rooms without video and incomplete interview recordings.",
    )
    court_copy: CourtCopyConfig = Field(
        default_factory=CourtCopyConfig, description="The court copy of interviews."
    )
    escalation: EscalationConfig = Field(
        default_factory=EscalationConfig, description="Escalation of unacknowledged alerts."
    )
    presence: PresenceConfig = Field(
        default_factory=PresenceConfig, description="People visible per room, from analytics."
    )
    check_interval_s: float = Field(
        10, gt=0, description="How often `vms serve` runs the custody checks."
    )
    lookback_min: float = Field(
        120, gt=0, description="Checks also look at people and interviews ended this recently."
    )

    @field_validator("legal_bases", mode="before")
    @classmethod
    def _merge_defaults(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {**default_legal_bases(), **value}
        return value

    @model_validator(mode="after")
    def _unique_rooms(self) -> Self:
        seen: set[tuple[str, str]] = set()
        for site in self.sites:
            for room in site.rooms:
                key = (site.name.casefold(), room.name.casefold())
                if key in seen:
                    raise ValueError(f"room {room.name!r} of site {site.name!r} is listed twice")
                seen.add(key)
        return self
