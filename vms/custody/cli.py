"""``vms custody``: the custody ledger, alerts and the auditor's interview report."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from vms.cli_common import ConfigOpt, JsonOpt, cli_database, emit, emit_json, out, parse_when
from vms.cli_identity import LoginOpt, identify
from vms.clock import SystemClock
from vms.custody.config import RiskLevel
from vms.custody.job import run_custody_checks
from vms.custody.report import export_interview, interview_report
from vms.custody.rules import Officer
from vms.custody.service import CustodyService
from vms.custody.views import AlertView, CheckView, InterviewView, PersonView
from vms.evidence.audit import append

custody_app = typer.Typer(
    help="Custody areas: people held, interviews, observation checks, alerts.",
    no_args_is_help=True,
)

ByOpt = Annotated[str, typer.Option("--by", help="Who makes this entry (user name).")]
AtOpt = Annotated[
    str | None,
    typer.Option("--at", help="When it happened, ISO 8601 (UTC if no zone); default: now."),
]
NoteOpt = Annotated[str | None, typer.Option("--note", help="A note kept with the entry.")]


@contextmanager
def _service(path: Path | None, *, read_only: bool = False) -> Iterator[CustodyService]:
    with cli_database(path, read_only=read_only) as (config, db):
        yield CustodyService(db, config, SystemClock())


def _when(value: str | None) -> datetime | None:
    return parse_when(value, "--at")


def _t(at: datetime | None) -> str:
    return at.isoformat()[:19] if at is not None else "-"


def _officer(text: str) -> Officer:
    name, sep, badge = text.rpartition(":")
    if not sep or not name.strip() or not badge.strip():
        raise typer.BadParameter(
            f"expected NAME:BADGE (e.g. 'Li Wei:031245'), got {text!r}", param_hint="--officer"
        )
    return Officer(name.strip(), badge.strip())


@custody_app.command()
def enter(
    name: Annotated[str, typer.Option(help="Full name of the person brought in.")],
    reason: Annotated[str, typer.Option(help="Why the person is held.")],
    basis: Annotated[
        str, typer.Option(help="Legal basis key: summons, summons_serious, custom, ...")
    ],
    room: Annotated[str, typer.Option(help="Room id (or unique name) the person is taken to.")],
    by: ByOpt,
    id_number: Annotated[str | None, typer.Option(help="ID document number.")] = None,
    case: Annotated[str | None, typer.Option("--case", help="Case number.")] = None,
    risk: Annotated[RiskLevel, typer.Option(help="Risk level.")] = RiskLevel.NORMAL,
    limit_h: Annotated[
        float | None, typer.Option(help="Legal limit in hours (basis 'custom' only).")
    ] = None,
    at: AtOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a person entering the custody area."""
    with _service(config) as svc:
        p = svc.enter(
            name=name,
            reason=reason,
            basis=basis,
            room=room,
            by=by,
            id_number=id_number,
            case_number=case,
            risk=risk,
            limit_h=limit_h,
            at=_when(at),
        )
    flag = " [red]re-summons within the minimum interval[/]" if "resummons" in p.flags else ""
    emit(PersonView.model_validate(p), as_json, f"person {p.id} {p.name} entered {p.room_id}{flag}")


@custody_app.command()
def move(
    person: Annotated[int, typer.Argument(help="Person id.")],
    by: ByOpt,
    room: Annotated[str, typer.Option(help="Room id (or unique name) the person goes to.")],
    at: AtOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move a person held to another room."""
    with _service(config) as svc:
        p = svc.move(person, room=room, by=by, at=_when(at))
    emit(PersonView.model_validate(p), as_json, f"person {p.id} {p.name} now in {p.room_id}")


@custody_app.command("interview-start")
def interview_start(
    person: Annotated[int, typer.Argument(help="Person id.")],
    officer: Annotated[
        list[str], typer.Option(help="An officer present, NAME:BADGE; repeat for each.")
    ],
    by: ByOpt,
    room: Annotated[
        str | None, typer.Option(help="Interview room (default: the person's room).")
    ] = None,
    at: AtOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Start an interrogation or inquiry."""
    officers = [_officer(o) for o in officer]
    with _service(config) as svc:
        iv = svc.start_interview(person, officers=officers, by=by, room=room, at=_when(at))
    emit(InterviewView.model_validate(iv), as_json, f"interview {iv.id} started in {iv.room_id}")


@custody_app.command()
def risk(
    person: Annotated[int, typer.Argument(help="Person id.")],
    level: Annotated[RiskLevel, typer.Argument(help="New risk level.")],
    by: ByOpt,
    at: AtOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Change a person's risk level (and so the observation interval)."""
    with _service(config) as svc:
        p = svc.set_risk(person, level, by=by, at=_when(at))
    emit(PersonView.model_validate(p), as_json, f"person {p.id} {p.name}: risk {p.risk}")


# --- entries about one person or interview: by whom, a note, when ----------------------

#: (service, the id given, by, note, at) -> (the view printed with --json, the line shown)
Entry = Callable[[CustodyService, int, str, str | None, datetime | None], tuple[object, str]]


def _entry_command(
    name: str, doc: str, target: str, entry: Entry, *, note_required: str | None = None
) -> None:
    """Register ``vms custody NAME ID --by WHO [--note ...] [--at ...]``; with
    ``note_required`` (its help) the note must be given."""

    def command(
        target_id: int, by: ByOpt, note: NoteOpt = None, at: AtOpt = None,
        config: ConfigOpt = None, as_json: JsonOpt = False,
    ) -> None:  # fmt: skip
        with _service(config) as svc:
            view, text = entry(svc, target_id, by, note, _when(at))
        emit(view, as_json, text)

    # A real annotation object (this module's annotations are strings, resolved globally).
    command.__annotations__["target_id"] = Annotated[
        int, typer.Argument(help=f"{target} id.", metavar=target.upper())
    ]
    if note_required is not None:
        command.__annotations__["note"] = Annotated[str, typer.Option(help=note_required)]
        command.__defaults__ = (None, None, False)  # at, config, as_json; note is required
    command.__doc__ = doc
    custody_app.command(name)(command)


def _interview_end(
    svc: CustodyService, interview: int, by: str, note: str | None, at: datetime | None
) -> tuple[object, str]:
    iv = svc.end_interview(interview, by=by, note=note, at=at)
    text = f"interview {iv.id} ended; recording " + (
        f"[red]INCOMPLETE ({len(iv.gaps)} gap(s))[/]" if iv.recording_incomplete else "continuous"
    )
    return InterviewView.model_validate(iv), text


def _check(
    svc: CustodyService, person: int, by: str, note: str | None, at: datetime | None
) -> tuple[object, str]:
    c = svc.record_check(person, by=by, note=note, at=at)
    text = f"check {c.id} of person {c.person_id} at {c.at.isoformat()}"
    return CheckView.model_validate(c), text


def _exit(
    svc: CustodyService, person: int, by: str, note: str | None, at: datetime | None
) -> tuple[object, str]:
    p = svc.exit(person, by=by, note=note, at=at)
    return PersonView.model_validate(p), f"person {p.id} {p.name} released"


def _ack(
    svc: CustodyService, alert: int, by: str, note: str | None, at: datetime | None
) -> tuple[object, str]:
    a = svc.acknowledge(alert, by=by, note=note or "", at=at)
    return AlertView.of(
        a, svc.config.custody.escalation
    ), f"alert {a.id} acknowledged by {a.acknowledged_by}"


_entry_command(
    "interview-end", "End an interview; its recording continuity is checked.", "Interview",
    _interview_end,
)  # fmt: skip
_entry_command("check", "Record an observation round of a person held.", "Person", _check)
_entry_command("exit", "Register a person's release.", "Person", _exit)
_entry_command(
    "ack", "Acknowledge an alert (stops its escalation).", "Alert", _ack,
    note_required="What was done (required).",
)  # fmt: skip


@custody_app.command()
def status(
    site: Annotated[str | None, typer.Option(help="Only this site.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """People held, interviews in progress and open alerts."""
    with _service(config) as svc:
        run_custody_checks(svc.db, svc.config, svc.clock, layout=svc.layout)
        report = svc.status(site)
    if as_json:
        emit_json(report)
        return
    people = Table("id", "name", "room", "basis", "entered", "min left", "risk", "next check")
    for p in report.held:
        left = p.minutes_left
        people.add_row(
            str(p.id),
            p.name,
            p.room,
            p.legal_basis,
            _t(p.entered_at),
            f"{left:.0f}",
            p.risk,
            _t(p.next_check_due),
            style="red" if left <= 0 else None,
        )
    out.print(f"[bold]held[/] ({len(report.held)})")
    out.print(people)
    for iv in report.interviews:
        names = ", ".join(f"{o['name']} ({o['badge']})" for o in iv.officers)
        out.print(
            f"interview {iv.id}: person {iv.person} in {iv.room} since "
            f"{_t(iv.started_at)} with {names}"
        )
    alerts = Table("id", "level", "severity", "type", "raised", "state", "message")
    for a in report.alerts:
        state = "active" if a.cleared_at is None else "cleared"
        state += ", acknowledged" if a.ack_at else ""
        alerts.add_row(
            str(a.id),
            str(a.level),
            a.severity,
            a.type,
            _t(a.raised_at),
            state,
            a.message,
            style="red" if a.severity == "critical" and not a.ack_at else None,
        )
    out.print(f"[bold]alerts[/] ({len(report.alerts)})")
    out.print(alerts)


@custody_app.command()
def interview(
    interview_id: Annotated[int, typer.Argument(metavar="ID", help="Interview id.")],
    report: Annotated[
        bool, typer.Option("--report", help="Print the continuity and hash report (always done).")
    ] = False,
    export: Annotated[
        Path | None,
        typer.Option("--export", help="Write one MP4 per camera and the report into DIR."),
    ] = None,
    court_copy: Annotated[
        Path | None,
        typer.Option(
            "--court-copy",
            metavar="OUT.mp4",
            help="Render the court copy (picture-in-picture, time burned in, H.264 + AAC) to "
            "OUT.mp4, with the original segments and a signed manifest in OUT-package/.",
        ),
    ] = None,
    reason: Annotated[
        str,
        typer.Option(
            "--reason",
            help="Why (audit log); required with --export and --court-copy: custody-room footage.",
        ),
    ] = "",
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The auditor's report of an interview: every segment, each gap, the hash check.

    Audited: the report as a view of the interview, ``--export`` (its footage) as an export,
    which needs ``--reason`` like custody footage does on the web."""
    del report  # the report is always printed; the flag only says so
    if court_copy is not None:
        _court_copy(interview_id, court_copy, reason, login, config, as_json)
        return
    why = reason.strip()
    if export is not None and not why:
        raise typer.BadParameter(
            "exporting an interview's footage (custody room) needs a reason for the audit log",
            param_hint="--reason",
        )
    with _service(config, read_only=True) as svc:
        now = svc.clock.now()
        who = identify(svc.db, login)
        if export is not None:
            result = export_interview(svc.db, svc.config, interview_id, export, now)
            files = [
                {"camera": e.camera, "path": e.path, "sha256": e.sha256, "bytes": e.bytes}
                for e in result.exports
                if e.path
            ]
            try:
                with svc.db.session() as s:
                    append(s, svc.clock, who.actor(why), "export", "interview", interview_id,
                           details={"what": "interview export", "out": str(export.resolve()),
                                    "files": files})  # fmt: skip
            except BaseException:
                for f in files:  # no footage leaves without its entry
                    Path(str(f["path"])).unlink(missing_ok=True)
                raise
        else:
            result = interview_report(svc.db, svc.config, interview_id, now, layout=svc.layout)
            with svc.db.session() as s:
                append(s, svc.clock, who.actor(why or "interview continuity report"), "view",
                       "interview", interview_id, details={"what": "interview report"})  # fmt: skip
    if as_json:
        emit_json(result)
    else:
        out.print(result.to_text(svc.config.texts()), highlight=False, markup=False)
    if result.hash_state == "failed":  # a segment still being written is not a failure
        raise typer.Exit(1)


def _court_copy(
    interview_id: int,
    out_path: Path,
    reason: str,
    login: str | None,
    config: Path | None,
    as_json: bool,
) -> None:
    from vms.custody.courtcopy import make_court_copy

    if not reason.strip():
        raise typer.BadParameter(
            "a court copy is custody footage: a reason is required for the audit log",
            param_hint="--reason",
        )
    progress = Progress(
        TextColumn("court copy of interview {task.fields[iv]}"),
        BarColumn(),
        TextColumn("{task.completed:.0f} / {task.total:.0f} s of recording"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=as_json,
    )
    with _service(config) as svc, progress:
        actor = identify(svc.db, login).actor(reason.strip())
        task = progress.add_task("render", total=1.0, iv=interview_id)

        def advance(done: float, total: float) -> None:
            progress.update(task, completed=done, total=total)

        result = make_court_copy(
            svc.db,
            svc.config,
            svc.clock,
            actor,
            interview_id,
            out_path,
            progress=advance,
            layout=svc.layout,
        )
    gaps = len(result.gaps)
    emit(
        result.to_dict(),
        as_json,
        f"court copy {result.path} ({result.seconds:.0f} s, {result.width}x{result.height}, "
        f"sha256 {result.sha256}); DERIVED copy, originals and signed manifest in "
        f"{result.package}; complete: {'yes' if result.complete else 'no'}"
        + (f", {gaps} gap(s) shown in the copy" if gaps else ""),
    )


@custody_app.command("run-checks")
def run_checks(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Run every custody rule once now (`vms serve` does this periodically)."""
    with _service(config) as svc:
        r = run_custody_checks(svc.db, svc.config, svc.clock, layout=svc.layout)
    emit(r, as_json, f"{r.raised} raised, {r.cleared} cleared, {r.escalated} escalated")
