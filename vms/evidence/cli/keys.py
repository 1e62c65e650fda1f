"""``vms evidence keys``: the export signing key: show, publish the registry, rotate, revoke."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from vms.cli_common import ConfigOpt, JsonOpt, emit, emit_json, load_cli_config, out
from vms.clock import SystemClock
from vms.evidence import keys, trust
from vms.evidence.cli.actor import LoginOpt, ReasonOpt, audited

keys_app = typer.Typer(
    help="The export signing key: show, publish the key registry, rotate, revoke.",
    no_args_is_help=True,
)


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
    view = keys.show_keys(load_cli_config(config), SystemClock())
    emit_json(view.to_dict()) if as_json else _print_keys(view)


@keys_app.command("publish")
def keys_publish(
    out_file: Annotated[Path, typer.Option("--out", help="Where to write the registry (JSON).")],
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the key registry for the bureau to publish; verifiers give it with --trust."""
    view = keys.publish(load_cli_config(config), SystemClock(), out_file)
    if as_json:
        emit_json(view.to_dict() | {"written": str(out_file)})
    else:
        out.print(f"wrote {len(view.keys)} key(s) to {out_file}; current {view.current}",
                  highlight=False)  # fmt: skip


@keys_app.command("rotate")
def keys_rotate(
    reason: ReasonOpt, login: LoginOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """Make a new signing key; the old one is retired (its packages still verify) and its
    private key destroyed. Publish the registry again afterwards."""
    with audited(config, login, reason) as (cfg, db, who):
        old, new = keys.rotate(db, cfg, SystemClock(), who)
    if as_json:
        emit_json({"retired": old, "current": new})
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
    """Mark a retired key revoked (compromised): its packages no longer verify as trusted.
    Publish the registry again afterwards, so verifiers learn of it."""
    with audited(config, login, reason) as (cfg, db, who):
        key = keys.revoke(db, cfg, SystemClock(), who, fingerprint)
    emit(key.to_dict(), as_json, f"revoked {key.fingerprint}")
