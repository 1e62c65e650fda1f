"""Moving finished files to the bucket: upload, verify against the write-time SHA-256, record
the new location in the index, then delete the local copy.

Each node moves its own files (segments whose ``node`` is this node or unnamed, evidence
clips likewise), oldest first, ``batch`` per run of each kind. Body-worn originals are
segments too (camera ``bw.<serial>``): one is finished once ingested, so it may move
``upload_after_s`` after its ingest (its recording may have ended days before); its
``segments`` row is the one record of where it lives (vms.bodyworn.files.location_of).

The order is what makes it safe: a crash after the upload and before the index update
leaves a local file the index still points at (the next run uploads it again, harmlessly);
a crash after the update leaves an orphan local copy that the next run deletes once the
bucket's copy is verified. A file held by a legal hold gets the bucket's own legal hold as
it arrives (where object lock is enabled); holds placed later are added each run
(retention lifts one only as it deletes the object). A row that retention deleted while
its file was being uploaded leaves no copy behind: the job finds the row gone and deletes
the object it just stored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import or_, select, update

from vms.bodyworn.models import BodywornFile
from vms.bodyworn.officers import CAMERA_PREFIX as BODYWORN_PREFIX
from vms.clock import Clock, utc
from vms.config import Config
from vms.db.models import Segment
from vms.db.session import Database
from vms.errors import FileIntegrityError, StorageError
from vms.evidence.holds import active_spans, held_by, item_held_by
from vms.evidence.models import EvidenceItem
from vms.storage.base import BUCKET, LOCAL, Storage

log = logging.getLogger(__name__)

_MOVABLE = ("complete", "recovered")


@dataclass
class TieringReport:
    moved: list[str] = field(default_factory=list)
    bytes: int = 0
    failed: list[str] = field(default_factory=list)
    holds_set: int = 0


class TieringJob:
    """One run moves up to ``object_store.batch`` finished files of this node to the bucket."""

    def __init__(self, db: Database, config: Config, storage: Storage, clock: Clock) -> None:
        if config.storage.object_store is None:
            raise StorageError("storage.object_store is not configured")
        self.db = db
        self.config = config
        self.cfg = config.storage.object_store
        self.storage = storage
        self.clock = clock
        self.node = config.node_id
        #: Bucket keys whose S3 legal hold this process has set.
        self._held: set[str] = set()

    def __call__(self) -> TieringReport:
        report = TieringReport()
        now = utc(self.clock.now())
        cutoff = now - timedelta(seconds=self.cfg.upload_after_s)
        mine = or_(Segment.node == self.node, Segment.node.is_(None))
        with self.db.session() as s:
            holds = active_spans(s, now)
            rows = list(
                s.scalars(
                    select(Segment)
                    .where(
                        Segment.location == LOCAL,
                        mine,
                        Segment.status.in_(_MOVABLE),
                        Segment.sha256.is_not(None),
                        Segment.end <= cutoff,
                        Segment.camera_id.not_like(f"{BODYWORN_PREFIX}%"),  # just below
                    )
                    .order_by(Segment.end)
                    .limit(self.cfg.batch)
                )
            )
            rows += list(
                s.scalars(
                    select(Segment)
                    .join(BodywornFile, BodywornFile.segment_id == Segment.id)
                    .where(
                        Segment.location == LOCAL,
                        mine,
                        Segment.status.in_(_MOVABLE),
                        Segment.sha256.is_not(None),
                        BodywornFile.status == "active",
                        BodywornFile.ingested_at <= cutoff,
                    )
                    .order_by(BodywornFile.ingested_at)
                    .limit(self.cfg.batch)
                )
            )
            items = list(
                s.scalars(
                    select(EvidenceItem)
                    .where(
                        EvidenceItem.location == LOCAL,
                        or_(EvidenceItem.node == self.node, EvidenceItem.node.is_(None)),
                        EvidenceItem.status == "active",
                        EvidenceItem.path.is_not(None),
                        EvidenceItem.sha256.is_not(None),
                        EvidenceItem.created_at <= cutoff,
                    )
                    .order_by(EvidenceItem.id)
                    .limit(self.cfg.batch)
                )
            )
        for seg in rows:
            assert seg.end is not None
            assert seg.sha256 is not None
            held = bool(held_by(holds, seg.camera_id, seg.start, seg.end, now))
            moved = self._move(seg.path, seg.sha256, held, report)
            if moved and self._record(Segment, seg.id, seg.path, report):
                report.bytes += int(seg.bytes or 0)
        for item in items:
            assert item.path is not None
            assert item.sha256 is not None
            held = bool(item_held_by(holds, item.id, now))
            moved = self._move(item.path, item.sha256, held, report)
            if moved and self._record(EvidenceItem, item.id, item.path, report):
                report.bytes += int(item.bytes or 0)
        self._sync_holds(report)
        if report.moved:
            log.info(
                "tiering: moved %d file(s), %d bytes, to bucket %s",
                len(report.moved),
                report.bytes,
                self.cfg.bucket,
            )
        return report

    def _move(self, key: str, sha256: str, held: bool, report: TieringReport) -> bool:
        if self.storage.size(LOCAL, key) is None:
            log.error("tiering: %s is not on this node's disk; left as it is", key)
            report.failed.append(key)
            return False
        try:
            self.storage.move_to_bucket(key, sha256, held=held)
        except FileIntegrityError as exc:
            log.critical("tiering: %s kept on disk: %s", key, exc)
            report.failed.append(key)
            return False
        except StorageError as exc:
            log.error("tiering: %s kept on disk for now: %s", key, exc)
            report.failed.append(key)
            return False
        if held:
            self._held.add(key)
            report.holds_set += 1
        return True

    def _record(
        self,
        model: type[Segment] | type[EvidenceItem],
        row_id: int,
        key: str,
        report: TieringReport,
    ) -> bool:
        """The index says the file is in the bucket now (False: its row is gone)."""
        with self.db.session() as s:
            s.execute(
                update(model)
                .where(model.id == row_id, model.location == LOCAL)
                .values(location=BUCKET, node=None)
            )
            gone = s.get(model, row_id) is None
        if gone:  # retention deleted the row meanwhile (its hold check passed): no copy stays
            log.info("tiering: %s was deleted while it was uploaded; its copy goes too", key)
            try:
                self.storage.delete(BUCKET, key)
                self.storage.drop_local(key)
            except StorageError as exc:
                log.error("tiering: the bucket's copy of deleted %s stays: %s", key, exc)
            self._held.discard(key)
            return False
        try:
            self.storage.drop_local(key)
        except StorageError as exc:
            log.error("tiering: %s is in the bucket; its local copy stays: %s", key, exc)
        report.moved.append(key)
        return True

    def _sync_holds(self, report: TieringReport) -> None:
        """Bucket objects under a hold placed since they arrived get the S3 legal hold. It is
        lifted only by retention, just before it deletes an object the index no longer holds
        (the index decides; the bucket's hold guards against deletions from outside vms)."""
        now = utc(self.clock.now())
        with self.db.session() as s:
            holds = active_spans(s, now)
            wanted: set[str] = set()
            for h in holds:
                if h.kind == "range" and h.camera_id and h.start and h.end:
                    wanted.update(
                        s.scalars(
                            select(Segment.path).where(
                                Segment.location == BUCKET,
                                Segment.camera_id == h.camera_id,
                                Segment.start < h.end,
                                Segment.end > h.start,
                            )
                        )
                    )
                elif h.kind == "item" and h.item_id is not None:
                    path = s.scalar(
                        select(EvidenceItem.path).where(
                            EvidenceItem.id == h.item_id, EvidenceItem.location == BUCKET
                        )
                    )
                    if path:
                        wanted.add(path)
        bucket = self.storage.store(BUCKET)
        try:
            for key in sorted(wanted - self._held):
                if bucket.set_hold(key, True):
                    report.holds_set += 1
                self._held.add(key)
        except StorageError as exc:
            log.error("tiering: legal holds in the bucket not synchronised: %s", exc)
