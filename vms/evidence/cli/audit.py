"""``vms audit``: the tamper-evident audit log: verify (with anchors), anchor, list, head.
None of them changes the database (``anchor`` writes the installation's checkpoint file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from vms.cli_common import ConfigOpt, JsonOpt, cli_database, emit_json, fmt, out, parse_when
from vms.clock import SystemClock
from vms.evidence import anchors, audit
from vms.vocab import jsonable

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify(
    anchor: Annotated[
        list[Path] | None,
        typer.Option(
            "--anchor",
            help="A head written down elsewhere: a checkpoint file, an export package (folder, "
            "zip or manifest.json) or `vms audit head` lines. Repeat for more. The "
            "installation's own checkpoint file is always checked.",
        ),
    ] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check the audit log's hash chain and that it still reaches every anchored head; exit 1
    naming each edited, inserted, deleted or truncated entry."""
    with cli_database(config, read_only=True) as (cfg, db):
        found, keys_of_installation = anchors.installation_anchors(cfg)
        for path in anchor or []:
            found += anchors.read_anchors(path)
        report = anchors.verify_with_anchors(db, found, keys_of_installation)
    if as_json:
        emit_json(jsonable(report) | {"anchors": [a.to_dict() for a in found]})
    else:
        for p in report.problems:
            out.print(f"[red]{p.kind.upper()}[/] {escape(p.message)}", highlight=False)
        verdict = "[green]OK[/]" if report.ok else "[red]FAILED[/]"
        newest = max((a.seq for a in found), default=0)
        out.print(
            f"{verdict}: {report.entries} entries, head {report.head.seq} {report.head.hash}; "
            f"{len(found)} anchor(s) checked"
            + (f", the newest at entry {newest}" if found else ""),
            highlight=False,
        )
    if not report.ok:
        raise typer.Exit(1)


@audit_app.command("anchor")
def audit_anchor(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Write a signed checkpoint of the chain head to the installation's anchor file now."""
    with cli_database(config, read_only=True) as (cfg, db):
        made = anchors.write_checkpoint(db, cfg, SystemClock(), force=True)
    where = anchors.anchors_path(cfg)
    if as_json:
        emit_json({"anchor": made.to_dict() if made else None, "file": str(where)})
    elif made is None:
        out.print("the audit log is empty: nothing to anchor", highlight=False)
    else:
        out.print(f"anchored entry {made.seq} {made.hash} in {where}", highlight=False)


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
