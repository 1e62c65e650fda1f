"""The command centre's daily alert briefing: JSON, an HTML page and PNG charts.

``build_briefing`` counts one UTC day's events (alerts) from the database: by type, by hour
of day and place (site/camera), the top places and hours, the change against the average of
the previous 7 days, and the custody summary. ``render_briefing`` writes it to a folder::

    <root>/<YYYY-MM-DD>/briefing.json  index.html  alerts_by_type.png  heatmap.png  trend.png
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from pydantic import Field
from sqlalchemy import or_, select

from vms.clock import Clock, SystemClock, utc
from vms.config import Config
from vms.custody.models import Alert as CustodyAlert
from vms.custody.models import Interview, Person
from vms.db.models import Camera, Event
from vms.db.session import Database
from vms.vocab import View, jsonable

PREVIOUS_DAYS = 7
TOP = 5
CHARTS = {
    "alerts_by_type": "alerts_by_type.png",
    "heatmap": "heatmap.png",
    "trend": "trend.png",
}
LEGAL_LIMIT = "legal_clock_limit"
LEGAL_WARNING = "legal_clock_warning"
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class Change(View):
    """A count against the average of the previous days."""

    today: int
    average: float
    change: float
    change_percent: float | None = Field(description="None where the average is 0 (new).")


class Heatmap(View):
    hours: list[int]
    places: list[str] = Field(description="site/camera, busiest first.")
    counts: list[list[int]] = Field(description="One row per place, one column per hour.")


class PlaceCount(View):
    place: str
    count: int


class HourCount(View):
    hour: int
    count: int


class Trend(View):
    previous_days: int
    total: Change
    by_type: dict[str, Change]


class CustodyDay(View):
    people_held: int
    people_entered: int
    people_released: int
    interviews: int
    interviews_recording_incomplete: int
    alerts: int
    alerts_by_rule: dict[str, int]
    legal_limits_reached: int
    legal_limit_warnings: int
    alerts_unacknowledged: int


class Briefing(View):
    """One day's briefing (``briefing.json``)."""

    date: str = Field(description="The day, YYYY-MM-DD.")
    timezone: str
    generated_at: datetime
    total: int
    alerts_by_type: dict[str, int]
    alerts_by_severity: dict[str, int]
    heatmap: Heatmap
    top_places: list[PlaceCount]
    top_hours: list[HourCount]
    trend: Trend
    custody: CustodyDay
    charts: dict[str, str] = Field(description="Chart name -> file beside briefing.json.")


def briefing_root(config: Config) -> Path:
    return config.ops.briefing_dir or config.storage.root / "briefings"


def _bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=UTC)
    return start, start + timedelta(days=1)


def _change(today: float, average: float) -> dict[str, Any]:
    return {
        "today": today,
        "average": round(average, 2),
        "change": round(today - average, 2),
        "change_percent": round(100 * (today - average) / average, 1) if average else None,
    }


def _custody(db: Database, start: datetime, end: datetime) -> dict[str, Any]:
    with db.session() as s:
        held = list(
            s.scalars(
                select(Person).where(
                    Person.entered_at < end,
                    or_(Person.exited_at.is_(None), Person.exited_at >= start),
                )
            )
        )
        interviews = list(
            s.scalars(
                select(Interview).where(
                    Interview.started_at < end,
                    or_(Interview.ended_at.is_(None), Interview.ended_at >= start),
                )
            )
        )
        alerts = list(
            s.scalars(
                select(CustodyAlert).where(
                    CustodyAlert.raised_at >= start, CustodyAlert.raised_at < end
                )
            )
        )
    by_rule = Counter(a.type for a in alerts)
    return {
        "people_held": len(held),
        "people_entered": sum(1 for p in held if start <= utc(p.entered_at) < end),
        "people_released": sum(
            1 for p in held if p.exited_at is not None and start <= utc(p.exited_at) < end
        ),
        "interviews": len(interviews),
        "interviews_recording_incomplete": sum(1 for iv in interviews if iv.recording_incomplete),
        "alerts": len(alerts),
        "alerts_by_rule": dict(sorted(by_rule.items(), key=lambda kv: (-kv[1], kv[0]))),
        "legal_limits_reached": by_rule.get(LEGAL_LIMIT, 0),
        "legal_limit_warnings": by_rule.get(LEGAL_WARNING, 0),
        "alerts_unacknowledged": sum(1 for a in alerts if a.ack_at is None),
    }


def build_briefing(db: Database, day: date, *, clock: Clock | None = None) -> Briefing:
    """Everything the briefing says about ``day`` (UTC)."""
    start, end = _bounds(day)
    window = start - timedelta(days=PREVIOUS_DAYS)
    with db.session() as s:
        places = {
            cam_id: f"{site}/{cam_id}" for cam_id, site in s.execute(select(Camera.id, Camera.site))
        }
        rows = [
            (etype, cam, utc(at), severity)
            for etype, cam, at, severity in s.execute(
                select(Event.type, Event.camera_id, Event.start, Event.severity).where(
                    Event.start >= window, Event.start < end
                )
            )
        ]
    today = [r for r in rows if r[2] >= start]
    before = [r for r in rows if r[2] < start]
    by_type = Counter(r[0] for r in today)
    by_place = Counter(places.get(r[1], r[1]) for r in today)
    by_hour = Counter(r[2].hour for r in today)
    cells = Counter((places.get(r[1], r[1]), r[2].hour) for r in today)
    place_order = [p for p, _ in sorted(by_place.items(), key=lambda kv: (-kv[1], kv[0]))]
    before_by_type = Counter(r[0] for r in before)
    types = sorted(set(by_type) | set(before_by_type), key=lambda t: (-by_type[t], t))
    data = {
        "date": day.isoformat(),
        "timezone": "UTC",
        "generated_at": utc((clock or SystemClock()).now()).isoformat(),
        "total": len(today),
        "alerts_by_type": dict(sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))),
        "alerts_by_severity": dict(sorted(Counter(r[3] for r in today).items())),
        "heatmap": {
            "hours": list(range(24)),
            "places": place_order,
            "counts": [[cells[(p, h)] for h in range(24)] for p in place_order],
        },
        "top_places": [{"place": p, "count": by_place[p]} for p in place_order[:TOP]],
        "top_hours": [
            {"hour": h, "count": n}
            for h, n in sorted(by_hour.items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
        ],
        "trend": {
            "previous_days": PREVIOUS_DAYS,
            "total": _change(len(today), len(before) / PREVIOUS_DAYS),
            "by_type": {t: _change(by_type[t], before_by_type[t] / PREVIOUS_DAYS) for t in types},
        },
        "custody": _custody(db, start, end),
        "charts": dict(CHARTS),
    }
    return Briefing.model_validate(data)


# --- charts -----------------------------------------------------------------------------


def _bar_chart(data: dict[str, Any], path: Path) -> None:
    fig = Figure(figsize=(8, 4.5), dpi=100)
    ax = fig.add_subplot()
    types = list(data["alerts_by_type"])
    counts = [data["alerts_by_type"][t] for t in types]
    ax.barh(types[::-1] or ["(none)"], counts[::-1] or [0], color="#c0392b")
    ax.set_xlabel("alerts")
    ax.set_title(f"Alerts by type, {data['date']} (UTC)")
    fig.tight_layout()
    fig.savefig(path, format="png")


def _heatmap(data: dict[str, Any], path: Path) -> None:
    heat = data["heatmap"]
    places: list[str] = heat["places"] or ["(none)"]
    counts: list[list[int]] = heat["counts"] or [[0] * 24]
    fig = Figure(figsize=(10, max(2.5, 0.45 * len(places) + 1.5)), dpi=100)
    ax = fig.add_subplot()
    image = ax.imshow(counts, aspect="auto", cmap="Reds", interpolation="nearest")
    ax.set_xticks(range(24))
    ax.set_xticklabels([str(h) for h in range(24)], fontsize=8)
    ax.set_yticks(range(len(places)))
    ax.set_yticklabels(places, fontsize=8)
    ax.set_xlabel("hour of day (UTC)")
    ax.set_title(f"Alerts by hour and place, {data['date']}")
    fig.colorbar(image, ax=ax, label="alerts")
    fig.tight_layout()
    fig.savefig(path, format="png")


def _trend_chart(data: dict[str, Any], path: Path) -> None:
    by_type: dict[str, dict[str, Any]] = data["trend"]["by_type"]
    types = list(by_type) or ["(none)"]
    today = [by_type[t]["today"] if t in by_type else 0 for t in types]
    average = [by_type[t]["average"] if t in by_type else 0 for t in types]
    fig = Figure(figsize=(8, 4.5), dpi=100)
    ax = fig.add_subplot()
    xs = list(range(len(types)))
    ax.bar([x - 0.2 for x in xs], today, width=0.4, label=data["date"], color="#c0392b")
    ax.bar([x + 0.2 for x in xs], average, width=0.4, label="7-day average", color="#7f8c8d")
    ax.set_xticks(xs)
    ax.set_xticklabels(types, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("alerts")
    ax.set_title("Against the average of the previous 7 days")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, format="png")


# --- HTML -------------------------------------------------------------------------------


def _table(head: list[str], rows: list[list[Any]]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _fmt_change(c: dict[str, Any]) -> str:
    pct = c["change_percent"]
    sign = "+" if c["change"] >= 0 else ""
    return f"{sign}{c['change']}" + (f" ({sign}{pct} %)" if pct is not None else " (new)")


def render_html(data: dict[str, Any]) -> str:
    day = html.escape(data["date"])
    trend = data["trend"]
    custody = data["custody"]
    rising = [[t, c["today"], c["average"], _fmt_change(c)] for t, c in trend["by_type"].items()]
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Daily alert briefing {day}</title>",
        "<style>body{font-family:sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem}"
        "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;"
        "padding:.2rem .6rem;text-align:left}img{max-width:100%}</style></head><body>",
        f"<h1>Daily alert briefing — {day} (UTC)</h1>",
        f"<p>{data['total']} alert(s); against the {trend['previous_days']}-day average "
        f"{html.escape(_fmt_change(trend['total']))}. Generated "
        f"{html.escape(data['generated_at'])}.</p>",
        "<h2>Alerts by type</h2>",
        _table(["type", "alerts"], [[t, n] for t, n in data["alerts_by_type"].items()]),
        f'<img src="{CHARTS["alerts_by_type"]}" alt="alerts by type">',
        "<h2>Change against the previous 7 days</h2>",
        _table(["type", "today", "7-day average", "change"], rising),
        f'<img src="{CHARTS["trend"]}" alt="change against the 7-day average">',
        "<h2>When and where</h2>",
        f'<img src="{CHARTS["heatmap"]}" alt="alerts by hour of day and place">',
        "<h3>Top places</h3>",
        _table(["place", "alerts"], [[p["place"], p["count"]] for p in data["top_places"]]),
        "<h3>Top hours</h3>",
        _table(
            ["hour (UTC)", "alerts"],
            [[f"{h['hour']:02d}:00–{h['hour']:02d}:59", h["count"]] for h in data["top_hours"]],
        ),
        "<h2>Custody</h2>",
        _table(
            ["", ""],
            [
                ["people held", custody["people_held"]],
                [
                    "entered / released",
                    f"{custody['people_entered']} / {custody['people_released']}",
                ],
                ["interviews", custody["interviews"]],
                [
                    "interviews with incomplete recording",
                    custody["interviews_recording_incomplete"],
                ],
                ["legal limits reached", custody["legal_limits_reached"]],
                ["legal limit warnings", custody["legal_limit_warnings"]],
                [
                    "custody alerts (unacknowledged)",
                    f"{custody['alerts']} ({custody['alerts_unacknowledged']})",
                ],
            ],
        ),
        _table(["rule", "alerts"], [[r, n] for r, n in custody["alerts_by_rule"].items()]),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def render_briefing(briefing: Briefing, folder: Path) -> Path:
    """Write briefing.json, index.html and the PNG charts into ``folder``; return it."""
    data: dict[str, Any] = jsonable(briefing)
    folder.mkdir(parents=True, exist_ok=True)
    _bar_chart(data, folder / CHARTS["alerts_by_type"])
    _heatmap(data, folder / CHARTS["heatmap"])
    _trend_chart(data, folder / CHARTS["trend"])
    (folder / "briefing.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (folder / "index.html").write_text(render_html(data), encoding="utf-8")
    return folder


def write_briefing(
    db: Database, config: Config, day: date, root: Path | None = None, *, clock: Clock | None = None
) -> Path:
    """Build and write the briefing of ``day`` under ``root`` (default: the configured
    folder); return its folder."""
    root = root or briefing_root(config)
    return render_briefing(build_briefing(db, day, clock=clock), root / day.isoformat())


def list_briefings(root: Path) -> list[str]:
    """The days (YYYY-MM-DD) with a written briefing, newest first."""
    if not root.is_dir():
        return []
    days = [
        p.name for p in root.iterdir() if _DAY.match(p.name) and (p / "briefing.json").is_file()
    ]
    return sorted(days, reverse=True)


def is_day(value: str) -> bool:
    return bool(_DAY.match(value))
