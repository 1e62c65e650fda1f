"""Command groups ``vms bodyworn``, ``vms officers`` and ``vms devices``.

Thin shells over the service functions the web app calls too. Audited commands take
``--login USER`` or ``$VMS_TOKEN`` (else the OS user, see vms.cli_identity) and ``--reason``;
copying footage out is checked against that user's approvals like a download from the web.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from datetime import datetime
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.markup import escape
from rich.table import Table

from vms.bodyworn import access, links, officers
from vms.bodyworn.copies import copy_out
from vms.bodyworn.dock import DockWatcher, dock_files
from vms.bodyworn.files import Area, FileQuery, get_file, search_files
from vms.bodyworn.ingest import CLI, REJECTED, Ingestor, Offer
from vms.bodyworn.retention import set_category
from vms.bodyworn.views import FileView
from vms.cli_common import (
    ConfigOpt,
    JsonOpt,
    emit_json,
    err,
    load_cli_config,
    open_for_cli,
    out,
    parse_when,
)
from vms.cli_identity import LoginOpt, identify
from vms.clock import SystemClock
from vms.config import Config
from vms.db.session import Database
from vms.evidence.audit import Actor
from vms.vocab import jsonable

bodyworn_app = typer.Typer(
    help="Body-worn footage: import, search, categories, case links, approvals, docks.",
    no_args_is_help=True,
)
officers_app = typer.Typer(help="Officers who wear body-worn recorders.", no_args_is_help=True)
devices_app = typer.Typer(
    help="Body-worn recorders, who holds which (history) and duty shifts.", no_args_is_help=True
)

V = TypeVar("V")
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why, for the audit log (required).")]


_GROUP: ContextVar[typer.Context | None] = ContextVar("bodyworn_cli_group", default=None)


def _remember(ctx: typer.Context) -> None:
    """Each group's callback: commands close what they open when the group's context ends."""
    _GROUP.set(ctx)


for _app in (bodyworn_app, officers_app, devices_app):
    _app.callback()(_remember)


def _open(path: Path | None, *, read_only: bool = False) -> tuple[Config, Database]:
    """The configuration and database (``vms.cli_common.open_for_cli``), closed when the
    command ends."""
    cfg = load_cli_config(path)
    db = open_for_cli(cfg, read_only=read_only)
    ctx = _GROUP.get()
    if ctx is not None:
        ctx.call_on_close(db.dispose)
    return cfg, db


def _actor(db: Database, login: str | None, reason: str) -> Actor:
    """Who runs this command (never a name typed in: see vms.cli_identity) and why."""
    if not reason.strip():
        raise typer.BadParameter("a reason is required for the audit log", param_hint="--reason")
    return identify(db, login).actor(reason)


def _required(value: str | None, name: str) -> datetime:
    when = parse_when(value, name)
    if when is None:
        raise typer.BadParameter("a time is required", param_hint=name)
    return when


def _print_json(value: object) -> None:
    emit_json(value)


def _print_rows(
    views: Sequence[V], as_json: bool, head: Sequence[str], row: Callable[[V], Sequence[str]]
) -> None:
    """``--json``: the views; else a table of one row per view."""
    if as_json:
        emit_json(views)
        return
    table = Table(*head)
    for v in views:
        table.add_row(*row(v))
    out.print(table)


def _files_table(files: list[FileView]) -> Table:
    table = Table(
        "id", "device", "officer", "unit", "start (UTC)", "s", "codecs", "source", "late",
        "category", "cases",
    )  # fmt: skip
    for f in files:
        table.add_row(
            str(f.id), f.device, f.officer or "-", f.unit or "-",
            f"{f.start:%Y-%m-%d %H:%M:%S} ({f.time_source})", f"{f.duration_s:.0f}",
            f"{f.video_codec}/{f.audio_codec or '-'}", f.source,
            f"{f.lateness_s / 3600:.1f} h" if f.late else "", f.category, ",".join(f.cases),
            style="yellow" if f.late else None,
        )  # fmt: skip
    return table


# --- vms bodyworn ------------------------------------------------------------------------


@bodyworn_app.command("import")
def import_files(
    paths: Annotated[list[Path], typer.Argument(help="Recorder files to take in.")],
    officer: Annotated[
        str | None, typer.Option("--officer", help="File them under this badge.")
    ] = None,
    device: Annotated[
        str | None, typer.Option("--device", help="The recorder's serial, if the files lack it.")
    ] = None,
    user: LoginOpt = None,
    reason: Annotated[str, typer.Option("--reason", help="Why, for the audit log.")] = (
        "imported from the command line"
    ),
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hash, probe, deduplicate, store and index recorder files; exit 1 if any is rejected."""
    cfg, db = _open(config)
    ingestor = Ingestor(db, cfg, SystemClock())
    actor = _actor(db, user, reason)
    results = []
    for path in paths:
        offer = Offer(path.name, CLI, actor, officer_badge=officer, device_serial=device)
        result = ingestor.ingest_path(path, offer)
        results.append(result)
        if not as_json:
            style = {"stored": "green", "duplicate": "cyan"}.get(result.result, "red")
            what = f"file {result.file_id}" if result.file_id else escape(result.reason)
            out.print(f"[{style}]{result.result}[/] {escape(str(path))}: {what}")
    if as_json:
        _print_json([r.to_dict() for r in results])
    if any(r.result == REJECTED for r in results):
        raise typer.Exit(1)


@bodyworn_app.command("list")
def list_files(
    officer: Annotated[str | None, typer.Option(help="Badge.")] = None,
    unit: Annotated[str | None, typer.Option(help="Unit of the officer.")] = None,
    device: Annotated[str | None, typer.Option(help="Recorder serial.")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="Recorded after, ISO 8601.")] = None,
    to: Annotated[str | None, typer.Option(help="Recorded before, ISO 8601.")] = None,
    case: Annotated[str | None, typer.Option(help="Case number.")] = None,
    person: Annotated[int | None, typer.Option(help="Person held (custody ledger id).")] = None,
    near: Annotated[
        str | None, typer.Option(help="LAT,LON,RADIUS_M: files whose GPS track passes there.")
    ] = None,
    late: Annotated[bool, typer.Option("--late", help="Late uploads only.")] = False,
    category: Annotated[str | None, typer.Option(help="Retention category.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Search body-worn files (metadata only; viewing footage needs approval)."""
    area = None
    if near is not None:
        try:
            lat, lon, radius = (float(x) for x in near.split(","))
        except ValueError as exc:
            raise typer.BadParameter("give LAT,LON,RADIUS_M", param_hint="--near") from exc
        area = Area(lat, lon, radius)
    _cfg, db = _open(config, read_only=True)
    query = FileQuery(
        officer=officer, unit=unit, device=device, start=parse_when(from_, "--from"),
        end=parse_when(to, "--to"), near=area, case_number=case, person_id=person,
        category=category, late=True if late else None,
    )  # fmt: skip
    files = search_files(db, query)
    if as_json:
        _print_json(files)
    else:
        out.print(_files_table(files))


@bodyworn_app.command("show")
def show(file_id: int, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """One file's record: device, officer, times and their source, codecs, GPS, cases."""
    _cfg, db = _open(config, read_only=True)
    f = get_file(db, file_id)
    if as_json:
        _print_json(f)
        return
    for key, value in jsonable(f).items():
        if key == "gps":
            value = f"{len(f.gps)} point(s)"
        out.print(f"[bold]{key}[/]: {escape(str(value))}")


@bodyworn_app.command("category")
def category(
    file_id: int,
    name: Annotated[
        str, typer.Argument(help="default, evidence, obstruction, major_incident, complex_case")
    ],
    reason: ReasonOpt = "",
    user: LoginOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Set a file's retention category (audited)."""
    _cfg, db = _open(config)
    before = set_category(db, SystemClock(), _actor(db, user, reason), file_id, name)
    out.print(f"file {file_id}: {before} -> {name}")


@bodyworn_app.command("link")
def link(
    file_id: int,
    case: Annotated[str, typer.Option(help="Case number.")],
    from_: Annotated[str | None, typer.Option("--from", help="Part of the file, ISO 8601.")] = None,
    to: Annotated[str | None, typer.Option(help="Part of the file, ISO 8601.")] = None,
    note: str = "",
    reason: ReasonOpt = "",
    user: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Link a file (or part of it) to a case: it becomes evidence and is held."""
    _cfg, db = _open(config)
    view = links.link_case(
        db, SystemClock(), _actor(db, user, reason), file_id, case,
        start=parse_when(from_, "--from"), end=parse_when(to, "--to"), note=note,
    )  # fmt: skip
    if as_json:
        _print_json(view)
    else:
        out.print(f"file {file_id} linked to case {case} (hold {view.hold_id})")


@bodyworn_app.command("link-person")
def link_person(
    file_id: int,
    person: Annotated[int, typer.Option(help="Person held (custody ledger id).")],
    note: str = "",
    reason: ReasonOpt = "",
    user: LoginOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Link a file to a person held."""
    _cfg, db = _open(config)
    links.link_person(db, SystemClock(), _actor(db, user, reason), file_id, person, note=note)
    out.print(f"file {file_id} linked to person {person}")


@bodyworn_app.command("file-under")
def file_under(
    file_id: int,
    badge: str,
    reason: ReasonOpt = "",
    user: LoginOpt = None,
    config: ConfigOpt = None,
) -> None:
    """File a body-worn file under an officer by hand (a recorder nobody was assigned)."""
    _cfg, db = _open(config)
    officers.file_under(db, SystemClock(), _actor(db, user, reason), file_id, badge)
    out.print(f"file {file_id} filed under {badge}")


@bodyworn_app.command("request")
def request(
    file_id: int,
    action: Annotated[str, typer.Option(help="view or copy.")] = "view",
    hours: Annotated[float | None, typer.Option(help="How long (default from config).")] = None,
    reason: ReasonOpt = "",
    user: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Ask a supervisor's approval to view or copy a file that is not yours."""
    cfg, db = _open(config)
    bw = cfg.bodyworn
    view = access.request_approval(
        db, SystemClock(), _actor(db, user, reason), file_id, action,
        hours=hours or bw.approval_hours, max_hours=bw.max_approval_hours,
    )  # fmt: skip
    if as_json:
        _print_json(view)
    else:
        out.print(f"approval request {view.id} ({action} file {file_id}) is pending")


@bodyworn_app.command("approvals")
def approvals(
    pending: Annotated[bool, typer.Option("--pending", help="Only those waiting.")] = False,
    mine: Annotated[bool, typer.Option("--mine", help="Only the user's own.")] = False,
    user: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Requests to view or copy body-worn files, newest first."""
    _cfg, db = _open(config, read_only=True)
    views = access.list_approvals(
        db, SystemClock().now(), requested_by=identify(db, user).name if mine else None,
        status="pending" if pending else None,
    )  # fmt: skip
    if as_json:
        _print_json(views)
        return
    table = Table("id", "file", "action", "by", "reason", "status", "decided by", "valid until")
    for v in views:
        until = f"{v.valid_until:%Y-%m-%d %H:%M}" if v.valid_until else ""
        table.add_row(
            str(v.id), str(v.file_id), v.action, v.requested_by, escape(v.reason), v.status,
            v.decided_by or "", until,
        )  # fmt: skip
    out.print(table)


def _decide(approval_id: int, grant: bool, hours: float | None, actor: Actor, cfg: Config,
            db: Database) -> None:  # fmt: skip
    view = access.decide(
        db, SystemClock(), actor, approval_id, grant=grant, hours=hours,
        max_hours=cfg.bodyworn.max_approval_hours,
    )  # fmt: skip
    out.print(f"approval request {approval_id}: {view.status}")


@bodyworn_app.command("approve")
def approve(
    approval_id: int,
    hours: Annotated[float | None, typer.Option(help="Valid for (default: as asked).")] = None,
    reason: ReasonOpt = "",
    user: LoginOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Grant a request (a supervisor; never one's own)."""
    cfg, db = _open(config)
    _decide(approval_id, True, hours, _actor(db, user, reason), cfg, db)


@bodyworn_app.command("refuse")
def refuse(
    approval_id: int, reason: ReasonOpt = "", user: LoginOpt = None, config: ConfigOpt = None
) -> None:
    """Refuse a request."""
    cfg, db = _open(config)
    _decide(approval_id, False, None, _actor(db, user, reason), cfg, db)


@bodyworn_app.command("revoke")
def revoke(
    approval_id: int, reason: ReasonOpt = "", user: LoginOpt = None, config: ConfigOpt = None
) -> None:
    """Withdraw a request or an approval before it runs out."""
    _cfg, db = _open(config)
    view = access.revoke(db, SystemClock(), _actor(db, user, reason), approval_id)
    out.print(f"approval request {approval_id}: {view.status}")


@bodyworn_app.command("copy")
def copy(
    file_id: int,
    to: Annotated[Path, typer.Option("--to", help="Folder to copy the original into.")],
    reason: ReasonOpt = "",
    user: LoginOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Copy a file's original out, hash checked (own file, or a copy approval; audited)."""
    cfg, db = _open(config)
    actor = _actor(db, user, reason)
    who = access.who_by_name(db, actor.user)
    copied = copy_out(db, cfg, SystemClock(), who, file_id, to, actor.reason)
    out.print(f"{copied.path} (SHA-256 {copied.sha256}, {copied.bytes} bytes)")


@bodyworn_app.command("docks")
def docks(
    scan: Annotated[bool, typer.Option("--scan", help="Scan the dock folders once now.")] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """What the dock folders hold and how far each file got."""
    cfg, db = _open(config)
    if scan:
        report = DockWatcher(Ingestor(db, cfg, SystemClock())).scan()
        for state in report.docks:
            if not state.online:
                err.print(f"[red]dock {state.dock_id}[/]: {escape(state.message)}")
    rows = dock_files(db)
    if as_json:
        _print_json(rows)
        return
    table = Table("dock", "path", "bytes", "status", "file", "message")
    for r in rows:
        table.add_row(
            r.dock, escape(r.path), str(r.bytes), r.status, str(r.file_id or ""), escape(r.message)
        )
    out.print(table)


# --- vms officers ------------------------------------------------------------------------


@officers_app.command("add")
def officer_add(
    badge: str,
    name: Annotated[str, typer.Option(help="Full name.")],
    unit: Annotated[str, typer.Option(help="Station, squad or department.")] = "",
    account: Annotated[
        str | None, typer.Option(help="The officer's vms user (sees their own files).")
    ] = None,
    user: LoginOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Register an officer."""
    _cfg, db = _open(config)
    view = officers.add_officer(
        db,
        SystemClock(),
        _actor(db, user, "officer registered"),
        badge,
        name,
        unit,
        username=account,
    )
    out.print(f"officer {view.badge} {escape(view.name)} ({escape(view.unit)})")


@officers_app.command("list")
def officer_list(
    unit: Annotated[str | None, typer.Option(help="Only this unit.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Officers and the recorder each holds now."""
    _cfg, db = _open(config, read_only=True)
    views = officers.list_officers(db, unit=unit)
    _print_rows(
        views, as_json, ("badge", "name", "unit", "account", "recorder", "active"),
        lambda v: (v.badge, escape(v.name), escape(v.unit), v.username or "", v.device or "",
                   "yes" if v.active else "no"),
    )  # fmt: skip


@officers_app.command("update")
def officer_update(
    badge: str,
    name: str | None = None,
    unit: str | None = None,
    account: Annotated[str | None, typer.Option(help="Link this vms user.")] = None,
    no_account: Annotated[bool, typer.Option("--no-account", help="Unlink the user.")] = False,
    active: Annotated[bool | None, typer.Option("--active/--inactive")] = None,
    user: LoginOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Change an officer's name, unit, account or whether they are active."""
    _cfg, db = _open(config)
    view = officers.update_officer(
        db, SystemClock(), _actor(db, user, "officer updated"), badge, name=name, unit=unit,
        username=account, unlink_user=no_account, active=active,
    )  # fmt: skip
    out.print(f"officer {view.badge}: {escape(view.name)}, {escape(view.unit)}")


# --- vms devices -------------------------------------------------------------------------


@devices_app.command("add")
def device_add(
    serial: str,
    model: str = "",
    note: str = "",
    user: LoginOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Register a recorder (it gets a lane on the playback timeline: bw.<serial>)."""
    cfg, db = _open(config)
    view = officers.add_device(
        db, SystemClock(), _actor(db, user, "recorder registered"), serial, model=model, note=note,
        retention_days=cfg.bodyworn.retention_days.default,
    )  # fmt: skip
    out.print(f"recorder {view.serial} ({view.camera_id})")


@devices_app.command("list")
def device_list(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Recorders and who holds each now."""
    _cfg, db = _open(config, read_only=True)
    views = officers.list_devices(db)
    if as_json:
        _print_json(views)
        return
    table = Table("serial", "model", "holder", "registered", "assignments")
    for v in views:
        table.add_row(
            v.serial, v.model, v.officer or "", "yes" if v.registered else "seen in a file",
            str(len(v.history)),
        )  # fmt: skip
    out.print(table)


@devices_app.command("show")
def device_show(serial: str, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """A recorder's assignment history."""
    _cfg, db = _open(config, read_only=True)
    view = officers.get_device(db, serial)
    if as_json:
        _print_json(view)
        return
    table = Table("officer", "name", "from (UTC)", "to (UTC)", "by", "reason")
    for a in view.history:
        table.add_row(
            a.badge, escape(a.officer), f"{a.start:%Y-%m-%d %H:%M}",
            f"{a.end:%Y-%m-%d %H:%M}" if a.end else "now", a.by, escape(a.reason),
        )  # fmt: skip
    out.print(f"recorder {view.serial} ({view.model or 'model unknown'})")
    out.print(table)


@devices_app.command("assign")
def device_assign(
    serial: str,
    badge: str,
    from_: Annotated[str | None, typer.Option("--from", help="Since, ISO 8601 (default now).")] = (
        None
    ),
    reason: Annotated[str, typer.Option("--reason", help="Why, for the audit log.")] = "issued",
    user: LoginOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Give a recorder to an officer (the current holder's assignment ends)."""
    _cfg, db = _open(config)
    view = officers.assign(
        db,
        SystemClock(),
        _actor(db, user, reason),
        serial,
        badge,
        start=parse_when(from_, "--from"),
    )
    out.print(f"recorder {view.serial} -> {view.officer}")


@devices_app.command("return")
def device_return(
    serial: str,
    at: Annotated[str | None, typer.Option("--at", help="When, ISO 8601 (default now).")] = None,
    reason: Annotated[str, typer.Option("--reason", help="Why, for the audit log.")] = "returned",
    user: LoginOpt = None,
    config: ConfigOpt = None,
) -> None:
    """A recorder comes back to the station."""
    _cfg, db = _open(config)
    officers.unassign(
        db, SystemClock(), _actor(db, user, reason), serial, end=parse_when(at, "--at")
    )
    out.print(f"recorder {serial} returned")


@devices_app.command("shift")
def device_shift(
    serial: str,
    name: Annotated[str, typer.Option(help="The shift's name.")],
    from_: Annotated[str, typer.Option("--from", help="Start, ISO 8601.")],
    to: Annotated[str, typer.Option(help="End, ISO 8601.")],
    officer: Annotated[str | None, typer.Option(help="Badge (default: the holder).")] = None,
    user: LoginOpt = None,
    config: ConfigOpt = None,
) -> None:
    """A duty shift a recorder is issued for: footage is expected from it."""
    _cfg, db = _open(config)
    view = officers.add_shift(
        db, SystemClock(), _actor(db, user, "duty roster"), serial, name,
        _required(from_, "--from"), _required(to, "--to"), badge=officer,
    )  # fmt: skip
    out.print(f"shift {view.id} {escape(view.name)}: {view.serial}, {view.badge or 'nobody'}")


@devices_app.command("shifts")
def device_shifts(
    device: Annotated[str | None, typer.Option(help="Recorder serial.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Duty shifts and whether each raised 'no footage'."""
    _cfg, db = _open(config, read_only=True)
    views = officers.list_shifts(db, serial=device)
    head = ("id", "name", "recorder", "officer", "from (UTC)", "to (UTC)", "no footage")
    _print_rows(
        views, as_json, head,
        lambda v: (str(v.id), escape(v.name), v.serial, v.badge or "", f"{v.start:%Y-%m-%d %H:%M}",
                   f"{v.end:%Y-%m-%d %H:%M}", f"alert {v.event_id}" if v.event_id else ""),
    )  # fmt: skip
