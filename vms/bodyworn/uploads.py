"""Resumable chunked uploads: a simple offset protocol over plain HTTP, into the ingest path.

    POST  /api/bodyworn/uploads              {filename, size, sha256?, ...}   -> {id, offset: 0}
    PUT   /api/bodyworn/uploads/{id}?offset=N  (the next bytes, any length)  -> {offset}
    GET   /api/bodyworn/uploads/{id}                                         -> {offset, status}

A PUT whose ``offset`` is not the number of bytes already received is refused (409, naming
the right offset). Bytes that arrived before a connection broke are kept, so a client
resumes with GET, then PUT from the offset it is told. The bytes are hashed as they
arrive; when the last one is in, the staged file goes through the one ingest path
(vms.bodyworn.ingest) and the upload says what became of it.

Why not tus: tus 1.0's core is this same offset rule, but its HEAD/PATCH requests, version
negotiation and extensions (creation, termination, checksum) buy a client-library ecosystem
the app does not use, and no well-kept Python server implementation exists; these three
plain JSON routes go through the app's own login, role checks, audit and error answers.

The hash state lives in this process between PUTs; after a restart the staged bytes are
hashed again once, from the disk, before the next chunk is appended.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from vms.bodyworn.ingest import STORED, UPLOAD, Ingestor, IngestResult, Offer
from vms.bodyworn.models import Upload
from vms.bodyworn.officers import officer_of_user
from vms.bodyworn.store import CHUNK, HashingWriter
from vms.clock import Clock, utc
from vms.db.session import Database
from vms.errors import ConflictError, InvalidError, NotFoundError, PermissionDeniedError
from vms.evidence.audit import Actor
from vms.vocab import Subsystem

log = logging.getLogger(__name__)

OPEN, CANCELLED, EXPIRED = "open", "cancelled", "expired"
_SHA = set("0123456789abcdef")


@dataclass(frozen=True)
class UploadState:
    id: str
    filename: str
    size: int
    offset: int
    status: str  # open, stored, duplicate, rejected, cancelled
    file_id: int | None
    message: str
    created_by: str
    created_at: datetime


def _state(row: Upload) -> UploadState:
    return UploadState(
        row.id, row.filename, row.size, row.offset, row.status, row.file_id, row.message,
        row.created_by, row.created_at,
    )  # fmt: skip


def _uploader_badge(s: Session, username: str) -> str | None:
    """The badge of the officer who uploads, if their account is linked to one."""
    from vms.web.models import User

    user_id = s.scalar(select(User.id).where(User.username == username))
    officer = officer_of_user(s, user_id) if user_id is not None else None
    return officer.badge if officer else None


class UploadReceiver:
    """The uploads of one process (the web app's), over the ingest path."""

    def __init__(self, ingestor: Ingestor) -> None:
        self.ingestor = ingestor
        self.db = ingestor.db
        self.clock = ingestor.clock
        self._lock = threading.Lock()
        self._writers: dict[str, HashingWriter] = {}
        self._busy: set[str] = set()

    def _path(self, upload_id: str) -> Path:
        return self.ingestor.staging() / f"upload-{upload_id}.part"

    # --- the three calls --------------------------------------------------------------

    def create(
        self,
        actor: Actor,
        filename: str,
        size: int,
        *,
        sha256: str | None = None,
        officer_badge: str | None = None,
        device_serial: str | None = None,
        modified_at: datetime | None = None,
    ) -> UploadState:
        limit = self.ingestor.bw.max_file_bytes
        if not 0 < size <= limit:
            raise InvalidError(
                f"size must be more than 0 and at most {limit} bytes "
                f"(bodyworn.max_file_bytes), got {size}",
                subsystem=Subsystem.BODYWORN,
            )
        name = Path(filename.replace("\\", "/")).name
        if not name:
            raise InvalidError("filename must name the file", subsystem=Subsystem.BODYWORN)
        if sha256 is not None and not (len(sha256) == 64 and set(sha256.lower()) <= _SHA):
            raise InvalidError("sha256 must be 64 hexadecimal digits", subsystem=Subsystem.BODYWORN)
        offer = Offer(name, UPLOAD, actor, officer_badge=officer_badge)
        self.ingestor.check_offer(offer)
        now = self.clock.now()
        row = Upload(
            id=uuid.uuid4().hex,
            created_by=actor.user,
            created_at=now,
            updated_at=now,
            filename=name[:300],
            size=size,
            offset=0,
            sha256=sha256.lower() if sha256 else None,
            officer_badge=officer_badge,
            device_serial=device_serial,
            modified_at=modified_at,
            status=OPEN,
            message="",
        )
        with self.db.session() as s:
            s.add(row)
        self._path(row.id).touch(exist_ok=False)
        return _state(row)

    def get(self, upload_id: str, username: str, *, any_user: bool = False) -> UploadState:
        with self.db.session() as s:
            row = s.get(Upload, upload_id)
            if row is None:
                raise NotFoundError(f"no upload {upload_id!r}", subsystem=Subsystem.BODYWORN)
            if row.created_by != username and not any_user:
                raise PermissionDeniedError(
                    f"upload {upload_id} belongs to {row.created_by}", subsystem=Subsystem.BODYWORN
                )
            return _state(row)

    def begin(self, upload_id: str, username: str, offset: int) -> UploadState:
        """Before a chunk: the upload is open, the caller's, and ``offset`` is where it is."""
        state = self.get(upload_id, username)
        if state.status != OPEN:
            raise ConflictError(
                f"upload {upload_id} is {state.status}, not open", subsystem=Subsystem.BODYWORN
            )
        with self._lock:
            if upload_id in self._busy:
                raise ConflictError(
                    f"upload {upload_id} is receiving another chunk", subsystem=Subsystem.BODYWORN
                )
            writer = self._writer(upload_id)
            if offset != writer.size:
                raise ConflictError(
                    f"upload {upload_id} has {writer.size} bytes: send from offset "
                    f"{writer.size}, not {offset}",
                    subsystem=Subsystem.BODYWORN,
                )
            self._busy.add(upload_id)
        return state

    def write(self, upload_id: str, size: int, chunk: bytes) -> int:
        """Append bytes (between ``begin`` and ``end``); refuses going past the size."""
        writer = self._writers[upload_id]
        if writer.size + len(chunk) > size:
            raise InvalidError(
                f"the body goes past the upload's size ({size} bytes)",
                subsystem=Subsystem.BODYWORN,
            )
        writer.write(chunk)
        return writer.size

    def end(self, upload_id: str) -> UploadState | IngestResult:
        """After a chunk (whole or cut): record the offset; ingest when the file is whole."""
        try:
            writer = self._writers[upload_id]
            writer.flush()
            with self.db.session() as s:
                row = s.get(Upload, upload_id)
                assert row is not None
                row.offset = writer.size
                row.updated_at = self.clock.now()
                complete = row.offset == row.size
            if not complete:
                return self.get(upload_id, "", any_user=True)
            return self._finish(upload_id)
        finally:
            with self._lock:
                self._busy.discard(upload_id)

    def cancel(self, upload_id: str, username: str) -> UploadState:
        state = self.get(upload_id, username)
        if state.status != OPEN:
            raise ConflictError(
                f"upload {upload_id} is {state.status}", subsystem=Subsystem.BODYWORN
            )
        with self._lock:
            writer = self._writers.pop(upload_id, None)
        if writer is not None:
            writer.abort()
        self._path(upload_id).unlink(missing_ok=True)
        with self.db.session() as s:
            row = s.get(Upload, upload_id)
            assert row is not None
            row.status = CANCELLED
            row.updated_at = self.clock.now()
        return self.get(upload_id, username)

    # --- inside -----------------------------------------------------------------------

    def _writer(self, upload_id: str) -> HashingWriter:
        """The open writer of an upload (rebuilt from the staged bytes after a restart)."""
        writer = self._writers.get(upload_id)
        if writer is not None:
            return writer
        path = self._path(upload_id)
        path.touch(exist_ok=True)
        writer = HashingWriter(path, append=True)
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                writer.update_hash_only(chunk)
        self._writers[upload_id] = writer
        return writer

    def _finish(self, upload_id: str) -> IngestResult:
        with self._lock:
            writer = self._writers.pop(upload_id)
        writer.close(sync=True)
        sha, size = writer.hexdigest(), writer.size
        with self.db.session() as s:
            row = s.get(Upload, upload_id)
            assert row is not None
            offer = Offer(
                row.filename,
                UPLOAD,
                Actor(row.created_by, "uploaded through the web app"),
                file_time=utc(row.modified_at) if row.modified_at else None,
                officer_badge=row.officer_badge,
                fallback_badge=_uploader_badge(s, row.created_by),
                device_serial=row.device_serial,
            )
            claimed = row.sha256
        if claimed is not None and claimed != sha:
            result = self.ingestor.reject_staged(
                writer.path, sha, size, offer,
                f"the bytes received have SHA-256 {sha}, not the {claimed} the client "
                "announced: the upload was damaged on the way",
            )  # fmt: skip
        else:
            result = self.ingestor.finish(writer.path, sha, size, offer)
        with self.db.session() as s:
            row = s.get(Upload, upload_id)
            assert row is not None
            row.status = result.result
            row.file_id = result.file_id
            row.message = result.reason
            row.updated_at = self.clock.now()
        if result.result != STORED:
            log.info("upload %s (%s): %s %s", upload_id, offer.name, result.result, result.reason)
        return result


def expire_uploads(db: Database, staging: Path, clock: Clock, older_than: timedelta) -> list[str]:
    """Give up uploads nobody has added to for ``older_than``: their staged bytes are deleted
    (the ``bodyworn-uploads`` job); returns their ids."""
    cutoff = utc(clock.now()) - older_than
    with db.session() as s:
        rows = list(
            s.scalars(select(Upload).where(Upload.status == OPEN, Upload.updated_at < cutoff))
        )
        for row in rows:
            row.status = EXPIRED
            row.message = f"nothing arrived for {older_than}: given up"
            row.updated_at = clock.now()
        ids = [row.id for row in rows]
    for upload_id in ids:
        (staging / f"upload-{upload_id}.part").unlink(missing_ok=True)
        log.info("upload %s expired: its staged bytes were deleted", upload_id)
    return ids


class UploadExpiry:
    """``expire_uploads`` as a job of vms.ops.jobs."""

    def __init__(self, ingestor: Ingestor) -> None:
        self.ingestor = ingestor

    def __call__(self) -> list[str]:
        hours = self.ingestor.bw.upload_expire_h
        return expire_uploads(
            self.ingestor.db, self.ingestor.staging(), self.ingestor.clock, timedelta(hours=hours)
        )
