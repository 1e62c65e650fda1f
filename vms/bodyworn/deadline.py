"""The upload deadline: late files raise an alert; a shift's recorder that delivers nothing
raises "no footage from device D for shift S" once the deadline after the shift has passed.

Both checks are jobs (vms.ops.jobs); each alert is an ``events`` row on the recorder's camera
row, so it reaches the alert feed, the briefing and search like any other.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from vms.bodyworn.ingest import raise_late_alert
from vms.bodyworn.models import BodywornFile, Device, Officer, Shift
from vms.clock import Clock, utc
from vms.config import Config
from vms.db.models import Event
from vms.db.session import Database
from vms.vocab import EventType, Severity

log = logging.getLogger(__name__)

#: Shifts that ended longer ago than this are not looked at again.
LOOKBACK = timedelta(days=30)


@dataclass
class DeadlineReport:
    late_alerts: list[int] = field(default_factory=list)  # file ids
    missing: list[int] = field(default_factory=list)  # shift ids


class LateUploadCheck:
    """Every late file has its ``bodyworn_late_upload`` alert (ingest raises it; this job
    catches any that an interrupted ingest left without one)."""

    def __init__(self, db: Database, config: Config, clock: Clock) -> None:
        self.db = db
        self.config = config
        self.clock = clock

    def __call__(self) -> DeadlineReport:
        report = DeadlineReport()
        now = utc(self.clock.now())
        with self.db.session() as s:
            rows = s.scalars(
                select(BodywornFile).where(
                    BodywornFile.late.is_(True),
                    BodywornFile.late_event_id.is_(None),
                    BodywornFile.status == "active",
                )
            )
            for row in rows:
                device = s.get(Device, row.device_id)
                assert device is not None
                officer = s.get(Officer, row.officer_id) if row.officer_id else None
                deadline = self.config.bodyworn.upload_deadline_h
                raise_late_alert(s, row, device, officer, deadline, now)
                report.late_alerts.append(row.id)
        return report


class ShiftFootageCheck:
    """A recorder issued for a shift delivers footage recorded during it within the deadline."""

    def __init__(self, db: Database, config: Config, clock: Clock) -> None:
        self.db = db
        self.config = config
        self.clock = clock

    def __call__(self) -> DeadlineReport:
        report = DeadlineReport()
        now = utc(self.clock.now())
        deadline = timedelta(hours=self.config.bodyworn.upload_deadline_h)
        with self.db.session() as s:
            due = s.scalars(
                select(Shift).where(
                    Shift.event_id.is_(None),
                    Shift.end <= now - deadline,
                    Shift.end >= now - deadline - LOOKBACK,
                )
            )
            for shift in due:
                footage = s.scalar(
                    select(BodywornFile.id)
                    .where(
                        BodywornFile.device_id == shift.device_id,
                        BodywornFile.start < shift.end,
                        BodywornFile.end > shift.start,
                    )
                    .limit(1)
                )
                if footage is not None:
                    continue
                device = s.get(Device, shift.device_id)
                assert device is not None
                officer = s.get(Officer, shift.officer_id) if shift.officer_id else None
                event = Event(
                    type=EventType.BODYWORN_NO_FOOTAGE,
                    camera_id=device.camera_id,
                    start=now,
                    end=now,
                    severity=Severity.WARNING,
                    data={
                        "shift_id": shift.id,
                        "shift": shift.name,
                        "device": device.serial,
                        "officer": officer.badge if officer else None,
                        "officer_name": officer.name if officer else None,
                        "unit": officer.unit if officer else None,
                        "shift_start": utc(shift.start).isoformat(),
                        "shift_end": utc(shift.end).isoformat(),
                        "deadline_h": self.config.bodyworn.upload_deadline_h,
                        "message": f"no footage from device {device.serial} for shift {shift.name}",
                    },
                )
                s.add(event)
                s.flush()
                shift.event_id = event.id
                report.missing.append(shift.id)
                log.warning("no footage from device %s for shift %s", device.serial, shift.name)
        return report
