"""Audit of what users do with footage: each entry goes into the evidence audit chain."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from vms.clock import Clock
from vms.db.session import Database
from vms.evidence.audit import Actor, append
from vms.web.users import Principal


def record(
    s: Session,
    clock: Clock,
    user: Principal,
    action: str,
    object_type: str,
    object_id: str | int,
    *,
    reason: str = "",
    details: dict[str, Any] | None = None,
    case_number: str | None = None,
) -> None:
    """Append one entry in the request's transaction, with the user and how they logged in.

    ``action``: view (live view start, playback start) or export (download); the evidence
    chain's vocabulary, so ``vms audit verify`` and the audit page read one log.
    """
    extra = {"role": user.role.value, "via": user.via, **(details or {})}
    actor = Actor(user.username, reason)
    append(s, clock, actor, action, object_type, object_id, case_number=case_number, details=extra)


def record_login_refused(
    db: Database,
    clock: Clock,
    attempted: str,
    why: str,
    *,
    actor: str = "anonymous",
    context: dict[str, str] | None = None,
) -> None:
    """A refused login (wrong password, unknown or disabled user, locked out), in a
    transaction of its own: the request's own is rolled back with the refusal."""
    name = attempted.strip()[:200] or "-"
    with db.session() as s:
        append(
            s,
            clock,
            Actor(actor, why, context=context or {}),
            "login",
            "user",
            name,
            details={"ok": False},
        )
