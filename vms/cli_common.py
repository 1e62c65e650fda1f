"""Options and helpers shared by every ``vms`` command group."""

from __future__ import annotations

import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vms.clock import utc
from vms.config import Config, demo_config, load_config

# Wide enough for full timestamps and paths when the output is piped or logged.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Configuration file (default: $VMS_CONFIG, else the demo configuration in ./data).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]


def load_cli_config(path: Path | None) -> Config:
    """--config, else $VMS_CONFIG, else the demo configuration."""
    if path is None and os.environ.get("VMS_CONFIG"):
        path = Path(os.environ["VMS_CONFIG"])
    return load_config(path) if path is not None else demo_config()


def parse_when(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 option value as aware UTC (naive = UTC); a clear error otherwise."""
    if value is None:
        return None
    try:
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time", param_hint=name) from exc
