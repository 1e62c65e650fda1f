"""The periodic custody checks: load the state, run the rules, raise, clear and escalate alerts.

``run_custody_checks(db, config, clock)`` is the whole job; ``vms.ops.jobs.register_jobs``
schedules it every ``custody.check_interval_s`` (``vms custody run-checks`` runs it once).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from vms.clock import Clock
from vms.config import Config
from vms.custody.alerts import escalate, reconcile
from vms.custody.layout import Layout, build_layout
from vms.custody.models import Check, Interview, Person, Presence, Stay
from vms.custody.presence import PresenceSpan
from vms.custody.recording import camera_recordings
from vms.custody.report import interview_gaps
from vms.custody.rules import (
    CheckState,
    CustodyState,
    StayState,
    VideoEvent,
    evaluate,
    video_checks,
)
from vms.custody.service import interview_state, person_state, sync_rooms
from vms.db.models import Event
from vms.db.ranges import find_overlapping
from vms.db.session import Database
from vms.errors import DatabaseError
from vms.vocab import jsonable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckRunReport:
    """What one run of the checks did."""

    at: datetime
    raised: int
    cleared: int
    escalated: int
    video_checks: int


def load_state(
    db: Database, config: Config, layout: Layout, now: datetime
) -> tuple[CustodyState, list[Interview]]:
    """Everything the rules need: people held or released within ``lookback_min``, their
    stays, interviews and checks, and the video of their rooms since the earliest of them."""
    since = now - timedelta(minutes=config.custody.lookback_min)
    with db.session() as s:
        persons = list(
            s.scalars(
                select(Person).where(or_(Person.exited_at.is_(None), Person.exited_at >= since))
            )
        )
        ids = [p.id for p in persons]
        stays = list(
            s.scalars(
                select(Stay).where(
                    Stay.person_id.in_(ids), or_(Stay.end.is_(None), Stay.end >= since)
                )
            )
        )
        interviews = list(
            s.scalars(
                select(Interview).where(
                    or_(Interview.ended_at.is_(None), Interview.ended_at >= since)
                )
            )
        )
        checks = list(s.scalars(select(Check).where(Check.person_id.in_(ids))))
        starts = [st.start for st in stays] + [iv.started_at for iv in interviews]
        window = min(starts, default=now)
        cams = {c for r in layout.rooms.values() for c in r.cameras}
        presence = list(
            s.scalars(
                select(Presence).where(
                    Presence.camera_id.in_(cams),
                    or_(Presence.end.is_(None), Presence.end >= window),
                )
            )
        )
        kinds = [*config.custody.video_events.person_down, *config.custody.video_events.stillness]
        events = find_overlapping(
            s,
            select(Event).where(Event.camera_id.in_(cams), Event.type.in_(kinds)),
            Event,
            window,
            None,
        )
        recording = camera_recordings(s, config, layout)
    state = CustodyState(
        layout=layout,
        persons=[person_state(p) for p in persons],
        stays=[StayState(st.person_id, st.room_id, st.start, st.end) for st in stays],
        interviews=[interview_state(iv) for iv in interviews],
        checks=[CheckState(c.person_id, c.at, c.source) for c in checks],
        presence=[PresenceSpan.of(row) for row in presence],
        recording=recording,
        events=[VideoEvent(e.id, e.type, e.camera_id, e.start, e.end) for e in events],
    )
    return state, interviews


def _add_video_checks(db: Database, found: list[CheckState], camera_of: dict[int, Any]) -> int:
    added = 0
    with db.session() as s:
        for c in found:
            exists = s.scalar(
                select(func.count(Check.id)).where(
                    Check.person_id == c.person_id, Check.at == c.at, Check.source == "video"
                )
            )
            if not exists:
                s.add(
                    Check(
                        person_id=c.person_id,
                        at=c.at,
                        by="video",
                        source="video",
                        camera_id=camera_of.get(c.person_id),
                        note="a second person was seen in the room",
                    )
                )
                added += 1
    return added


def run_custody_checks(
    db: Database, config: Config, clock: Clock, *, layout: Layout | None = None
) -> CheckRunReport:
    """One run of every custody rule at ``clock.now()``."""
    layout = layout or build_layout(config)
    cfg = config.custody
    now = clock.now()
    sync_rooms(db, layout, now)
    state, interviews = load_state(db, config, layout, now)
    found = video_checks(state, now, cfg)
    known = {(c.person_id, c.at) for c in state.checks}
    new = [c for c in found if (c.person_id, c.at) not in known]
    added = 0
    if new:
        camera_of = {
            st.person_id: (layout.rooms[st.room_id].cameras or (None,))[0]
            for st in state.stays
            if st.room_id in layout.rooms
        }
        added = _add_video_checks(db, new, camera_of)
        state = CustodyState(**{**vars(state), "checks": [*state.checks, *new]})
    gaps = {iv.id: interview_gaps(db, config, layout, iv, now) for iv in interviews}
    state = CustodyState(**{**vars(state), "interview_gaps": gaps})
    conditions = evaluate(state, now, cfg)
    for attempt in (1, 2):
        try:
            with db.session() as s:
                result = reconcile(s, conditions, now)
                escalated = escalate(s, now, cfg.escalation)
                for iv in interviews:
                    row = s.get(Interview, iv.id)
                    if row is not None and gaps[iv.id]:
                        row.recording_incomplete = True
                        row.gaps = jsonable(gaps[iv.id])
            break
        except IntegrityError as exc:
            # Another process (`vms custody status` beside `vms serve`) raised the same
            # alert first: run the reconciliation again, which now finds it.
            if attempt == 2:
                raise DatabaseError(f"custody alerts could not be written: {exc}") from exc
    report = CheckRunReport(now, len(result.raised), len(result.cleared), len(escalated), added)
    if report.raised or report.escalated:
        log.info(
            "custody checks: %d alert(s) raised, %d cleared, %d escalated",
            report.raised,
            report.cleared,
            report.escalated,
        )
    return report
