"""What a custody alert says, rendered when it is read: the reader's language, local time, and
the time left or overdue *now* (not frozen at the moment the alert was raised).

The rules (vms.custody.rules) put each alert's facts in its ``data``; ``alert_text`` turns
them into a sentence. The stored ``message`` is the same sentence in English and UTC at the
moment it was raised, kept for the log and for rows older than the facts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from vms.i18n import N_, Texts, texts_for

if TYPE_CHECKING:
    from vms.custody.views import AlertView

_Render = Callable[[Texts, Mapping[str, Any], datetime], str]
RENDER: dict[str, _Render] = {}


def _dt(value: Any) -> datetime:
    return datetime.fromisoformat(str(value))


def _at(tx: Texts, value: Any) -> str:
    return tx.time(_dt(value), seconds=False)


def _since(tx: Texts, value: Any, now: datetime) -> str:
    return tx.duration_min((now - _dt(value)).total_seconds())


def _renders(*types: str) -> Callable[[_Render], _Render]:
    def register(fn: _Render) -> _Render:
        for t in types:
            RENDER[t] = fn
        return fn

    return register


@_renders("legal_clock_warning")
def _warning(tx: Texts, d: Mapping[str, Any], now: datetime) -> str:
    params = {
        "name": d["name"],
        "basis": tx.gettext(d["basis_title"]),
        "limit": format(d["limit_h"], "g"),
        "deadline": _at(tx, d["deadline"]),
    }
    left = (_dt(d["deadline"]) - now).total_seconds()
    if left <= 0:
        return tx.gettext(
            "%(name)s: legal limit (%(basis)s, %(limit)s h) passed at %(deadline)s", **params
        )
    return tx.gettext(
        "%(name)s: %(left)s left to the legal limit (%(basis)s, %(limit)s h) at %(deadline)s",
        left=tx.duration_min(left),
        **params,
    )


@_renders("legal_clock_limit")
def _limit(tx: Texts, d: Mapping[str, Any], now: datetime) -> str:
    return tx.gettext(
        "%(name)s: legal limit (%(basis)s, %(limit)s h) reached at %(deadline)s, "
        "%(over)s ago; still held",
        name=d["name"],
        basis=tx.gettext(d["basis_title"]),
        limit=format(d["limit_h"], "g"),
        deadline=_at(tx, d["deadline"]),
        over=_since(tx, d["deadline"], now),
    )


@_renders("resummons")
def _resummons(tx: Texts, d: Mapping[str, Any], now: datetime) -> str:
    return tx.gettext(
        "%(name)s: entered again %(interval)s after release at %(exit)s (minimum %(min)s h)",
        name=d["name"],
        interval=tx.duration_min(float(d["interval_h"]) * 3600),
        exit=_at(tx, d["previous_exit"]),
        min=format(d["min_h"], "g"),
    )


@_renders("two_officer")
def _two_officer(tx: Texts, d: Mapping[str, Any], now: datetime) -> str:
    if "required" in d:
        return tx.gettext(
            "interview %(id)s of %(name)s: %(officers)d officer(s) registered, "
            "%(required)d required",
            id=d["interview"],
            name=d["name"],
            officers=d["officers"],
            required=d["required"],
        )
    return tx.gettext(
        "interview %(id)s of %(name)s in %(room)s: fewer than %(n)d people visible since "
        "%(from)s (%(for)s)",
        id=d["interview"],
        name=d["name"],
        room=d["room_name"],
        n=d["visible_below"],
        **{"from": _at(tx, d["from"]), "for": _since(tx, d["from"], now)},
    )


@_renders("person_alone")
def _alone(tx: Texts, d: Mapping[str, Any], now: datetime) -> str:
    return tx.gettext(
        "%(name)s alone in %(room)s since %(from)s (%(for)s)",
        name=d["name"],
        room=d["room_name"],
        **{"from": _at(tx, d["from"]), "for": _since(tx, d["from"], now)},
    )


@_renders("person_down", "stillness")
def _video(tx: Texts, d: Mapping[str, Any], now: datetime) -> str:
    message = (
        N_("person down in %(room)s (%(names)s) since %(from)s (%(for)s)")
        if d["alert"] == "person_down"
        else N_("person still in %(room)s (%(names)s) since %(from)s (%(for)s)")
    )
    return tx.gettext(
        message,
        room=d["room_name"],
        names=", ".join(d["names"]),
        **{"from": _at(tx, d["from"]), "for": _since(tx, d["from"], now)},
    )


@_renders("observation_overdue")
def _observation(tx: Texts, d: Mapping[str, Any], now: datetime) -> str:
    return tx.gettext(
        "%(name)s in %(room)s: observation round due at %(due)s, overdue by %(over)s "
        "(risk %(risk)s: every %(every)s min)",
        name=d["name"],
        room=d["room_name"],
        due=_at(tx, d["due"]),
        over=_since(tx, d["due"], now),
        risk=tx.label("risk", d["risk"]),
        every=format(d["interval_min"], "g"),
    )


@_renders("room_without_video")
def _no_video(tx: Texts, d: Mapping[str, Any], now: datetime) -> str:
    message = (
        N_("%(room)s is in use without video since %(since)s (%(for)s; the room has no camera)")
        if not d["cameras"]
        else N_(
            "%(room)s is in use without video since %(since)s (%(for)s; no camera of the "
            "room is recording)"
        )
    )
    return tx.gettext(
        message,
        room=d["room_name"],
        since=_at(tx, d["since"]),
        **{"for": _since(tx, d["since"], now)},
    )


@_renders("recording_incomplete")
def _incomplete(tx: Texts, d: Mapping[str, Any], now: datetime) -> str:
    gap = d["gap"]
    camera = gap.get("camera") or ""
    where = tx.gettext("camera %(id)s", id=camera) if camera else tx.gettext("the room")
    return tx.gettext(
        "interview %(id)s: recording incomplete, %(where)s has no footage from %(from)s for "
        "%(d)s (%(why)s); the interview must stop and the reason and times be written down",
        id=d["interview"],
        where=where,
        d=tx.duration(float(gap["duration_s"])),
        why="; ".join(gap.get("reasons") or ()),
        **{"from": _at(tx, gap["start"])},
    )


def alert_text(alert: AlertView | Mapping[str, Any], now: datetime, texts: Texts) -> str:
    """The sentence of an alert (its view, or a rule's facts) as read at ``now``.

    A cleared alert reads as of when it cleared. Rows without the facts (older ones) keep
    their stored message.
    """
    if isinstance(alert, Mapping):
        kind, data = alert.get("type"), alert.get("data") or {}
        message, cleared = alert.get("message", ""), alert.get("cleared_at")
    else:
        kind, data, message, cleared = alert.type, alert.data, alert.message, alert.cleared_at
    render = RENDER.get(str(kind))
    if cleared:
        now = min(now, _dt(cleared) if isinstance(cleared, str) else cleared)
    if render is None:
        return str(message)
    try:
        return render(texts, data, now)
    except (KeyError, TypeError, ValueError):  # facts of an older shape: the stored sentence
        return str(message)


def english(alert_type: str, data: Mapping[str, Any], at: datetime) -> str:
    """The stored message: English, UTC, as at ``at``."""
    return alert_text({"type": alert_type, "data": data}, at, texts_for("en", "UTC"))
