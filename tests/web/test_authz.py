"""The authorisation matrix: every route of the app, for every role and for nobody logged in.

A route missing from MATRIX fails ``test_every_route_is_in_the_matrix``; so does an entry
for a route that no longer exists. The roles here are written out by hand on purpose: they
are the specification that vms/web/roles.py must meet, not a copy of it.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from aiortc import RTCPeerConnection
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import Mount, Route

from tests.conftest import shared_file
from tests.web.bodyworn_matrix import rows as bodyworn_rows
from tests.web.bodyworn_matrix import setup_bodyworn
from tests.web.conftest import Users, add_users, fake_health, make_config, record_file
from vms.app import sync_cameras
from vms.clock import SystemClock
from vms.custody.models import Alert as CustodyAlert
from vms.custody.rules import Officer
from vms.custody.service import CustodyService
from vms.db.migrate import upgrade
from vms.db.models import Event, Segment
from vms.db.session import Database
from vms.evidence.audit import Actor
from vms.evidence.cases import create_case
from vms.evidence.export import export_case
from vms.evidence.items import add_clip
from vms.ops.briefing import write_briefing
from vms.web.app import create_app
from vms.web.roles import Role
from vms.web.users import create_api_token, get_user, start_session

ADMIN, SUPERVISOR, INVESTIGATOR, AUDITOR = (
    Role.ADMIN,
    Role.SUPERVISOR,
    Role.INVESTIGATOR,
    Role.AUDITOR,
)
EVERYONE = frozenset(Role)
PUBLIC = "public"


@dataclass
class Ctx:
    """Ids the requests need: filled once per module."""

    users: Users
    app: FastAPI
    db: Database
    segment_id: int = 0
    custody_segment_id: int = 0
    event_id: int = 0
    offer_sdp: str = ""
    tokens: dict[str, int] = field(default_factory=dict)
    made: int = 0
    case_id: int = 0
    clip: tuple[str, str] = ("", "")
    export: str = ""
    custody_alert: int = 0
    interview: int = 0
    bw: Any = None  # body-worn records (tests/web/bodyworn_matrix.py)

    def grant(self, who: str) -> str:
        uid = self.users.ids.get(who, 0)
        return str(self.app.state.web.grants.sign(uid, self.segment_id))

    def new_name(self) -> str:
        self.made += 1
        return f"new-user-{self.made}"


Fill = Callable[[Ctx, str], str]
Body = Callable[[Ctx, str], Any]


@dataclass(frozen=True)
class Case:
    who: str | frozenset[Role]
    ok: int = 200
    url: Fill | None = None
    body: Body | None = None
    stream: bool = False
    raw: Callable[[Ctx, str], bytes] | None = None  # a body that is not JSON


def _token_url(c: Ctx, who: str) -> str:
    return f"/api/auth/tokens/{c.tokens.get(who, 999_999)}"


MATRIX: dict[tuple[str, str], Case] = {
    # framework
    ("GET", "/openapi.json"): Case(PUBLIC),
    ("GET", "/docs"): Case(PUBLIC),
    ("GET", "/docs/oauth2-redirect"): Case(PUBLIC),
    ("GET", "/redoc"): Case(PUBLIC),
    ("GET", "/static"): Case(PUBLIC, url=lambda c, w: "/static/app.css"),
    ("GET", "/api/health"): Case(PUBLIC),
    # auth
    ("POST", "/api/auth/login"): Case(
        PUBLIC, body=lambda c, w: {"username": "admin", "password": "correct horse battery"}
    ),
    ("POST", "/api/auth/logout"): Case(EVERYONE),
    ("GET", "/api/auth/me"): Case(EVERYONE),
    ("PATCH", "/api/auth/me"): Case(EVERYONE, body=lambda c, w: {"language": "zh-CN"}),
    ("GET", "/api/auth/tokens"): Case(EVERYONE),
    ("POST", "/api/auth/tokens"): Case(EVERYONE, 201, body=lambda c, w: {"name": "t"}),
    ("DELETE", "/api/auth/tokens/{token_id}"): Case(EVERYONE, url=_token_url),
    # users
    ("GET", "/api/users"): Case(frozenset({ADMIN})),
    ("POST", "/api/users"): Case(
        frozenset({ADMIN}),
        201,
        body=lambda c, w: {"username": c.new_name(), "password": "0123456789ab", "role": "auditor"},
    ),
    ("GET", "/api/users/{user_id}"): Case(
        frozenset({ADMIN}), url=lambda c, w: f"/api/users/{c.users.ids['auditor']}"
    ),
    ("PATCH", "/api/users/{user_id}"): Case(
        frozenset({ADMIN}),
        url=lambda c, w: f"/api/users/{c.users.ids['auditor']}",
        body=lambda c, w: {"full_name": "Audrey Auditor"},
    ),
    # cameras
    ("GET", "/api/cameras"): Case(EVERYONE),
    ("GET", "/api/cameras/{camera_id}"): Case(EVERYONE, url=lambda c, w: "/api/cameras/street-1"),
    # live
    ("POST", "/api/live/{camera_id}/offer"): Case(
        frozenset({SUPERVISOR}),
        url=lambda c, w: "/api/live/street-1/offer",
        body=lambda c, w: {"sdp": c.offer_sdp, "type": "offer"},
    ),
    ("GET", "/api/live/viewers"): Case(frozenset({SUPERVISOR})),
    # alerts and events
    ("GET", "/api/alerts"): Case(frozenset({SUPERVISOR})),
    ("GET", "/api/alerts/stream"): Case(frozenset({SUPERVISOR}), stream=True),
    ("POST", "/api/alerts/{event_id}/ack"): Case(
        frozenset({SUPERVISOR}),
        201,
        url=lambda c, w: f"/api/alerts/{c.event_id}/ack",
        body=lambda c, w: {"note": "seen"},
    ),
    ("GET", "/api/alerts/{event_id}/acks"): Case(
        frozenset({SUPERVISOR}), url=lambda c, w: f"/api/alerts/{c.event_id}/acks"
    ),
    ("GET", "/api/events"): Case(frozenset({SUPERVISOR, INVESTIGATOR})),
    ("GET", "/api/events/{event_id}/snapshot"): Case(
        frozenset({SUPERVISOR, INVESTIGATOR}),
        url=lambda c, w: f"/api/events/{c.event_id}/snapshot",
    ),
    # recordings
    ("GET", "/api/recordings/{camera_id}/timeline"): Case(
        frozenset({INVESTIGATOR, AUDITOR}), url=lambda c, w: "/api/recordings/street-1/timeline"
    ),
    ("POST", "/api/playback"): Case(
        frozenset({INVESTIGATOR, AUDITOR}),
        body=lambda c, w: {"segment_id": c.custody_segment_id, "reason": "matrix test"},
    ),
    ("GET", "/api/recordings/segments/{segment_id}/video"): Case(
        frozenset({INVESTIGATOR, AUDITOR}),
        url=lambda c, w: f"/api/recordings/segments/{c.segment_id}/video?grant={c.grant(w)}",
    ),
    ("GET", "/api/recordings/segments/{segment_id}/download"): Case(
        frozenset({INVESTIGATOR, AUDITOR}),
        url=lambda c, w: f"/api/recordings/segments/{c.segment_id}/download",
    ),
    # cases and exports
    ("GET", "/api/cases"): Case(frozenset({INVESTIGATOR})),
    ("POST", "/api/cases"): Case(
        frozenset({INVESTIGATOR}),
        201,
        body=lambda c, w: {"number": f"M-{c.new_name()}", "title": "matrix"},
    ),
    ("GET", "/api/cases/{case_id}"): Case(
        frozenset({INVESTIGATOR}), url=lambda c, w: f"/api/cases/{c.case_id}"
    ),
    ("POST", "/api/cases/{case_id}/clips"): Case(
        frozenset({INVESTIGATOR}),
        201,
        url=lambda c, w: f"/api/cases/{c.case_id}/clips",
        body=lambda c, w: {"camera_id": "street-1", "start": c.clip[0], "end": c.clip[1]},
    ),
    ("POST", "/api/cases/{case_id}/exports"): Case(
        frozenset({INVESTIGATOR}), 201, url=lambda c, w: f"/api/cases/{c.case_id}/exports"
    ),
    ("GET", "/api/cases/{case_id}/exports/{name}"): Case(
        frozenset({INVESTIGATOR}), url=lambda c, w: f"/api/cases/{c.case_id}/exports/{c.export}"
    ),
    # custody
    ("GET", "/api/custody/status"): Case(frozenset({SUPERVISOR})),
    ("POST", "/api/custody/alerts/{alert_id}/ack"): Case(
        frozenset({SUPERVISOR}),
        url=lambda c, w: f"/api/custody/alerts/{c.custody_alert}/ack",
        body=lambda c, w: {"note": "seen on camera"},
    ),
    # search
    ("GET", "/api/search"): Case(frozenset({INVESTIGATOR})),
    ("GET", "/api/search/people"): Case(frozenset({INVESTIGATOR})),
    # audit
    ("GET", "/api/audit"): Case(frozenset({AUDITOR})),
    ("GET", "/api/audit/verify"): Case(frozenset({AUDITOR})),
    ("GET", "/api/interviews"): Case(frozenset({AUDITOR})),
    ("GET", "/api/interviews/{interview_id}/report"): Case(
        frozenset({AUDITOR}), url=lambda c, w: f"/api/interviews/{c.interview}/report"
    ),
    # pages: nobody logged in is sent to /login (303)
    ("GET", "/login"): Case(PUBLIC),
    ("GET", "/"): Case(PUBLIC, 303),
    ("GET", "/live"): Case(frozenset({SUPERVISOR})),
    ("GET", "/cameras"): Case(EVERYONE),
    ("GET", "/playback"): Case(frozenset({INVESTIGATOR, AUDITOR})),
    ("GET", "/cases"): Case(frozenset({INVESTIGATOR})),
    ("GET", "/custody"): Case(frozenset({SUPERVISOR})),
    ("GET", "/search"): Case(frozenset({INVESTIGATOR})),
    ("GET", "/audit"): Case(frozenset({AUDITOR})),
    ("GET", "/cases/{case_id}"): Case(
        frozenset({INVESTIGATOR}), url=lambda c, w: f"/cases/{c.case_id}"
    ),
    ("GET", "/users"): Case(frozenset({ADMIN})),
    # operations: metrics and jobs (admin, supervisor), daily briefings (every role)
    ("GET", "/metrics"): Case(frozenset({ADMIN, SUPERVISOR})),
    ("GET", "/api/ops/jobs"): Case(frozenset({ADMIN, SUPERVISOR})),
    ("GET", "/api/nodes"): Case(frozenset({ADMIN, SUPERVISOR})),
    ("GET", "/api/briefings"): Case(EVERYONE),
    ("GET", "/api/briefings/{day}"): Case(EVERYONE, url=lambda c, w: "/api/briefings/2026-01-02"),
    ("GET", "/api/briefings/{day}/files/{name}"): Case(
        EVERYONE, url=lambda c, w: "/api/briefings/2026-01-02/files/heatmap.png"
    ),
}


MATRIX |= {key: Case(*row) for key, row in bodyworn_rows().items()}


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route, routers included (FastAPI keeps them nested)."""
    found: set[tuple[str, str]] = set()
    for rc in iter_route_contexts(app.routes):
        route = rc.original_route
        if isinstance(route, APIRoute | Route):
            for method in rc.methods or ():
                if method != "HEAD":
                    found.add((method, str(rc.path)))
        elif isinstance(route, Mount):
            found.add(("GET", route.path))
        else:
            found.add(("?", repr(route)))  # a kind of route this test does not know: fail
    return found


async def _offer() -> str:
    pc = RTCPeerConnection()
    pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    sdp = str(pc.localDescription.sdp)
    await pc.close()
    return sdp


@pytest.fixture(scope="module")
def ctx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ctx]:
    tmp = tmp_path_factory.mktemp("authz")
    clip = str(shared_file("footage/one-by-one-person-detection.mp4"))
    config = make_config(tmp / "store", source=clip, custody_source=clip)
    db = Database(f"sqlite:///{tmp / 'vms.db'}")
    upgrade(db.engine)
    config.recordings_dir.mkdir(parents=True)
    sync_cameras(db, config)
    users = add_users(db)
    record_file(db, config, "street-1")
    record_file(db, config, "interview-1")
    snap = config.storage.root / "snapshots" / "e1.jpg"
    snap.parent.mkdir()
    snap.write_bytes(shared_file("footage/avenue-frames/avenue_train10_0000.jpg").read_bytes())
    app = create_app(config, db, fake_health)
    c = Ctx(users, app, db)
    with db.session() as s:
        c.segment_id = s.scalars(select(Segment.id).where(Segment.camera_id == "street-1")).first()
        c.custody_segment_id = s.scalars(
            select(Segment.id).where(Segment.camera_id == "interview-1")
        ).first()
    with db.session() as s:
        ev = Event(
            type="loitering",
            camera_id="street-1",
            start=datetime.now(UTC),
            severity="warning",
            data={"snapshot": "snapshots/e1.jpg"},
        )
        s.add(ev)
        s.flush()
        c.event_id = ev.id
    c.offer_sdp = asyncio.run(_offer())
    # A case with one clip, and one export package of it, made by the evidence services.
    with db.session() as s:
        seg = s.get(Segment, c.segment_id)
        assert seg is not None
        assert seg.end is not None
        c.clip = (seg.start.isoformat(), seg.end.isoformat())
        start, end = seg.start, seg.end
    actor = Actor("investigator", "matrix set-up")
    clock = SystemClock()
    case = create_case(db, clock, actor, "M-1", "matrix case")
    c.case_id = case.id
    add_clip(db, config, clock, actor, "M-1", "street-1", start, end)
    folder = config.storage.root / "exports" / "M-1"
    export_case(db, config, clock, actor, "M-1", folder / "pkg")
    c.export = Path(shutil.make_archive(str(folder / "pkg"), "zip", folder, "pkg")).name
    # A person held, an interview, and an open custody alert, made by the custody services.
    custody = CustodyService(db, config, clock)
    person = custody.enter(
        name="Zhang San", reason="theft", basis="summons", room="interrogation-room-1", by="li"
    )
    officers = [Officer("Li Wei", "031245"), Officer("Wang Fang", "031877")]
    c.interview = custody.start_interview(person.id, officers=officers, by="li").id
    with db.session() as s:
        alert = CustodyAlert(
            key="matrix-1",
            type="person_alone",
            severity="critical",
            level=1,
            room_id="interrogation-room-1",
            camera_id="interview-1",
            message="Zhang San alone in Interrogation room 1",
            data={},
            raised_at=datetime.now(UTC),
        )
        s.add(alert)
        s.flush()
        c.custody_alert = alert.id
    write_briefing(db, config, date(2026, 1, 2))
    c.bw = setup_bodyworn(app, db, config, tmp, users.ids, person.id)
    yield c
    db.dispose()


@pytest.fixture(scope="module")
def client(ctx: Ctx) -> Iterator[TestClient]:
    with TestClient(ctx.app, base_url="http://127.0.0.1", follow_redirects=False) as c:
        yield c


def test_every_route_is_in_the_matrix(ctx: Ctx) -> None:
    routes = app_routes(ctx.app)
    missing = sorted(routes - set(MATRIX))
    stale = sorted(set(MATRIX) - routes)
    assert not missing, f"routes without an entry in MATRIX (add who may call them): {missing}"
    assert not stale, f"MATRIX entries for routes the app no longer has: {stale}"


def _expected(case: Case, who: str, path: str) -> int:
    page = not path.startswith("/api/") and path not in ("/openapi.json", "/metrics")
    if case.who == PUBLIC:
        return case.ok
    if who == "nobody":
        return 303 if page else 401
    assert isinstance(case.who, frozenset | set)
    return case.ok if Role(who) in case.who else 403


def _login(ctx: Ctx, client: TestClient, who: str) -> dict[str, str]:
    client.cookies.clear()
    if who == "nobody":
        return {}
    with ctx.db.session() as s:
        user = get_user(s, ctx.users.ids[who])
        token, _ = start_session(s, user, 1)
        if who not in ctx.tokens:
            _, row = create_api_token(s, user, "matrix")
            ctx.tokens[who] = row.id
    client.cookies.set("vms_session", token)
    return {"X-Requested-With": "vms"}


WHO = ["nobody", *[r.value for r in Role]]


@pytest.mark.parametrize(("method", "path"), sorted(MATRIX), ids=lambda v: str(v))
def test_route_answers_each_role_as_the_matrix_says(
    ctx: Ctx, client: TestClient, method: str, path: str
) -> None:
    case = MATRIX[(method, path)]
    got: dict[str, int] = {}
    want: dict[str, int] = {}
    for who in WHO:
        headers = _login(ctx, client, who)
        url = case.url(ctx, who) if case.url else path
        kwargs: dict[str, Any] = {"headers": headers}
        if case.body is not None:
            kwargs["json"] = case.body(ctx, who)
        if case.raw is not None:
            kwargs["content"] = case.raw(ctx, who)
        if case.stream:
            with client.stream(method, url, **kwargs) as res:
                got[who] = res.status_code
        else:
            got[who] = client.request(method, url, **kwargs).status_code
        want[who] = _expected(case, who, path)
    assert got == want
