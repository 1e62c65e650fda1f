"""Custody alerts in the database: raise and clear from rule conditions, escalate, acknowledge.

An alert is raised once per situation (its condition's key), cleared when the condition stops
holding, and escalated one level per ``escalation.after_min`` minutes until someone
acknowledges it with their name and a note (1 -> 2 -> 3 by default).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from vms.custody.config import EscalationConfig
from vms.custody.models import Alert
from vms.custody.rules import CURRENT_ONLY, AlertType, Condition


@dataclass
class ReconcileResult:
    raised: list[Alert] = field(default_factory=list)
    cleared: list[Alert] = field(default_factory=list)


def escalation_level(opened_at: datetime, now: datetime, cfg: EscalationConfig) -> int:
    """The level an alert raised at ``opened_at`` has reached at ``now`` if nobody acknowledged
    it: 1, then one more per ``after_min`` minutes, up to the number of levels."""
    steps = int((now - opened_at) / timedelta(minutes=cfg.after_min)) if now > opened_at else 0
    return max(1, min(len(cfg.levels), 1 + steps))


def escalation_start(a: Alert) -> datetime:
    """Where an alert's escalation clock starts: when vms raised it, not when its situation
    began (a person entered with a back-dated time raises alerts about the past: level 1)."""
    return a.opened_at or a.raised_at


def new_alert(c: Condition, now: datetime) -> Alert:
    return Alert(
        key=c.key,
        type=c.type.value,
        severity=c.severity,
        level=1,
        site=c.site,
        room_id=c.room_id,
        person_id=c.person_id,
        interview_id=c.interview_id,
        camera_id=c.camera_id,
        event_id=c.event_id,
        message=c.message,
        data=dict(c.data),
        raised_at=c.since,
        opened_at=max(c.since, now),
        cleared_at=c.until,
    )


def reconcile(
    s: Session,
    conditions: Sequence[Condition],
    now: datetime,
    *,
    current_only: Iterable[AlertType] = CURRENT_ONLY,
) -> ReconcileResult:
    """Raise an alert for every new condition and clear those whose condition has ended."""
    result = ReconcileResult()
    by_key = {c.key: c for c in conditions}
    existing: dict[str, Alert] = {}
    keys = list(by_key)
    for i in range(0, len(keys), 500):
        for a in s.scalars(select(Alert).where(Alert.key.in_(keys[i : i + 500]))):
            existing[a.key] = a
    for c in by_key.values():
        alert = existing.get(c.key)
        if alert is None:
            alert = new_alert(c, now)
            s.add(alert)
            result.raised.append(alert)
        elif c.until is not None and alert.cleared_at is None:
            alert.cleared_at = c.until
            result.cleared.append(alert)
    types = [t.value for t in current_only]
    for alert in s.scalars(select(Alert).where(Alert.type.in_(types), Alert.cleared_at.is_(None))):
        if alert.key not in by_key:
            alert.cleared_at = now
            result.cleared.append(alert)
    s.flush()
    return result


def escalate(s: Session, now: datetime, cfg: EscalationConfig) -> list[Alert]:
    """Raise the level of every unacknowledged alert that has waited long enough."""
    out: list[Alert] = []
    top = len(cfg.levels)
    for alert in s.scalars(
        select(Alert).where(Alert.ack_at.is_(None), Alert.level < top).order_by(Alert.id)
    ):
        start = escalation_start(alert)
        level = escalation_level(start, now, cfg)
        if level > alert.level:
            alert.level = level
            alert.escalated_at = start + (level - 1) * timedelta(minutes=cfg.after_min)
            out.append(alert)
    return out
