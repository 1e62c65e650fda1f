"""Command groups ``vms cases``, ``vms evidence``, ``vms hold``, ``vms retention``, ``vms audit``.

Each command is a thin shell over the service functions the web app calls too. Audited
commands take ``--reason``; the actor is the OS user, or the vms user authenticated with
``--login`` or ``$VMS_TOKEN`` (vms.cli_identity), never a name typed in.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from vms.app import prepare
from vms.cli_identity import LoginOpt, identify
from vms.clock import SystemClock, utc
from vms.config import Config, demo_config, load_config
from vms.db.session import Database
from vms.errors import SigningError
from vms.evidence import (
    anchors,
    audit,
    cases,
    export,
    holds,
    items,
    keys,
    retention,
    signing,
    trust,
)
from vms.evidence.audit import Actor
from vms.vocab import jsonable

out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

cases_app = typer.Typer(help="Case files: create, list, show, close, assign.", no_args_is_help=True)
evidence_app = typer.Typer(
    help="Evidence items (clips, events), signed exports and offline verification.",
    no_args_is_help=True,
)
hold_app = typer.Typer(help="Legal holds on footage and evidence files.", no_args_is_help=True)
retention_app = typer.Typer(help="Deleting old footage (never held footage).", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Configuration file (default: $VMS_CONFIG, else the demo configuration in ./data).",
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable JSON output.")]
ReasonOpt = Annotated[str, typer.Option("--reason", help="Why, for the audit log (required).")]


def _config(path: Path | None) -> Config:
    if path is None and os.environ.get("VMS_CONFIG"):
        path = Path(os.environ["VMS_CONFIG"])
    return load_config(path) if path is not None else demo_config()


def _open(path: Path | None) -> tuple[Config, Database]:
    cfg = _config(path)
    return cfg, prepare(cfg)


def _actor(db: Database, login: str | None, reason: str) -> Actor:
    """Who runs this command (never a name typed in: see vms.cli_identity) and why."""
    if not reason.strip():
        raise typer.BadParameter("a reason is required for the audit log", param_hint="--reason")
    return identify(db, login).actor(reason)


def _when(value: str, name: str) -> datetime:
    try:
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time", param_hint=name) from exc


def _emit(data: object) -> None:
    print(json.dumps(jsonable(data), ensure_ascii=False))


def _fmt(value: str | None) -> str:
    return value or "-"


# --- cases ----------------------------------------------------------------------------


def _print_case(c: cases.CaseView) -> None:
    people = ", ".join(c.investigators) or "-"
    out.print(
        f"[bold]{c.number}[/] {c.title}  ({c.status})\n"
        f"  owner {c.owner}; investigators {people}\n"
        f"  opened {c.created_at.isoformat()} by {c.created_by}",
        highlight=False,
    )


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
    """Open a new case."""
    _cfg, db = _open(config)
    c = cases.create_case(
        db,
        SystemClock(),
        _actor(db, login, reason),
        number,
        title,
        owner=owner,
        investigators=investigator or (),
    )
    if as_json:
        _emit(c.to_dict())
    else:
        _print_case(c)


@cases_app.command("list")
def cases_list(
    status: Annotated[str | None, typer.Option(help="open or closed (default: all).")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List cases."""
    _cfg, db = _open(config)
    rows = cases.list_cases(db, status)
    if as_json:
        _emit([c.to_dict() for c in rows])
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
    _cfg, db = _open(config)
    clock = SystemClock()
    actor = identify(db, login).actor(reason or "case shown")
    c = cases.show_case(db, clock, actor, number)
    its = items.list_items(db, number)
    hs = holds.list_holds(db, clock.now(), case_number=number, include_released=True)
    if as_json:
        _emit(
            c.to_dict() | {"items": [i.to_dict() for i in its], "holds": [h.to_dict() for h in hs]}
        )
        return
    _print_case(c)
    _print_items(its)
    _print_holds(hs)


def _set_status(number: str, status: str, login: str | None, reason: str, path: Path | None) -> Any:
    _cfg, db = _open(path)
    return cases.set_status(db, SystemClock(), _actor(db, login, reason), number, status)


@cases_app.command("close")
def cases_close(
    number: str,
    reason: ReasonOpt,
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Close a case (its holds stay until released)."""
    c = _set_status(number, cases.CLOSED, login, reason, config)
    _emit(c.to_dict()) if as_json else _print_case(c)


@cases_app.command("reopen")
def cases_reopen(
    number: str,
    reason: ReasonOpt,
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reopen a closed case."""
    c = _set_status(number, cases.OPEN, login, reason, config)
    _emit(c.to_dict()) if as_json else _print_case(c)


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
    _cfg, db = _open(config)
    c = cases.assign(
        db,
        SystemClock(),
        _actor(db, login, reason),
        number,
        add=add or (),
        remove=remove or (),
        owner=owner,
    )
    _emit(c.to_dict()) if as_json else _print_case(c)


# --- evidence items -------------------------------------------------------------------


def _print_items(rows: list[items.ItemView]) -> None:
    table = Table("item", "kind", "camera", "start (UTC)", "end (UTC)", "file", "sha256", "gaps")
    for i in rows:
        gaps = f"{len(i.gaps)} gap(s)" if i.gaps else ""
        table.add_row(
            str(i.id),
            i.kind,
            i.camera_id,
            i.start.isoformat(),
            i.end.isoformat(),
            _fmt(i.path),
            (i.sha256 or "")[:16],
            gaps,
            style="red" if i.gaps else None,
        )
    out.print(table)


def _print_item(i: items.ItemView) -> None:
    out.print(
        f"item {i.id} ({i.kind}) in case {i.case_number}: {i.camera_id} "
        f"{i.start.isoformat()} to {i.end.isoformat()}\n"
        f"  file {_fmt(i.path)}\n  sha256 {_fmt(i.sha256)}",
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
    cfg, db = _open(config)
    item = items.add_clip(
        db,
        cfg,
        SystemClock(),
        _actor(db, login, reason),
        case,
        camera,
        _when(from_, "--from"),
        _when(to, "--to"),
        note=note,
        allow_gaps=not refuse_gaps,
    )
    _emit(item.to_dict()) if as_json else _print_item(item)


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
    cfg, db = _open(config)
    actor = _actor(db, login, reason)
    item = items.add_event(db, cfg, SystemClock(), actor, case, event, note=note)
    _emit(item.to_dict()) if as_json else _print_item(item)


@evidence_app.command("list")
def evidence_list(
    case: Annotated[str, typer.Argument(help="Case number.")],
    deleted: Annotated[bool, typer.Option("--deleted", help="Include deleted items.")] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List a case's evidence items."""
    _cfg, db = _open(config)
    rows = items.list_items(db, case, include_deleted=deleted)
    _emit([i.to_dict() for i in rows]) if as_json else _print_items(rows)


@evidence_app.command("view")
def evidence_view(
    item: Annotated[int, typer.Argument(help="Evidence item id.")],
    reason: ReasonOpt,
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Check an item's file, log the view, and print the file's path for playback."""
    cfg, db = _open(config)
    view, path = items.view_item(db, cfg, SystemClock(), _actor(db, login, reason), item)
    if as_json:
        _emit(view.to_dict() | {"file": str(path) if path else None})
        return
    _print_item(view)
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
    cfg, db = _open(config)
    view = items.delete_item(db, cfg, SystemClock(), _actor(db, login, reason), item)
    if as_json:
        _emit(view.to_dict())
    else:
        out.print(f"item {view.id} deleted ({_fmt(view.path)})", highlight=False)


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
    cfg, db = _open(config)
    res = export.export_case(db, cfg, SystemClock(), _actor(db, login, reason), case, out_dir)
    if as_json:
        _emit(res.to_dict())
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
        store.add_installation(signing.keys_dir(load_config(config)))
    report = export.verify_package(package, trust=store)
    if as_json:
        _emit(report.to_dict())  # computed fields (ok, trusted_key, signer) included
    else:
        for p in report.problems:
            out.print(f"[red]{p.kind.upper()}[/] {escape(p.path)}: {escape(p.message)}",
                      highlight=False)  # fmt: skip
        verdict = "[green]OK[/]" if report.ok else "[red]FAILED[/]"
        out.print(
            f"{verdict}: case {escape(_fmt(report.case_number))}, {report.ok_files} file(s) "
            f"intact, {len(report.problems)} problem(s)",
            highlight=False,
        )
        out.print(escape(report.signer()), highlight=False)
    if not report.ok:
        raise typer.Exit(1)


keys_app = typer.Typer(
    help="The export signing key: show, publish the key registry, rotate, revoke.",
    no_args_is_help=True,
)
evidence_app.add_typer(keys_app, name="keys")


def _print_keys(view: keys.KeysView) -> None:
    out.print(f"current signing key {view.current}\nregistry {view.folder / trust.REGISTRY}",
              highlight=False)  # fmt: skip
    table = Table("fingerprint", "label", "status", "published (UTC)", "retired / revoked")
    for k in view.keys:
        until = k.revoked_at or k.retired_at
        table.add_row(
            k.fingerprint,
            escape(k.label),
            k.status,
            k.published_at.isoformat(timespec="seconds") if k.published_at else "-",
            until.isoformat(timespec="seconds") if until else "-",
        )
    out.print(table)


@keys_app.command("show")
def keys_show(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """The current signing key's fingerprint and every key in the registry."""
    cfg = _config(config)
    view = keys.show_keys(cfg, SystemClock())
    _emit(view.to_dict()) if as_json else _print_keys(view)


@keys_app.command("publish")
def keys_publish(
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the registry (JSON).")],
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the key registry for the bureau to publish; verifiers give it with --trust."""
    view = keys.publish(_config(config), SystemClock(), out_file)
    if as_json:
        _emit(view.to_dict() | {"written": str(out_file)})
    else:
        out.print(f"wrote {len(view.keys)} key(s) to {out_file}; current {view.current}",
                  highlight=False)  # fmt: skip


@keys_app.command("rotate")
def keys_rotate(
    reason: ReasonOpt, login: LoginOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """Make a new signing key; the old one is retired (its packages still verify) and its
    private key destroyed. Publish the registry again afterwards."""
    cfg, db = _open(config)
    old, new = keys.rotate(
        db,
        cfg,
        SystemClock(),
        _actor(db, login, reason),
    )
    if as_json:
        _emit({"retired": old, "current": new})
    else:
        out.print(f"retired {old}\ncurrent {new}\npublish the registry again: "
                  "vms evidence keys publish --out FILE", highlight=False)  # fmt: skip


@keys_app.command("revoke")
def keys_revoke(
    fingerprint: Annotated[str, typer.Argument(help="SHA-256 fingerprint of a retired key.")],
    reason: ReasonOpt,
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Mark a retired key revoked (compromised): its packages no longer verify as trusted."""
    cfg, db = _open(config)
    key = keys.revoke(db, cfg, SystemClock(), _actor(db, login, reason), fingerprint)
    _emit(key.to_dict()) if as_json else out.print(f"revoked {key.fingerprint}", highlight=False)


# --- holds ----------------------------------------------------------------------------


def _print_holds(rows: list[holds.HoldView]) -> None:
    table = Table("hold", "kind", "case", "camera / item", "start (UTC)", "end (UTC)", "state")
    for h in rows:
        what = h.camera_id if h.kind == holds.RANGE else f"item {h.item_id}"
        state = f"released {h.released_at.isoformat()}" if h.released_at else "active"
        table.add_row(
            str(h.id),
            h.kind,
            _fmt(h.case_number),
            _fmt(what),
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
    _cfg, db = _open(config)
    actor = _actor(db, login, reason)
    if item is not None:
        if camera or from_ or to:
            raise typer.BadParameter("give either --item or --camera/--from/--to, not both")
        h = holds.place_item_hold(db, SystemClock(), actor, item)
    else:
        if not (camera and from_ and to):
            raise typer.BadParameter("a range hold needs --camera, --from and --to")
        h = holds.place_range_hold(
            db,
            SystemClock(),
            actor,
            camera,
            _when(from_, "--from"),
            _when(to, "--to"),
            case_number=case,
        )
    _emit(h.to_dict()) if as_json else _print_holds([h])


@hold_app.command("list")
def hold_list(
    camera: Annotated[str | None, typer.Option(help="Only this camera.")] = None,
    case: Annotated[str | None, typer.Option(help="Only this case.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include released holds.")] = False,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List holds (active ones unless --all)."""
    _cfg, db = _open(config)
    rows = holds.list_holds(
        db, SystemClock().now(), camera_id=camera, case_number=case, include_released=all_
    )
    _emit([h.to_dict() for h in rows]) if as_json else _print_holds(rows)


@hold_app.command("release")
def hold_release(
    hold: Annotated[int, typer.Argument(help="Hold id.")],
    reason: ReasonOpt,
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Release a hold; its footage falls back under retention unless another hold covers it."""
    _cfg, db = _open(config)
    h = holds.release_hold(db, SystemClock(), _actor(db, login, reason), hold)
    _emit(h.to_dict()) if as_json else _print_holds([h])


# --- retention ------------------------------------------------------------------------


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say what would go.")] = False,
    login: LoginOpt = None,
    reason: Annotated[str, typer.Option("--reason", help="Why (audit log).")] = "retention run",
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Delete expired footage, then the oldest unheld footage while above the high-water mark."""
    cfg, db = _open(config)
    report = retention.run_retention(
        db, cfg, SystemClock(), dry_run=dry_run, actor=_actor(db, login, reason)
    )
    if as_json:
        _emit(report.to_dict())
        return
    verb = "would delete" if dry_run else "deleted"
    for d in report.deleted:
        out.print(f"{verb} {d['camera']} {d['path']} ({d['why']}, {d['bytes']} bytes)")
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


# --- audit ----------------------------------------------------------------------------


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
    cfg, db = _open(config)
    found, keys_of_installation = anchors.installation_anchors(cfg)
    for path in anchor or []:
        found += anchors.read_anchors(path)
    report = anchors.verify_with_anchors(db, found, keys_of_installation)
    if as_json:
        _emit(jsonable(report) | {"anchors": [a.to_dict() for a in found]})
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
    cfg, db = _open(config)
    made = anchors.write_checkpoint(db, cfg, SystemClock(), force=True)
    where = anchors.anchors_path(cfg)
    if as_json:
        _emit({"anchor": made.to_dict() if made else None, "file": str(where)})
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
    _cfg, db = _open(config)
    otype, _sep, oid = (object_ or "").partition(":")
    rows = audit.list_entries(
        db,
        case_number=case,
        object_type=otype or None,
        object_id=oid or None,
        action=action,
        since=_when(since, "--since") if since else None,
        limit=limit,
    )
    if as_json:
        _emit([audit.AuditEntryView.of(e) for e in rows])
        return
    table = Table("seq", "at (UTC)", "user", "action", "object", "case", "reason")
    for e in rows:
        table.add_row(
            str(e.seq),
            e.at.isoformat(),
            e.actor,
            e.action,
            f"{e.object_type}:{e.object_id}",
            _fmt(e.case_number),
            e.reason,
        )
    out.print(table)


@audit_app.command("head")
def audit_head(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Print the chain head (sequence and hash): write it down elsewhere to anchor the log."""
    _cfg, db = _open(config)
    seq, digest = audit.chain_head(db)
    if as_json:
        _emit({"seq": seq, "hash": digest})
    else:
        out.print(f"{seq} {digest}", highlight=False)
