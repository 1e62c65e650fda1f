"""Who does an audited command, and why: ``--user`` and ``--reason``."""

from __future__ import annotations

from typing import Annotated

import typer

from vms.evidence import audit
from vms.evidence.audit import Actor

UserOpt = Annotated[
    str | None,
    typer.Option(
        "--user", help="Who does this, for the audit log (default: $VMS_USER or OS user)."
    ),
]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why, for the audit log (required).")]


def actor(user: str | None, reason: str) -> Actor:
    """The audit log's actor; a reason is required."""
    if not reason.strip():
        raise typer.BadParameter("a reason is required for the audit log", param_hint="--reason")
    return Actor(user or audit.default_user(), reason)


def viewer(user: str | None, reason: str) -> Actor:
    """The actor of a logged view, where the reason may be empty."""
    return Actor(user or audit.default_user(), reason)
