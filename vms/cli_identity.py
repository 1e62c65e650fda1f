"""Who runs a ``vms`` command, for the audit log: never a name the caller types.

The operating-system user is taken from the process's real user id (not ``$USER`` or
``$LOGNAME``, which the caller sets) and is always recorded, with the host. A vms user is
recorded only when authenticated: an API token in ``$VMS_TOKEN`` (made on the web page, so
it never appears in a process list), or ``--login USER`` with the password asked on the
terminal (or read from standard input when that is not a terminal). A wrong password is
refused and audited like a failed web login. Without either, the actor is ``os:<user>``.
"""

from __future__ import annotations

import os
import pwd
import socket
import sys
from dataclasses import dataclass
from typing import Annotated

import typer

from vms.clock import Clock, SystemClock
from vms.db.session import Database
from vms.errors import AuthenticationError, InvalidError
from vms.evidence.audit import Actor
from vms.vocab import Subsystem
from vms.web.audit import record_login_refused
from vms.web.security import SESSION_PREFIX
from vms.web.users import authenticate, resolve_token

TOKEN_ENV = "VMS_TOKEN"  # noqa: S105 (the variable's name)

LoginOpt = Annotated[
    str | None,
    typer.Option(
        "--login",
        help=(
            "Act as this vms user (the password is asked), or set $VMS_TOKEN to an API token. "
            "The OS user is always recorded; without either the actor is os:<user>."
        ),
    ),
]


def os_user() -> str:
    """The name of the process's real user id (what the caller cannot choose)."""
    uid = os.getuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid{uid}"


@dataclass(frozen=True)
class CliIdentity:
    os_user: str
    host: str
    user: str | None = None  # the authenticated vms user
    role: str | None = None
    auth: str = "os"  # os, token or password

    @property
    def name(self) -> str:
        """The actor in the audit log: the vms user, else ``os:<user>``."""
        return self.user or f"os:{self.os_user}"

    def context(self) -> dict[str, str]:
        ctx = {"via": "cli", "os_user": self.os_user, "host": self.host, "auth": self.auth}
        if self.role:
            ctx["role"] = self.role
        return ctx

    def actor(self, reason: str) -> Actor:
        return Actor(self.name, reason, context=self.context())


def _password() -> str:
    if sys.stdin.isatty():
        password: str = typer.prompt("Password", hide_input=True)
        return password
    return sys.stdin.readline().rstrip("\r\n")


def identify(db: Database, login: str | None, clock: Clock | None = None) -> CliIdentity:
    """The identity of this command: the OS user, and the vms user it authenticated as."""
    me = CliIdentity(os_user(), socket.gethostname())
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token and login:
        raise InvalidError(
            f"give either --login or ${TOKEN_ENV}, not both", subsystem=Subsystem.EVIDENCE
        )
    if token:
        if token.startswith(SESSION_PREFIX):
            raise AuthenticationError(f"${TOKEN_ENV} must be an API token, not a login session")
        with db.session() as s:
            who = resolve_token(s, token)
        return CliIdentity(me.os_user, me.host, who.username, who.role.value, "token")
    if login:
        password = _password()
        try:
            with db.session() as s:
                user = authenticate(s, login, password)
                return CliIdentity(me.os_user, me.host, user.username, user.role, "password")
        except AuthenticationError:
            record_login_refused(
                db,
                clock or SystemClock(),
                login,
                "wrong user name or password, or the account is disabled",
                actor=me.name,
                context=me.context(),
            )
            raise
    return me
