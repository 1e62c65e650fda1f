"""``vms retention``: deleting old footage (never held footage)."""

from __future__ import annotations

from typing import Annotated

import typer

from vms.cli_common import ConfigOpt, JsonOpt, emit_json, err, out
from vms.clock import SystemClock
from vms.evidence import retention
from vms.evidence.cli.actor import LoginOpt, audited

retention_app = typer.Typer(help="Deleting old footage (never held footage).", no_args_is_help=True)


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would go.")] = False,
    login: LoginOpt = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (audit log).")] = "retention run",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete expired footage, then the oldest unheld footage while above the high-water mark."""
    with audited(config, login, reason, read_only=dry_run) as (cfg, db, who):
        report = retention.run_retention(db, cfg, SystemClock(), dry_run=dry_run, actor=who)
    if as_json:
        emit_json(report)
        return
    verb = "would delete" if dry_run else "deleted"
    for d in report.deleted:
        out.print(f"{verb} {d.camera} {d.path} ({d.why}, {d.bytes} bytes)")
    pct = 100 * report.usage.used / max(report.usage.total, 1)
    out.print(
        f"{verb} {len(report.deleted)} segment(s), {report.freed_bytes} bytes; "
        f"{len(report.kept_held)} kept under hold; storage {pct:.1f} % used "
        f"(mark {100 * report.limit / max(report.usage.total, 1):.0f} %)",
        highlight=False,
    )
    if report.over_limit:
        err.print(
            "[red]CRITICAL[/]: still above the high-water mark; only held footage is left"
            + (f" (alert raised for {', '.join(report.alerts)})" if report.alerts else ""),
            highlight=False,
        )
