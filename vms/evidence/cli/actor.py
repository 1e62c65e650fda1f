"""Who does an audited command, and why: ``--login`` (or ``$VMS_TOKEN``) and ``--reason``.

The actor is never a name typed in: the OS user, or the vms user authenticated with
``--login`` or ``$VMS_TOKEN`` (``vms.cli_identity``).
"""

from __future__ import annotations

from typing import Annotated

import typer

from vms.cli_identity import LoginOpt, identify
from vms.db.session import Database
from vms.evidence.audit import Actor

__all__ = ["LoginOpt", "ReasonOpt", "actor", "viewer"]

ReasonOpt = Annotated[str, typer.Option("--reason", help="Why, for the audit log (required).")]


def require_reason(reason: str) -> None:
    """Fail before anything is opened when the audit log's reason is missing."""
    if not reason.strip():
        raise typer.BadParameter("a reason is required for the audit log", param_hint="--reason")


def actor(db: Database, login: str | None, reason: str) -> Actor:
    """The audit log's actor for a command that needs a reason."""
    require_reason(reason)
    return identify(db, login).actor(reason)


def viewer(db: Database, login: str | None, reason: str) -> Actor:
    """The actor of a logged view, where the reason may be left out."""
    return identify(db, login).actor(reason)
