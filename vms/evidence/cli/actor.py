"""Who does an audited command, and why: ``--login`` (or ``$VMS_TOKEN``) and ``--reason``.

The actor is never a name typed in: the OS user, or the vms user authenticated with
``--login`` or ``$VMS_TOKEN`` (``vms.cli_identity``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from vms.cli_common import cli_database
from vms.cli_identity import LoginOpt, identify
from vms.config import Config
from vms.db.session import Database
from vms.evidence.audit import Actor

__all__ = ["LoginOpt", "ReasonOpt", "actor", "audited", "viewer"]

ReasonOpt = Annotated[str, typer.Option("--reason", help="Why, for the audit log (required).")]


def require_reason(reason: str) -> None:
    """Fail before anything is opened when the audit log's reason is missing."""
    if not reason.strip():
        raise typer.BadParameter("a reason is required for the audit log", param_hint="--reason")


def actor(db: Database, login: str | None, reason: str) -> Actor:
    """The audit log's actor for a command that needs a reason."""
    require_reason(reason)
    return identify(db, login).actor(reason)


@contextmanager
def audited(
    config: Path | None, login: str | None, reason: str, *, read_only: bool = False
) -> Iterator[tuple[Config, Database, Actor]]:
    """The configuration, the database (``cli_database``) and the actor of an audited command;
    a missing reason fails before anything is opened."""
    require_reason(reason)
    with cli_database(config, read_only=read_only) as (cfg, db):
        yield cfg, db, actor(db, login, reason)


def viewer(db: Database, login: str | None, reason: str) -> Actor:
    """The actor of a logged view, where the reason may be left out."""
    return identify(db, login).actor(reason)
