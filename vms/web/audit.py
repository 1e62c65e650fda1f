"""Audit of what users do with footage: each entry goes into the evidence audit chain."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from vms.clock import Clock
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
) -> None:
    """Append one entry in the request's transaction, with the user and how they logged in.

    ``action``: view (live view start, playback start) or export (download); the evidence
    chain's vocabulary, so ``vms audit verify`` and the audit page read one log.
    """
    extra = {"role": user.role.value, "via": user.via, **(details or {})}
    append(s, clock, Actor(user.username, reason), action, object_type, object_id, details=extra)
