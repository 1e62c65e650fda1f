"""Start-up recovery: index the segments a crash left unfinished, with their hashes.

What a file really holds decides its row: the probe's span and packets, per stream. A file
with no playable packet (a crash right after it was created, or a full disk) is indexed
``empty`` and covers no time: never ``recovered`` footage that is not there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from vms.cameras.recorder import CONTAINERS, probe_segment
from vms.db.models import Gap, Segment, SegmentStream
from vms.db.session import Database
from vms.vocab import sha256_file

log = logging.getLogger(__name__)

SUFFIXES = frozenset(CONTAINERS.values())


@dataclass
class RecoveryReport:
    camera_id: str
    recovered: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    last_end: datetime | None = None


def _start_from_name(path: Path) -> datetime | None:
    try:
        day = datetime.strptime(path.parent.name, "%Y-%m-%d")
        t = datetime.strptime(path.stem.split("_")[0], "%H-%M-%S")
    except ValueError:
        return None
    return day.replace(hour=t.hour, minute=t.minute, second=t.second, tzinfo=UTC)


def recover_camera(
    db: Database,
    root: Path,
    camera_id: str,
    *,
    node: str | None = None,
    reason: str | None = None,
) -> RecoveryReport:
    """Close every unfinished segment of ``camera_id``: probe it, hash it, mark it recovered.

    Also indexes segment files on disk that have no row at all (a crash between creating the
    file and writing its row). Returns the end of the last recorded footage, where the gap
    caused by the crash begins.
    """
    report = RecoveryReport(camera_id)
    with db.session() as s:
        open_rows = s.scalars(
            select(Segment).where(Segment.camera_id == camera_id, Segment.status == "recording")
        ).all()
        for row in open_rows:
            path = root / row.path
            elsewhere = node is not None and row.node is not None and row.node != node
            if elsewhere or not path.exists():
                # Another node's disk (a failover): missing here, recovered by that node
                # if it comes back with its disk (recover_node).
                row.status = "missing"
                row.note = reason if elsewhere and reason else row.note
                report.missing.append(row.path)
                log.error(
                    "%s: unfinished segment %s is missing%s",
                    camera_id,
                    row.path,
                    f" ({row.note})" if row.note else "",
                )
                continue
            _finish(s, row, path)
            report.recovered.append(row.path)
        s.flush()
        known = set(s.scalars(select(Segment.path).where(Segment.camera_id == camera_id)))
        last_start = s.scalar(select(func.max(Segment.start)).where(Segment.camera_id == camera_id))
        for path in _candidate_files(root, camera_id, last_start):
            rel = path.relative_to(root).as_posix()
            start = _start_from_name(path)
            if rel in known or start is None:
                continue
            row = Segment(
                camera_id=camera_id, start=start, path=rel, codec="", status="", node=node
            )
            s.add(row)
            _finish(s, row, path)
            report.recovered.append(rel)
        s.flush()
        report.last_end = s.scalar(
            select(func.max(Segment.end)).where(Segment.camera_id == camera_id)
        )
    for rel in report.recovered:
        log.warning("%s: recovered unfinished segment %s", camera_id, rel)
    return report


def recover_node(db: Database, root: Path, node: str) -> list[str]:
    """A node back with its disk: its segments left unfinished (or marked missing by the node
    that took its cameras over) are hashed and indexed as recovered, and the failover gap
    that covered them now starts where they end. Returns their paths."""
    done: list[str] = []
    with db.session() as s:
        rows = s.scalars(
            select(Segment).where(
                Segment.node == node, Segment.status.in_(("recording", "missing"))
            )
        ).all()
        for row in rows:
            path = root / row.path
            if not path.is_file():
                continue
            _finish(s, row, path)
            assert row.end is not None
            overlap = s.scalar(
                select(func.count(Segment.id)).where(
                    Segment.camera_id == row.camera_id,
                    Segment.id != row.id,
                    Segment.status.in_(("recording", "complete", "recovered")),
                    Segment.start < row.end,
                    or_(Segment.end.is_(None), Segment.end > row.start),
                )
            )
            if overlap:
                # Written after another node took the camera over: never claimed twice.
                row.status = "missing"
                row.note = "recorded after the camera was taken over; not indexed as footage"
                continue
            row.note = None
            done.append(row.path)
            for gap in s.scalars(
                select(Gap).where(
                    Gap.camera_id == row.camera_id,
                    Gap.kind == "video",
                    Gap.start >= row.start,
                    Gap.start < row.end,
                )
            ):
                if gap.end is not None and gap.end <= row.end:
                    s.delete(gap)
                else:
                    gap.start = row.end
    for rel in done:
        log.warning("recovered segment %s of this node (%s) left by a crash", rel, node)
    return done


def _finish(s: Session, row: Segment, path: Path) -> None:
    """Index what the file really holds; a file with no playable packet is ``empty``."""
    probe = probe_segment(path)
    digest, size = sha256_file(path)
    seconds = probe.seconds if probe.playable else 0.0
    row.end = row.start + timedelta(seconds=seconds)
    row.duration_s = seconds
    row.packets = probe.packets if probe.playable else 0
    row.codec = probe.codec or row.codec or "unknown"
    row.width = row.width or probe.width
    row.height = row.height or probe.height
    row.fps = row.fps or probe.fps
    row.bytes = size
    row.sha256 = digest
    row.status = "recovered" if probe.playable else "empty"
    s.flush()  # a new row gets its id
    known = {
        st.index: st
        for st in s.scalars(select(SegmentStream).where(SegmentStream.segment_id == row.id))
    }
    for i, p in enumerate(probe.streams):
        st = known.get(i)
        if st is None:
            st = SegmentStream(segment_id=row.id, index=i, kind=p.kind, codec=p.codec)
            st.sample_rate, st.channels, st.bit_rate = p.sample_rate, p.channels, p.bit_rate
            st.width, st.height, st.fps = p.width, p.height, p.fps
            s.add(st)
        st.packets = p.packets if probe.playable else 0


def _candidate_files(root: Path, camera_id: str, since: datetime | None) -> list[Path]:
    """Segment files from the day of the newest indexed segment on (older days were clean)."""
    cam_dir = root / "recordings" / camera_id
    if not cam_dir.is_dir():
        return []
    first_day = (since - timedelta(days=1)).strftime("%Y-%m-%d") if since else ""
    files: list[Path] = []
    for day in sorted(p for p in cam_dir.iterdir() if p.is_dir() and p.name >= first_day):
        files.extend(sorted(p for p in day.iterdir() if p.suffix in SUFFIXES))
    return files
