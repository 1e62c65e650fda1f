"""``vms evidence``: evidence items (clips, events), signed exports, offline verification;
``vms evidence keys`` is its own module."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from vms.cli_common import (
    ConfigOpt,
    JsonOpt,
    cli_database,
    emit,
    emit_json,
    err,
    fmt,
    load_cli_config,
    out,
    parse_time,
)
from vms.clock import SystemClock
from vms.errors import SigningError
from vms.evidence import export, items, signing, trust
from vms.evidence.cli.actor import LoginOpt, ReasonOpt, audited
from vms.evidence.cli.keys import keys_app

evidence_app = typer.Typer(
    help="Evidence items (clips, events), signed exports and offline verification.",
    no_args_is_help=True,
)
evidence_app.add_typer(keys_app, name="keys")


def print_items(rows: list[items.ItemView]) -> None:
    table = Table("item", "kind", "camera", "start (UTC)", "end (UTC)", "file", "sha256", "gaps")
    for i in rows:
        gaps = f"{len(i.gaps)} gap(s)" if i.gaps else ""
        table.add_row(
            str(i.id),
            i.kind,
            i.camera_id,
            i.start.isoformat(),
            i.end.isoformat(),
            fmt(i.path),
            (i.sha256 or "")[:16],
            gaps,
            style="red" if i.gaps else None,
        )
    out.print(table)


def print_item(i: items.ItemView) -> None:
    out.print(
        f"item {i.id} ({i.kind}) in case {i.case_number}: {i.camera_id} "
        f"{i.start.isoformat()} to {i.end.isoformat()}\n"
        f"  file {fmt(i.path)}\n  sha256 {fmt(i.sha256)}",
        highlight=False,
    )
    if i.sources:
        out.print(f"  cut from {len(i.sources)} segment(s), hashes verified", highlight=False)
    for g in i.gaps:
        err.print(
            f"[yellow]WARNING[/]: not recorded from {g['start']} to {g['end']} "
            f"({g['seconds']} s): {g['reason']}",
            highlight=False,
        )


@evidence_app.command("add-clip")
def evidence_add_clip(
    case: Annotated[str, typer.Argument(help="Case number.")],
    camera: Annotated[str, typer.Option(help="Camera id.")],
    from_: Annotated[str, typer.Option("--from", help="Start, ISO 8601 (UTC if no zone).")],
    to: Annotated[str, typer.Option("--to", help="End, ISO 8601 (UTC if no zone).")],
    reason: ReasonOpt,
    note: Annotated[str, typer.Option(help="Free text kept with the item.")] = "",
    refuse_gaps: Annotated[
        bool, typer.Option("--refuse-gaps", help="Fail if part of the range was not recorded.")
    ] = False,
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Cut a clip (remuxed, not re-encoded) into a case; its footage and file are held."""
    start, end = parse_time(from_, "--from"), parse_time(to, "--to")
    with audited(config, login, reason) as (cfg, db, who):
        item = items.add_clip(
            db, cfg, SystemClock(), who, case, camera, start, end,
            note=note, allow_gaps=not refuse_gaps,
        )  # fmt: skip
    emit_json(item) if as_json else print_item(item)


@evidence_app.command("add-event")
def evidence_add_event(
    case: Annotated[str, typer.Argument(help="Case number.")],
    event: Annotated[int, typer.Argument(help="Event id.")],
    reason: ReasonOpt,
    note: Annotated[str, typer.Option(help="Free text kept with the item.")] = "",
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Link an event (and its snapshot, if any) to a case; its footage is held."""
    with audited(config, login, reason) as (cfg, db, who):
        item = items.add_event(db, cfg, SystemClock(), who, case, event, note=note)
    emit_json(item) if as_json else print_item(item)


@evidence_app.command("list")
def evidence_list(
    case: Annotated[str, typer.Argument(help="Case number.")],
    deleted: Annotated[bool, typer.Option("--deleted", help="Include deleted items.")] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List a case's evidence items."""
    with cli_database(config, read_only=True) as (_cfg, db):
        rows = items.list_items(db, case, include_deleted=deleted)
    emit_json(rows) if as_json else print_items(rows)


@evidence_app.command("view")
def evidence_view(
    item: Annotated[int, typer.Argument(help="Evidence item id.")],
    reason: ReasonOpt,
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check an item's file, log the view, and print the file's path for playback."""
    with audited(config, login, reason, read_only=True) as (cfg, db, who):
        view, path = items.view_item(db, cfg, SystemClock(), who, item)
    if as_json:
        emit_json(items.ViewedItem(**vars(view), file=str(path) if path else None))
        return
    print_item(view)
    if path:
        out.print(str(path.resolve()), highlight=False)


@evidence_app.command("delete")
def evidence_delete(
    item: Annotated[int, typer.Argument(help="Evidence item id.")],
    reason: ReasonOpt,
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete an item's file (refused while it is under legal hold)."""
    with audited(config, login, reason) as (cfg, db, who):
        view = items.delete_item(db, cfg, SystemClock(), who, item)
    emit(view, as_json, f"item {view.id} deleted ({fmt(view.path)})")


@evidence_app.command("export")
def evidence_export(
    case: Annotated[str, typer.Argument(help="Case number.")],
    out_dir: Annotated[Path, typer.Option("--out", help="New folder for the package.")],
    reason: ReasonOpt,
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a signed package: clips, snapshots, manifest.json and its signature."""
    with audited(config, login, reason) as (cfg, db, who):
        res = export.export_case(db, cfg, SystemClock(), who, case, out_dir)
    if as_json:
        emit_json(res)
        return
    out.print(
        f"exported case {case} to {res.path}: {res.files} file(s), {res.bytes} bytes\n"
        f"  manifest sha256 {res.manifest_sha256}\n"
        f"  signing key fingerprint {res.key_fingerprint}",
        highlight=False,
    )


@evidence_app.command("verify")
def evidence_verify(
    package: Annotated[Path, typer.Argument(help="Export package: its folder or its zip.")],
    public_key: Annotated[
        Path | None, typer.Option("--public-key", help="Trusted public key (PEM) to check against.")
    ] = None,
    trust_file: Annotated[
        list[Path] | None,
        typer.Option(
            "--trust",
            help="Known keys: the bureau's published key registry (JSON), PEM public keys, or "
            "fingerprint lines. Repeat for more.",
        ),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Trust this installation's published keys."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a package offline: who signed it, the signature, every file; exit 1 naming each
    problem. Without --public-key, --trust or --config the signer cannot be trusted (exit 1)."""
    store = trust.TrustStore()
    if public_key is not None:
        try:
            store.add_pem(public_key.read_bytes(), f"--public-key {public_key}")
        except OSError as exc:
            raise SigningError(f"cannot read the trusted key {public_key}: {exc.strerror}") from exc
    for path in trust_file or []:
        store.add_file(path)
    if config is not None:
        store.add_installation(signing.keys_dir(load_cli_config(config)))
    report = export.verify_package(package, trust=store)
    if as_json:
        emit_json(report.to_dict())
    else:
        for p in report.problems:
            out.print(f"[red]{p.kind.upper()}[/] {escape(p.path)}: {escape(p.message)}",
                      highlight=False)  # fmt: skip
        verdict = "[green]OK[/]" if report.ok else "[red]FAILED[/]"
        out.print(
            f"{verdict}: case {escape(fmt(report.case_number))}, {report.ok_files} file(s) "
            f"intact, {len(report.problems)} problem(s)",
            highlight=False,
        )
        out.print(escape(report.signer()), highlight=False)
    if not report.ok:
        raise typer.Exit(1)
