"""Login, logout, who am I, and the user's own API tokens."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from vms.errors import AuthenticationError, PermissionDeniedError
from vms.vocab import Subsystem
from vms.web.audit import record_login_refused
from vms.web.deps import SESSION_COOKIE, CurrentUser, SessionDep, StateDep
from vms.web.roles import ROLES_FOR
from vms.web.schemas import LoginIn, MeIn, MeOut, Message, TokenCreated, TokenIn, TokenOut
from vms.web.users import (
    Principal,
    authenticate,
    create_api_token,
    end_session,
    get_user,
    list_api_tokens,
    principal_of,
    revoke_api_token,
    set_language,
    start_session,
)

router = APIRouter(prefix="/api/auth", tags=["auth"])


def me_of(user: Principal) -> MeOut:
    return MeOut(
        id=user.id,
        username=user.username,
        role=user.role,
        camera_scope=None if user.camera_scope is None else sorted(user.camera_scope),
        permissions=sorted(p.value for p, roles in ROLES_FOR.items() if user.role in roles),
        language=user.language,
    )


@router.post("/login")
def login(
    body: LoginIn, request: Request, response: Response, s: SessionDep, state: StateDep
) -> MeOut:
    """Check the password and start a login session (an HTTP-only cookie). A refused login is
    written to the audit log."""
    try:
        user = authenticate(s, body.username, body.password)
    except AuthenticationError as exc:
        address = request.client.host if request.client else "unknown"
        record_login_refused(state.db, state.clock, body.username, str(exc),
                             context={"via": "web", "address": address})  # fmt: skip
        raise
    web = state.config.web
    token, _ = start_session(s, user, web.session_hours, request.headers.get("user-agent", ""))
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(web.session_hours * 3600),
        httponly=True,
        secure=web.secure_cookies,
        samesite="strict",
        path="/",
    )
    return me_of(principal_of(user, "session"))


@router.post("/logout")
def logout(request: Request, response: Response, user: CurrentUser, s: SessionDep) -> Message:
    """End this login session."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        end_session(s, token)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return Message(message=f"{user.username} logged out")


@router.get("/me")
def me(user: CurrentUser) -> MeOut:
    return me_of(user)


@router.patch("/me")
def update_me(body: MeIn, user: CurrentUser, s: SessionDep) -> MeOut:
    """The user's own settings: the language of the pages."""
    row = set_language(s, user.id, body.language)
    return me_of(principal_of(row, user.via))


@router.get("/tokens")
def my_tokens(user: CurrentUser, s: SessionDep) -> list[TokenOut]:
    return [TokenOut.model_validate(t) for t in list_api_tokens(s, user.id)]


@router.post("/tokens", status_code=status.HTTP_201_CREATED)
def new_token(body: TokenIn, user: CurrentUser, s: SessionDep) -> TokenCreated:
    """A bearer token for scripts, with the rights of its user; the secret is shown once."""
    if user.via != "session":
        raise PermissionDeniedError(
            "API tokens are made from a login session, not with a token", subsystem=Subsystem.WEB
        )
    token, row = create_api_token(s, get_user(s, user.id), body.name, body.days)
    return TokenCreated(token=token, **TokenOut.model_validate(row).model_dump())


@router.delete("/tokens/{token_id}")
def revoke_token(token_id: int, user: CurrentUser, s: SessionDep) -> Message:
    revoke_api_token(s, user.id, token_id)
    return Message(message=f"token {token_id} revoked")
