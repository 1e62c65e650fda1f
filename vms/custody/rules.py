"""The custody rules: pure functions of (state, now, config) returning alert conditions.

Each rule looks at the ledger (people, stays, interviews, checks) joined with the video
(people visible per room, recording status, analytics events) and returns the situations
that call for an alert. A condition's ``key`` names its situation (rule, subject, and when it
began), so evaluating again - every few seconds, or after a restart - never raises it twice::

    conditions = evaluate(state, now, config.custody)
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from vms.custody.config import CustodyConfig, RiskLevel
from vms.custody.continuity import CoverageGap
from vms.custody.layout import Layout, Room
from vms.custody.presence import PresenceSpan, room_timeline, runs
from vms.custody.texts import english
from vms.vocab import CustodyAlertType, jsonable, severity_of

#: The custody alert types (the vocabulary's; their severities are there too).
AlertType = CustodyAlertType


#: Rules that look only at the present: their alerts clear when no longer produced.
CURRENT_ONLY: frozenset[AlertType] = frozenset({AlertType.ROOM_WITHOUT_VIDEO, AlertType.NO_SOUND})


# --- the state the rules read --------------------------------------------------------------


@dataclass(frozen=True)
class Officer:
    name: str
    badge: str


@dataclass(frozen=True)
class PersonState:
    id: int
    name: str
    site: str
    legal_basis: str
    limit_h: float
    risk: RiskLevel
    entered_at: datetime
    exited_at: datetime | None

    @property
    def deadline(self) -> datetime:
        return self.entered_at + timedelta(hours=self.limit_h)


@dataclass(frozen=True)
class StayState:
    person_id: int
    room_id: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class InterviewState:
    id: int
    person_id: int
    room_id: str
    started_at: datetime
    ended_at: datetime | None
    officers: tuple[Officer, ...]


@dataclass(frozen=True)
class CheckState:
    person_id: int
    at: datetime
    source: str


@dataclass(frozen=True)
class CameraRecording:
    """What the index says about one camera's recording, for 'room without video'."""

    camera_id: str
    record: bool
    segment_s: float
    latest_start: datetime | None = None
    latest_end: datetime | None = None
    open_gap_since: datetime | None = None
    #: Whether the newest segment holds an audio stream (None: no segment, streams unknown).
    audio: bool | None = None
    #: Since when the camera records no audio stream: the first segment without one after
    #: the last with one (or the camera's first segment).
    no_audio_since: datetime | None = None


@dataclass(frozen=True)
class VideoEvent:
    """An analytics event (person down, stillness) on a camera."""

    id: int
    type: str
    camera_id: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class CustodyState:
    """Everything the rules read, loaded once per evaluation."""

    layout: Layout
    persons: Sequence[PersonState] = ()
    stays: Sequence[StayState] = ()
    interviews: Sequence[InterviewState] = ()
    checks: Sequence[CheckState] = ()
    presence: Sequence[PresenceSpan] = ()
    recording: Mapping[str, CameraRecording] = field(default_factory=dict)
    events: Sequence[VideoEvent] = ()
    interview_gaps: Mapping[int, Sequence[CoverageGap]] = field(default_factory=dict)

    def person(self, person_id: int) -> PersonState | None:
        return next((p for p in self.persons if p.id == person_id), None)

    def room_spans(self, room: Room) -> list[PresenceSpan]:
        return [sp for sp in self.presence if sp.camera_id in room.cameras]


@dataclass(frozen=True)
class Condition:
    """A situation that calls for an alert: from ``since`` until ``until`` (None: ongoing)."""

    type: AlertType
    key: str
    since: datetime
    until: datetime | None
    message: str
    site: str | None = None
    room_id: str | None = None
    person_id: int | None = None
    interview_id: int | None = None
    camera_id: str | None = None
    event_id: int | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def severity(self) -> str:
        return severity_of(self.type)


Rule = Callable[[CustodyState, datetime, CustodyConfig], list[Condition]]


def _room_alert(
    kind: AlertType, key: str, since: datetime, room: Room, data: dict[str, Any], **ids: Any
) -> Condition:
    """An ongoing condition of ``room`` since ``since``; its message says ``data``."""
    return Condition(
        kind, key, since, None, english(kind, data, since), site=room.site, room_id=room.id,
        data=data, **ids,
    )  # fmt: skip


# --- the rules ------------------------------------------------------------------------------


def legal_clock_rule(state: CustodyState, now: datetime, cfg: CustodyConfig) -> list[Condition]:
    """Warnings ``warn_before_min`` before the limit; at the limit an alert that stands while
    the person is still held."""
    out: list[Condition] = []
    for p in state.persons:
        basis = cfg.legal_bases.get(p.legal_basis)
        title = basis.title if basis else p.legal_basis
        facts = {
            "deadline": p.deadline.isoformat(),
            "name": p.name,
            "basis_title": title,
            "limit_h": p.limit_h,
        }
        for lead in cfg.legal_clock.warn_before_min:
            at = p.deadline - timedelta(minutes=lead)
            if now >= at and (p.exited_at is None or p.exited_at > at):
                data = {**facts, "lead_min": lead}
                out.append(
                    Condition(
                        AlertType.LEGAL_WARNING,
                        f"legal_clock_warning:{p.id}:{lead}",
                        at,
                        p.exited_at,
                        english(AlertType.LEGAL_WARNING, data, at),
                        site=p.site,
                        person_id=p.id,
                        data=data,
                    )
                )
        if now >= p.deadline and (p.exited_at is None or p.exited_at > p.deadline):
            out.append(
                Condition(
                    AlertType.LEGAL_LIMIT,
                    f"legal_clock_limit:{p.id}",
                    p.deadline,
                    p.exited_at,
                    english(AlertType.LEGAL_LIMIT, facts, p.deadline),
                    site=p.site,
                    person_id=p.id,
                    data=facts,
                )
            )
    return out


def resummons_condition(
    person: PersonState, previous_exit: datetime | None, cfg: CustodyConfig
) -> Condition | None:
    """A new entry of the same person sooner than the minimum interval after release."""
    if previous_exit is None:
        return None
    interval = person.entered_at - previous_exit
    if interval >= timedelta(hours=cfg.legal_clock.resummons_min_interval_h):
        return None
    hours = interval.total_seconds() / 3600
    data = {
        "previous_exit": previous_exit.isoformat(),
        "interval_h": round(hours, 2),
        "name": person.name,
        "min_h": cfg.legal_clock.resummons_min_interval_h,
    }
    return Condition(
        AlertType.RESUMMONS,
        f"resummons:{person.id}",
        person.entered_at,
        None,
        english(AlertType.RESUMMONS, data, person.entered_at),
        site=person.site,
        person_id=person.id,
        data=data,
    )


def two_officer_rule(state: CustodyState, now: datetime, cfg: CustodyConfig) -> list[Condition]:
    """An interview with fewer than ``min_officers`` officers registered, or fewer than the
    subject and ``min_officers`` officers visible in its room for ``for_s``."""
    need = cfg.two_officer.min_officers
    out: list[Condition] = []
    for iv in state.interviews:
        room = state.layout.rooms.get(iv.room_id)
        person = state.person(iv.person_id)
        who = person.name if person else f"person {iv.person_id}"
        common: dict[str, Any] = {
            "site": room.site if room else None,
            "room_id": iv.room_id,
            "person_id": iv.person_id,
            "interview_id": iv.id,
        }
        if len(iv.officers) < need:
            data = {"officers": len(iv.officers), "required": need, "interview": iv.id, "name": who}
            out.append(
                Condition(
                    AlertType.TWO_OFFICER,
                    f"two_officer:{iv.id}:registered",
                    iv.started_at,
                    iv.ended_at,
                    english(AlertType.TWO_OFFICER, data, iv.started_at),
                    data=data,
                    **common,
                )
            )
        if room is None:
            continue
        end = iv.ended_at or now
        pieces = room_timeline(
            state.room_spans(room), iv.started_at, end, now, cfg.presence.stale_s
        )
        ongoing = now if iv.ended_at is None else None
        for run in runs(
            pieces, lambda n: n < need + 1, min_s=cfg.two_officer.for_s, ongoing_at=ongoing
        ):
            since = run.start + timedelta(seconds=cfg.two_officer.for_s)
            data = {
                "visible_below": need + 1,
                "from": run.start.isoformat(),
                "interview": iv.id,
                "name": who,
                "room_name": room.name,
            }
            out.append(
                Condition(
                    AlertType.TWO_OFFICER,
                    f"two_officer:{iv.id}:{run.start.isoformat()}",
                    since,
                    run.end,
                    english(AlertType.TWO_OFFICER, data, since),
                    data=data,
                    **common,
                )
            )
    return out


def person_alone_rule(state: CustodyState, now: datetime, cfg: CustodyConfig) -> list[Condition]:
    """A person held in a holding room or cell is the only person visible for ``for_s``."""
    types = set(cfg.person_alone.room_types)
    out: list[Condition] = []
    for stay in state.stays:
        room = state.layout.rooms.get(stay.room_id)
        person = state.person(stay.person_id)
        if room is None or person is None or room.type.value not in types:
            continue
        end = stay.end or now
        pieces = room_timeline(state.room_spans(room), stay.start, end, now, cfg.presence.stale_s)
        ongoing = now if stay.end is None else None
        for run in runs(pieces, lambda n: n == 1, min_s=cfg.person_alone.for_s, ongoing_at=ongoing):
            since = run.start + timedelta(seconds=cfg.person_alone.for_s)
            data = {"from": run.start.isoformat(), "name": person.name, "room_name": room.name}
            out.append(
                Condition(
                    AlertType.PERSON_ALONE,
                    f"person_alone:{person.id}:{room.id}:{run.start.isoformat()}",
                    since,
                    run.end,
                    english(AlertType.PERSON_ALONE, data, since),
                    site=room.site,
                    room_id=room.id,
                    person_id=person.id,
                    data=data,
                )
            )
    return out


def video_events_rule(state: CustodyState, now: datetime, cfg: CustodyConfig) -> list[Condition]:
    """Person down and stillness events on cameras of cells and holding rooms in use."""
    kinds = {t: AlertType.PERSON_DOWN for t in cfg.video_events.person_down}
    kinds |= {t: AlertType.STILLNESS for t in cfg.video_events.stillness}
    types = set(cfg.video_events.room_types)
    out: list[Condition] = []
    for ev in state.events:
        atype = kinds.get(ev.type)
        room = state.layout.room_of_camera(ev.camera_id)
        if atype is None or room is None or room.type.value not in types:
            continue
        held = [
            s.person_id
            for s in state.stays
            if s.room_id == room.id and s.start <= ev.start and (s.end is None or s.end > ev.start)
        ]
        if not held:
            continue
        names = [p.name for pid in held if (p := state.person(pid)) is not None]
        data = {
            "event_type": ev.type,
            "persons": held,
            "names": names,
            "alert": atype.value,
            "room_name": room.name,
            "from": ev.start.isoformat(),
        }
        out.append(
            Condition(
                atype,
                f"{atype.value}:{ev.id}",
                ev.start,
                ev.end,
                english(atype, data, ev.start),
                site=room.site,
                room_id=room.id,
                person_id=held[0] if len(held) == 1 else None,
                camera_id=ev.camera_id,
                event_id=ev.id,
                data=data,
            )
        )
    return out


def observed_room(room_type: str, cfg: CustodyConfig) -> bool:
    """Whether people in a room of this type are observed at intervals (cells, holding)."""
    return room_type in cfg.observation.room_types


def observation_interval(risk: RiskLevel, cfg: CustodyConfig) -> timedelta:
    """How often a person of this risk level is observed."""
    return timedelta(minutes=cfg.observation.interval_min(risk))


def next_observation_due(
    stay_start: datetime, last_check: datetime | None, risk: RiskLevel, cfg: CustodyConfig
) -> datetime:
    """When the next observation of a person in an observed room is due: one interval after
    the latest check in the stay, or after arriving in the room (arriving counts as seen)."""
    ref = max(stay_start, last_check) if last_check is not None else stay_start
    return ref + observation_interval(risk, cfg)


def observation_rule(state: CustodyState, now: datetime, cfg: CustodyConfig) -> list[Condition]:
    """No check of a person in a cell or holding room within their risk level's interval.
    Arriving in the room counts as seen; each check restarts the interval."""
    out: list[Condition] = []
    for stay in state.stays:
        room = state.layout.rooms.get(stay.room_id)
        person = state.person(stay.person_id)
        if room is None or person is None or not observed_room(room.type.value, cfg):
            continue
        interval = observation_interval(person.risk, cfg)
        end = stay.end or now
        checks = sorted(
            c.at for c in state.checks if c.person_id == person.id and stay.start < c.at <= end
        )
        ref = stay.start
        episodes: list[tuple[datetime, datetime | None]] = []
        for at in checks:
            if at > ref + interval:
                episodes.append((ref + interval, at))
            ref = at
        due = next_observation_due(stay.start, ref, person.risk, cfg)
        if end > due:
            episodes.append((due, stay.end))
        for since, until in episodes:
            data = {
                "risk": person.risk.value,
                "due": since.isoformat(),
                "name": person.name,
                "room_name": room.name,
                "interval_min": interval.total_seconds() / 60,
            }
            out.append(
                Condition(
                    AlertType.OBSERVATION_OVERDUE,
                    f"observation_overdue:{person.id}:{since.isoformat()}",
                    since,
                    until,
                    english(AlertType.OBSERVATION_OVERDUE, data, since),
                    site=room.site,
                    room_id=room.id,
                    person_id=person.id,
                    data=data,
                )
            )
    return out


def video_checks(state: CustodyState, now: datetime, cfg: CustodyConfig) -> list[CheckState]:
    """Checks seen on video: more people in a cell or holding room than are held there, for
    at least ``video_visit_s`` (someone entered the cell)."""
    visit = cfg.observation.video_visit_s
    if visit is None:
        return []
    types = set(cfg.observation.room_types)
    out: list[CheckState] = []
    for stay in state.stays:
        room = state.layout.rooms.get(stay.room_id)
        if room is None or room.type.value not in types:
            continue
        held = sum(
            1
            for s in state.stays
            if s.room_id == room.id
            and s.start <= (stay.end or now)
            and (s.end or now) >= stay.start
        )
        end = stay.end or now
        pieces = room_timeline(state.room_spans(room), stay.start, end, now, cfg.presence.stale_s)
        for run in runs(pieces, partial(operator.lt, held), min_s=visit, ongoing_at=None):
            out.append(CheckState(stay.person_id, run.start, "video"))
    return out


def recording_rule(state: CustodyState, now: datetime, cfg: CustodyConfig) -> list[Condition]:
    """A room in use (a person held there, or an interview) where no camera is recording;
    and every gap in the recording of an interview room during an interview."""
    out: list[Condition] = []
    in_use: dict[str, datetime] = {}
    for s in state.stays:
        if s.end is None:
            in_use[s.room_id] = min(in_use.get(s.room_id, s.start), s.start)
    for iv in state.interviews:
        if iv.ended_at is None:
            in_use[iv.room_id] = min(in_use.get(iv.room_id, iv.started_at), iv.started_at)
    stale = timedelta(seconds=cfg.recording.stale_s)
    for room_id, used_since in sorted(in_use.items()):
        room = state.layout.rooms.get(room_id)
        if room is None:
            continue
        lost: list[datetime] = []
        recording = False
        for cam_id in room.cameras:
            status = state.recording.get(cam_id)
            ok, since = _recording_now(status, now, stale)
            recording = recording or ok
            if since is not None:
                lost.append(since)
        if recording:
            continue
        since = max([used_since, *lost])
        data: dict[str, Any] = {
            "cameras": list(room.cameras),
            "room_name": room.name,
            "since": since.isoformat(),
        }
        key = f"room_without_video:{room.id}:{since.isoformat()}"
        out.append(_room_alert(AlertType.ROOM_WITHOUT_VIDEO, key, since, room, data))
    for iv in state.interviews:
        room = state.layout.rooms.get(iv.room_id)
        for gap in state.interview_gaps.get(iv.id, ()):
            data = {"gap": jsonable(gap), "interview": iv.id}
            what = "" if gap.kind == "video" else f"{gap.kind}:"
            out.append(
                Condition(
                    AlertType.RECORDING_INCOMPLETE,
                    f"recording_incomplete:{iv.id}:{gap.camera_id}:{what}{gap.start.isoformat()}",
                    gap.start,
                    gap.end if gap.end < (iv.ended_at or now) else iv.ended_at,
                    english(AlertType.RECORDING_INCOMPLETE, data, gap.start),
                    site=room.site if room else None,
                    room_id=iv.room_id,
                    person_id=iv.person_id,
                    interview_id=iv.id,
                    camera_id=gap.camera_id or None,
                    data=data,
                )
            )
    return out


def _recording_now(
    cam: CameraRecording | None, now: datetime, stale: timedelta
) -> tuple[bool, datetime | None]:
    """(recording now, since when it is not)."""
    if cam is None or not cam.record:
        return False, None
    if cam.open_gap_since is not None:
        return False, cam.open_gap_since
    if cam.latest_start is None:
        return False, None
    if cam.latest_end is None:
        due = cam.latest_start + timedelta(seconds=cam.segment_s)
        return (True, None) if now <= due + stale else (False, due)
    return (True, None) if now - cam.latest_end <= stale else (False, cam.latest_end)


def no_sound_rule(state: CustodyState, now: datetime, cfg: CustodyConfig) -> list[Condition]:
    """A camera of an interview room that records no audio stream at all: "interrogation
    room records no sound", raised as soon as its recorded streams are known (when it is
    configured), and again for every interview held there while it lasts. Both clear when
    the camera records sound again (or the interview ends)."""
    out: list[Condition] = []
    types = set(cfg.recording.sound_room_types)
    for room in state.layout.rooms.values():
        if room.type.value not in types:
            continue
        for cam_id in room.cameras:
            rec = state.recording.get(cam_id)
            if rec is None or not rec.record or rec.audio is not False:
                continue
            since = rec.no_audio_since or rec.latest_start or now
            data: dict[str, Any] = {
                "camera": cam_id,
                "room_name": room.name,
                "room_type": room.type.value,
                "since": since.isoformat(),
            }
            key = f"no_sound:{cam_id}:{since.isoformat()}"
            out.append(_room_alert(AlertType.NO_SOUND, key, since, room, data, camera_id=cam_id))
            for iv in state.interviews:
                if iv.room_id != room.id or iv.ended_at is not None:
                    continue
                iv_data = {**data, "interview": iv.id, "since": iv.started_at.isoformat()}
                key = f"no_sound:{cam_id}:interview:{iv.id}"
                ids = {"person_id": iv.person_id, "interview_id": iv.id, "camera_id": cam_id}
                out.append(
                    _room_alert(AlertType.NO_SOUND, key, iv.started_at, room, iv_data, **ids)
                )
    return out


RULES: tuple[Rule, ...] = (
    legal_clock_rule,
    two_officer_rule,
    person_alone_rule,
    video_events_rule,
    observation_rule,
    recording_rule,
    no_sound_rule,
)


def evaluate(state: CustodyState, now: datetime, cfg: CustodyConfig) -> list[Condition]:
    """Every rule's conditions at ``now``."""
    return [c for rule in RULES for c in rule(state, now, cfg)]
