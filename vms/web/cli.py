"""``vms users add|list|disable``: accounts of the web application."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.table import Table

from vms.bootstrap import prepare
from vms.cli_common import ConfigOpt, JsonOpt, cli_database, emit_json, out
from vms.cli_identity import identify
from vms.clock import SystemClock
from vms.config import Config
from vms.db.session import Database
from vms.evidence.audit import append
from vms.web.roles import Role
from vms.web.schemas import UserOut
from vms.web.users import create_user, disable_user, find_user, list_users

users_app = typer.Typer(help="Users of the web application.", no_args_is_help=True)

#: Accounts `vms demo` makes on an empty user table, one per role (a local demo only).
DEMO_USERS = [(role.value, f"demo-{role.value}", role) for role in Role]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@users_app.command("add")
def users_add(
    username: str,
    role: Annotated[Role, typer.Option(help="What the user may do.")],
    full_name: Annotated[str, typer.Option("--name", help="Full name.")] = "",
    camera: Annotated[
        list[str] | None,
        typer.Option(help="Limit the user to this camera (repeat for more); default all."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    config: ConfigOpt = None,
) -> None:
    """Add a user (the password is asked for, at least 10 characters)."""
    with cli_database(config, read_only=False) as (cfg, db):
        for cam_id in camera or []:
            cfg.camera(cam_id)
        password = _password(password_stdin)
        actor = identify(db, None).actor("user added")  # who, for the audit log: the OS user
        with db.session() as s:
            user = create_user(
                s, username, password, role, full_name=full_name, camera_scope=camera
            )
            scope = ", ".join(user.camera_scope) if user.camera_scope is not None else "all cameras"
            append(s, SystemClock(), actor, "create", "user", username,
                   details={"role": user.role, "camera_scope": user.camera_scope})  # fmt: skip
    out.print(f"user {username} added: {role.value}, {scope}")


@users_app.command("list")
def users_list(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """List users with role, camera scope and whether they are active."""
    with cli_database(config, read_only=True) as (_cfg, db), db.session() as s:
        rows = [UserOut.model_validate(u) for u in list_users(s)]
    if as_json:
        emit_json(rows)
        return
    table = Table("user", "name", "role", "cameras", "active", "created (UTC)")
    for r in rows:
        scope = ", ".join(r.camera_scope) if r.camera_scope is not None else "all"
        since = r.disabled_at.isoformat() if r.disabled_at else "?"
        active = "yes" if r.active else f"no (since {since})"
        table.add_row(
            r.username, r.full_name, r.role.value, scope, active, r.created_at.isoformat()
        )
    out.print(table)


@users_app.command("disable")
def users_disable(username: str, config: ConfigOpt = None) -> None:
    """Disable a user: their login sessions and API tokens end at once."""
    with cli_database(config, read_only=False) as (_cfg, db):
        actor = identify(db, None).actor("user disabled")
        with db.session() as s:
            disable_user(s, find_user(s, username))
            append(s, SystemClock(), actor, "update", "user", username,
                   details={"changes": {"active": False}})  # fmt: skip
    out.print(f"user {username} disabled; their sessions and tokens are ended")


def ensure_demo_users(db: Database) -> list[tuple[str, str, Role]]:
    """On an empty user table make one user per role; returns what was made."""
    with db.session() as s:
        if list_users(s):
            return []
        for username, password, role in DEMO_USERS:
            create_user(s, username, password, role, full_name=f"Demo {role.value}")
    return DEMO_USERS


def demo_banner(config: Config) -> str:
    """Make the demo's users if there are none; say where to log in and as whom."""
    db = prepare(config)
    try:
        made = ensure_demo_users(db)
    finally:
        db.dispose()
    web = config.web
    where = f"http://{web.host}:{web.port}" if web.port else f"http://{web.host} (a free port)"
    logins = "   ".join(f"{name} / {password}" for name, password, _role in DEMO_USERS)
    if made:
        return f"[bold]web[/]: {where}   log in as (user / password): {logins}"
    return f"[bold]web[/]: {where}   (demo users were made on the first run: {logins})"
