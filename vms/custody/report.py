"""The auditor's interview report: every segment of the room's cameras, continuity, hashes.

report = interview_report(db, config, interview_id, now)
report.continuous          # False when any camera of the room has a gap in the interview
print(report.to_text())    # or jsonable(report)
export_interview(db, config, interview_id, Path("out"), now)   # one MP4 per camera + report
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

import av
from pydantic import Field, computed_field

from vms.config import Config
from vms.custody.continuity import (
    CoverageGap,
    GapSpan,
    SegmentSpan,
    SoundSpan,
    coverage_gaps,
    sound_gaps,
)
from vms.custody.layout import Layout, build_layout
from vms.custody.models import Interview, Person
from vms.custody.recording import segment_seconds
from vms.custody.views import InterviewView, PersonView
from vms.db.models import Segment
from vms.db.session import Database
from vms.errors import NotFoundError, StorageError
from vms.evidence.clips import SourceSegment, cut_clip
from vms.i18n import Texts, texts_for
from vms.recordings import (
    audio_gaps_in_range,
    gaps_in_range,
    has_audio,
    segment_streams,
    segments_in_range,
)
from vms.storage.base import LOCAL, Storage
from vms.storage.resolve import as_storage, storage_for
from vms.vocab import Subsystem, View, jsonable, view_from


def camera_gaps(
    db: Database, config: Config, camera_id: str, start: datetime, end: datetime, now: datetime
) -> list[CoverageGap]:
    """Holes in one camera's recording over [start, end]."""
    segs = segments_in_range(db, camera_id, start, end)
    gaps = gaps_in_range(db, camera_id, start, end)
    return coverage_gaps(
        camera_id,
        [SegmentSpan(s.start, s.end) for s in segs],
        [GapSpan(g.start, g.end, g.reason) for g in gaps],
        start,
        end,
        now=now,
        segment_s=segment_seconds(config, camera_id),
        stale_s=config.custody.recording.stale_s,
        tolerance_s=config.custody.recording.continuity_tolerance_s,
    )


def _probe_audio(storage: Storage, seg: Segment) -> bool:
    """Whether a segment's file (on the disk or in the bucket) holds an audio stream, for
    segments indexed without their streams (before migration 0012); a file that cannot be
    read counts as holding one: its hash check reports it."""
    try:
        if seg.location == LOCAL:
            with av.open(str(storage.local_path(seg.path))) as c:
                return bool(c.streams.audio)
        with av.open(io.BytesIO(storage.read_bytes(seg.location, seg.path))) as c:
            return bool(c.streams.audio)
    except (av.FFmpegError, OSError, StorageError):
        return True


def camera_sound_gaps(
    db: Database,
    config: Config,
    camera_id: str,
    start: datetime,
    end: datetime,
    now: datetime,
    picture_gaps: list[CoverageGap],
    segments: list[Segment] | None = None,
) -> list[CoverageGap]:
    """Times in [start, end] the camera's picture was recorded without its sound: segments
    without an audio stream (from the index) and audio gaps (the microphone stopped)."""
    segs = segments if segments is not None else segments_in_range(db, camera_id, start, end)
    streams = segment_streams(db, [s.id for s in segs])
    storage = storage_for(config)
    spans = [
        SoundSpan(
            s.id,
            s.start,
            s.end,
            has_audio(streams[s.id]) if streams[s.id] else _probe_audio(storage, s),
        )
        for s in segs
    ]
    return sound_gaps(
        camera_id,
        spans,
        [GapSpan(g.start, g.end, g.reason) for g in audio_gaps_in_range(db, camera_id, start, end)],
        picture_gaps,
        start,
        end,
        now=now,
        segment_s=segment_seconds(config, camera_id),
        stale_s=config.custody.recording.stale_s,
        tolerance_s=config.custody.recording.continuity_tolerance_s,
    )


def interview_gaps(
    db: Database, config: Config, layout: Layout, iv: Interview, now: datetime
) -> list[CoverageGap]:
    """Every gap in the recording of the interview's room from its start to its end (or now):
    picture gaps (nothing recorded) and audio gaps (picture without sound), camera by camera."""
    end = iv.ended_at or now
    room = layout.rooms.get(iv.room_id)
    if room is None or not room.cameras:
        return [CoverageGap("", iv.started_at, end, ("the room has no camera",))]
    out: list[CoverageGap] = []
    for cam in room.cameras:
        picture = camera_gaps(db, config, cam, iv.started_at, end, now)
        out += picture
        out += camera_sound_gaps(db, config, cam, iv.started_at, end, now, picture)
    return out


def hash_status(storage: Storage | Path, seg: Segment) -> tuple[str, str | None]:
    """(ok | mismatch | missing | unhashed, the hash computed now), wherever the file is."""
    found = as_storage(storage).sha256(seg.location, seg.path)
    if found is None:
        return "missing", None
    if seg.sha256 is None:
        return "unhashed", None
    actual = found[0]
    return ("ok" if actual == seg.sha256 else "mismatch"), actual


class SegmentCheck(View):
    """A recorded segment of the interview's room, with its hash checked now."""

    id: int
    path: str
    start: datetime
    end: datetime | None
    duration_s: float | None
    bytes: int | None
    sha256: str | None
    status: str
    location: str = Field(LOCAL, description="local (a node's disk) or bucket.")
    hash_check: str = Field(description="ok, mismatch, missing or unhashed.")


class CameraReport(View):
    """One camera of the room over the interview: its segments, the holes between them (no
    recording at all) and the times its picture was recorded without sound."""

    camera_id: str = Field(serialization_alias="camera")
    segments: list[SegmentCheck]
    gaps: list[CoverageGap] = Field(description="Picture gaps: nothing was recorded.")
    audio_gaps: list[CoverageGap] = Field(
        default_factory=list, description="Audio gaps: the picture was recorded without sound."
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def continuous(self) -> bool:
        return not self.gaps

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sound(self) -> bool:
        """Sound was recorded for the whole interview (where there was a picture)."""
        return not self.audio_gaps

    @computed_field  # type: ignore[prop-decorator]
    @property
    def complete(self) -> bool:
        """Picture and sound for the whole interview."""
        return self.continuous and self.sound

    @computed_field  # type: ignore[prop-decorator]
    @property
    def hashes_ok(self) -> bool:
        return all(s.hash_check == "ok" for s in self.segments)


class RoomRef(View):
    id: str
    name: str
    site: str | None
    type: str | None
    cameras: list[str]


class InterviewExport(View):
    """The MP4 written for one camera (``path`` None and ``error`` when none could be)."""

    camera: str
    path: str | None
    start: datetime | None = None
    end: datetime | None = None
    packets: int | None = None
    audio_packets: int | None = Field(None, description="The camera's sound, as recorded.")
    bytes: int | None = None
    sha256: str | None = None
    sources: list[int] = Field(default_factory=list)
    error: str | None = None


class InterviewReport(View):
    """The auditor's report of one interview: every camera of the room, continuity, hashes."""

    interview: InterviewView
    person: PersonView
    room: RoomRef
    start: datetime
    end: datetime
    in_progress: bool
    generated_at: datetime
    cameras: list[CameraReport] = Field(default_factory=list)
    exports: list[InterviewExport] = Field(default_factory=list)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def duration_s(self) -> float:
        return round((self.end - self.start).total_seconds(), 3)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def continuous(self) -> bool:
        return bool(self.cameras) and all(c.continuous for c in self.cameras)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sound(self) -> bool:
        """Every camera of the room recorded sound whenever it recorded a picture."""
        return bool(self.cameras) and all(c.sound for c in self.cameras)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def complete(self) -> bool:
        """Every camera of the room recorded picture and sound for the whole interview
        (CPL art. 123; MPS interrogation-recording rules art. 3)."""
        return self.continuous and self.sound

    @computed_field  # type: ignore[prop-decorator]
    @property
    def hashes_ok(self) -> bool:
        return all(c.hashes_ok for c in self.cameras)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def officers(self) -> list[dict[str, str]]:
        return self.interview.officers

    @computed_field  # type: ignore[prop-decorator]
    @property
    def hash_state(self) -> str:
        """'failed' if a file is altered or missing, 'in_progress' while a segment is still
        being written (it has no hash yet: not a failure), else 'ok'."""
        checks = {sg.hash_check for c in self.cameras for sg in c.segments}
        if checks & {"mismatch", "missing"}:
            return "failed"
        return "in_progress" if "unhashed" in checks else "ok"

    def to_text(self, texts: Texts | None = None) -> str:
        """The report as a reader reads it: their language, the site's local time."""
        tx = texts or texts_for("en", "UTC")
        _ = tx.gettext
        iv, p = self.interview, self.person
        yes, no = _("yes"), _("no")
        hash_word = {
            "ok": _("all segments ok"),
            "in_progress": _("recording in progress (the last segment has no hash yet)"),
            "failed": _("FAILED"),
        }[self.hash_state]
        officers = ", ".join(
            _("%(name)s (badge %(badge)s)", name=o["name"], badge=o["badge"]) for o in iv.officers
        )
        end = _("(in progress)") if self.in_progress else _("by %(who)s", who=iv.ended_by)
        lines = [
            _(
                "Interview %(id)s (%(kind)s) of %(name)s (person %(person)s, case %(case)s)",
                id=iv.id,
                kind=tx.label("room_type", iv.kind),
                name=p.name,
                person=p.id,
                case=p.case_number or "-",
            ),
            _(
                "Room: %(name)s (%(id)s, %(site)s)",
                name=self.room.name,
                id=self.room.id,
                site=self.room.site,
            ),
            _("Start: %(at)s   by %(who)s", at=tx.when(self.start), who=iv.started_by),
            _("End: %(at)s   %(end)s", at=tx.when(self.end), end=end),
            _("Duration: %(d)s", d=tx.duration(self.duration_s)),
            _("Officers: %(list)s", list=officers or _("none")),
            _("Complete (picture and sound): %(v)s", v=yes if self.complete else no),
            _("Continuous: %(v)s", v=yes if self.continuous else no),
            _("Sound: %(v)s", v=yes if self.sound else no),
            _("Hash check: %(v)s", v=hash_word),
        ]
        if not self.cameras:
            lines.append(_("No camera covers this room: nothing of the interview is recorded."))
        for cam in self.cameras:
            lines.append("")
            lines.append(
                _(
                    "Camera %(camera)s: %(n)d segment(s), continuous: %(v)s, sound: %(s)s",
                    camera=cam.camera_id,
                    n=len(cam.segments),
                    v=yes if cam.continuous else no,
                    s=yes if cam.sound else no,
                )
            )
            for sg in cam.segments:
                lines.append(
                    "  "
                    + _(
                        "segment %(id)s %(start)s .. %(end)s  %(path)s  sha256 %(sha)s  %(check)s",
                        id=sg.id,
                        start=tx.time(sg.start),
                        end=tx.time(sg.end) if sg.end else _("being written"),
                        path=sg.path,
                        sha=(sg.sha256 or "-")[:16],
                        check=tx.label("hash_check", sg.hash_check),
                    )
                )
            for g in cam.gaps:
                lines.append(
                    "  "
                    + _(
                        "GAP %(start)s .. %(end)s  %(d)s  (%(why)s)",
                        start=tx.time(g.start),
                        end=tx.time(g.end),
                        d=tx.duration(g.duration_s),
                        why="; ".join(g.reasons),
                    )
                )
            for g in cam.audio_gaps:
                lines.append(
                    "  "
                    + _(
                        "AUDIO GAP %(start)s .. %(end)s  %(d)s  (%(why)s)",
                        start=tx.time(g.start),
                        end=tx.time(g.end),
                        d=tx.duration(g.duration_s),
                        why="; ".join(g.reasons),
                    )
                )
        for e in self.exports:
            if e.path:
                lines.append(
                    _(
                        "Exported %(camera)s: %(path)s sha256 %(sha)s",
                        camera=e.camera,
                        path=e.path,
                        sha=e.sha256,
                    )
                )
            else:
                lines.append(_("Not exported %(camera)s: no footage", camera=e.camera))
        return "\n".join(lines)


def interview_report(
    db: Database, config: Config, interview_id: int, now: datetime, *, layout: Layout | None = None
) -> InterviewReport:
    """The continuity and hash report of one interview."""
    layout = layout or build_layout(config)
    with db.session() as s:
        iv = s.get(Interview, interview_id)
        if iv is None:
            raise NotFoundError(f"no interview {interview_id}", subsystem=Subsystem.CUSTODY)
        person = s.get(Person, iv.person_id)
        assert person is not None
    end = iv.ended_at or now
    room = layout.rooms.get(iv.room_id)
    cameras = []
    storage = storage_for(config)
    for cam in room.cameras if room else ():
        segs = segments_in_range(db, cam, iv.started_at, end)
        segments = [
            view_from(SegmentCheck, seg, hash_check=hash_status(storage, seg)[0]) for seg in segs
        ]
        gaps = camera_gaps(db, config, cam, iv.started_at, end, now)
        audio = camera_sound_gaps(db, config, cam, iv.started_at, end, now, gaps, segs)
        cameras.append(CameraReport(camera_id=cam, segments=segments, gaps=gaps, audio_gaps=audio))
    return InterviewReport(
        interview=InterviewView.model_validate(iv),
        person=PersonView.model_validate(person),
        room=RoomRef(
            id=iv.room_id,
            name=room.name if room else iv.room_id,
            site=room.site if room else None,
            type=room.type.value if room else None,
            cameras=list(room.cameras) if room else [],
        ),
        start=iv.started_at,
        end=end,
        in_progress=iv.ended_at is None,
        generated_at=now,
        cameras=cameras,
    )


def export_interview(
    db: Database, config: Config, interview_id: int, out_dir: Path, now: datetime
) -> InterviewReport:
    """Write one file per camera of the room covering the interview (the recorded packets,
    picture and sound, remuxed, never re-encoded; gaps stay gaps in the timeline) and the
    report beside them."""
    report = interview_report(db, config, interview_id, now)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot create {out_dir}: {exc}") from exc
    for cam in report.cameras:
        sources = [
            SourceSegment(sg.id, sg.path, sg.sha256, sg.bytes or 0, sg.start, sg.end, sg.location)
            for sg in cam.segments
            if sg.sha256 is not None and sg.end is not None
        ]
        if not sources:
            report.exports.append(
                InterviewExport(camera=cam.camera_id, path=None, error="no footage")
            )
            continue
        # The picture and the sound as recorded, in the container they were recorded in
        # (MP4; MOV for G.711; NUT for G.726).
        suffix = Path(sources[0].path).suffix or ".mp4"
        path = out_dir / f"interview-{interview_id}-{cam.camera_id}{suffix}"
        clip = cut_clip(storage_for(config), sources, report.start, report.end, path, audio=True)
        report.exports.append(
            InterviewExport(
                camera=cam.camera_id,
                path=str(path),
                start=clip.start,
                end=clip.end,
                packets=clip.packets,
                audio_packets=clip.audio_packets,
                bytes=clip.bytes,
                sha256=clip.sha256,
                sources=[src.segment_id for src in clip.sources],
            )
        )
    stem = out_dir / f"interview-{interview_id}-report"
    data = json.dumps(jsonable(report), indent=2)
    stem.with_suffix(".json").write_text(data, encoding="utf-8")
    stem.with_suffix(".txt").write_text(report.to_text(config.texts()) + "\n", encoding="utf-8")
    return report
