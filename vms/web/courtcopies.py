"""Court copies asked for on the audit page: rendered one at a time in a background thread
(a render takes minutes of CPU for a long interview), their progress polled by the page,
the finished package served as a zip.

    jobs = CourtCopyJobs(db, config, clock)
    job = jobs.submit(interview_id, Actor("auditor-li", "case 2026-0142"), user_id=7)
    jobs.get(job.id).state        # queued, rendering, done or failed
    jobs.close()                  # at shutdown: the render in progress is abandoned

Jobs live in the web process; what they made stays under ``<root>/exports/court-copies/``.
The render itself is audited by ``make_court_copy`` (who and why), the download by the route.
"""

from __future__ import annotations

import logging
import queue
import secrets
import shutil
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from vms.clock import Clock
from vms.config import Config
from vms.custody.layout import Layout
from vms.db.session import Database
from vms.errors import NotFoundError, VmsError
from vms.evidence.audit import Actor
from vms.vocab import Subsystem

if TYPE_CHECKING:  # the renderer (OpenCV, numpy) loads with the first court copy
    from vms.custody.courtcopy import CourtCopyResult

log = logging.getLogger(__name__)


@dataclass
class CourtCopyJob:
    """One court copy asked for, and how far it is."""

    id: str
    interview_id: int
    user_id: int
    actor: Actor
    cameras: tuple[str, ...]
    created_at: datetime
    state: str = "queued"  # queued, rendering, done, failed
    done_s: float = 0.0
    total_s: float = 0.0
    error: str | None = None
    result: CourtCopyResult | None = None
    zip_path: Path | None = field(default=None, repr=False)

    @property
    def progress(self) -> float:
        if self.state == "done":
            return 1.0
        return min(1.0, self.done_s / self.total_s) if self.total_s > 0 else 0.0


class CourtCopyJobs:
    """The queue of court copies of one web process; one render at a time."""

    def __init__(self, db: Database, config: Config, clock: Clock, layout: Layout) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.layout = layout
        self._jobs: dict[str, CourtCopyJob] = {}
        self._queue: queue.Queue[CourtCopyJob | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def folder(self) -> Path:
        return self.config.storage.root / "exports" / "court-copies"

    def submit(
        self, interview_id: int, actor: Actor, *, user_id: int, cameras: tuple[str, ...]
    ) -> CourtCopyJob:
        job = CourtCopyJob(
            secrets.token_urlsafe(16), interview_id, user_id, actor, cameras, self.clock.now()
        )
        with self._lock:
            self._jobs[job.id] = job
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="court-copies", daemon=True)
                self._thread.start()
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> CourtCopyJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise NotFoundError(f"no court copy {job_id!r}", subsystem=Subsystem.WEB)
        return job

    def close(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            job.state = "rendering"
            try:
                self._render(job)
                job.state = "done"
            except VmsError as exc:
                job.state, job.error = "failed", str(exc)
            except Exception as exc:  # a bug must fail this job, never the web process
                log.exception("court copy of interview %s failed", job.interview_id)
                job.state, job.error = "failed", f"internal error: {type(exc).__name__}"

    def _render(self, job: CourtCopyJob) -> None:
        stamp = job.created_at.strftime("%Y%m%dT%H%M%SZ")
        out = self.folder / f"interview-{job.interview_id}-{stamp}-{job.id[:6]}"
        out = out / f"interview-{job.interview_id}-court-copy.mp4"

        def progress(done: float, total: float) -> None:
            job.done_s, job.total_s = done, total

        from vms.custody.courtcopy import make_court_copy

        result = make_court_copy(
            self.db,
            self.config,
            self.clock,
            job.actor,
            job.interview_id,
            out,
            progress=progress,
            layout=self.layout,
        )
        pkg = result.package
        job.zip_path = Path(shutil.make_archive(str(pkg), "zip", pkg.parent, pkg.name))
        job.result = result
