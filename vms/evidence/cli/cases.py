"""``vms cases``: case files: create, list, show, close, reopen, assign."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vms.cli_common import ConfigOpt, JsonOpt, cli_database, emit_json, out
from vms.clock import SystemClock
from vms.db.session import Database
from vms.evidence import cases, holds, items
from vms.evidence.cli.actor import LoginOpt, ReasonOpt, audited, viewer
from vms.evidence.cli.holds import print_holds
from vms.evidence.cli.items import print_items

cases_app = typer.Typer(help="Case files: create, list, show, close, assign.", no_args_is_help=True)


@dataclass(frozen=True)
class CaseDetail(cases.CaseView):
    """A case with its evidence items and holds (``vms cases show --json``)."""

    items: list[items.ItemView] = field(default_factory=list)
    holds: list[holds.HoldView] = field(default_factory=list)


def print_case(c: cases.CaseView) -> None:
    people = ", ".join(c.investigators) or "-"
    out.print(
        f"[bold]{c.number}[/] {c.title}  ({c.status})\n"
        f"  owner {c.owner}; investigators {people}\n"
        f"  opened {c.created_at.isoformat()} by {c.created_by}",
        highlight=False,
    )


def _members(db: Database, names: list[str]) -> None:
    """Owners and investigators of a case are existing, active investigators."""
    from vms.web.users import check_investigators

    with db.session() as s:
        check_investigators(s, names)


def _emit(c: cases.CaseView, as_json: bool) -> None:
    emit_json(c) if as_json else print_case(c)


@cases_app.command("create")
def cases_create(
    number: Annotated[str, typer.Argument(help="Case number, e.g. 2026-000123.")],
    title: Annotated[str, typer.Option("--title", help="Short description.")],
    reason: ReasonOpt,
    owner: Annotated[
        str | None, typer.Option(help="Owner, an existing user (default: the --login user).")
    ] = None,
    investigator: Annotated[
        list[str] | None, typer.Option("--investigator", "-i", help="Repeat for each one.")
    ] = None,
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Open a new case; its owner and investigators must be existing investigators."""
    with audited(config, login, reason) as (_cfg, db, who):
        owner = owner or (who.user if not who.user.startswith("os:") else None)
        if owner is None:
            raise typer.BadParameter(
                "a case's owner is a vms investigator: give --owner, or --login as one",
                param_hint="--owner",
            )
        _members(db, [owner, *(investigator or ())])
        c = cases.create_case(
            db, SystemClock(), who, number, title, owner=owner, investigators=investigator or ()
        )
    _emit(c, as_json)


@cases_app.command("list")
def cases_list(
    status: Annotated[str | None, typer.Option(help="open or closed (default: all).")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List cases."""
    with cli_database(config, read_only=True) as (_cfg, db):
        rows = cases.list_cases(db, status)
    if as_json:
        emit_json(rows)
        return
    table = Table("number", "title", "status", "owner", "investigators", "opened (UTC)")
    for c in rows:
        table.add_row(
            c.number,
            c.title,
            c.status,
            c.owner,
            ", ".join(c.investigators),
            c.created_at.isoformat(timespec="seconds"),
        )
    out.print(table)


@cases_app.command("show")
def cases_show(
    number: str,
    reason: Annotated[str, typer.Option("--reason", help="Why (logged as a view).")] = "",
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A case with its evidence items and holds (logged as a view)."""
    clock = SystemClock()
    with cli_database(config, read_only=True) as (_cfg, db):
        c = cases.show_case(db, clock, viewer(db, login, reason or "case shown"), number)
        its = items.list_items(db, number)
        hs = holds.list_holds(db, clock.now(), case_number=number, include_released=True)
    if as_json:
        emit_json(CaseDetail(**vars(c), items=its, holds=hs))
        return
    print_case(c)
    print_items(its)
    print_holds(hs)


def _set_status(
    number: str, status: str, login: str | None, reason: str, path: Path | None
) -> cases.CaseView:
    with audited(path, login, reason) as (_cfg, db, who):
        return cases.set_status(db, SystemClock(), who, number, status)


@cases_app.command("close")
def cases_close(
    number: str,
    reason: ReasonOpt,
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Close a case (its holds stay until released)."""
    _emit(_set_status(number, cases.CLOSED, login, reason, config), as_json)


@cases_app.command("reopen")
def cases_reopen(
    number: str,
    reason: ReasonOpt,
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reopen a closed case."""
    _emit(_set_status(number, cases.OPEN, login, reason, config), as_json)


@cases_app.command("assign")
def cases_assign(
    number: str,
    reason: ReasonOpt,
    add: Annotated[list[str] | None, typer.Option("--add", help="Investigator to add.")] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", help="Investigator to remove.")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="New owner.")] = None,
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Add or remove investigators, or change the owner."""
    with audited(config, login, reason) as (_cfg, db, who):
        _members(db, [*(add or ()), *([owner] if owner else [])])
        c = cases.assign(
            db, SystemClock(), who, number, add=add or (), remove=remove or (), owner=owner
        )
    _emit(c, as_json)
