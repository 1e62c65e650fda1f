"""Server-rendered pages; each shows up in the menu only for the roles that may open it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from vms.errors import AuthenticationError
from vms.i18n import N_, Texts
from vms.vocab import EventType
from vms.web.deps import StateDep, get_principal, require
from vms.web.i18n import render, texts_of
from vms.web.roles import Permission
from vms.web.users import Principal

router = APIRouter(include_in_schema=False)

#: (path, label, permission), in menu order; "/" sends a user to the first they may open.
PAGES: list[tuple[str, str, Permission]] = [
    ("/live", N_("Live wall"), Permission.LIVE),
    ("/custody", N_("Custody"), Permission.CUSTODY),
    ("/search", N_("Search"), Permission.SEARCH),
    ("/playback", N_("Playback"), Permission.PLAYBACK),
    ("/cases", N_("Cases"), Permission.CASES),
    ("/audit", N_("Audit"), Permission.AUDIT_LOG),
    ("/cameras", N_("Cameras"), Permission.VIEW_CAMERAS),
    ("/users", N_("Users"), Permission.MANAGE_USERS),
]


def nav_of(user: Principal | None, texts: Texts) -> list[tuple[str, str]]:
    if user is None:
        return []
    return [(path, texts.gettext(label)) for path, label, perm in PAGES if user.can(perm)]


def _render(
    request: Request, state: StateDep, template: str, user: Principal, **extra: Any
) -> Response:
    texts = texts_of(state.config, request, user.language)
    context = {"user": user, "nav": nav_of(user, texts), "path": request.url.path, **extra}
    return render(state.templates, request, template, context, texts)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, state: StateDep, next: str = "/") -> Response:
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    context: dict[str, Any] = {"user": None, "nav": [], "next": target, "path": "/login"}
    return render(state.templates, request, "login.html", context, texts_of(state.config, request))


@router.get("/")
def home(request: Request, state: StateDep) -> Response:
    try:
        user = get_principal(request, state)
    except AuthenticationError:
        return RedirectResponse("/login", status_code=303)
    for path, _label, perm in PAGES:
        if user.can(perm):
            return RedirectResponse(path, status_code=303)
    return RedirectResponse("/login", status_code=303)


@router.get("/live", response_class=HTMLResponse)
def live_page(
    request: Request,
    state: StateDep,
    user: Annotated[Principal, Depends(require(Permission.LIVE))],
) -> Response:
    cams = [c for c in state.cameras.values() if user.sees(c.id)]
    return _render(request, state, "live.html", user, cameras=cams)


@router.get("/cameras", response_class=HTMLResponse)
def cameras_page(
    request: Request,
    state: StateDep,
    user: Annotated[Principal, Depends(require(Permission.VIEW_CAMERAS))],
) -> Response:
    return _render(request, state, "cameras.html", user)


@router.get("/playback", response_class=HTMLResponse)
def playback_page(
    request: Request,
    state: StateDep,
    user: Annotated[Principal, Depends(require(Permission.PLAYBACK))],
) -> Response:
    cams = [c for c in state.cameras.values() if user.sees(c.id)]
    can_cases = user.can(Permission.CASES)
    return _render(request, state, "playback.html", user, cameras=cams, can_cases=can_cases)


@router.get("/cases", response_class=HTMLResponse)
def cases_page(
    request: Request,
    state: StateDep,
    user: Annotated[Principal, Depends(require(Permission.CASES))],
) -> Response:
    return _render(request, state, "cases.html", user)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    case_id: int,
    request: Request,
    state: StateDep,
    user: Annotated[Principal, Depends(require(Permission.CASES))],
) -> Response:
    cams = [c for c in state.cameras.values() if user.sees(c.id)]
    can_export = user.can(Permission.EXPORT)
    return _render(
        request, state, "case.html", user, case_id=case_id, cameras=cams, can_export=can_export
    )


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request,
    state: StateDep,
    user: Annotated[Principal, Depends(require(Permission.MANAGE_USERS))],
) -> Response:
    return _render(request, state, "users.html", user, cameras=list(state.cameras.values()))


@router.get("/custody", response_class=HTMLResponse)
def custody_page(
    request: Request,
    state: StateDep,
    user: Annotated[Principal, Depends(require(Permission.CUSTODY))],
) -> Response:
    return _render(request, state, "custody.html", user)


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    state: StateDep,
    user: Annotated[Principal, Depends(require(Permission.AUDIT_LOG))],
) -> Response:
    return _render(request, state, "audit.html", user)


@router.get("/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    state: StateDep,
    user: Annotated[Principal, Depends(require(Permission.SEARCH))],
) -> Response:
    cams = [c for c in state.cameras.values() if user.sees(c.id)]
    types = [t.value for t in EventType]
    return _render(request, state, "search.html", user, cameras=cams, event_types=types)
