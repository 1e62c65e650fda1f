"""Annotated dependencies of every router: the app's state, a DB session, the current user."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Query, Request
from fastapi.responses import FileResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from vms.bodyworn.uploads import UploadReceiver
from vms.cameras.health import CameraHealth
from vms.clock import Clock
from vms.config import CameraConfig, Config
from vms.custody.service import CustodyService
from vms.db.session import Database
from vms.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from vms.ops.registry import JobRegistry
from vms.vocab import Subsystem
from vms.web.roles import Permission, Role
from vms.web.security import GrantSigner
from vms.web.throttle import LoginThrottler
from vms.web.users import Principal, resolve_token

if TYPE_CHECKING:
    from vms.cameras.overlay import OverlaySlot
    from vms.web.alerts import AlertBroadcaster
    from vms.web.courtcopies import CourtCopyJobs
    from vms.web.livehub import LazyLiveHub
    from vms.web.viewing import ViewingCopies

SESSION_COOKIE = "vms_session"
CSRF_HEADER = "X-Requested-With"
HealthProvider = Callable[[], dict[str, CameraHealth]]


@dataclass
class WebState:
    """Everything the routers share, built once by ``create_app`` (``app.state.web``)."""

    config: Config
    db: Database
    health: HealthProvider
    templates: Jinja2Templates
    grants: GrantSigner
    clock: Clock
    live: LazyLiveHub
    alerts: AlertBroadcaster
    custody: CustodyService
    jobs: JobRegistry
    throttle: LoginThrottler
    uploads: UploadReceiver  # body-worn uploads in progress (vms.bodyworn.uploads)
    court_copies: CourtCopyJobs
    viewing: ViewingCopies
    cameras: dict[str, CameraConfig] = field(default_factory=dict)
    loop: asyncio.AbstractEventLoop | None = None
    #: A camera's analysis overlay (tracks, count) from its worker; None: no analysis here.
    overlays: Callable[[str], OverlaySlot | None] = field(default=lambda _camera: None)
    #: Set by ``close_streams``: long-lived streams (overlays) end.
    closing: asyncio.Event = field(default_factory=asyncio.Event)

    async def close_streams(self) -> None:
        """End every alert feed and live view (at shutdown, before connections drain)."""
        self.closing.set()
        await self.alerts.close()
        await self.live.close()
        self.court_copies.close()

    def camera(self, camera_id: str, user: Principal | None = None) -> CameraConfig:
        """The configured camera; for ``user``, only one in their camera scope."""
        if user is not None:
            user.check_camera(camera_id)  # first: an unknown id outside the scope says nothing
        cam = self.cameras.get(camera_id)
        if cam is None:
            raise NotFoundError(f"no camera {camera_id!r}", subsystem=Subsystem.WEB)
        return cam


def content(description: str, *media_types: str) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route that answers a file or a stream, not JSON (for OpenAPI)."""
    return {200: {"description": description, "content": {m: {} for m in media_types}}}


#: The signed grant a playback start returned (the video URL carries it).
GrantQuery = Annotated[
    str, Query(max_length=200, description="From the audited playback start that gave the URL.")
]


def check_grant(
    state: WebState, grant: str, user: Principal, segment_id: int | None, what: str, start: str
) -> None:
    """Video is served only under the grant of an audited playback start of that segment."""
    if segment_id is None or not state.grants.check(grant, user.id, segment_id):
        raise PermissionDeniedError(
            f"no valid playback grant for {what}: start playback with {start} (it is audited) "
            "and use the URL it returns",
            subsystem=Subsystem.WEB,
        )


def served_file(description: str, *media_types: str) -> dict[str, Any]:
    """The route arguments of an answer that is a file (``@router.get(path, **served_file(...))``):
    its class and, for OpenAPI, its media types."""
    return {"response_class": FileResponse, "responses": content(description, *media_types)}


def get_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


StateDep = Annotated[WebState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on error."""
    with state.db.session() as s:
        yield s


# "function": committed before the response goes out, so an audit entry is on disk before
# the footage it records leaves, and a failed commit is an error, not a half-sent success.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def _credentials(request: Request) -> tuple[str | None, bool]:
    """(token, came from the cookie)."""
    auth = request.headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


def get_principal(request: Request, state: StateDep) -> Principal:
    """The logged-in user (session cookie) or the owner of a bearer token."""
    token, from_cookie = _credentials(request)
    if token is None:
        raise AuthenticationError("not logged in: log in at /login or send 'Bearer <API token>'")
    # A cookie rides along on any request the browser makes, even one another site started;
    # a custom header cannot be set cross-site without CORS, which this app never allows.
    unsafe = request.method not in ("GET", "HEAD", "OPTIONS")
    if from_cookie and unsafe and request.headers.get(CSRF_HEADER) != "vms":
        raise PermissionDeniedError(
            f"requests that change something need the header '{CSRF_HEADER}: vms'",
            subsystem=Subsystem.WEB,
        )
    with state.db.session() as s:
        return resolve_token(s, token)


CurrentUser = Annotated[Principal, Depends(get_principal)]


def require(permission: Permission) -> Callable[[Principal], Principal]:
    """A dependency that lets through only the roles holding ``permission``."""

    def check(user: CurrentUser) -> Principal:
        if not user.can(permission):
            raise PermissionDeniedError(
                f"role {user.role.value!r} may not do this (needs {permission.value!r})",
                subsystem=Subsystem.WEB,
            )
        return user

    check.__name__ = f"require_{permission.value}"
    return check


def require_role(*roles: Role) -> Callable[[Principal], Principal]:
    """A dependency that lets through only the given roles."""
    wanted = frozenset(roles)

    def check(user: CurrentUser) -> Principal:
        if user.role not in wanted:
            names = ", ".join(sorted(r.value for r in wanted))
            raise PermissionDeniedError(
                f"role {user.role.value!r} may not do this (needs {names})", subsystem=Subsystem.WEB
            )
        return user

    return check
