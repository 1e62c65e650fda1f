"""User accounts, login sessions and API tokens: service functions for the web app and CLI."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from vms.errors import (
    AuthenticationError,
    ConflictError,
    InvalidError,
    NotFoundError,
    PermissionDeniedError,
)
from vms.i18n import check_language
from vms.vocab import Subsystem
from vms.web.models import ApiToken, LoginSession, User
from vms.web.roles import Permission, Role, allowed
from vms.web.security import (
    MIN_PASSWORD_LENGTH,
    SESSION_PREFIX,
    TOKEN_PREFIX,
    hash_password,
    needs_rehash,
    new_token,
    token_digest,
    verify_password,
)

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,99}$")


@dataclass(frozen=True)
class Principal:
    """Who is making a request, as the routes see it."""

    id: int
    username: str
    role: Role
    camera_scope: frozenset[str] | None
    via: str  # "session" or "token"
    language: str | None = None  # chosen by the user; None: the browser's, else the site's

    def can(self, permission: Permission) -> bool:
        return allowed(self.role, permission)

    def sees(self, camera_id: str) -> bool:
        return self.camera_scope is None or camera_id in self.camera_scope

    def check_camera(self, camera_id: str) -> None:
        if not self.sees(camera_id):
            raise PermissionDeniedError(
                f"camera {camera_id!r} is outside the camera scope of user {self.username!r}",
                subsystem=Subsystem.WEB,
            )


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def principal_of(user: User, via: str) -> Principal:
    scope = None if user.camera_scope is None else frozenset(user.camera_scope)
    return Principal(user.id, user.username, Role(user.role), scope, via, user.language)


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidError(
            f"password must have at least {MIN_PASSWORD_LENGTH} characters, got {len(password)}",
            subsystem=Subsystem.WEB,
        )


def create_user(
    s: Session,
    username: str,
    password: str,
    role: Role | str,
    *,
    full_name: str = "",
    camera_scope: Iterable[str] | None = None,
    now: datetime | None = None,
) -> User:
    """Add a user; the name is lower case letters, digits, '.', '_' or '-'."""
    if not _USERNAME.match(username):
        raise InvalidError(
            "user name must be 2-100 lower-case letters, digits, '.', '_' or '-', "
            f"got {username!r}",
            subsystem=Subsystem.WEB,
        )
    try:
        role = Role(role)
    except ValueError as exc:
        known = ", ".join(r.value for r in Role)
        raise InvalidError(
            f"role must be one of {known}, got {role!r}", subsystem=Subsystem.WEB
        ) from exc
    check_password_rules(password)
    if s.scalar(select(User.id).where(User.username == username)) is not None:
        raise ConflictError(f"user {username!r} already exists", subsystem=Subsystem.WEB)
    user = User(
        username=username,
        full_name=full_name,
        role=role.value,
        password_hash=hash_password(password),
        active=True,
        camera_scope=None if camera_scope is None else sorted(set(camera_scope)),
        created_at=_now(now),
    )
    s.add(user)
    s.flush()
    return user


def get_user(s: Session, user_id: int) -> User:
    user = s.get(User, user_id)
    if user is None:
        raise NotFoundError(f"no user with id {user_id}", subsystem=Subsystem.WEB)
    return user


def find_user(s: Session, username: str) -> User:
    user = s.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"no user {username!r}", subsystem=Subsystem.WEB)
    return user


def list_users(s: Session) -> list[User]:
    return list(s.scalars(select(User).order_by(User.username)))


def disable_user(s: Session, user: User, now: datetime | None = None) -> User:
    """Disable a user and end every login session and API token of theirs at once."""
    when = _now(now)
    user.active = False
    user.disabled_at = when
    s.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None))
        .values(revoked_at=when)
    )
    s.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=when)
    )
    return user


def update_user(
    s: Session,
    user: User,
    *,
    role: Role | None = None,
    full_name: str | None = None,
    camera_scope: list[str] | None = None,
    clear_scope: bool = False,
    active: bool | None = None,
    password: str | None = None,
    now: datetime | None = None,
) -> User:
    if role is not None:
        user.role = Role(role).value
    if full_name is not None:
        user.full_name = full_name
    if clear_scope:
        user.camera_scope = None
    elif camera_scope is not None:
        user.camera_scope = sorted(set(camera_scope))
    if password is not None:
        check_password_rules(password)
        user.password_hash = hash_password(password)
    if active is False and user.active:
        disable_user(s, user, now)
    elif active is True:
        user.active, user.disabled_at = True, None
    return user


def set_language(s: Session, user_id: int, language: str | None) -> User:
    """A user's own choice of language (None: follow the browser)."""
    user = get_user(s, user_id)
    if language is not None:
        try:
            language = check_language(language)
        except ValueError as exc:
            raise InvalidError(str(exc), subsystem=Subsystem.WEB) from exc
    user.language = language
    return user


def authenticate(s: Session, username: str, password: str) -> User:
    """The active user with this name and password; the same error for every failure."""
    user = s.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.active:
        raise AuthenticationError("wrong user name or password, or the account is disabled")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def start_session(
    s: Session, user: User, hours: float, user_agent: str = "", now: datetime | None = None
) -> tuple[str, LoginSession]:
    """A new login: returns (the cookie's token, the row keeping its hash)."""
    when = _now(now)
    token = new_token(SESSION_PREFIX)
    row = LoginSession(
        user_id=user.id,
        token_sha256=token_digest(token),
        created_at=when,
        expires_at=when + timedelta(hours=hours),
        user_agent=user_agent[:300],
    )
    s.add(row)
    s.flush()
    return token, row


def end_session(s: Session, token: str, now: datetime | None = None) -> None:
    s.execute(
        update(LoginSession)
        .where(LoginSession.token_sha256 == token_digest(token), LoginSession.revoked_at.is_(None))
        .values(revoked_at=_now(now))
    )


def create_api_token(
    s: Session,
    user: User,
    name: str,
    days: float | None = None,
    now: datetime | None = None,
) -> tuple[str, ApiToken]:
    """A bearer token for scripts; the secret is returned once and never stored."""
    when = _now(now)
    token = new_token(TOKEN_PREFIX)
    row = ApiToken(
        user_id=user.id,
        name=name,
        token_sha256=token_digest(token),
        created_at=when,
        expires_at=None if days is None else when + timedelta(days=days),
    )
    s.add(row)
    s.flush()
    return token, row


def list_api_tokens(s: Session, user_id: int) -> list[ApiToken]:
    q = select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)
    return list(s.scalars(q))


def revoke_api_token(s: Session, user_id: int, token_id: int, now: datetime | None = None) -> None:
    row = s.get(ApiToken, token_id)
    if row is None or row.user_id != user_id:
        raise NotFoundError(f"no API token {token_id} of this user", subsystem=Subsystem.WEB)
    if row.revoked_at is None:
        row.revoked_at = _now(now)


def resolve_token(s: Session, token: str, now: datetime | None = None) -> Principal:
    """The user behind a session cookie or a bearer token; AuthenticationError otherwise."""
    when = _now(now)
    digest = token_digest(token)
    user: User | None = None
    via = "session"
    if token.startswith(SESSION_PREFIX):
        row = s.scalar(select(LoginSession).where(LoginSession.token_sha256 == digest))
        if row is not None and row.revoked_at is None and row.expires_at > when:
            user = s.get(User, row.user_id)
    elif token.startswith(TOKEN_PREFIX):
        via = "token"
        tok = s.scalar(select(ApiToken).where(ApiToken.token_sha256 == digest))
        if (
            tok is not None
            and tok.revoked_at is None
            and (tok.expires_at is None or tok.expires_at > when)
        ):
            user = s.get(User, tok.user_id)
            # At most one write a minute per token: the audit of use, not of every request.
            if tok.last_used_at is None or when - tok.last_used_at > timedelta(minutes=1):
                tok.last_used_at = when
    if user is None or not user.active:
        raise AuthenticationError("not logged in, or the session or token has ended")
    return principal_of(user, via)
