"""Watching the dock folders of the collection stations: complete files go to ingest.

Each scan lists every dock folder (``bodyworn.docks``) and remembers each file's size and
modification time in ``bw_dock_files``. A file is tried once neither has changed for
``bodyworn.settle_s``; the probe then checks that every packet its header declares is
there, so a file the dock is still writing, or whose copy was killed halfway, is
``incomplete`` and tried again when it changes. A file that was stored, found a duplicate or
rejected is not read again until it changes. A dock folder that is missing or unreadable
(a station switched off, a share unmounted) is reported and scanned again next time;
nothing else stops. Hidden files and names ending in ``.part``, ``.tmp``, ``.partial`` or
``.crdownload`` are a copier's work in progress and are skipped.

A file in a sub-folder whose name is a valid serial (``<dock>/<serial>/<file>``, one folder
per dock port) is taken to come from that recorder when the file itself does not say.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from vms.bodyworn.config import DockConfig
from vms.bodyworn.ingest import DOCK, DUPLICATE, INCOMPLETE, STORED, Ingestor, IngestResult, Offer
from vms.bodyworn.metadata import valid_serial
from vms.bodyworn.models import DockFile
from vms.bodyworn.views import DockFileView
from vms.clock import utc
from vms.db.session import Database
from vms.errors import VmsError
from vms.evidence.audit import Actor

log = logging.getLogger(__name__)

COPYING, ERROR = "copying", "error"
_DONE = (STORED, DUPLICATE, "rejected", INCOMPLETE)
_SKIP_SUFFIXES = (".part", ".tmp", ".partial", ".crdownload")


@dataclass
class DockState:
    dock_id: str
    online: bool = True
    message: str = ""
    files: int = 0
    results: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class DockReport:
    docks: list[DockState] = field(default_factory=list)

    @property
    def results(self) -> list[dict[str, Any]]:
        return [r for d in self.docks for r in d.results]

    def to_dict(self) -> dict[str, Any]:
        return {"docks": [vars(d) for d in self.docks]}


def _listing(dock: DockConfig) -> list[tuple[str, os.stat_result]]:
    """(path relative to the dock, stat) of every candidate file; OSError if unreadable."""
    root = dock.path
    if not root.is_dir():
        raise FileNotFoundError(f"dock folder {root} is not there")
    found = []
    for folder, dirs, files in os.walk(root, onerror=_raise):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if name.startswith(".") or name.lower().endswith(_SKIP_SUFFIXES):
                continue
            path = Path(folder) / name
            try:
                st = path.stat()
            except FileNotFoundError:
                continue  # gone between listing and stat
            found.append((path.relative_to(root).as_posix(), st))
    return found


def _raise(exc: OSError) -> None:
    raise exc


class DockWatcher:
    """One scan of every dock per call (the ``bodyworn-docks`` job)."""

    def __init__(self, ingestor: Ingestor) -> None:
        self.ingestor = ingestor
        self.db = ingestor.db
        self.clock = ingestor.clock
        self.config = ingestor.bw
        self._offline: dict[str, str] = {}

    def __call__(self) -> DockReport:
        return self.scan()

    def scan(self) -> DockReport:
        report = DockReport()
        for dock in self.config.docks:
            report.docks.append(self.scan_dock(dock))
        return report

    def scan_dock(self, dock: DockConfig) -> DockState:
        state = DockState(dock.id)
        try:
            listing = _listing(dock)
        except OSError as exc:
            state.online = False
            state.message = f"cannot read dock folder {dock.path}: {exc.strerror or exc}"
            if self._offline.get(dock.id) != state.message:
                log.warning("dock %s: %s", dock.id, state.message)
            self._offline[dock.id] = state.message
            return state
        if self._offline.pop(dock.id, None) is not None:
            log.info("dock %s: folder %s is back", dock.id, dock.path)
        state.files = len(listing)
        now = utc(self.clock.now())
        settle = timedelta(seconds=self.config.settle_s)
        ready: list[tuple[str, os.stat_result]] = []
        with self.db.session() as s:
            rows = {
                r.rel_path: r
                for r in s.scalars(select(DockFile).where(DockFile.dock_id == dock.id))
            }
            seen = set()
            for rel, st in listing:
                seen.add(rel)
                row = rows.get(rel)
                if row is None:
                    row = DockFile(
                        dock_id=dock.id,
                        rel_path=rel,
                        size=st.st_size,
                        mtime_ns=st.st_mtime_ns,
                        first_seen=now,
                        changed_at=now,
                        status=COPYING,
                        message="",
                    )
                    s.add(row)
                elif (row.size, row.mtime_ns) != (st.st_size, st.st_mtime_ns):
                    row.size, row.mtime_ns = st.st_size, st.st_mtime_ns
                    row.changed_at = now
                    row.status = COPYING
                    row.message = ""
                    row.sha256 = None
                    row.file_id = None
                if row.status in _DONE:
                    continue
                if now - utc(row.changed_at) >= settle:
                    ready.append((rel, st))
            for rel, row in rows.items():
                if rel not in seen:
                    s.delete(row)  # taken away (by the dock, or after ingest)
        for rel, st in ready:
            state.results.append(self._ingest(dock, rel, st))
        return state

    def _ingest(self, dock: DockConfig, rel: str, st: os.stat_result) -> dict[str, Any]:
        path = dock.path / rel
        parent = Path(rel).parent.name
        offer = Offer(
            name=path.name,
            source=DOCK,
            actor=Actor(f"dock:{dock.id}", f"collected at dock {dock.name or dock.id}"),
            file_time=datetime.fromtimestamp(st.st_mtime, UTC),
            device_serial=parent if parent and valid_serial(parent) else None,
            dock_id=dock.id,
            incomplete_is_final=False,
        )
        result: IngestResult | None = None
        try:
            result = self.ingestor.ingest_path(path, offer)
            status, message = result.result, result.reason
        except (OSError, VmsError) as exc:
            status, message = ERROR, str(exc)
            log.warning("dock %s: %s: %s (tried again next scan)", dock.id, rel, exc)
        try:
            after = path.stat()
            changed = (after.st_size, after.st_mtime_ns) != (st.st_size, st.st_mtime_ns)
        except OSError:
            changed = True
        with self.db.session() as s:
            row = s.scalar(
                select(DockFile).where(DockFile.dock_id == dock.id, DockFile.rel_path == rel)
            )
            if row is not None:
                row.status = COPYING if changed and status != STORED else status
                row.message = message[:2000]
                row.sha256 = result.sha256 if result else None
                row.file_id = result.file_id if result else None
        if status in (STORED, DUPLICATE) and dock.after_ingest == "delete" and not changed:
            try:
                path.unlink()
            except OSError as exc:
                log.warning("dock %s: cannot delete %s after ingest: %s", dock.id, rel, exc)
        return {"dock": dock.id, "path": rel, "result": status, "reason": message,
                "file_id": result.file_id if result else None}  # fmt: skip


def dock_files(db: Database, dock_id: str | None = None) -> list[DockFileView]:
    """What the docks hold and how far each file got (for the CLI and the web app)."""
    with db.session() as s:
        q = select(DockFile).order_by(DockFile.dock_id, DockFile.rel_path)
        if dock_id is not None:
            q = q.where(DockFile.dock_id == dock_id)
        return [
            DockFileView(
                dock=r.dock_id,
                path=r.rel_path,
                bytes=r.size,
                status=r.status,
                message=r.message,
                file_id=r.file_id,
                first_seen=r.first_seen,
                changed_at=r.changed_at,
            )
            for r in s.scalars(q)
        ]
