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
from vms.vocab import Subsystem
from vms.web.deps import StateDep, WebState, get_principal, require
from vms.web.roles import Permission
from vms.web.users import Principal

router = APIRouter(include_in_schema=False)
Extra = Callable[[Request, WebState, Principal], dict[str, Any]]


def _nothing(_request: Request, _state: WebState, _user: Principal) -> dict[str, Any]:
    return {}


def _cameras(_request: Request, state: WebState, user: Principal) -> dict[str, Any]:
    return {"cameras": [c for c in state.cameras.values() if user.sees(c.id)]}


def _playback(request: Request, state: WebState, user: Principal) -> dict[str, Any]:
    return _cameras(request, state, user) | {"can_cases": user.can(Permission.CASES)}


def _case(request: Request, state: WebState, user: Principal) -> dict[str, Any]:
    raw = str(request.path_params["case_id"])
    if not raw.isdigit():
        raise NotFoundError(f"no case {raw!r}", subsystem=Subsystem.WEB)
    return _cameras(request, state, user) | {
        "case_id": int(raw),
        "can_export": user.can(Permission.EXPORT),
    }


def _camera_page(_request: Request, _state: WebState, user: Principal) -> dict[str, Any]:
    return {"can_ops": user.can(Permission.OPS)}  # the nodes panel (/api/nodes)


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
    Page("/live", "Live wall", Permission.LIVE, "live.html", _cameras),
    Page("/custody", "Custody", Permission.CUSTODY, "custody.html"),
    Page("/search", "Search", Permission.SEARCH, "search.html", _cameras),
    Page("/playback", "Playback", Permission.PLAYBACK, "playback.html", _playback),
    Page("/cases", "Cases", Permission.CASES, "cases.html"),
    Page("/cases/{case_id}", None, Permission.CASES, "case.html", _case),
    Page("/audit", "Audit", Permission.AUDIT_LOG, "audit.html"),
    Page("/cameras", "Cameras", Permission.VIEW_CAMERAS, "cameras.html", _camera_page),
    Page("/users", "Users", Permission.MANAGE_USERS, "users.html", _users),
)
MENU = tuple(p for p in PAGES if p.label is not None)


def _render(
    request: Request, state: WebState, template: str, user: Principal, **extra: Any
) -> Response:
    nav = [(p.path, p.label) for p in MENU if user.can(p.permission)]
    context = {"user": user, "nav": nav, "path": request.url.path, **extra}
    return state.templates.TemplateResponse(request, template, context)


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
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    return state.templates.TemplateResponse(
        request, "login.html", {"user": None, "nav": [], "next": target, "path": "/login"}
    )


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
