"""``vms briefing``: write the daily alert briefing of one day (HTML, PNG charts, JSON)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from vms.cli_common import ConfigOpt, cli_database
from vms.clock import SystemClock


def briefing(
    day: Annotated[
        str | None,
        typer.Option("--date", help="The day (YYYY-MM-DD, UTC); default: yesterday."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder of briefings (default: ops.briefing_dir)."),
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Write the daily alert briefing: <out>/<date>/index.html, *.png and briefing.json."""
    from vms.ops.briefing import write_briefing

    clock = SystemClock()
    if day is None:
        when = clock.now().date() - timedelta(days=1)
    else:
        try:
            when = date.fromisoformat(day)
        except ValueError as exc:
            raise typer.BadParameter(f"{day!r} is not YYYY-MM-DD", param_hint="--date") from exc
    with cli_database(config, read_only=True) as (cfg, db):
        folder = write_briefing(db, cfg, when, out, clock=clock)
    typer.echo(f"{folder / 'index.html'}")


def register(app: typer.Typer) -> None:
    app.command("briefing")(briefing)
