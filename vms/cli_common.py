"""Options and helpers shared by every ``vms`` command group.

Every command opens the database with :func:`open_for_cli` (or :func:`cli_database`):
``read_only=True`` for the commands that only read (``audit list``, ``recordings list``,
``events search``, ``cases list``, ...), which never migrate the database and never rewrite
the cameras table; ``read_only=False`` for the commands that change something, which prepare
it as ``vms serve`` does (migrations, the configured cameras registered).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from vms.bootstrap import open_existing, prepare
from vms.clock import utc
from vms.config import Config, demo_config, load_config
from vms.db.session import Database
from vms.vocab import jsonable

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


def open_for_cli(config: Config, *, read_only: bool) -> Database:
    """The database for a command: as it is for one that only reads (never migrated, no
    camera row written: an error says when the schema is not this vms's), prepared for one
    that changes something."""
    return open_existing(config) if read_only else prepare(config)


@contextmanager
def cli_database(path: Path | None, *, read_only: bool) -> Iterator[tuple[Config, Database]]:
    """The command's configuration (``--config``) and database, disposed at the end."""
    config = load_cli_config(path)
    db = open_for_cli(config, read_only=read_only)
    try:
        yield config, db
    finally:
        db.dispose()


def emit_json(value: object) -> None:
    """Print a result (a view, a dataclass, lists of them) as one line of JSON."""
    print(json.dumps(jsonable(value), ensure_ascii=False))


def emit(value: object, as_json: bool, text: str) -> None:
    """``--json``: the result as JSON; else the line that says what happened."""
    if as_json:
        emit_json(value)
    else:
        out.print(text, highlight=False)


def parse_when(value: str | None, name: str) -> datetime | None:
    """An ISO 8601 option value as aware UTC (naive = UTC); a clear error otherwise."""
    if value is None:
        return None
    return parse_time(value, name)


def parse_time(value: str, name: str) -> datetime:
    """A required ISO 8601 option value as aware UTC (naive = UTC)."""
    try:
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time", param_hint=name) from exc


def fmt(value: str | None) -> str:
    """A value for a table cell: ``-`` for none."""
    return value or "-"
