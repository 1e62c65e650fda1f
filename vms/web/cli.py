"""``vms users add|list|disable``: accounts of the web application."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vms.cli_identity import identify
from vms.clock import SystemClock
from vms.config import Config
from vms.db.session import Database
from vms.evidence.audit import append
from vms.web.roles import Role
from vms.web.users import create_user, disable_user, find_user, list_users

users_app = typer.Typer(help="Users of the web application.", no_args_is_help=True)
out = Console(width=None if sys.stdout.isatty() else 200)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Configuration file (default: $VMS_CONFIG, else the demo configuration in ./data).",
    ),
]

#: Accounts `vms demo` makes on an empty user table, one per role (a local demo only).
DEMO_USERS = [(role.value, f"demo-{role.value}", role) for role in Role]


def _database(path: Path | None) -> tuple[Config, Database]:
    from vms.app import prepare
    from vms.cli_common import load_cli_config as _config

    config = _config(path)
    return config, prepare(config)


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
    cfg, db = _database(config)
    if camera:
        for cam_id in camera:
            cfg.camera(cam_id)
    password = _password(password_stdin)
    actor = identify(db, None).actor("user added")  # who, for the audit log: the OS user
    with db.session() as s:
        user = create_user(s, username, password, role, full_name=full_name, camera_scope=camera)
        scope = ", ".join(user.camera_scope) if user.camera_scope is not None else "all cameras"
        append(s, SystemClock(), actor, "create", "user", username,
               details={"role": user.role, "camera_scope": user.camera_scope})  # fmt: skip
    out.print(f"user {username} added: {role.value}, {scope}")


@users_app.command("list")
def users_list(
    config: ConfigOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")] = False,
) -> None:
    """List users with role, camera scope and whether they are active."""
    _cfg, db = _database(config)
    with db.session() as s:
        rows: list[dict[str, Any]] = [
            {
                "username": u.username,
                "full_name": u.full_name,
                "role": u.role,
                "active": u.active,
                "camera_scope": u.camera_scope,
                "created_at": u.created_at.isoformat(),
                "disabled_at": u.disabled_at.isoformat() if u.disabled_at else None,
            }
            for u in list_users(s)
        ]
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("user", "name", "role", "cameras", "active", "created (UTC)")
    for r in rows:
        scope = ", ".join(r["camera_scope"]) if r["camera_scope"] is not None else "all"
        active = "yes" if r["active"] else f"no (since {r['disabled_at']})"
        table.add_row(r["username"], r["full_name"], r["role"], scope, active, r["created_at"])
    out.print(table)


@users_app.command("disable")
def users_disable(username: str, config: ConfigOpt = None) -> None:
    """Disable a user: their login sessions and API tokens end at once."""
    _cfg, db = _database(config)
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
    from vms.app import prepare

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
