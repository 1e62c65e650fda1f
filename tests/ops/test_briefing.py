"""The daily briefing from a set of recorded events: counts, charts, HTML, JSON, the CLI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import yaml
from matplotlib.figure import Figure
from PIL import Image
from typer.testing import CliRunner

from tests.ops.conftest import T0, ops_config, prepared
from tests.support.clock import FakeClock
from vms.cli import app as cli_app
from vms.config import Config
from vms.custody.models import Alert as CustodyAlert
from vms.custody.rules import Officer
from vms.custody.service import CustodyService
from vms.db.models import Event
from vms.db.session import Database
from vms.i18n import texts_for
from vms.ops.briefing import (
    CHARTS,
    build_briefing,
    charts,
    list_briefings,
    render_html,
    write_briefing,
)
from vms.vocab import jsonable

DAY = date(2026, 3, 9)
D0 = datetime(2026, 3, 9, tzinfo=UTC)


def seed(db: Database, config: Config) -> None:
    """Day DAY: 3 loitering on street-1 at 22h, 1 intrusion on street-1 at 22h, 2
    person_down in interview-1 at 03h; the 7 days before: 7 loitering, 14 intrusion."""
    rows = [("loitering", "street-1", D0 + timedelta(hours=22, minutes=m)) for m in (1, 2, 3)] + [
        ("intrusion", "street-1", D0 + timedelta(hours=22, minutes=30)),
        ("person_down", "interview-1", D0 + timedelta(hours=3)),
        ("person_down", "interview-1", D0 + timedelta(hours=3, minutes=20)),
        ("loitering", "street-1", D0 + timedelta(days=1)),  # the next day: not counted
    ]
    for back in range(1, 8):
        rows.append(("loitering", "street-1", D0 - timedelta(days=back, hours=-5)))
        rows += [("intrusion", "street-1", D0 - timedelta(days=back, hours=-9))] * 2
    rows.append(("loitering", "street-1", D0 - timedelta(days=8)))  # outside the 7 days
    with db.session() as s:
        for etype, cam, at in rows:
            s.add(Event(type=etype, camera_id=cam, start=at, end=at, severity="warning"))
    clock = FakeClock(D0 - timedelta(hours=2))
    svc = CustodyService(db, config, clock)
    held = svc.enter(
        name="Zhang San", reason="theft", basis="summons", room="interrogation-room-1", by="li"
    )
    clock.set(D0 + timedelta(hours=9))
    svc.enter(name="Li Si", reason="fight", basis="summons", room="interrogation-room-1", by="li")
    officers = [Officer("Li Wei", "031245"), Officer("Wang Fang", "031877")]
    svc.start_interview(held.id, officers=officers, by="li")
    with db.session() as s:
        for n, (atype, hour) in enumerate(
            [("legal_clock_limit", 11), ("legal_clock_warning", 10), ("person_alone", 12)]
        ):
            s.add(
                CustodyAlert(
                    key=f"seed-{n}",
                    type=atype,
                    severity="critical",
                    level=1,
                    message=atype,
                    data={},
                    raised_at=D0 + timedelta(hours=hour),
                )
            )


def test_briefing_counts(db: Database, tmp_path: Path) -> None:
    config = prepared(db, ops_config(tmp_path))
    seed(db, config)
    data = jsonable(build_briefing(db, DAY, clock=FakeClock(T0)))
    assert data["total"] == 6
    assert data["alerts_by_type"] == {"loitering": 3, "person_down": 2, "intrusion": 1}
    assert data["top_places"] == [
        {"place": "Main street/street-1", "count": 4},
        {"place": "Custody area/interview-1", "count": 2},
    ]
    assert data["top_hours"] == [{"hour": 22, "count": 4}, {"hour": 3, "count": 2}]
    heat = data["heatmap"]
    assert heat["places"] == ["Main street/street-1", "Custody area/interview-1"]
    assert heat["counts"][0][22] == 4
    assert heat["counts"][1][3] == 2
    assert sum(map(sum, heat["counts"])) == 6
    trend = data["trend"]["by_type"]
    assert trend["loitering"] == {
        "today": 3,
        "average": 1.0,
        "change": 2.0,
        "change_percent": 200.0,
    }
    assert trend["intrusion"]["average"] == 2.0
    assert trend["intrusion"]["change_percent"] == -50.0
    assert trend["person_down"]["change_percent"] is None  # new
    assert data["trend"]["total"]["average"] == 3.0
    custody = data["custody"]
    assert custody["people_held"] == 2
    assert custody["people_entered"] == 1
    assert custody["interviews"] == 1
    assert custody["legal_limits_reached"] == 1
    assert custody["alerts_by_rule"] == {
        "legal_clock_limit": 1,
        "legal_clock_warning": 1,
        "person_alone": 1,
    }


def test_briefing_writes_readable_charts_html_and_json(db: Database, tmp_path: Path) -> None:
    config = prepared(db, ops_config(tmp_path))
    seed(db, config)
    folder = write_briefing(db, config, DAY, tmp_path / "out", clock=FakeClock(T0))
    assert folder == tmp_path / "out" / "2026-03-09"
    for name in CHARTS.values():
        with Image.open(folder / name) as img:
            img.load()
            assert img.format == "PNG"
            assert img.size[0] >= 600
            assert img.size[1] >= 200
    page = (folder / "index.html").read_text()
    assert "Daily alert briefing — 2026-03-09" in page
    for name in CHARTS.values():
        assert f'src="{name}"' in page
    assert json.loads((folder / "briefing.json").read_text())["total"] == 6
    assert list_briefings(tmp_path / "out") == ["2026-03-09"]


def test_briefing_command(tmp_path: Path) -> None:
    config_file = tmp_path / "vms.yaml"
    config = ops_config(tmp_path / "store")
    config_file.write_text(yaml.safe_dump(config.model_dump(mode="json")))
    out, cfg = str(tmp_path / "b"), str(config_file)
    args = ["briefing", "--date", "2026-03-09", "--out", out, "-c", cfg]
    # It only reads the database: none yet is a clear error, not a new empty database.
    missing = CliRunner().invoke(cli_app, args)
    assert missing.exit_code == 1
    assert "no database at" in str(missing.exception)
    assert CliRunner().invoke(cli_app, ["db", "upgrade", "-c", str(config_file)]).exit_code == 0
    res = CliRunner().invoke(cli_app, args)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "b" / "2026-03-09" / "index.html").is_file()
    assert json.loads((tmp_path / "b" / "2026-03-09" / "briefing.json").read_text())["total"] == 0
    bad = CliRunner().invoke(cli_app, ["briefing", "--date", "9 March", "-c", str(config_file)])
    assert bad.exit_code != 0


def _said(fig: Figure) -> list[str]:
    return [t.get_text() for ax in fig.axes for t in ax.texts]


def test_an_empty_day_says_no_data_instead_of_empty_or_negative_charts(
    db: Database, tmp_path: Path
) -> None:
    config = prepared(db, ops_config(tmp_path))
    data = jsonable(build_briefing(db, DAY, clock=FakeClock(T0)))
    for name, fig in charts(data, texts_for("zh-CN")).items():
        assert _said(fig) == ["无数据"], name  # no data, in the reader's language
        assert not fig.axes[0].axison, name  # no empty axes around it
        assert not fig.axes[0].images, name  # no heatmap of a single colour
    page = render_html(data, texts_for("en", "UTC"))
    assert "no data" in page
    assert "0 alert(s): 0 from cameras and analytics, 0 in custody" in page
    folder = write_briefing(db, config, DAY, tmp_path / "out", clock=FakeClock(T0))
    assert (folder / "heatmap.png").is_file()


def test_charts_of_a_busy_day_start_at_zero(db: Database, tmp_path: Path) -> None:
    config = prepared(db, ops_config(tmp_path))
    seed(db, config)
    data = jsonable(build_briefing(db, DAY, clock=FakeClock(T0)))
    figs = charts(data, texts_for("en", "UTC"))
    assert figs["trend"].axes[0].get_ylim()[0] == 0
    assert figs["alerts_by_type"].axes[0].get_xlim()[0] == 0
    (image,) = figs["heatmap"].axes[0].images
    assert image.get_clim() == (0, 4)  # 4 alerts at 22h on street-1: the busiest cell
    assert "Loitering" in [t.get_text() for t in figs["alerts_by_type"].axes[0].get_yticklabels()]
    # The headline counts the custody alerts too: 6 from cameras + 3 in custody.
    assert "9 alert(s): 6 from cameras and analytics, 3 in custody" in render_html(data)


def test_briefing_of_a_local_day_in_the_sites_language(db: Database, tmp_path: Path) -> None:
    """In Beijing (UTC+8) 9 March runs from 8 March 16:00 to 9 March 16:00 UTC: the 22h UTC
    loitering belongs to 10 March; the 03h UTC person_down are at 11h local."""
    config = prepared(db, ops_config(tmp_path, site={"timezone": "Asia/Shanghai"}))
    seed(db, config)
    folder = write_briefing(db, config, DAY, tmp_path / "out", clock=FakeClock(T0))
    data = json.loads((folder / "briefing.json").read_text())
    assert (data["timezone"], data["zone"]) == ("Asia/Shanghai", "UTC+8")
    assert data["alerts_by_type"] == {"person_down": 2}
    assert data["top_hours"] == [{"hour": 11, "count": 2}]
    page = (folder / "index.html").read_text()
    assert '<html lang="zh-CN">' in page
    assert "每日告警简报 — 2026-03-09 (UTC+8)" in page
    assert "人员倒地" in page  # the event type's label
