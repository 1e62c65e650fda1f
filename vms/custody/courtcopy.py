"""The court copy of an interview: the picture-in-picture view courts and procuratorates
expect, with the original recordings beside it, signed and audited.

    result = make_court_copy(db, config, clock, Actor("auditor-li", "case 2026-0142"), 7,
                             Path("court/interview-7.mp4"), progress=print)

writes ``interview-7.mp4`` (the derived copy: H.264 + AAC, the main camera full frame, the
inset camera, the microphone camera's sound, UTC and local time burned in, every gap shown)
and beside it the package ``interview-7-package/``:

    manifest.json          "derived": the court copy, what it was rendered from and how;
                           "originals": every segment with its SHA-256; who, when, why
    manifest.sig           Ed25519 signature of manifest.json (as evidence exports)
    signing-key.pub.pem, SHA256SUMS, README.txt
    court-copy/interview-7.mp4          the same file as the one asked for
    originals/<camera>/<day>/<file>     the recorded segments, bit for bit
    report/interview-7-report.json|txt  the continuity and hash report

``vms evidence verify interview-7-package`` checks it offline. The court copy is decoded and
re-encoded, so it is never evidence by itself: it says so in its own metadata, on screen, in
the manifest and in the audit log, and the originals always travel with it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

import vms
from vms.clock import Clock, utc
from vms.config import Config
from vms.custody.continuity import writer_gone_at
from vms.custody.layout import Layout, build_layout
from vms.custody.recording import segment_seconds
from vms.custody.render import CameraInput, Footage, Hole, Progress, RenderJob, render
from vms.custody.report import CameraReport, InterviewReport, interview_report
from vms.db.models import Segment
from vms.db.session import Database
from vms.errors import ConflictError, FileIntegrityError, InvalidError, StorageError
from vms.evidence import audit, signing, trust
from vms.evidence.audit import Actor
from vms.evidence.export import FORMAT as EXPORT_FORMAT
from vms.evidence.package import MANIFEST, README, SIGNATURE, SUMS
from vms.vocab import Subsystem, jsonable

FORMAT = "vms-court-copy/1"
KIND = "court_copy"
_CHUNK = 4 << 20
#: How often a court copy waiting for the interview's last segment looks again.
WAIT_POLL_S = 0.5
DERIVED_NOTE = (
    "DERIVED COPY (court copy): decoded and re-encoded from the original recordings; "
    "the originals and their SHA-256 travel with it"
)


@dataclass(frozen=True)
class CourtCopyResult:
    """The court copy written and the package beside it."""

    interview_id: int
    path: Path
    sha256: str
    bytes: int
    seconds: float
    width: int
    height: int
    fps: float
    package: Path
    manifest_sha256: str
    key_fingerprint: str
    main_camera: str
    inset_camera: str | None
    microphone_camera: str | None
    originals: int
    complete: bool
    gaps: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = jsonable({**vars(self), "derived": True})
        return data


def package_path(out: Path) -> Path:
    """Where the package of a court copy goes: ``<stem>-package`` beside it."""
    return out.with_name(f"{out.stem}-package")


def _check_target(out: Path) -> Path:
    if out.suffix.lower() != ".mp4":
        raise InvalidError(
            f"--court-copy: {out} must end in .mp4 (the court copy is a plain MP4)",
            subsystem=Subsystem.CUSTODY,
        )
    pkg = package_path(out)
    for path in (out, pkg):
        if path.exists():
            raise ConflictError(
                f"{path} already exists: a court copy never replaces a file; choose another "
                "name or move it away",
                subsystem=Subsystem.CUSTODY,
            )
    return pkg


def _camera(report: InterviewReport, camera_id: str | None) -> CameraReport | None:
    return next((c for c in report.cameras if c.camera_id == camera_id), None)


def _input(root: Path, cam: CameraReport) -> CameraInput:
    return CameraInput(
        cam.camera_id,
        [Footage(root / s.path, s.start) for s in cam.segments],
        [Hole(g.start, g.end, g.reasons) for g in cam.gaps],
    )


def sound_holes(cam: CameraReport | None, report: InterviewReport) -> list[Hole]:
    """Times the microphone camera recorded no sound: its picture gaps (nothing recorded)
    and its audio gaps (picture without sound)."""
    if cam is None:
        return [Hole(report.start, report.end, ("the room has no microphone camera",))]
    holes = [Hole(g.start, g.end, ("nothing recorded", *g.reasons)) for g in cam.gaps]
    holes += [Hole(g.start, g.end, g.reasons) for g in cam.audio_gaps]
    return sorted(holes, key=lambda h: h.start)


class StillRecordingError(ConflictError):
    """Segments of the interview (``segments``, their ids) are still being written: they have
    no hash until they close, by ``until`` (their rotation plus custody.recording.stale_s)."""

    default_subsystem = Subsystem.CUSTODY

    def __init__(self, message: str, *, segments: tuple[int, ...], until: datetime) -> None:
        super().__init__(message)
        self.segments = segments
        self.until = until


def _verified(
    report: InterviewReport, cams: list[CameraReport], config: Config, now: datetime
) -> None:
    """Every segment used must be there and unaltered; a court copy of altered footage is
    never made. A segment still being written (no hash yet, its writer not overdue) raises
    StillRecordingError: wait for it."""
    checks = [(c.camera_id, s) for c in cams for s in c.segments if s.hash_check != "ok"]
    stale_s = config.custody.recording.stale_s
    due = {
        s.id: writer_gone_at(s.start, segment_seconds(config, cam), stale_s)
        for cam, s in checks
        if s.hash_check == "unhashed" and s.end is None
    }
    bad = [
        f"{cam}: segment {s.id} ({s.path}) {s.hash_check}"
        for cam, s in checks
        if s.id not in due or due[s.id] <= now
    ]
    if bad:
        raise FileIntegrityError(
            f"interview {report.interview.id}: no court copy: " + "; ".join(bad),
            subsystem=Subsystem.CUSTODY,
        )
    if due:
        writing = ", ".join(f"{cam}: segment {s.id} ({s.path})" for cam, s in checks)
        raise StillRecordingError(
            f"interview {report.interview.id}: the recording of its end is still being "
            f"written ({writing}); its hash comes when the segment closes",
            segments=tuple(due),
            until=max(due.values()),
        )


def _still_written(db: Database, ids: tuple[int, ...]) -> bool:
    """Whether any of these segments is still open (the index alone: no file is read). The
    index writes a segment's end and its hash in one update."""
    with db.session() as s:
        open_ = select(func.count(Segment.id)).where(Segment.id.in_(ids), Segment.end.is_(None))
        return bool(s.scalar(open_))


def _used_cameras(
    report: InterviewReport, layout: Layout
) -> tuple[CameraReport, CameraReport | None, CameraReport | None, list[CameraReport]]:
    """The room's main, inset and microphone cameras in the report, and each used once."""
    room = layout.rooms.get(report.room.id)
    main = _camera(report, room.main if room else None)
    if main is None:
        raise ConflictError(
            f"interview {report.interview.id}: room {report.room.id} has no camera: nothing "
            "to copy",
            subsystem=Subsystem.CUSTODY,
        )
    inset = _camera(report, room.inset if room else None)
    mic = _camera(report, room.microphone if room else None)
    used = list({c.camera_id: c for c in (main, inset, mic) if c is not None}.values())
    return main, inset, mic, used


def make_court_copy(
    db: Database,
    config: Config,
    clock: Clock,
    actor: Actor,
    interview_id: int,
    out: Path,
    *,
    progress: Progress | None = None,
    layout: Layout | None = None,
    wait: bool = True,
) -> CourtCopyResult:
    """Render the court copy of an ended interview to ``out`` and its package beside it;
    log the export (who, why) in the audit chain.

    Asked for right after the interview ended, it first waits (``wait``) for the segment
    being written to close and be hashed, as long as its writer is not overdue; a segment
    that will never be hashed, altered or missing fails at once (FileIntegrityError)."""
    if not actor.reason.strip():
        raise InvalidError(
            "a reason is required for the audit log (custody footage)", subsystem=Subsystem.CUSTODY
        )
    layout = layout or build_layout(config)
    pkg = _check_target(out)
    waited = time.monotonic()
    while True:
        now = clock.now()
        report = interview_report(db, config, interview_id, now, layout=layout)
        if report.in_progress:
            raise ConflictError(
                f"interview {interview_id} is still in progress: a court copy is made of a "
                "whole interview, after it ends",
                subsystem=Subsystem.CUSTODY,
            )
        main, inset, mic, used = _used_cameras(report, layout)
        try:
            _verified(report, used, config, now)
            break
        except StillRecordingError as exc:
            if not wait:
                raise
            # Right after the interview ends: its last segment closes within seconds. The
            # index says when; the report (which hashes every file) is made again after.
            # The bound is on this machine's clock too, so a clock that stands still
            # cannot keep the caller here.
            deadline = waited + (exc.until - now).total_seconds()
            while _still_written(db, exc.segments):
                if time.monotonic() >= deadline:
                    raise
                time.sleep(WAIT_POLL_S)
    root = config.storage.root
    job = RenderJob(
        start=report.start,
        end=report.end,
        main=_input(root, main),
        inset=_input(root, inset) if inset else None,
        microphone=_input(root, mic) if mic else None,
        sound_holes=sound_holes(mic, report),
        title=_ascii(
            f"Interview {interview_id} ({report.interview.kind}) - room {report.room.id}"
            f" - case {report.person.case_number or '-'}"
        ),
        footer=DERIVED_NOTE,
        settings=config.custody.court_copy,
        timezone=config.custody.court_copy.timezone or config.site.timezone,
    )
    rendered = render(job, out, progress)
    digest, size = _sha256(out)
    key = signing.load_or_create_key(signing.keys_dir(config))
    fp = signing.fingerprint(key.public_key())
    trust.register(signing.keys_dir(config), key.public_key(), now)
    partial = pkg.with_name(pkg.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    picture_gaps: list[dict[str, Any]] = [jsonable(g) for c in used for g in c.gaps]
    sound_gaps_: list[dict[str, Any]] = [
        {"camera": mic.camera_id if mic else None, **jsonable(h)} for h in job.sound_holes
    ]
    derived = {
        "kind": KIND,
        "derived": True,
        "note": DERIVED_NOTE,
        "file": {"name": out.name, "sha256": digest, "bytes": size},
        "interview": interview_id,
        "start": report.start.isoformat(),
        "end": report.end.isoformat(),
        "seconds": rendered.seconds,
        "video": {
            "codec": "h264",
            "width": rendered.width,
            "height": rendered.height,
            "fps": rendered.fps,
            "crf": job.settings.crf,
            "preset": job.settings.preset,
        },
        "audio": {"codec": "aac", "sample_rate": 48000, "channels": 1},
        "layout": {
            "main": main.camera_id,
            "inset": inset.camera_id if inset else None,
            "microphone": mic.camera_id if mic else None,
            "inset_corner": job.settings.inset_corner,
        },
        "time_burned_in": {"utc": True, "local": job.timezone},
        "picture_gaps": picture_gaps,
        "sound_gaps": sound_gaps_,
        "slate_frames": rendered.slate_frames,
        "silent_seconds": round(rendered.silent_seconds, 3),
    }
    try:
        manifest_sha = _write_package(db, config, clock, actor, report, used, out, partial, derived)
        with db.session() as s:
            audit.append(
                s,
                clock,
                actor,
                "export",
                "interview",
                interview_id,
                case_number=report.person.case_number,
                details={
                    "what": "court copy",
                    "derived": True,
                    "path": str(out.resolve()),
                    "sha256": digest,
                    "package": str(pkg.resolve()),
                    "manifest_sha256": manifest_sha,
                    "sources": [s.id for c in used for s in c.segments],
                    "key_fingerprint": fp,
                },
            )
            (partial / SIGNATURE).write_bytes(key.sign((partial / MANIFEST).read_bytes()))
            (partial / signing.PUBLIC_KEY).write_bytes(signing.public_pem(key.public_key()))
            partial.rename(pkg)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        out.unlink(missing_ok=True)
        raise
    gaps = [*picture_gaps, *sound_gaps_]
    return CourtCopyResult(
        interview_id=interview_id,
        path=out,
        sha256=digest,
        bytes=size,
        seconds=rendered.seconds,
        width=rendered.width,
        height=rendered.height,
        fps=rendered.fps,
        package=pkg,
        manifest_sha256=manifest_sha,
        key_fingerprint=fp,
        main_camera=main.camera_id,
        inset_camera=inset.camera_id if inset else None,
        microphone_camera=mic.camera_id if mic else None,
        originals=sum(len(c.segments) for c in used),
        complete=report.complete,
        gaps=gaps,
    )


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


def _sha256(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _copy_verified(src: Path, dst: Path, expected: str | None, what: str) -> tuple[str, int]:
    """Copy ``src`` to ``dst`` hashing the bytes copied; FileIntegrityError if altered."""
    h = hashlib.sha256()
    size = 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    with src.open("rb") as fin, dst.open("xb") as fout:
        while chunk := fin.read(_CHUNK):
            h.update(chunk)
            fout.write(chunk)
            size += len(chunk)
        fout.flush()
        os.fsync(fout.fileno())
    if expected is not None and h.hexdigest() != expected:
        raise FileIntegrityError(
            f"{what} was altered while it was copied (SHA-256 {h.hexdigest()}, recorded "
            f"{expected}); no court copy",
            subsystem=Subsystem.CUSTODY,
        )
    return h.hexdigest(), size


def _entry(rel: str, digest: str, size: int) -> dict[str, Any]:
    return {"path": rel, "sha256": digest, "bytes": size}


def _write_package(
    db: Database,
    config: Config,
    clock: Clock,
    actor: Actor,
    report: InterviewReport,
    cams: list[CameraReport],
    out: Path,
    folder: Path,
    derived: dict[str, Any],
) -> str:
    """The package folder without its signature; returns the manifest's SHA-256."""
    root = config.storage.root
    iv = report.interview
    try:
        folder.mkdir(parents=True)
        files: list[dict[str, Any]] = []
        rel = f"court-copy/{out.name}"
        (folder / "court-copy").mkdir()
        try:
            os.link(out, folder / rel)  # the same bytes, no second copy on this disk
            files.append(_entry(rel, *_sha256(folder / rel)))
        except OSError:
            files.append(_entry(rel, *_copy_verified(out, folder / rel, None, rel)))
        originals = []
        seen: set[int] = set()
        for cam in cams:
            for seg in cam.segments:
                if seg.id in seen:
                    continue
                seen.add(seg.id)
                dst = f"originals/{Path(seg.path).relative_to('recordings').as_posix()}"
                what = f"segment {seg.id} ({seg.path})"
                digest, size = _copy_verified(root / seg.path, folder / dst, seg.sha256, what)
                files.append(_entry(dst, digest, size))
                originals.append(
                    {
                        "segment": seg.id,
                        "camera": cam.camera_id,
                        "start": seg.start.isoformat(),
                        "end": seg.end.isoformat() if seg.end else None,
                        "recorded_path": seg.path,
                        "path": dst,
                        "sha256": digest,
                        "bytes": size,
                    }
                )
        (folder / "report").mkdir()
        stem = f"report/interview-{iv.id}-report"
        for suffix, text in (
            (".json", json.dumps(jsonable(report), indent=2, ensure_ascii=False) + "\n"),
            (".txt", report.to_text() + "\n"),
        ):
            (folder / f"{stem}{suffix}").write_text(text, encoding="utf-8")
            files.append(_entry(f"{stem}{suffix}", *_sha256(folder / f"{stem}{suffix}")))
        (folder / README).write_text(_readme(iv.id, out.name), encoding="utf-8")
        files.append(_entry(README, *_sha256(folder / README)))
        files.sort(key=lambda f: str(f["path"]))
        sums = "".join(f"{f['sha256']}  {f['path']}\n" for f in files)
        (folder / SUMS).write_text(sums, encoding="utf-8")
        files.append(_entry(SUMS, *_sha256(folder / SUMS)))
        key_fp = signing.fingerprint(
            signing.load_or_create_key(signing.keys_dir(config)).public_key()
        )
        head_seq, head_hash = audit.chain_head(db)
        manifest = {
            "format": FORMAT,
            "package_format": EXPORT_FORMAT,
            "derived": derived,
            "case": {"number": report.person.case_number or f"interview-{iv.id}"},
            "interview": jsonable(iv),
            "room": jsonable(report.room),
            "complete": report.complete,
            "originals": originals,
            "exported_by": actor.user,
            "exported_at": utc(clock.now()).isoformat(),
            "reason": actor.reason,
            "system": {"software": f"vms {vms.__version__}", "host": socket.gethostname()},
            "signature": {
                "algorithm": signing.ALGORITHM,
                "signed_file": MANIFEST,
                "signature_file": SIGNATURE,
                "public_key_file": signing.PUBLIC_KEY,
                "public_key_sha256": key_fp,
            },
            "audit_chain_head": {"seq": head_seq, "hash": head_hash},
            "files": sorted(files, key=lambda f: str(f["path"])),
        }
        data = (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
        (folder / MANIFEST).write_bytes(data)
    except OSError as exc:
        raise StorageError(f"cannot write the court copy package {folder}: {exc}") from exc
    return hashlib.sha256(data).hexdigest()


def _readme(interview_id: int, name: str) -> str:
    return f"""Court copy of interview {interview_id}, made by vms.

court-copy/{name} is a DERIVED COPY for viewing: the picture-in-picture view (the main
camera full frame, a second camera inset, the sound of the microphone camera, the recording
time in UTC and local time burned in). It was decoded and re-encoded from the original
recordings and is not itself the original evidence. Where the recording has a gap the copy
shows a slate with the gap's times (no picture) or a banner (no sound): nothing is joined.

originals/ holds the original recorded segments, bit for bit as the cameras' packets were
recorded; manifest.json lists each with its SHA-256 ("originals") and says what the court
copy was rendered from and how ("derived"). manifest.sig is an Ed25519 signature of
manifest.json's exact bytes.

To verify with vms:      vms evidence verify <this folder> --trust <the published key registry>
To verify without vms:   openssl pkeyutl -verify -pubin -inkey signing-key.pub.pem \\
                             -rawin -in manifest.json -sigfile manifest.sig
                         sha256sum -c SHA256SUMS
"""
