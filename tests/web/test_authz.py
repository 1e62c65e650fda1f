"""The authorisation matrix: every route of the app, for every role and for nobody logged in.

A route missing from MATRIX fails ``test_every_route_is_in_the_matrix``; so does an entry
for a route that no longer exists. The roles here are written out by hand on purpose: they
are the specification that vms/web/roles.py must meet, not a copy of it. The whole matrix,
the camera scope's included, runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
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
from tests.support.waiting import wait_for
from tests.web.bodyworn_matrix import rows as bodyworn_rows
from tests.web.bodyworn_matrix import setup_bodyworn
from tests.web.conftest import (
    PASSWORD,
    Users,
    fake_health,
    installation,
    record_file,
)
from vms.clock import SystemClock
from vms.custody.models import Alert as CustodyAlert
from vms.custody.models import Interview
from vms.custody.rules import Officer
from vms.custody.service import CustodyService
from vms.db.models import Event, Segment
from vms.db.session import Database
from vms.evidence.audit import Actor
from vms.evidence.cases import create_case
from vms.evidence.export import export_case
from vms.evidence.items import add_clip
from vms.ops.briefing import write_briefing
from vms.web.app import create_app
from vms.web.roles import Role
from vms.web.users import create_api_token, create_user, get_user, start_session

ADMIN, SUPERVISOR, INVESTIGATOR, AUDITOR = (
    Role.ADMIN,
    Role.SUPERVISOR,
    Role.INVESTIGATOR,
    Role.AUDITOR,
)
EVERYONE = frozenset(Role)
PUBLIC = "public"
DESK_OFFICERS = [Officer("Li Wei", "031245"), Officer("Wang Fang", "031877")]


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
    clip_item: int = 0
    interview: int = 0
    ended_interview: int = 0
    court_copy: str = ""
    bw: Any = None  # body-worn records (tests/web/bodyworn_matrix.py)
    # Objects of the custody camera interview-1, outside the scope of the scoped principals:
    outside_event: int = 0
    custody_case: int = 0  # case M-2: a clip of interview-1 only
    custody_export: str = ""
    inside_alert: int = 0  # a custody alert of street-1, inside their scope
    street_case: int = 0  # case M-3: street-1 only, ever (M-1 gets body-worn clips too)
    custody_clip_item: int = 0  # case M-2's clip of interview-1

    def item_grant(self, who: str, item_id: int | None = None) -> str:
        uid = self.users.ids.get(who, 0)
        return str(self.app.state.web.grants.sign(uid, item_id or self.clip_item, scope="item"))

    def grant(self, who: str, segment_id: int | None = None) -> str:
        uid = self.users.ids.get(who, 0)
        return str(self.app.state.web.grants.sign(uid, segment_id or self.segment_id))

    def desk_person(self) -> int:
        """A new person held in the holding room (the custody desk's routes act on one)."""
        self.made += 1
        svc = CustodyService(self.db, self.app.state.web.config)
        return svc.enter(
            name=f"Desk Person {self.made}", reason="matrix", basis="summons",
            room="holding-room-1", by="desk",
        ).id  # fmt: skip

    def free_inquiry_room(self) -> int:
        """End any interview in the inquiry room; a new person held, to interview there."""
        svc = CustodyService(self.db, self.app.state.web.config)
        with self.db.session() as s:
            busy = s.scalars(
                select(Interview.id).where(
                    Interview.room_id == "inquiry-room-1", Interview.ended_at.is_(None)
                )
            ).all()
        for iv in busy:
            svc.end_interview(iv, by="desk")
        return self.desk_person()

    def desk_interview(self) -> int:
        """An interview in progress in the inquiry room."""
        svc = CustodyService(self.db, self.app.state.web.config)
        person = self.free_inquiry_room()
        iv = svc.start_interview(person, officers=DESK_OFFICERS, by="desk", room="inquiry-room-1")
        return iv.id

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
    ("GET", "/docs-assets"): Case(PUBLIC, url=lambda c, w: "/docs-assets/swagger-ui.css"),
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
    ("GET", "/api/live/overlays"): Case(
        frozenset({SUPERVISOR}), url=lambda c, w: "/api/live/overlays?camera=street-1", stream=True
    ),
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
    ("GET", "/api/recordings/segments/{segment_id}/view"): Case(
        frozenset({INVESTIGATOR, AUDITOR}),
        url=lambda c, w: f"/api/recordings/segments/{c.segment_id}/view?grant={c.grant(w)}&hevc=0",
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
    ("POST", "/api/cases/{case_id}/items/{item_id}/play"): Case(
        frozenset({INVESTIGATOR}),
        url=lambda c, w: f"/api/cases/{c.case_id}/items/{c.clip_item}/play",
        body=lambda c, w: {},
    ),
    ("GET", "/api/cases/{case_id}/items/{item_id}/video"): Case(
        frozenset({INVESTIGATOR}),
        url=lambda c, w: (
            f"/api/cases/{c.case_id}/items/{c.clip_item}/video?grant={c.item_grant(w)}"
        ),
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
    # the custody desk: the ledger's operations (through CustodyService, audited)
    ("POST", "/api/custody/people"): Case(
        frozenset({SUPERVISOR}),
        201,
        body=lambda c, w: {
            "name": c.new_name(),
            "reason": "matrix",
            "basis": "summons",
            "room": "cell-1",
        },
    ),
    ("POST", "/api/custody/people/{person_id}/move"): Case(
        frozenset({SUPERVISOR}),
        url=lambda c, w: f"/api/custody/people/{c.desk_person()}/move",
        body=lambda c, w: {"room": "cell-1"},
    ),
    ("POST", "/api/custody/people/{person_id}/risk"): Case(
        frozenset({SUPERVISOR}),
        url=lambda c, w: f"/api/custody/people/{c.desk_person()}/risk",
        body=lambda c, w: {"risk": "high"},
    ),
    ("POST", "/api/custody/people/{person_id}/checks"): Case(
        frozenset({SUPERVISOR}),
        201,
        url=lambda c, w: f"/api/custody/people/{c.desk_person()}/checks",
        body=lambda c, w: {"note": "asleep"},
    ),
    ("POST", "/api/custody/people/{person_id}/interviews"): Case(
        frozenset({SUPERVISOR}),
        201,
        url=lambda c, w: f"/api/custody/people/{c.free_inquiry_room()}/interviews",
        body=lambda c, w: {
            "room": "inquiry-room-1",
            "officers": [
                {"name": "Li Wei", "badge": "031245"},
                {"name": "Wang Fang", "badge": "1"},
            ],
        },
    ),
    ("POST", "/api/custody/interviews/{interview_id}/end"): Case(
        frozenset({SUPERVISOR}),
        url=lambda c, w: f"/api/custody/interviews/{c.desk_interview()}/end",
        body=lambda c, w: {"note": "signed"},
    ),
    ("POST", "/api/custody/people/{person_id}/exit"): Case(
        frozenset({SUPERVISOR}),
        url=lambda c, w: f"/api/custody/people/{c.desk_person()}/exit",
        body=lambda c, w: {"note": "released"},
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
    ("POST", "/api/interviews/{interview_id}/court-copy"): Case(
        frozenset({AUDITOR}),
        202,
        url=lambda c, w: f"/api/interviews/{c.ended_interview}/court-copy",
        body=lambda c, w: {"reason": "matrix test"},
    ),
    ("GET", "/api/court-copies/{job_id}"): Case(
        frozenset({AUDITOR}), url=lambda c, w: f"/api/court-copies/{c.court_copy}"
    ),
    ("GET", "/api/court-copies/{job_id}/download"): Case(
        frozenset({AUDITOR}), url=lambda c, w: f"/api/court-copies/{c.court_copy}/download"
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
    ("GET", "/briefings"): Case(EVERYONE),
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


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def ctx(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ctx]:
    """The whole installation the matrix runs against, on each backend (lists are filtered and
    objects looked up in SQL: the scope must hold on both)."""
    tmp = tmp_path_factory.mktemp("authz")
    config, db, users = installation(request, tmp, "authz")
    with db.session() as s:  # one principal of each role limited to the street camera
        for role in Role:
            name = f"scoped-{role.value}"
            scope = ["street-1"]
            users.ids[name] = create_user(s, name, PASSWORD, role, camera_scope=scope).id
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
    # Owned by the investigator, the scoped investigator named on both (case membership).
    members = ["scoped-investigator"]
    case = create_case(db, clock, actor, "M-1", "matrix case", investigators=members)
    c.case_id = case.id
    c.clip_item = add_clip(db, config, clock, actor, "M-1", "street-1", start, end).id
    folder = config.storage.root / "exports" / "M-1"
    export_case(db, config, clock, actor, "M-1", folder / "pkg")
    c.export = Path(shutil.make_archive(str(folder / "pkg"), "zip", folder, "pkg")).name
    with db.session() as s:
        room = s.get(Segment, c.custody_segment_id)
        assert room is not None
        assert room.end is not None
        room_range = (room.start, room.end)
        outside = Event(type="person_down", camera_id="interview-1", start=datetime.now(UTC),
                        severity="critical", data={"snapshot": "snapshots/e1.jpg"})  # fmt: skip
        s.add(outside)
        s.flush()
        c.outside_event = outside.id
    c.custody_case = create_case(db, clock, actor, "M-2", "second case", investigators=members).id
    c.street_case = create_case(db, clock, actor, "M-3", "third case", investigators=members).id
    add_clip(db, config, clock, actor, "M-3", "street-1", start, end)
    c.custody_clip_item = add_clip(db, config, clock, actor, "M-2", "interview-1", *room_range).id
    folder = config.storage.root / "exports" / "M-2"
    export_case(db, config, clock, actor, "M-2", folder / "pkg")
    c.custody_export = Path(shutil.make_archive(str(folder / "pkg"), "zip", folder, "pkg")).name
    # A person held, an interview, and an open custody alert, made by the custody services.
    custody = CustodyService(db, config, clock)
    # An interview that ended, and its court copy, rendered by the web app's own queue.
    now = clock.now()
    other = custody.enter(
        name="Li Si",
        reason="fraud",
        basis="summons",
        room="interrogation-room-1",
        by="li",
        at=now - timedelta(seconds=4),
    )
    officers = [Officer("Li Wei", "031245"), Officer("Wang Fang", "031877")]
    done = custody.start_interview(
        other.id, officers=officers, by="li", at=now - timedelta(seconds=3)
    )
    custody.end_interview(done.id, by="li", at=now - timedelta(seconds=1))
    c.ended_interview = done.id
    job = app.state.web.court_copies.submit(
        done.id, Actor("auditor", "matrix"), user_id=users.ids["auditor"], cameras=("interview-1",)
    )
    c.court_copy = job.id
    wait_for("the matrix court copy", lambda: job.state in ("done", "failed"), 120)
    assert job.state == "done", job.error
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
        inside = CustodyAlert(
            key="matrix-2",
            type="person_alone",
            severity="critical",
            level=1,
            camera_id="street-1",
            message="Someone alone by the street door",
            data={},
            raised_at=datetime.now(UTC),
        )
        s.add(inside)
        s.flush()
        c.custody_alert = alert.id
        c.inside_alert = inside.id
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


# --- the camera scope: every route, for a principal of each role limited to street-1 ---------

#: What a response to a scoped principal must never contain: the custody camera interview-1,
#: its room, the person held there, the body-worn recorder (none of them in the scope).
OUTSIDE_MARKERS = ("interview-1", "Interview room one", "interrogation-room-1", "Zhang San",
                   "Li Si", "bw.DSJ-A1")  # fmt: skip


@dataclass(frozen=True)
class Scoping:
    """How a route meets the camera scope.

    ``free``: nothing of it is tied to a camera. ``list``: a scoped principal gets the route's
    answer, which must hold nothing outside their scope. ``whole``: a view of the whole
    installation, refused (403) to a scoped principal. ``object``: it names an object; one of
    another camera (``outside``) is refused with 403, one inside (``inside``, default the
    matrix URL; None with ``no_inside``) answers as for the role.
    """

    kind: str
    inside: Fill | None = None
    inside_body: Body | None = None
    outside: Fill | None = None
    outside_body: Body | None = None
    no_inside: bool = False


FREE, LIST, WHOLE = Scoping("free"), Scoping("list"), Scoping("whole")


def obj(
    outside: Fill | None = None,
    outside_body: Body | None = None,
    *,
    inside: Fill | None = None,
    inside_body: Body | None = None,
    no_inside: bool = False,
) -> Scoping:
    return Scoping("object", inside, inside_body, outside, outside_body, no_inside)


def _seg(c: Ctx, w: str, what: str) -> str:
    return f"/api/recordings/segments/{c.custody_segment_id}/{what}"


def _bw(path: str) -> Scoping:
    """A body-worn file's route: the recorder (bw.DSJ-A1) is outside the street scope."""
    return obj(lambda c, w: path.format(f=c.bw.file_id), no_inside=True)


SDP = lambda c, w: {"sdp": c.offer_sdp, "type": "offer"}  # noqa: E731

SCOPE: dict[tuple[str, str], Scoping] = {
    **{
        k: FREE
        for k in MATRIX
        if k[1].startswith(("/api/auth/", "/api/users"))
        or k[1]
        in (
            "/openapi.json",
            "/docs",
            "/docs-assets",
            "/docs/oauth2-redirect",
            "/redoc",
            "/static",
            "/api/health",
            "/login",
            "/",
            "/users",
        )
    },
    ("GET", "/api/cameras"): LIST,
    ("GET", "/api/cameras/{camera_id}"): obj(lambda c, w: "/api/cameras/interview-1"),
    ("POST", "/api/live/{camera_id}/offer"): obj(lambda c, w: "/api/live/interview-1/offer", SDP),
    ("GET", "/api/live/viewers"): LIST,
    ("GET", "/api/live/overlays"): obj(lambda c, w: "/api/live/overlays?camera=interview-1"),
    ("GET", "/api/alerts"): LIST,
    ("GET", "/api/alerts/stream"): LIST,  # a stream: its status here, its messages below
    ("POST", "/api/alerts/{event_id}/ack"): obj(
        lambda c, w: f"/api/alerts/{c.outside_event}/ack", lambda c, w: {"note": "seen"}
    ),
    ("GET", "/api/alerts/{event_id}/acks"): obj(lambda c, w: f"/api/alerts/{c.outside_event}/acks"),
    ("GET", "/api/events"): LIST,
    ("GET", "/api/events/{event_id}/snapshot"): obj(
        lambda c, w: f"/api/events/{c.outside_event}/snapshot"
    ),
    ("GET", "/api/recordings/{camera_id}/timeline"): obj(
        lambda c, w: "/api/recordings/interview-1/timeline"
    ),
    ("POST", "/api/playback"): obj(
        lambda c, w: "/api/playback",
        lambda c, w: {"segment_id": c.custody_segment_id, "reason": "scope test"},
        inside_body=lambda c, w: {"segment_id": c.segment_id},
    ),
    ("GET", "/api/recordings/segments/{segment_id}/video"): obj(
        lambda c, w: f"{_seg(c, w, 'video')}?grant={c.grant(w, c.custody_segment_id)}"
    ),
    ("GET", "/api/recordings/segments/{segment_id}/download"): obj(
        lambda c, w: f"{_seg(c, w, 'download')}?reason=scope"
    ),
    ("GET", "/api/recordings/segments/{segment_id}/view"): obj(
        lambda c, w: f"{_seg(c, w, 'view')}?grant={c.grant(w, c.custody_segment_id)}&hevc=0"
    ),
    ("GET", "/api/cases"): LIST,
    ("POST", "/api/cases"): FREE,
    # M-2 is the scoped investigator's case too: shown without its interview-1 clip.
    ("GET", "/api/cases/{case_id}"): Scoping(
        "list", inside=lambda c, w: f"/api/cases/{c.custody_case}"
    ),
    ("POST", "/api/cases/{case_id}/clips"): obj(
        lambda c, w: f"/api/cases/{c.case_id}/clips",
        lambda c, w: {
            "camera_id": "interview-1",
            "start": c.clip[0],
            "end": c.clip[1],
            "reason": "scope test",
        },
    ),
    ("POST", "/api/cases/{case_id}/exports"): obj(
        lambda c, w: f"/api/cases/{c.custody_case}/exports",
        lambda c, w: {"reason": "scope"},
        inside=lambda c, w: f"/api/cases/{c.street_case}/exports",
    ),
    # a case's clips: M-2's clip of interview-1 is outside (the scoped investigator is a member)
    ("POST", "/api/cases/{case_id}/items/{item_id}/play"): obj(
        lambda c, w: f"/api/cases/{c.custody_case}/items/{c.custody_clip_item}/play",
        lambda c, w: {"reason": "scope"},
    ),
    ("GET", "/api/cases/{case_id}/items/{item_id}/video"): obj(
        lambda c, w: (
            f"/api/cases/{c.custody_case}/items/{c.custody_clip_item}/video"
            f"?grant={c.item_grant(w, c.custody_clip_item)}"
        )
    ),
    ("GET", "/api/cases/{case_id}/exports/{name}"): obj(
        lambda c, w: f"/api/cases/{c.custody_case}/exports/{c.custody_export}?reason=scope"
    ),
    ("GET", "/api/custody/status"): LIST,
    ("POST", "/api/custody/alerts/{alert_id}/ack"): obj(
        lambda c, w: f"/api/custody/alerts/{c.custody_alert}/ack",
        lambda c, w: {"note": "not mine"},
        inside=lambda c, w: f"/api/custody/alerts/{c.inside_alert}/ack",
    ),
    # the custody desk: rooms and people of rooms without a camera in scope are outside
    ("POST", "/api/custody/people"): obj(
        lambda c, w: "/api/custody/people",
        lambda c, w: {
            "name": c.new_name(),
            "reason": "scope",
            "basis": "summons",
            "room": "interrogation-room-1",
        },
        no_inside=True,
    ),
    **{
        ("POST", f"/api/custody/people/{{person_id}}/{op}"): obj(
            lambda c, w, op=op: f"/api/custody/people/{c.desk_person()}/{op}", no_inside=True
        )
        for op in ("move", "risk", "checks", "exit")
    },
    ("POST", "/api/custody/people/{person_id}/interviews"): obj(
        lambda c, w: f"/api/custody/people/{c.free_inquiry_room()}/interviews", no_inside=True
    ),
    ("POST", "/api/custody/interviews/{interview_id}/end"): obj(
        lambda c, w: f"/api/custody/interviews/{c.desk_interview()}/end", no_inside=True
    ),
    ("GET", "/api/search"): LIST,
    ("GET", "/api/search/people"): LIST,
    ("GET", "/api/audit"): LIST,
    ("GET", "/api/audit/verify"): LIST,
    ("GET", "/api/interviews"): LIST,
    ("GET", "/api/interviews/{interview_id}/report"): obj(
        lambda c, w: f"/api/interviews/{c.interview}/report", no_inside=True
    ),
    # court copies: of an interview in the custody room, outside the street scope
    ("POST", "/api/interviews/{interview_id}/court-copy"): obj(
        lambda c, w: f"/api/interviews/{c.ended_interview}/court-copy",
        lambda c, w: {"reason": "scope"},
        no_inside=True,
    ),
    ("GET", "/api/court-copies/{job_id}"): obj(
        lambda c, w: f"/api/court-copies/{c.court_copy}", no_inside=True
    ),
    ("GET", "/api/court-copies/{job_id}/download"): obj(
        lambda c, w: f"/api/court-copies/{c.court_copy}/download", no_inside=True
    ),
    **{
        ("GET", p): LIST
        for p in (
            "/live",
            "/cameras",
            "/playback",
            "/cases",
            "/custody",
            "/search",
            "/audit",
            "/bodyworn",
            "/bodyworn/admin",
        )
    },
    ("GET", "/cases/{case_id}"): Scoping("list", inside=lambda c, w: f"/cases/{c.custody_case}"),
    ("GET", "/metrics"): WHOLE,
    ("GET", "/api/ops/jobs"): WHOLE,
    ("GET", "/api/nodes"): WHOLE,  # the nodes and the cameras they hold: every camera
    ("GET", "/api/briefings"): WHOLE,
    ("GET", "/briefings"): WHOLE,
    ("GET", "/api/briefings/{day}"): WHOLE,
    ("GET", "/api/briefings/{day}/files/{name}"): WHOLE,
    # body-worn: files are the recorder's footage; equipment and uploads are not a camera's
    ("GET", "/api/bodyworn/files"): LIST,
    ("GET", "/api/bodyworn/files/{file_id}"): _bw("/api/bodyworn/files/{f}"),
    ("POST", "/api/bodyworn/files/{file_id}/play"): _bw("/api/bodyworn/files/{f}/play"),
    ("GET", "/api/bodyworn/files/{file_id}/video"): _bw("/api/bodyworn/files/{f}/video"),
    ("GET", "/api/bodyworn/files/{file_id}/download"): _bw(
        "/api/bodyworn/files/{f}/download?reason=m"
    ),
    ("POST", "/api/bodyworn/files/{file_id}/category"): _bw("/api/bodyworn/files/{f}/category"),
    ("POST", "/api/bodyworn/files/{file_id}/cases"): _bw("/api/bodyworn/files/{f}/cases"),
    ("POST", "/api/bodyworn/files/{file_id}/persons"): _bw("/api/bodyworn/files/{f}/persons"),
    ("POST", "/api/bodyworn/files/{file_id}/clips"): _bw("/api/bodyworn/files/{f}/clips"),
    ("POST", "/api/bodyworn/files/{file_id}/approvals"): _bw("/api/bodyworn/files/{f}/approvals"),
    ("GET", "/api/bodyworn/approvals"): LIST,
    ("POST", "/api/bodyworn/approvals/{approval_id}/decision"): obj(
        lambda c, w: f"/api/bodyworn/approvals/{c.bw.pending()}/decision",
        lambda c, w: {"grant": True, "reason": "scope"},
        no_inside=True,
    ),
    ("POST", "/api/bodyworn/approvals/{approval_id}/revoke"): obj(
        lambda c, w: f"/api/bodyworn/approvals/{c.bw.pending()}/revoke",
        lambda c, w: {"reason": "scope"},
        no_inside=True,
    ),
    ("GET", "/api/bodyworn/timeline"): LIST,
    **{
        k: FREE
        for k in MATRIX
        if k[1].startswith(
            (
                "/api/bodyworn/officers",
                "/api/bodyworn/devices",
                "/api/bodyworn/shifts",
                "/api/bodyworn/docks",
                "/api/bodyworn/uploads",
            )
        )
    },
}


def test_every_route_declares_how_it_meets_the_camera_scope() -> None:
    missing = sorted(set(MATRIX) - set(SCOPE))
    stale = sorted(set(SCOPE) - set(MATRIX))
    assert not missing, f"routes without an entry in SCOPE (how a scoped user fares): {missing}"
    assert not stale, f"SCOPE entries for routes not in MATRIX: {stale}"


def _call(
    client: TestClient,
    case: Case,
    method: str,
    url: str,
    headers: dict[str, str],
    body: Any,
    raw: bytes | None = None,
) -> tuple[int, str]:
    kwargs: dict[str, Any] = {"headers": headers}
    if body is not None:
        kwargs["json"] = body
    if raw is not None:
        kwargs["content"] = raw
    if case.stream:
        with client.stream(method, url, **kwargs) as res:
            return res.status_code, ""
    res = client.request(method, url, **kwargs)
    kind = res.headers.get("content-type", "")
    return res.status_code, res.text if "json" in kind or "html" in kind else ""


@pytest.mark.parametrize(("method", "path"), sorted(SCOPE), ids=lambda v: str(v))
def test_a_scoped_principal_of_every_role_gets_nothing_outside_its_scope(
    ctx: Ctx, client: TestClient, method: str, path: str
) -> None:
    case, scoping = MATRIX[(method, path)], SCOPE[(method, path)]
    got: dict[str, int] = {}
    want: dict[str, int] = {}
    leaks: dict[str, list[str]] = {}
    for role in Role:
        who = f"scoped-{role.value}"
        allowed = case.who == PUBLIC or (isinstance(case.who, frozenset) and role in case.who)
        if not (scoping.kind == "object" and scoping.no_inside):
            headers = _login(ctx, client, who)
            url = (scoping.inside or case.url or (lambda c, w: path))(ctx, who)
            body = (scoping.inside_body or case.body or (lambda c, w: None))(ctx, who)
            raw = case.raw(ctx, who) if case.raw is not None else None
            status, text = _call(client, case, method, url, headers, body, raw)
            got[who] = status
            want[who] = 403 if scoping.kind == "whole" or not allowed else case.ok
            if scoping.kind != "free" and 200 <= status < 300:
                leaks[who] = [m for m in OUTSIDE_MARKERS if m in text]
        if scoping.kind == "object" and scoping.outside is not None:
            headers = _login(ctx, client, who)
            body = (scoping.outside_body or case.body or (lambda c, w: None))(ctx, who)
            raw = case.raw(ctx, who) if case.raw is not None else None
            url = scoping.outside(ctx, who)
            status, _ = _call(client, case, method, url, headers, body, raw)
            got[f"{who} outside"] = status
            want[f"{who} outside"] = 403
    assert got == want
    assert all(not found for found in leaks.values()), leaks
