"""The body-worn routes' rows of the authorisation matrix (tests/web/test_authz.py), and the
records they need: a real recorder file of the officer user's own recorder, approvals for
the other roles (so a role allowed a route gets its answer, not the per-file 403), and fresh
requests, uploads and officers for the calls that change something."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from tests.bodyworn.media import make_recording
from vms.bodyworn import access, officers
from vms.bodyworn.ingest import CLI, Ingestor, Offer
from vms.clock import SystemClock
from vms.config import Config
from vms.db.session import Database
from vms.evidence.audit import Actor
from vms.web.roles import Role

ADMIN, SUPERVISOR, INVESTIGATOR, AUDITOR, OFFICER = (
    Role.ADMIN, Role.SUPERVISOR, Role.INVESTIGATOR, Role.AUDITOR, Role.OFFICER,
)  # fmt: skip
FILES = frozenset({SUPERVISOR, INVESTIGATOR, AUDITOR, OFFICER})
MANAGE = frozenset({ADMIN, SUPERVISOR})
UPLOAD = frozenset({SUPERVISOR, OFFICER})
CATEGORY = frozenset({SUPERVISOR, INVESTIGATOR, OFFICER})
CASES = frozenset({INVESTIGATOR})
SET_UP = Actor("matrix", "matrix set-up")
APPROVER = Actor("approver", "matrix set-up")


@dataclass
class BwCtx:
    app: FastAPI
    db: Database
    user_ids: dict[str, int]
    file_id: int = 0
    segment_id: int = 0
    start: datetime = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    person_id: int = 0
    made: int = 0
    uploads: dict[str, str] = field(default_factory=dict)

    def n(self) -> int:
        self.made += 1
        return self.made

    def grant(self, who: str) -> str:
        uid = self.user_ids.get(who, 0)
        return str(self.app.state.web.grants.sign(uid, self.segment_id))

    def pending(self, who: str = "investigator") -> int:
        """A new pending request of ``who`` for the file."""
        clock = SystemClock()
        return access.request_approval(
            self.db, clock, Actor(who, "matrix"), self.file_id, "view", hours=1, max_hours=168
        ).id

    def upload(self, who: str) -> str:
        """A new open upload of ``who`` (100 bytes announced)."""
        up = self.app.state.web.uploads.create(Actor(who, "matrix"), f"m{self.n()}.mp4", 100)
        return str(up.id)


def setup_bodyworn(
    app: FastAPI, db: Database, config: Config, tmp: Path, user_ids: dict[str, int], person: int
) -> BwCtx:
    c = BwCtx(app, db, user_ids, person_id=person)
    clock = SystemClock()
    officers.add_officer(db, clock, SET_UP, "031245", "Li Wei", "Patrol 1", username="officer")
    officers.add_device(db, clock, SET_UP, "DSJ-A1")
    officers.add_device(db, clock, SET_UP, "DSJ-M2")
    officers.assign(db, clock, SET_UP, "DSJ-A1", "031245", start=c.start - timedelta(days=30))
    rec = make_recording(
        tmp / "bw" / "DSJ-A1_20261130160000_0001.MP4", seconds=4,
        creation_time=c.start.replace(tzinfo=None), serial="DSJ-A1", work=tmp / "bw-work",
    )  # fmt: skip
    result = Ingestor(db, config, clock).ingest_path(rec.path, Offer(rec.path.name, CLI, SET_UP))
    assert result.file_id is not None, result.reason
    c.file_id = result.file_id
    from vms.bodyworn.files import get_file

    f = get_file(db, c.file_id)
    assert f.segment_id is not None
    c.segment_id = f.segment_id
    for who in ("supervisor", "investigator", "auditor"):
        for action in ("view", "copy"):
            req = access.request_approval(
                db, clock, Actor(who, "matrix"), c.file_id, action, hours=48, max_hours=168
            )
            access.decide(db, clock, APPROVER, req.id, grant=True, max_hours=168)
    return c


Fill = Callable[[Any, str], str]
Row = tuple[frozenset[Role], int, Fill | None, Callable[[Any, str], Any] | None,
            Callable[[Any, str], bytes] | None]  # fmt: skip


def _f(path: str) -> Fill:
    """A URL with the file id filled in."""
    return lambda c, w: path.format(f=c.bw.file_id)


def rows() -> dict[tuple[str, str], Row]:
    """(method, path) -> (roles allowed, status when allowed, url, json body, raw body)."""
    t0 = "2026-11-30T07:00:00Z"
    t1 = "2026-11-30T09:00:00Z"
    return {
        ("GET", "/api/bodyworn/files"): (FILES, 200, None, None, None),
        ("GET", "/api/bodyworn/files/{file_id}"): (
            FILES, 200, _f("/api/bodyworn/files/{f}"), None, None,
        ),
        ("POST", "/api/bodyworn/files/{file_id}/play"): (
            FILES, 200, _f("/api/bodyworn/files/{f}/play"), lambda c, w: {"reason": "m"}, None,
        ),
        ("GET", "/api/bodyworn/files/{file_id}/video"): (
            FILES, 200,
            lambda c, w: f"/api/bodyworn/files/{c.bw.file_id}/video?grant={c.bw.grant(w)}",
            None, None,
        ),
        ("GET", "/api/bodyworn/files/{file_id}/download"): (
            FILES, 200, _f("/api/bodyworn/files/{f}/download?reason=m"), None, None,
        ),
        ("POST", "/api/bodyworn/files/{file_id}/category"): (
            CATEGORY, 200, _f("/api/bodyworn/files/{f}/category"),
            lambda c, w: {"category": "obstruction", "reason": "matrix"}, None,
        ),
        ("POST", "/api/bodyworn/files/{file_id}/cases"): (
            CASES, 201, _f("/api/bodyworn/files/{f}/cases"),
            lambda c, w: {"case_number": "M-1", "reason": "matrix"}, None,
        ),
        ("POST", "/api/bodyworn/files/{file_id}/persons"): (
            CASES, 201, _f("/api/bodyworn/files/{f}/persons"),
            lambda c, w: {"person_id": c.bw.person_id, "reason": "matrix"}, None,
        ),
        ("POST", "/api/bodyworn/files/{file_id}/clips"): (
            CASES, 201, _f("/api/bodyworn/files/{f}/clips"),
            lambda c, w: {"case_number": "M-1", "start": "2026-11-30T08:00:00Z",
                          "end": "2026-11-30T08:00:03Z", "reason": "matrix"},
            None,
        ),
        ("POST", "/api/bodyworn/files/{file_id}/approvals"): (
            FILES, 201, _f("/api/bodyworn/files/{f}/approvals"),
            lambda c, w: {"action": "view", "reason": "matrix"}, None,
        ),
        ("GET", "/api/bodyworn/approvals"): (FILES, 200, None, None, None),
        ("POST", "/api/bodyworn/approvals/{approval_id}/decision"): (
            frozenset({SUPERVISOR}), 200,
            lambda c, w: f"/api/bodyworn/approvals/{c.bw.pending()}/decision",
            lambda c, w: {"grant": True, "reason": "matrix"}, None,
        ),
        ("POST", "/api/bodyworn/approvals/{approval_id}/revoke"): (
            FILES, 200, lambda c, w: f"/api/bodyworn/approvals/{c.bw.pending(w)}/revoke",
            lambda c, w: {"reason": "matrix"}, None,
        ),
        ("GET", "/api/bodyworn/timeline"): (
            FILES, 200, lambda c, w: f"/api/bodyworn/timeline?start={t0}&end={t1}", None, None,
        ),
        ("GET", "/api/bodyworn/officers"): (FILES, 200, None, None, None),
        ("POST", "/api/bodyworn/officers"): (
            MANAGE, 201, None,
            lambda c, w: {"badge": f"M{c.bw.n()}", "name": "Matrix Officer", "unit": "M"}, None,
        ),
        ("PATCH", "/api/bodyworn/officers/{badge}"): (
            MANAGE, 200, lambda c, w: "/api/bodyworn/officers/031245",
            lambda c, w: {"unit": "Patrol 1"}, None,
        ),
        ("GET", "/api/bodyworn/devices"): (FILES, 200, None, None, None),
        ("POST", "/api/bodyworn/devices"): (
            MANAGE, 201, None, lambda c, w: {"serial": f"DSJ-N{c.bw.n()}"}, None,
        ),
        ("GET", "/api/bodyworn/devices/{serial}"): (
            FILES, 200, lambda c, w: "/api/bodyworn/devices/DSJ-A1", None, None,
        ),
        ("POST", "/api/bodyworn/devices/{serial}/assignments"): (
            MANAGE, 201, lambda c, w: "/api/bodyworn/devices/DSJ-M2/assignments",
            lambda c, w: {"badge": "031245"}, None,
        ),
        ("POST", "/api/bodyworn/devices/{serial}/return"): (
            MANAGE, 200, lambda c, w: _assigned(c, "/api/bodyworn/devices/DSJ-M2/return"),
            lambda c, w: {}, None,
        ),
        ("GET", "/api/bodyworn/shifts"): (MANAGE, 200, None, None, None),
        ("POST", "/api/bodyworn/shifts"): (
            MANAGE, 201, None,
            lambda c, w: {"serial": "DSJ-A1", "name": "matrix", "start": t0, "end": t1}, None,
        ),
        ("GET", "/api/bodyworn/docks"): (MANAGE, 200, None, None, None),
        ("POST", "/api/bodyworn/uploads"): (
            UPLOAD, 201, None, lambda c, w: {"filename": "a.mp4", "size": 1000}, None,
        ),
        ("GET", "/api/bodyworn/uploads/{upload_id}"): (
            UPLOAD, 200, lambda c, w: f"/api/bodyworn/uploads/{c.bw.upload(w)}", None, None,
        ),
        ("PUT", "/api/bodyworn/uploads/{upload_id}"): (
            UPLOAD, 200, lambda c, w: f"/api/bodyworn/uploads/{c.bw.upload(w)}?offset=0",
            None, lambda c, w: b"\0" * 10,
        ),
        ("DELETE", "/api/bodyworn/uploads/{upload_id}"): (
            UPLOAD, 200, lambda c, w: f"/api/bodyworn/uploads/{c.bw.upload(w)}", None, None,
        ),
        ("GET", "/bodyworn"): (FILES, 200, None, None, None),
        ("GET", "/bodyworn/admin"): (MANAGE, 200, None, None, None),
    }  # fmt: skip


def _assigned(c: Any, url: str) -> str:
    """DSJ-M2 in someone's hands, so that it can be returned."""
    view = officers.get_device(c.bw.db, "DSJ-M2")
    if view.officer is None:
        officers.assign(c.bw.db, SystemClock(), SET_UP, "DSJ-M2", "031245")
    return url
