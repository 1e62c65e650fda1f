"""The body-worn section of the daily briefing: files and hours uploaded, late uploads by unit
and officer, shifts that delivered no footage, files nobody is filed under."""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from pydantic import Field
from sqlalchemy import select

from vms.bodyworn.models import BodywornFile, Officer
from vms.clock import utc
from vms.db.models import Event
from vms.db.session import Database
from vms.vocab import EventType, View

NO_UNIT = "(no unit)"
NOBODY = "(unassigned)"


class UnitDay(View):
    unit: str
    files: int
    hours: float
    late: int


class OfficerDay(View):
    badge: str = Field(description="Badge, or '(unassigned)' for files filed under nobody.")
    name: str = ""
    unit: str = ""
    files: int
    hours: float
    late: int


class MissingShift(View):
    shift: str | None
    device: str | None
    officer: str | None
    unit: str | None
    shift_end: str | None


class BodywornDay(View):
    """What arrived from body-worn recorders during the day (by upload time)."""

    files: int
    bytes: int
    hours: float
    seconds: float
    late: int = Field(description="Files uploaded after the deadline.")
    late_by_unit: dict[str, int]
    unassigned: int = Field(description="Files of recorders nobody had at recording time.")
    by_unit: list[UnitDay]
    by_officer: list[OfficerDay]
    shifts_without_footage: list[MissingShift]
    window: list[str]


def bodyworn_summary(db: Database, start: datetime, end: datetime) -> BodywornDay:
    """What arrived from body-worn recorders in [start, end) (upload time)."""
    with db.session() as s:
        officers = {o.id: o for o in s.scalars(select(Officer))}
        rows = list(
            s.execute(
                select(
                    BodywornFile.officer_id,
                    BodywornFile.duration_s,
                    BodywornFile.bytes,
                    BodywornFile.late,
                ).where(BodywornFile.ingested_at >= start, BodywornFile.ingested_at < end)
            )
        )
        missing = [
            e.data
            for e in s.scalars(
                select(Event).where(
                    Event.type == EventType.BODYWORN_NO_FOOTAGE,
                    Event.start >= start,
                    Event.start < end,
                )
            )
        ]
    per_officer: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"files": 0, "hours": 0.0, "late": 0}
    )
    per_unit: dict[str, dict[str, Any]] = defaultdict(lambda: {"files": 0, "hours": 0.0, "late": 0})
    for officer_id, seconds, _size, late in rows:
        o = officers.get(officer_id) if officer_id is not None else None
        key = o.badge if o else NOBODY
        unit = o.unit if o else NO_UNIT
        for bucket in (per_officer[key], per_unit[unit]):
            bucket["files"] += 1
            bucket["hours"] += seconds / 3600
            bucket["late"] += 1 if late else 0
        if o is not None:
            per_officer[key].update(name=o.name, unit=o.unit)
    by_officer = [
        {"badge": k, **v, "hours": round(v["hours"], 2)}
        for k, v in sorted(per_officer.items(), key=lambda kv: (-kv[1]["late"], kv[0]))
    ]
    by_unit = [
        {"unit": k, **v, "hours": round(v["hours"], 2)}
        for k, v in sorted(per_unit.items(), key=lambda kv: (-kv[1]["late"], kv[0]))
    ]
    late_by_unit = Counter({u["unit"]: u["late"] for u in by_unit if u["late"]})
    return BodywornDay.model_validate(
        {
            "files": len(rows),
            "bytes": sum(r[2] for r in rows),
            "hours": round(sum(r[1] for r in rows) / 3600, 2),
            "seconds": round(sum(r[1] for r in rows), 1),
            "late": sum(1 for r in rows if r[3]),
            "late_by_unit": dict(late_by_unit.most_common()),
            "unassigned": sum(1 for r in rows if r[0] is None),
            "by_unit": by_unit,
            "by_officer": by_officer,
            "shifts_without_footage": [
                {k: m.get(k) for k in ("shift", "device", "officer", "unit", "shift_end")}
                for m in missing
            ],
            "window": [utc(start).isoformat(), utc(end).isoformat()],
        }
    )


def _table(head: list[str], rows: list[list[Any]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def render_bodyworn_html(data: dict[str, Any]) -> list[str]:
    """The section's HTML parts, for the briefing page."""
    bw = data.get("bodyworn")
    if not bw:
        return []
    return [
        "<h2>Body-worn footage</h2>",
        f"<p>{bw['files']} file(s), {bw['hours']} h of footage uploaded; {bw['late']} late; "
        f"{bw['unassigned']} not filed under an officer.</p>",
        "<h3>By unit</h3>",
        _table(
            ["unit", "files", "hours", "late"],
            [[u["unit"], u["files"], u["hours"], u["late"]] for u in bw["by_unit"]],
        ),
        "<h3>By officer</h3>",
        _table(
            ["badge", "name", "unit", "files", "hours", "late"],
            [
                [
                    o["badge"],
                    o.get("name", ""),
                    o.get("unit", ""),
                    o["files"],
                    o["hours"],
                    o["late"],
                ]
                for o in bw["by_officer"]
            ],
        ),
        "<h3>Shifts without footage</h3>",
        _table(
            ["shift", "device", "officer", "unit"],
            [
                [m["shift"], m["device"], m["officer"] or "", m["unit"] or ""]
                for m in bw["shifts_without_footage"]
            ],
        ),
    ]
