"""``vms hold``: legal holds on a camera's time range or on an evidence file."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from vms.cli_common import ConfigOpt, JsonOpt, cli_database, emit_json, fmt, out, parse_time
from vms.clock import SystemClock
from vms.evidence import holds
from vms.evidence.cli.actor import LoginOpt, ReasonOpt, audited

hold_app = typer.Typer(help="Legal holds on footage and evidence files.", no_args_is_help=True)


def print_holds(rows: list[holds.HoldView]) -> None:
    table = Table("hold", "kind", "case", "camera / item", "start (UTC)", "end (UTC)", "state")
    for h in rows:
        what = h.camera_id if h.kind == holds.RANGE else f"item {h.item_id}"
        state = f"released {h.released_at.isoformat()}" if h.released_at else "active"
        table.add_row(
            str(h.id),
            h.kind,
            fmt(h.case_number),
            fmt(what),
            h.start.isoformat() if h.start else "-",
            h.end.isoformat() if h.end else "-",
            state,
        )
    out.print(table)


@hold_app.command("add")
def hold_add(
    reason: ReasonOpt,
    camera: Annotated[str | None, typer.Option(help="Camera id (with --from and --to).")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="Start, ISO 8601.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="End, ISO 8601.")] = None,
    item: Annotated[int | None, typer.Option(help="Evidence item id (instead of a range).")] = None,
    case: Annotated[str | None, typer.Option(help="Case number the hold is for.")] = None,
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Place a legal hold on a camera's time range or on an evidence file."""
    if item is not None and (camera or from_ or to):
        raise typer.BadParameter("give either --item or --camera/--from/--to, not both")
    with audited(config, login, reason) as (_cfg, db, who):
        if item is not None:
            h = holds.place_item_hold(db, SystemClock(), who, item)
        elif camera and from_ and to:
            start, end = parse_time(from_, "--from"), parse_time(to, "--to")
            h = holds.place_range_hold(db, SystemClock(), who, camera, start, end, case_number=case)
        else:
            raise typer.BadParameter("a range hold needs --camera, --from and --to")
    emit_json(h) if as_json else print_holds([h])


@hold_app.command("list")
def hold_list(
    camera: Annotated[str | None, typer.Option(help="Only this camera.")] = None,
    case: Annotated[str | None, typer.Option(help="Only this case.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include released holds.")] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List holds (active ones unless --all)."""
    with cli_database(config, read_only=True) as (_cfg, db):
        rows = holds.list_holds(
            db, SystemClock().now(), camera_id=camera, case_number=case, include_released=all_
        )
    emit_json(rows) if as_json else print_holds(rows)


@hold_app.command("release")
def hold_release(
    hold: Annotated[int, typer.Argument(help="Hold id.")],
    reason: ReasonOpt,
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Release a hold; its footage falls back under retention unless another hold covers it."""
    with audited(config, login, reason) as (_cfg, db, who):
        h = holds.release_hold(db, SystemClock(), who, hold)
    emit_json(h) if as_json else print_holds([h])
