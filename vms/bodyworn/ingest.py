"""The one ingest path of body-worn files, for the dock folders, uploads and the CLI.

    offer ──copy + SHA-256 in one pass──> staging ──probe (child process)──> checks
          ──known hash?──> duplicate (nothing stored twice)
          ──> device, officer at recording time, start/end, GPS, lateness
          ──> place(key) ──> one transaction: segment row, file row, ingest log,
              audit entry, late-upload alert

A file the probe cannot read, or that is not recorder footage, is rejected with its reason
and loses nothing: an upload's bytes are kept in quarantine, a dock's file stays where it
is. A file whose packets fall short of what its header declares is ``incomplete`` (a dock
still copying it, or a killed copy): docks try it again when it changes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from vms.bodyworn.config import BodywornConfig, Category
from vms.bodyworn.metadata import (
    Times,
    badge_tag,
    bbox,
    decide_times,
    duration_of,
    gps_track,
    parse_name,
    serial_tag,
)
from vms.bodyworn.models import BodywornFile, Device, IngestRecord, Officer
from vms.bodyworn.officers import ensure_device, officer_at
from vms.bodyworn.probe import ProbeInfo, probe
from vms.bodyworn.store import copy_hashed, key_for, place, staging_dir
from vms.clock import Clock, utc
from vms.config import Config
from vms.db.models import Event, Segment
from vms.db.session import Database
from vms.errors import InvalidError, NotFoundError, VideoError
from vms.evidence import audit
from vms.evidence.audit import Actor
from vms.vocab import EventType, Severity, Subsystem

log = logging.getLogger(__name__)

STORED, DUPLICATE, REJECTED, INCOMPLETE = "stored", "duplicate", "rejected", "incomplete"
DOCK, UPLOAD, CLI = "dock", "upload", "cli"


@dataclass(frozen=True)
class Offer:
    """A file offered for ingest, and who offers it through which door."""

    name: str  # the file's own name on the recorder
    source: str  # dock, upload or cli
    actor: Actor
    file_time: datetime | None = None  # modification time where the file came from
    officer_badge: str | None = None  # declared by the uploader (CLI --officer, upload form)
    device_serial: str | None = None  # declared, or the dock port's folder name
    dock_id: str | None = None
    #: Filed under this badge when neither the assignment history nor the file names anyone
    #: (an officer uploading their own recorder's files).
    fallback_badge: str | None = None
    incomplete_is_final: bool = True  # docks: False (the copy may still be running)


@dataclass
class IngestResult:
    result: str  # stored, duplicate, rejected or incomplete
    sha256: str
    bytes: int
    name: str
    file_id: int | None = None
    reason: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


class Ingestor:
    """Takes files in from any door, onto this node's disk (the tiering job moves finished
    files to the bucket later); one per process."""

    def __init__(self, db: Database, config: Config, clock: Clock) -> None:
        self.db = db
        self.config = config
        self.bw: BodywornConfig = config.bodyworn
        self.clock = clock
        #: The probe's child function; tests put one there that crashes.
        self.probe_target: str | None = None

    # --- the doors --------------------------------------------------------------------

    def check_offer(self, offer: Offer) -> None:
        """Refuse a declared officer or device that does not exist, before any copying."""
        with self.db.session() as s:
            if offer.officer_badge is not None and (
                s.scalar(select(Officer.id).where(Officer.badge == offer.officer_badge)) is None
            ):
                raise NotFoundError(
                    f"no officer with badge {offer.officer_badge!r}", subsystem=Subsystem.BODYWORN
                )

    def ingest_path(self, path: Path, offer: Offer) -> IngestResult:
        """Copy a file in (CLI, docks), hashing it as it is read; its modification time is
        the file time unless the offer names one."""
        self.check_offer(offer)
        try:
            with path.open("rb") as src:
                if offer.file_time is None:
                    mtime = datetime.fromtimestamp(os.fstat(src.fileno()).st_mtime, UTC)
                    offer = replace(offer, file_time=mtime)
                return self.ingest_stream(src, offer)
        except FileNotFoundError as exc:
            raise NotFoundError(f"{path}: no such file", subsystem=Subsystem.BODYWORN) from exc
        except IsADirectoryError as exc:
            raise InvalidError(f"{path} is a folder", subsystem=Subsystem.BODYWORN) from exc

    def ingest_stream(self, src: BinaryIO, offer: Offer) -> IngestResult:
        staged = self.new_staging_path()
        sha, size = copy_hashed(src, staged, limit=self.bw.max_file_bytes)
        return self.finish(staged, sha, size, offer)

    def staging(self) -> Path:
        """The local folder of files being received."""
        return staging_dir(self.config.storage.root)

    def new_staging_path(self) -> Path:
        return self.staging() / f"{uuid.uuid4().hex}.part"

    # --- from a complete staged copy ----------------------------------------------------

    def finish(self, staged: Path, sha: str, size: int, offer: Offer) -> IngestResult:
        """Index a complete staged copy whose hash is ``sha``; the staged file is consumed."""
        try:
            known = self._known(sha)
            if known is not None:
                staged.unlink(missing_ok=True)
                return self._duplicate(known, sha, size, offer)
            try:
                info = probe(
                    staged,
                    timeout=self.bw.probe_timeout_s,
                    **({"target": self.probe_target} if self.probe_target else {}),
                )
            except VideoError as exc:
                return self._reject(staged, sha, size, offer, str(exc).split(": ", 1)[-1])
            if info.open_error is not None:
                why = f"not a readable video file: {info.open_error}"
                if not offer.incomplete_is_final:  # a copy still running, or broken off
                    staged.unlink(missing_ok=True)
                    return IngestResult(INCOMPLETE, sha, size, offer.name, reason=why)
                return self._reject(staged, sha, size, offer, why)
            problems = info.missing()
            if problems:
                if not offer.incomplete_is_final:
                    staged.unlink(missing_ok=True)
                    return IngestResult(
                        INCOMPLETE, sha, size, offer.name, reason="; ".join(problems)
                    )
                return self._reject(
                    staged, sha, size, offer, "the file is incomplete: " + "; ".join(problems)
                )
            refused = self._not_footage(info)
            if refused:
                return self._reject(staged, sha, size, offer, refused)
            return self._store(staged, sha, size, offer, info)
        finally:
            staged.unlink(missing_ok=True)

    def _known(self, sha: str) -> int | None:
        with self.db.session() as s:
            return s.scalar(
                select(BodywornFile.id).where(
                    BodywornFile.sha256 == sha, BodywornFile.status == "active"
                )
            )

    def _not_footage(self, info: ProbeInfo) -> str | None:
        video = info.video
        if video is None:
            return "the file has no video stream"
        if video.codec not in self.bw.video_codecs:
            accepted = ", ".join(self.bw.video_codecs)
            return (
                f"video codec {video.codec!r} is not recorder footage (accepted: {accepted}; "
                "bodyworn.video_codecs)"
            )
        if not video.packets or duration_of(info) <= 0:
            return "the file holds no video packets"
        return None

    def _log(
        self,
        s: Session,
        offer: Offer,
        sha: str,
        size: int,
        result: str,
        *,
        file_id: int | None = None,
        reason: str = "",
        quarantine: str | None = None,
    ) -> None:
        s.add(
            IngestRecord(
                at=self.clock.now(),
                source=offer.source,
                dock_id=offer.dock_id,
                name=offer.name[:300],
                bytes=size,
                sha256=sha,
                result=result,
                file_id=file_id,
                reason=reason,
                by=offer.actor.user,
                quarantine=quarantine,
            )
        )

    def _duplicate(self, file_id: int, sha: str, size: int, offer: Offer) -> IngestResult:
        with self.db.session() as s:
            self._log(s, offer, sha, size, DUPLICATE, file_id=file_id)
        log.info("body-worn %s: already stored as file %d (%s)", offer.name, file_id, sha[:12])
        return IngestResult(
            DUPLICATE, sha, size, offer.name, file_id, f"already stored as file {file_id}"
        )

    def reject_staged(
        self, staged: Path, sha: str, size: int, offer: Offer, reason: str
    ) -> IngestResult:
        """Refuse a complete staged copy for ``reason`` (kept in quarantine, logged, audited)."""
        try:
            return self._reject(staged, sha, size, offer, reason)
        finally:
            staged.unlink(missing_ok=True)

    def _reject(self, staged: Path, sha: str, size: int, offer: Offer, reason: str) -> IngestResult:
        quarantine = None
        if offer.source != DOCK:  # a dock keeps its own copy; an upload's bytes are kept here
            folder = self.config.storage.root / "bodyworn" / "rejected"
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / f"{sha}{Path(key_for(sha, offer.name)).suffix}"
            with contextlib.suppress(OSError):
                os.replace(staged, target)
                quarantine = target.relative_to(self.config.storage.root).as_posix()
        with self.db.session() as s:
            self._log(s, offer, sha, size, REJECTED, reason=reason, quarantine=quarantine)
            audit.append(
                s, self.clock, offer.actor, "reject", "bodyworn", sha[:16],
                details={"name": offer.name, "sha256": sha, "bytes": size, "why": reason,
                         "source": offer.source, "dock": offer.dock_id,
                         "quarantine": quarantine},
            )  # fmt: skip
        log.warning("body-worn %s rejected: %s", offer.name, reason)
        return IngestResult(REJECTED, sha, size, offer.name, reason=reason)

    # --- storing and indexing ------------------------------------------------------------

    def _store(
        self, staged: Path, sha: str, size: int, offer: Offer, info: ProbeInfo
    ) -> IngestResult:
        now = utc(self.clock.now())
        name = parse_name(offer.name, self.bw.name_patterns, self.bw.zone)
        serial = offer.device_serial or serial_tag(info) or name.serial
        if serial is None:
            return self._reject(
                staged, sha, size, offer,
                "cannot tell which recorder made the file (no serial in its tags or name): "
                "say which device it came from",
            )  # fmt: skip
        times = decide_times(
            info,
            name,
            offer.file_time,
            now,
            metadata_zone=self.bw.zone if self.bw.metadata_local_time else None,
        )
        key = key_for(sha, offer.name)
        place(self.config.storage.root, staged, key)
        try:
            with self.db.session() as s:
                file_id, details = self._index(s, offer, info, sha, size, key, serial, times, now)
        except IntegrityError:
            # Another door stored the same bytes meanwhile: same key, same content.
            known = self._known(sha)
            if known is None:
                raise
            return self._duplicate(known, sha, size, offer)
        except BaseException:
            if self._known(sha) is None:
                (self.config.storage.root / key).unlink(missing_ok=True)
            raise
        log.info(
            "body-worn %s stored as file %d (%s, %s, officer %s)",
            offer.name, file_id, serial, times.source.value, details["officer"],
        )  # fmt: skip
        return IngestResult(STORED, sha, size, offer.name, file_id, details=details)

    def _officer(
        self, s: Session, offer: Offer, info: ProbeInfo, device: Device, times: Times
    ) -> tuple[Officer | None, str]:
        if offer.officer_badge:
            row = s.scalar(select(Officer).where(Officer.badge == offer.officer_badge))
            if row is not None:
                return row, "declared"
        held = officer_at(s, device.id, times.start)
        if held is not None:
            return held, "assignment"
        badge = badge_tag(info) or parse_name(offer.name, self.bw.name_patterns, self.bw.zone).badge
        for found, source in ((badge, "file"), (offer.fallback_badge, "declared")):
            if found:
                row = s.scalar(select(Officer).where(Officer.badge == found))
                if row is not None:
                    return row, source
        return None, "none"

    def _index(
        self,
        s: Session,
        offer: Offer,
        info: ProbeInfo,
        sha: str,
        size: int,
        key: str,
        serial: str,
        times: Times,
        now: datetime,
    ) -> tuple[int, dict[str, Any]]:
        default_days = self.bw.retention_days.default
        device = ensure_device(
            s, self.clock, offer.actor, serial, registered=False, retention_days=default_days
        )
        officer, officer_source = self._officer(s, offer, info, device, times)
        video = info.video
        audio = info.audio
        assert video is not None
        track = gps_track(info)
        box = bbox(track)
        lateness = (now - times.end).total_seconds()
        late = lateness > self.bw.upload_deadline_h * 3600
        segment = Segment(
            camera_id=device.camera_id,
            start=times.start,
            end=times.end,
            duration_s=(times.end - times.start).total_seconds(),
            path=key,
            bytes=size,
            sha256=sha,
            codec=video.codec,
            width=video.width,
            height=video.height,
            fps=video.fps,
            packets=video.packets,
            status="complete",
        )
        s.add(segment)
        s.flush()
        row = s.scalar(select(BodywornFile).where(BodywornFile.sha256 == sha))
        if row is None:
            row = BodywornFile(sha256=sha)
            s.add(row)
        row.segment_id = segment.id
        row.device_id = device.id
        row.officer_id = officer.id if officer else None
        row.officer_source = officer_source
        row.status = "active"
        row.path = key
        row.bytes = size
        row.original_name = offer.name[:300]
        row.container = info.format[:64]
        row.video_codec = video.codec
        row.audio_codec = audio.codec if audio else None
        row.width = video.width
        row.height = video.height
        row.fps = video.fps
        row.duration_s = round((times.end - times.start).total_seconds(), 6)
        row.start = times.start
        row.end = times.end
        row.time_source = times.source.value
        row.gps = track or None
        row.min_lat, row.max_lat, row.min_lon, row.max_lon = box or (None, None, None, None)
        row.tags = dict(list(info.tags.items())[:50])
        row.source = offer.source
        row.dock_id = offer.dock_id
        row.ingested_at = now
        row.ingested_by = offer.actor.user
        row.lateness_s = round(lateness, 3)
        row.late = late
        row.late_event_id = None
        row.category = Category.DEFAULT.value
        row.category_by = row.category_reason = None
        row.category_at = None
        row.deleted_at = None
        s.flush()
        details: dict[str, Any] = {
            "name": offer.name,
            "sha256": sha,
            "bytes": size,
            "path": key,
            "device": serial,
            "officer": officer.badge if officer else None,
            "officer_source": officer_source,
            "start": times.start.isoformat(),
            "end": times.end.isoformat(),
            "time_source": times.source.value,
            "source": offer.source,
            "dock": offer.dock_id,
            "late": late,
            "lateness_h": round(lateness / 3600, 2),
        }
        self._log(s, offer, sha, size, STORED, file_id=row.id)
        audit.append(s, self.clock, offer.actor, "create", "bodyworn", row.id, details=details)
        if late:
            raise_late_alert(s, row, device, officer, self.bw.upload_deadline_h, now)
        return row.id, details


def raise_late_alert(
    s: Session,
    row: BodywornFile,
    device: Device,
    officer: Officer | None,
    deadline_h: float,
    now: datetime,
) -> Event:
    """The ``bodyworn_late_upload`` alert of a file uploaded after the deadline (once)."""
    event = Event(
        type=EventType.BODYWORN_LATE_UPLOAD,
        camera_id=device.camera_id,
        start=now,
        end=now,
        severity=Severity.WARNING,
        data={
            "file_id": row.id,
            "device": device.serial,
            "officer": officer.badge if officer else None,
            "officer_name": officer.name if officer else None,
            "unit": officer.unit if officer else None,
            "recorded_end": row.end.isoformat(),
            "uploaded_at": row.ingested_at.isoformat(),
            "lateness_h": round(row.lateness_s / 3600, 2),
            "deadline_h": deadline_h,
            "message": (
                f"{row.original_name} from {device.serial} was uploaded "
                f"{timedelta(seconds=round(row.lateness_s))} after recording ended "
                f"(limit {deadline_h:g} h)"
            ),
        },
    )
    s.add(event)
    s.flush()
    row.late_event_id = event.id
    return event
