"""``vms briefing``: write the daily alert briefing of one day (HTML, PNG charts, JSON)."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path
from typing import Annotated

import typer

from vms.clock import SystemClock
from vms.config import Config, demo_config, load_config


def _config(path: Path | None) -> Config:
    if path is None and os.environ.get("VMS_CONFIG"):
        path = Path(os.environ["VMS_CONFIG"])
    return load_config(path) if path is not None else demo_config()


def briefing(
    day: Annotated[
        str | None,
        typer.Option("--date", help="The day (YYYY-MM-DD, UTC); default: yesterday."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder of briefings (default: ops.briefing_dir)."),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Configuration file (default: $VMS_CONFIG)."),
    ] = None,
) -> None:
    """Write the daily alert briefing: <out>/<date>/index.html, *.png and briefing.json."""
    from vms.app import prepare  # the composition root imports this module's siblings
    from vms.ops.briefing import write_briefing

    clock = SystemClock()
    if day is None:
        when = clock.now().date() - timedelta(days=1)
    else:
        try:
            when = date.fromisoformat(day)
        except ValueError as exc:
            raise typer.BadParameter(f"{day!r} is not YYYY-MM-DD", param_hint="--date") from exc
    cfg = _config(config)
    db = prepare(cfg)
    try:
        folder = write_briefing(db, cfg, when, out, clock=clock)
    finally:
        db.dispose()
    typer.echo(f"{folder / 'index.html'}")


def register(app: typer.Typer) -> None:
    app.command("briefing")(briefing)
