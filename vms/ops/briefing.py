"""The command centre's daily alert briefing: JSON, an HTML page and PNG charts.

``build_briefing`` counts one local day's events (alerts) from the database: by type, by hour
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
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from pydantic import Field
from sqlalchemy import or_, select

from vms.bodyworn.briefing import BodywornDay, bodyworn_summary, render_bodyworn_html
from vms.clock import Clock, SystemClock, utc
from vms.config import Config
from vms.custody.models import Alert as CustodyAlert
from vms.custody.models import Interview, Person
from vms.db.models import Camera, Event
from vms.db.session import Database
from vms.i18n import Texts, texts_for, zone_label
from vms.vocab import View, jsonable

if TYPE_CHECKING:  # matplotlib is imported when a briefing is drawn, not by every command
    from matplotlib.figure import Figure

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

    date: str = Field(description="The day, YYYY-MM-DD, a calendar day in ``timezone``.")
    timezone: str = Field(description="The IANA zone the day and its hours are in.")
    zone: str = Field("UTC", description="Its offset from UTC that day: UTC+8.")
    generated_at: datetime
    total: int
    alerts_by_type: dict[str, int]
    alerts_by_severity: dict[str, int]
    heatmap: Heatmap
    top_places: list[PlaceCount]
    top_hours: list[HourCount]
    trend: Trend
    custody: CustodyDay
    bodyworn: BodywornDay | None = Field(None, description="Body-worn uploads of the day.")
    charts: dict[str, str] = Field(description="Chart name -> file beside briefing.json.")


def briefing_root(config: Config) -> Path:
    return config.ops.briefing_dir or config.storage.root / "briefings"


def _bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants where ``day`` begins and ends in the zone ``tz``."""
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


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


def build_briefing(
    db: Database, day: date, *, clock: Clock | None = None, tz: ZoneInfo | None = None
) -> Briefing:
    """Everything the briefing says about ``day``, a calendar day in ``tz`` (default UTC);
    hours of the day are local hours."""
    zone = tz or ZoneInfo("UTC")
    start, end = _bounds(day, zone)
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
    by_hour = Counter(r[2].astimezone(zone).hour for r in today)
    cells = Counter((places.get(r[1], r[1]), r[2].astimezone(zone).hour) for r in today)
    place_order = [p for p, _ in sorted(by_place.items(), key=lambda kv: (-kv[1], kv[0]))]
    before_by_type = Counter(r[0] for r in before)
    types = sorted(set(by_type) | set(before_by_type), key=lambda t: (-by_type[t], t))
    data = {
        "date": day.isoformat(),
        "timezone": zone.key,
        "zone": zone_label(zone, start),
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
        "bodyworn": bodyworn_summary(db, start, end),
        "charts": dict(CHARTS),
    }
    return Briefing.model_validate(data)


# --- charts -----------------------------------------------------------------------------

_CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # Debian fonts-noto-cjk
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
)
FONT_FAMILY = ["Noto Sans CJK SC", "Noto Sans CJK JP", "DejaVu Sans"]


@cache
def _fonts() -> None:
    """Register the offline CJK font with matplotlib (its cache may predate the package)."""
    from matplotlib import font_manager

    for path in _CJK_FONTS:
        if Path(path).is_file():
            font_manager.fontManager.addfont(path)
            return


def _figure(width: float, height: float) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure

    _fonts()
    fig = Figure(figsize=(width, height), dpi=100)
    ax = fig.add_subplot()
    return fig, ax


def _done(fig: Figure) -> Figure:
    fig.tight_layout()
    return fig


def _no_data(ax: Any, texts: Texts) -> None:
    """An empty chart says so instead of drawing empty axes (or negative ones)."""
    ax.set_axis_off()
    ax.text(
        0.5, 0.5, texts.gettext("no data"), ha="center", va="center", fontsize=20, color="#7f8c8d"
    )


def _bar_chart(data: dict[str, Any], texts: Texts) -> Figure:
    _ = texts.gettext
    fig, ax = _figure(8, 4.5)
    ax.set_title(_("Alerts by type, %(day)s", day=data["date"]))
    types = list(data["alerts_by_type"])
    if not types:
        _no_data(ax, texts)
    else:
        counts = [data["alerts_by_type"][t] for t in types]
        labels = [texts.label("event_type", t) for t in types]
        ax.barh(labels[::-1], counts[::-1], color="#c0392b")
        ax.set_xlim(left=0)
        ax.set_xlabel(_("alerts"))
    return _done(fig)


def _heatmap(data: dict[str, Any], texts: Texts) -> Figure:
    _ = texts.gettext
    heat = data["heatmap"]
    places: list[str] = heat["places"]
    counts: list[list[int]] = heat["counts"]
    fig, ax = _figure(10, max(2.5, 0.45 * len(places) + 1.5))
    ax.set_title(_("Alerts by hour and place, %(day)s", day=data["date"]))
    if not places or not any(any(row) for row in counts):
        _no_data(ax, texts)
    else:
        top = max(max(row) for row in counts)
        image = ax.imshow(
            counts, aspect="auto", cmap="Reds", interpolation="nearest", vmin=0, vmax=top
        )
        ax.set_xticks(range(24))
        ax.set_xticklabels([str(h) for h in range(24)], fontsize=8)
        ax.set_yticks(range(len(places)))
        ax.set_yticklabels(places, fontsize=8)
        ax.set_xlabel(_("hour of day (%(zone)s)", zone=data["zone"]))
        fig.colorbar(image, ax=ax, label=_("alerts"))
    return _done(fig)


def _trend_chart(data: dict[str, Any], texts: Texts) -> Figure:
    _ = texts.gettext
    by_type: dict[str, dict[str, Any]] = data["trend"]["by_type"]
    types = list(by_type)
    fig, ax = _figure(8, 4.5)
    ax.set_title(_("Against the average of the previous %(n)d days", n=PREVIOUS_DAYS))
    if not types or not any(by_type[t]["today"] or by_type[t]["average"] for t in types):
        _no_data(ax, texts)
    else:
        today = [by_type[t]["today"] for t in types]
        average = [by_type[t]["average"] for t in types]
        xs = list(range(len(types)))
        ax.bar([x - 0.2 for x in xs], today, width=0.4, label=data["date"], color="#c0392b")
        ax.bar(
            [x + 0.2 for x in xs],
            average,
            width=0.4,
            label=_("%(n)d-day average", n=PREVIOUS_DAYS),
            color="#7f8c8d",
        )
        ax.set_xticks(xs)
        ax.set_xticklabels(
            [texts.label("event_type", t) for t in types], rotation=30, ha="right", fontsize=8
        )
        ax.set_ylim(bottom=0)
        ax.set_ylabel(_("alerts"))
        ax.legend()
    return _done(fig)


# --- HTML -------------------------------------------------------------------------------


def _table(head: list[str], rows: list[list[Any]], empty: str) -> str:
    if not rows:
        return f'<p class="empty">{html.escape(empty)}</p>'
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _tag(tag: str, text: str) -> str:
    return f"<{tag}>{html.escape(text)}</{tag}>"


def _img(src: str, alt: str) -> str:
    return f'<img src="{html.escape(src)}" alt="{html.escape(alt)}">'


def _fmt_change(c: dict[str, Any], texts: Texts) -> str:
    pct = c["change_percent"]
    sign = "+" if c["change"] >= 0 else ""
    if pct is None:
        new = texts.gettext("new")
        return f"{sign}{c['change']} ({new})" if c["change"] else "±0"
    return f"{sign}{c['change']} ({sign}{pct} %)"


def render_html(data: dict[str, Any], texts: Texts | None = None) -> str:
    """The briefing as a page, in ``texts``' language (default English)."""
    tx = texts or texts_for("en", "UTC")
    _ = tx.gettext
    trend = data["trend"]
    custody = data["custody"]
    none = _("no data")
    rising = [
        [tx.label("event_type", t), c["today"], c["average"], _fmt_change(c, tx)]
        for t, c in trend["by_type"].items()
    ]
    generated = tx.when(datetime.fromisoformat(data["generated_at"]))
    headline = _(
        "%(all)d alert(s): %(events)d from cameras and analytics, %(custody)d in custody "
        "(%(unacked)d not acknowledged). Cameras and analytics against the %(n)d-day average: "
        "%(change)s. Generated %(at)s.",
        all=data["total"] + custody["alerts"],
        events=data["total"],
        custody=custody["alerts"],
        unacked=custody["alerts_unacknowledged"],
        n=trend["previous_days"],
        change=_fmt_change(trend["total"], tx),
        at=generated,
    )
    parts = [
        "<!doctype html>",
        f'<html lang="{tx.language}"><head><meta charset="utf-8">',
        _tag("title", _("Daily alert briefing") + f" {data['date']}"),
        "<style>body{font-family:'Noto Sans CJK SC','Noto Sans SC',system-ui,sans-serif;"
        "max-width:60rem;margin:1rem auto;padding:0 1rem}"
        "table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;"
        "padding:.2rem .6rem;text-align:left}img{max-width:100%}.empty{color:#7f8c8d}</style>"
        "</head><body>",
        _tag("h1", _("Daily alert briefing") + f" — {data['date']} ({data['zone']})"),
        f'<p class="headline">{html.escape(headline)}</p>',
        _tag("h2", _("Alerts by type")),
        _table(
            [_("type"), _("alerts")],
            [[tx.label("event_type", t), n] for t, n in data["alerts_by_type"].items()],
            none,
        ),
        _img(CHARTS["alerts_by_type"], _("Alerts by type")),
        _tag("h2", _("Change against the previous %(n)d days", n=PREVIOUS_DAYS)),
        _table(
            [_("type"), _("today"), _("%(n)d-day average", n=PREVIOUS_DAYS), _("change")],
            rising,
            none,
        ),
        _img(CHARTS["trend"], _("change against the average")),
        _tag("h2", _("When and where")),
        _img(CHARTS["heatmap"], _("alerts by hour and place")),
        _tag("h3", _("Top places")),
        _table(
            [_("place"), _("alerts")],
            [[p["place"], p["count"]] for p in data["top_places"]],
            none,
        ),
        _tag("h3", _("Top hours")),
        _table(
            [_("hour (%(zone)s)", zone=data["zone"]), _("alerts")],
            [[f"{h['hour']:02d}:00–{h['hour']:02d}:59", h["count"]] for h in data["top_hours"]],
            none,
        ),
        _tag("h2", _("Custody")),
        _table(
            ["", ""],
            [
                [_("people held"), custody["people_held"]],
                [
                    _("entered / released"),
                    f"{custody['people_entered']} / {custody['people_released']}",
                ],
                [_("interviews"), custody["interviews"]],
                [
                    _("interviews with incomplete recording"),
                    custody["interviews_recording_incomplete"],
                ],
                [_("legal limits reached"), custody["legal_limits_reached"]],
                [_("legal limit warnings"), custody["legal_limit_warnings"]],
                [
                    _("custody alerts (not acknowledged)"),
                    f"{custody['alerts']} ({custody['alerts_unacknowledged']})",
                ],
            ],
            none,
        ),
        _table(
            [_("rule"), _("alerts")],
            [[tx.label("alert_type", r), n] for r, n in custody["alerts_by_rule"].items()],
            none,
        ),
        *render_bodyworn_html(data),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def charts(data: dict[str, Any], texts: Texts) -> dict[str, Figure]:
    """The briefing's charts (an empty one says "no data": no empty or negative axes, no
    heatmap of a single colour)."""
    from matplotlib import rc_context

    _fonts()
    with rc_context({"font.family": FONT_FAMILY}):
        return {
            "alerts_by_type": _bar_chart(data, texts),
            "heatmap": _heatmap(data, texts),
            "trend": _trend_chart(data, texts),
        }


def render_briefing(briefing: Briefing, folder: Path, texts: Texts | None = None) -> Path:
    """Write briefing.json, index.html and the PNG charts into ``folder``, in ``texts``'
    language (default English); return it."""
    tx = texts or texts_for("en", "UTC")
    data: dict[str, Any] = jsonable(briefing)
    folder.mkdir(parents=True, exist_ok=True)
    from matplotlib import rc_context

    _fonts()
    with rc_context({"font.family": FONT_FAMILY}):  # CJK labels need the CJK font
        for name, fig in charts(data, tx).items():
            fig.savefig(folder / CHARTS[name], format="png")
    (folder / "briefing.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    (folder / "index.html").write_text(render_html(data, tx), encoding="utf-8")
    return folder


def write_briefing(
    db: Database, config: Config, day: date, root: Path | None = None, *, clock: Clock | None = None
) -> Path:
    """Build and write the briefing of ``day`` (a local calendar day of the site) under
    ``root`` (default: the configured folder), in the site's language; return its folder."""
    root = root or briefing_root(config)
    texts = config.texts()
    data = build_briefing(db, day, clock=clock, tz=texts.tz)
    return render_briefing(data, root / day.isoformat(), texts)


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
