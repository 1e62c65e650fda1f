"""Server-rendered pages, from one table: each page's path, menu label, permission, template
and what its template needs. The table gives both the menu (a page shows only to the roles
that may open it) and the check on the route, so the two cannot disagree."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vms.errors import AuthenticationError, NotFoundError
from vms.i18n import N_, Texts
from vms.vocab import EventType, Subsystem
from vms.web.deps import StateDep, WebState, get_principal, require
from vms.web.i18n import render, texts_of
from vms.web.roles import Permission, Role
from vms.web.scope import CaseAccess, Scope, visibility
from vms.web.security import same_origin_path
from vms.web.users import Principal

router = APIRouter(include_in_schema=False)
Extra = Callable[[Request, WebState, Principal], dict[str, Any]]


def _nothing(_request: Request, _state: WebState, _user: Principal) -> dict[str, Any]:
    return {}


def _cameras(_request: Request, state: WebState, user: Principal) -> dict[str, Any]:
    return {"cameras": [c for c in state.cameras.values() if user.sees(c.id)]}


def _search(request: Request, state: WebState, user: Principal) -> dict[str, Any]:
    return _cameras(request, state, user) | {"event_types": [t.value for t in EventType]}


def _asked_camera(request: Request, state: WebState, user: Principal) -> None:
    """A page opened for one camera (``?camera=``) names one that exists and is in scope."""
    camera = request.query_params.get("camera")
    if camera:
        state.camera(camera, user)


def _playback(request: Request, state: WebState, user: Principal) -> dict[str, Any]:
    """The review's camera groups: a street's cameras, a custody area's rooms."""
    from vms.vocab import CameraKind

    for camera in request.query_params.getlist("camera"):
        if not camera.startswith("bw."):  # a body-worn recorder's lane: its own rules apply
            state.camera(camera, user)
    groups = _wall(request, state, user)["groups"]
    by_group: dict[str, list[dict[str, Any]]] = {g["key"]: [] for g in groups}
    for cam in state.cameras.values():
        if user.sees(cam.id):
            by_group[f"{cam.kind.value}:{cam.site}"].append(
                {
                    "id": cam.id,
                    "display_name": cam.display_name,
                    "custody": cam.kind is CameraKind.CUSTODY,
                }
            )
    return {
        "groups": [g | {"cameras": by_group[g["key"]]} for g in groups],
        "can_cases": user.can(Permission.CASES),
    }


def _case(request: Request, state: WebState, user: Principal) -> dict[str, Any]:

    raw = str(request.path_params["case_id"])
    if not raw.isdigit() or len(raw) > 18:
        raise NotFoundError(f"no case {raw!r}", subsystem=Subsystem.WEB)
    with state.db.session() as s:  # the case's owner and named investigators only
        Scope(user, state, visibility(user, state)).case(s, int(raw), CaseAccess.READ)
    return _cameras(request, state, user) | {
        "case_id": int(raw),
        "can_export": user.can(Permission.EXPORT),
    }


_ROOM_ORDER = ["duty", "holding", "interrogation", "inquiry", "mediation", "cell", "service_hall"]


def _live(request: Request, state: WebState, user: Principal) -> dict[str, Any]:
    """The wall's cameras in scope: the streets by site, then each custody area's rooms in
    their order ("six rooms and one hall"), with the groups to choose from."""
    _asked_camera(request, state, user)
    return _wall(request, state, user)


def _wall(request: Request, state: WebState, user: Principal) -> dict[str, Any]:
    from vms.vocab import CameraKind

    texts = texts_of(state.config, request, user.language)
    cams = [c for c in state.cameras.values() if user.sees(c.id)]

    def order(c: Any) -> tuple[Any, ...]:
        custody = c.kind is CameraKind.CUSTODY
        room = c.room_type.value if c.room_type else ""
        rank = _ROOM_ORDER.index(room) if room in _ROOM_ORDER else len(_ROOM_ORDER)
        return (custody, c.site, rank, c.room or "", c.display_name)

    tiles: list[dict[str, Any]] = []
    groups: dict[str, dict[str, str]] = {}
    for c in sorted(cams, key=order):
        custody = c.kind is CameraKind.CUSTODY
        key = f"{c.kind.value}:{c.site}"
        title = (
            texts.gettext("Custody area: %(site)s", site=c.site)
            if custody
            else texts.gettext("Street: %(site)s", site=c.site)
        )
        groups.setdefault(key, {"key": key, "title": title})
        where = f"{c.room} · {c.site}" if c.room else c.site
        room = state.custody.layout.room_of_camera(c.id)
        tile = {"id": c.id, "display_name": c.display_name, "kind": c.kind, "group": key}
        tiles.append(tile | {"where": where, "room_id": room.id if room else ""})
    return {"cameras": tiles, "groups": list(groups.values())}


def _custody(request: Request, state: WebState, user: Principal) -> dict[str, Any]:
    """What the desk's forms offer: rooms (in the user's scope), legal bases, risk levels."""
    from vms.custody.config import RiskLevel

    texts = texts_of(state.config, request, user.language)
    rooms = [
        r
        for r in sorted(state.custody.layout.rooms.values(), key=lambda r: (r.site, r.name))
        if not r.cameras or any(user.sees(c) for c in r.cameras)
    ]
    bases = [
        {"key": key, "title": texts.gettext(b.title), "limit_h": b.limit_h}
        for key, b in state.config.custody.legal_bases.items()
    ]
    return {"rooms": rooms, "bases": bases, "risks": [r.value for r in RiskLevel]}


def _briefings(request: Request, state: WebState, user: Principal) -> dict[str, Any]:
    """The list of briefings and the chosen day's (newest by default), with its neighbours;
    refused to a user limited to a camera scope (a briefing covers every camera)."""
    import json

    from vms.ops.briefing import briefing_root, is_day, list_briefings

    Scope(user, state, visibility(user, state)).require_unscoped("the daily briefing")

    root = briefing_root(state.config)
    days = list_briefings(root)
    day = request.query_params.get("day") or (days[0] if days else None)
    if day is not None and (not is_day(day) or day not in days):
        raise NotFoundError(f"no briefing for {day!r}", subsystem=Subsystem.WEB)
    data = json.loads((root / day / "briefing.json").read_text()) if day else None
    i = days.index(day) if day else 0
    return {
        "days": days,
        "day": day,
        "briefing": data,
        "newer": days[i - 1] if day and i > 0 else None,
        "older": days[i + 1] if day and i + 1 < len(days) else None,
        "briefing_time": state.config.ops.briefing_time,
    }


def _camera_page(_request: Request, _state: WebState, user: Principal) -> dict[str, Any]:
    return {"can_ops": user.can(Permission.OPS)}  # the nodes panel (/api/nodes)


def _bodyworn(_request: Request, _state: WebState, user: Principal) -> dict[str, Any]:
    return {
        "own_only": user.role is Role.OFFICER,
        "can_upload": user.can(Permission.BODYWORN_UPLOAD),
        "can_category": user.can(Permission.BODYWORN_CATEGORY),
        "can_cases": user.can(Permission.CASES),
        "can_approve": user.can(Permission.BODYWORN_APPROVE),
    }


def _users(_request: Request, state: WebState, _user: Principal) -> dict[str, Any]:
    return {"cameras": list(state.cameras.values())}


@dataclass(frozen=True)
class Page:
    path: str
    label: str | None  # None: not in the menu (a page reached from another)
    permission: Permission
    template: str
    context: Extra = _nothing


#: Every page, the menu's in menu order; "/" sends a user to the first they may open.
PAGES: tuple[Page, ...] = (
    Page("/live", N_("Live wall"), Permission.LIVE, "live.html", _live),
    Page("/custody", N_("Custody"), Permission.CUSTODY, "custody.html", _custody),
    Page("/search", N_("Search"), Permission.SEARCH, "search.html", _search),
    Page("/playback", N_("Playback"), Permission.PLAYBACK, "playback.html", _playback),
    Page("/cases", N_("Cases"), Permission.CASES, "cases.html"),
    Page("/cases/{case_id}", None, Permission.CASES, "case.html", _case),
    Page("/bodyworn", N_("Body-worn"), Permission.BODYWORN, "bodyworn.html", _bodyworn),
    Page("/audit", N_("Audit"), Permission.AUDIT_LOG, "audit.html"),
    Page("/cameras", N_("Cameras"), Permission.VIEW_CAMERAS, "cameras.html", _camera_page),
    Page("/bodyworn/admin", N_("Recorders"), Permission.BODYWORN_MANAGE, "bodyworn_admin.html"),
    Page("/briefings", N_("Briefings"), Permission.BRIEFINGS, "briefings.html", _briefings),
    Page("/users", N_("Users"), Permission.MANAGE_USERS, "users.html", _users),
)
MENU = tuple(p for p in PAGES if p.label is not None)


def nav_of(user: Principal | None, texts: Texts) -> list[tuple[str, str]]:
    """The menu a user sees, in their language."""
    if user is None:
        return []
    return [(p.path, texts.gettext(p.label)) for p in MENU if p.label and user.can(p.permission)]


def _render(
    request: Request, state: WebState, template: str, user: Principal, **extra: Any
) -> Response:
    texts = texts_of(state.config, request, user.language)
    context = {"user": user, "nav": nav_of(user, texts), "path": request.url.path, **extra}
    return render(state.templates, request, template, context, texts)


def _add(page: Page) -> None:
    # The dependency is a default, not in the annotation: annotations are strings here
    # (``from __future__ import annotations``), resolved where ``page`` is not in scope.
    allowed = Depends(require(page.permission))

    def show(request: Request, state: StateDep, user: Principal = allowed) -> Response:
        return _render(request, state, page.template, user, **page.context(request, state, user))

    name = page.template.removesuffix(".html") + "_page"
    router.add_api_route(page.path, show, methods=["GET"], response_class=HTMLResponse, name=name)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, state: StateDep, next: str = "/") -> Response:
    target = same_origin_path(next)  # never an open redirect
    context: dict[str, Any] = {"user": None, "nav": [], "next": target, "path": "/login"}
    return render(state.templates, request, "login.html", context, texts_of(state.config, request))


@router.get("/", response_class=RedirectResponse)
def home(request: Request, state: StateDep) -> Response:
    try:
        user = get_principal(request, state)
    except AuthenticationError:
        return RedirectResponse("/login", status_code=303)
    for page in MENU:
        if user.can(page.permission):
            return RedirectResponse(page.path, status_code=303)
    return RedirectResponse("/login", status_code=303)


for _page in PAGES:
    _add(_page)
