"""``vms audit``: the tamper-evident audit log: verify, list, head. Every command only reads."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from vms.cli_common import ConfigOpt, JsonOpt, cli_database, emit_json, fmt, out, parse_when
from vms.evidence import audit

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Check the audit log's hash chain; exit 1 naming each edited, inserted or deleted entry."""
    with cli_database(config, read_only=True) as (_cfg, db):
        report = audit.verify_chain(db)
    if as_json:
        emit_json(report)
    else:
        for p in report.problems:
            out.print(f"[red]{p.kind.upper()}[/] {p.message}", highlight=False)
        verdict = "[green]OK[/]" if report.ok else "[red]FAILED[/]"
        out.print(
            f"{verdict}: {report.entries} entries, head {report.head.seq} {report.head.hash}",
            highlight=False,
        )
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("list")
def audit_list(
    case: Annotated[str | None, typer.Option(help="Only entries of this case.")] = None,
    action: Annotated[str | None, typer.Option(help="create, view, export, hold, ...")] = None,
    object_: Annotated[
        str | None, typer.Option("--object", help="TYPE or TYPE:ID, e.g. item:12")
    ] = None,
    since: Annotated[str | None, typer.Option(help="From this time, ISO 8601.")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the newest N entries.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show audit entries, oldest first."""
    otype, _sep, oid = (object_ or "").partition(":")
    after = parse_when(since, "--since")
    with cli_database(config, read_only=True) as (_cfg, db):
        rows = audit.list_entries(
            db,
            case_number=case,
            object_type=otype or None,
            object_id=oid or None,
            action=action,
            since=after,
            limit=limit,
        )
    if as_json:
        emit_json([audit.AuditEntryView.of(e) for e in rows])
        return
    table = Table("seq", "at (UTC)", "user", "action", "object", "case", "reason")
    for e in rows:
        table.add_row(
            str(e.seq),
            e.at.isoformat(),
            e.actor,
            e.action,
            f"{e.object_type}:{e.object_id}",
            fmt(e.case_number),
            e.reason,
        )
    out.print(table)


@audit_app.command("head")
def audit_head(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Print the chain head (sequence and hash): write it down elsewhere to anchor the log."""
    with cli_database(config, read_only=True) as (_cfg, db):
        seq, digest = audit.chain_head(db)
    if as_json:
        emit_json(audit.ChainHead(seq=seq, hash=digest))
    else:
        out.print(f"{seq} {digest}", highlight=False)
