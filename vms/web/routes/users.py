"""User administration (admin only): add, list, change role or camera scope, disable."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from vms.errors import ConflictError
from vms.vocab import Subsystem
from vms.web.audit import record
from vms.web.deps import CurrentUser, SessionDep, StateDep, require
from vms.web.roles import Permission
from vms.web.schemas import UserIn, UserOut, UserPatch
from vms.web.users import create_user, get_user, list_users, update_user

router = APIRouter(
    prefix="/api/users", tags=["users"], dependencies=[Depends(require(Permission.MANAGE_USERS))]
)


def _known_cameras(state: StateDep, ids: list[str] | None) -> None:
    unknown = sorted(set(ids or []) - set(state.cameras))
    if unknown:
        raise ConflictError(
            f"unknown camera(s) in camera_scope: {', '.join(unknown)}", subsystem=Subsystem.WEB
        )


@router.get("")
def users(s: SessionDep) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in list_users(s)]


@router.post("", status_code=status.HTTP_201_CREATED)
def add_user(body: UserIn, s: SessionDep, state: StateDep, me: CurrentUser) -> UserOut:
    """Add a user (audited: who may see footage is on the record)."""
    _known_cameras(state, body.camera_scope)
    user = create_user(
        s,
        body.username,
        body.password,
        body.role,
        full_name=body.full_name,
        camera_scope=body.camera_scope,
    )
    record(s, state.clock, me, "create", "user", user.username, reason="user added",
           details={"role": user.role, "camera_scope": user.camera_scope})  # fmt: skip
    return UserOut.model_validate(user)


@router.get("/{user_id}")
def one_user(user_id: int, s: SessionDep) -> UserOut:
    return UserOut.model_validate(get_user(s, user_id))


@router.patch("/{user_id}")
def change_user(
    user_id: int, body: UserPatch, s: SessionDep, state: StateDep, me: CurrentUser
) -> UserOut:
    """Change role, name, camera scope or password; ``active: false`` disables the user. A
    new password, a new role or disabling ends their sessions and tokens at once. Audited."""
    user = get_user(s, user_id)
    if user.id == me.id and (body.active is False or (body.role and body.role != me.role)):
        raise ConflictError(
            "you cannot disable yourself or change your own role", subsystem=Subsystem.WEB
        )
    _known_cameras(state, body.camera_scope)
    update_user(
        s,
        user,
        role=body.role,
        full_name=body.full_name,
        camera_scope=body.camera_scope,
        clear_scope=body.all_cameras,
        active=body.active,
        password=body.password,
    )
    changed = body.model_dump(exclude_unset=True, exclude={"password"})
    if body.password is not None:
        changed["password"] = "reset"  # noqa: S105 (what happened, not the password)
    record(s, state.clock, me, "update", "user", user.username, reason="user changed",
           details={"changes": changed})  # fmt: skip
    return UserOut.model_validate(user)
