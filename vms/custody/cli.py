"""``vms custody``: the custody ledger, alerts and the auditor's interview report."""

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
from rich.table import Table

from vms.cli_identity import LoginOpt, identify
from vms.clock import SystemClock, utc
from vms.config import Config, demo_config, load_config
from vms.custody.config import RiskLevel
from vms.custody.job import run_custody_checks
from vms.custody.report import export_interview, interview_report
from vms.custody.rules import Officer
from vms.custody.service import CustodyService
from vms.custody.views import AlertView, CheckView, InterviewView, PersonView
from vms.evidence.audit import append
from vms.vocab import jsonable

custody_app = typer.Typer(
    help="Custody areas: people held, interviews, observation checks, alerts.",
    no_args_is_help=True,
)
out = Console(width=None if sys.stdout.isatty() else 200)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Configuration file (default: $VMS_CONFIG, else the demo configuration in ./data).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
ByOpt = Annotated[str, typer.Option("--by", help="Who makes this entry (user name).")]
AtOpt = Annotated[
    str | None,
    typer.Option("--at", help="When it happened, ISO 8601 (UTC if no zone); default: now."),
]
NoteOpt = Annotated[str | None, typer.Option("--note", help="A note kept with the entry.")]


def _config(path: Path | None) -> Config:
    if path is None and os.environ.get("VMS_CONFIG"):
        path = Path(os.environ["VMS_CONFIG"])
    return load_config(path) if path is not None else demo_config()


@contextmanager
def _service(path: Path | None) -> Iterator[CustodyService]:
    from vms.app import prepare  # the composition root imports this package

    config = _config(path)
    db = prepare(config)
    try:
        yield CustodyService(db, config, SystemClock())
    finally:
        db.dispose()


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time", param_hint="--at") from exc


def _t(at: datetime | None) -> str:
    return at.isoformat()[:19] if at is not None else "-"


def _officer(text: str) -> Officer:
    name, sep, badge = text.rpartition(":")
    if not sep or not name.strip() or not badge.strip():
        raise typer.BadParameter(
            f"expected NAME:BADGE (e.g. 'Li Wei:031245'), got {text!r}", param_hint="--officer"
        )
    return Officer(name.strip(), badge.strip())


def _emit(data: object, as_json: bool, text: str) -> None:
    if as_json:
        print(json.dumps(jsonable(data)))
    else:
        out.print(text, highlight=False)


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
    _emit(
        PersonView.model_validate(p), as_json, f"person {p.id} {p.name} entered {p.room_id}{flag}"
    )


@custody_app.command()
def move(
    person: Annotated[int, typer.Argument(help="Person id.")],
    room: Annotated[str, typer.Option(help="Room id (or unique name).")],
    by: ByOpt,
    at: AtOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Move a person held to another room."""
    with _service(config) as svc:
        p = svc.move(person, room=room, by=by, at=_when(at))
    _emit(PersonView.model_validate(p), as_json, f"person {p.id} {p.name} now in {p.room_id}")


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
    _emit(InterviewView.model_validate(iv), as_json, f"interview {iv.id} started in {iv.room_id}")


@custody_app.command("interview-end")
def interview_end(
    interview: Annotated[int, typer.Argument(help="Interview id.")],
    by: ByOpt,
    note: NoteOpt = None,
    at: AtOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """End an interview; its recording continuity is checked."""
    with _service(config) as svc:
        iv = svc.end_interview(interview, by=by, note=note, at=_when(at))
    text = f"interview {iv.id} ended; recording " + (
        f"[red]INCOMPLETE ({len(iv.gaps)} gap(s))[/]" if iv.recording_incomplete else "continuous"
    )
    _emit(InterviewView.model_validate(iv), as_json, text)


@custody_app.command()
def check(
    person: Annotated[int, typer.Argument(help="Person id.")],
    by: ByOpt,
    note: NoteOpt = None,
    at: AtOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record an observation round of a person held."""
    with _service(config) as svc:
        c = svc.record_check(person, by=by, note=note, at=_when(at))
    _emit(
        CheckView.model_validate(c),
        as_json,
        f"check {c.id} of person {c.person_id} at {c.at.isoformat()}",
    )


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
    _emit(PersonView.model_validate(p), as_json, f"person {p.id} {p.name}: risk {p.risk}")


@custody_app.command()
def ack(
    alert: Annotated[int, typer.Argument(help="Alert id.")],
    by: ByOpt,
    note: Annotated[str, typer.Option(help="What was done (required).")],
    at: AtOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Acknowledge an alert (stops its escalation)."""
    with _service(config) as svc:
        a = svc.acknowledge(alert, by=by, note=note, at=_when(at))
    _emit(
        AlertView.of(a, svc.config.custody.escalation),
        as_json,
        f"alert {a.id} acknowledged by {a.acknowledged_by}",
    )


@custody_app.command("exit")
def exit_(
    person: Annotated[int, typer.Argument(help="Person id.")],
    by: ByOpt,
    note: NoteOpt = None,
    at: AtOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Register a person's release."""
    with _service(config) as svc:
        p = svc.exit(person, by=by, note=note, at=_when(at))
    _emit(PersonView.model_validate(p), as_json, f"person {p.id} {p.name} released")


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
        _emit(report, True, "")
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
    reason: Annotated[
        str,
        typer.Option(
            "--reason", help="Why (audit log); required with --export: custody-room footage."
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
    why = reason.strip()
    if export is not None and not why:
        raise typer.BadParameter(
            "exporting an interview's footage (custody room) needs a reason for the audit log",
            param_hint="--reason",
        )
    with _service(config) as svc:
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
        _emit(result, True, "")
    else:
        out.print(result.to_text(svc.config.texts()), highlight=False, markup=False)
    if result.hash_state == "failed":  # a segment still being written is not a failure
        raise typer.Exit(1)


@custody_app.command("run-checks")
def run_checks(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Run every custody rule once now (`vms serve` does this periodically)."""
    with _service(config) as svc:
        r = run_custody_checks(svc.db, svc.config, svc.clock, layout=svc.layout)
    data = {
        "at": r.at.isoformat(),
        "raised": r.raised,
        "cleared": r.cleared,
        "escalated": r.escalated,
        "video_checks": r.video_checks,
    }
    _emit(data, as_json, f"{r.raised} raised, {r.cleared} cleared, {r.escalated} escalated")
