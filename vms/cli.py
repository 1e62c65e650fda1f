"""The ``vms`` command line."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from vms.bodyworn.cli import bodyworn_app, devices_app, officers_app
from vms.cameras.gb28181.cli import gb_app
from vms.cluster.status import cluster_view
from vms.config import Config, load_config
from vms.custody.cli import custody_app
from vms.db.migrate import upgrade
from vms.db.session import Database
from vms.demo import DEMO_MODE_FILE, demo_config
from vms.detection.cli import register as register_analytics
from vms.errors import ConfigError, VmsError
from vms.evidence.cli.audit import audit_app
from vms.evidence.cli.cases import cases_app
from vms.evidence.cli.holds import hold_app
from vms.evidence.cli.items import evidence_app
from vms.evidence.cli.retention import retention_app
from vms.logs import setup_logging
from vms.ops.cli import register as register_ops
from vms.recordings import (
    GapRow,
    SegmentRow,
    gaps_in_range,
    segment_streams,
    segments_in_range,
    stream_summary,
    verify_segments,
)
from vms.storage.resolve import storage_for
from vms.web.cli import demo_banner, users_app

if TYPE_CHECKING:  # the supervisor's composition root is imported by the commands that run it
    from vms.app import App

app = typer.Typer(
    help="vms: video surveillance and custody-area monitoring.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
rec_app = typer.Typer(help="Recorded segments and gaps.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(rec_app, name="recordings")
register_analytics(app)  # vms analyze, vms events search
app.add_typer(cases_app, name="cases")
app.add_typer(evidence_app, name="evidence")
app.add_typer(hold_app, name="hold")
app.add_typer(retention_app, name="retention")
app.add_typer(audit_app, name="audit")
app.add_typer(users_app, name="users")
app.add_typer(custody_app, name="custody")
app.add_typer(bodyworn_app, name="bodyworn")
app.add_typer(officers_app, name="officers")
app.add_typer(devices_app, name="devices")
app.add_typer(gb_app, name="gb28181")
register_ops(app)  # vms briefing

from vms.cli_common import ConfigOpt, JsonOpt, cli_database, emit_json, err, out  # noqa: E402
from vms.cli_common import load_cli_config as _config  # noqa: E402
from vms.cli_common import parse_when as _when  # noqa: E402


@app.command("check-config")
def check_config(file: Path) -> None:
    """Validate a configuration file; print every problem with its YAML path."""
    config = load_config(file)
    out.print(f"{file}: OK ({len(config.cameras)} camera(s))", markup=False)


def _run_until_signal(
    config: Config,
    duration: float | None,
    verbose: bool,
    after_start: Callable[[App, threading.Event], None] | None = None,
) -> None:
    level = logging.DEBUG if verbose else logging.INFO
    setup_logging(level, json_lines=config.ops.log_json or None)
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        logging.getLogger("vms").info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    from vms.app import App

    vms = App(config, log_level=level)
    vms.start()
    if after_start is not None:
        threading.Thread(
            target=after_start, args=(vms, stop), name="after-start", daemon=True
        ).start()
    try:
        stop.wait(duration)
    finally:
        vms.stop()


@app.command()
def serve(
    config: ConfigOpt = None,
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: run until signal).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Record every configured camera until SIGINT/SIGTERM (segments are closed cleanly)."""
    _run_until_signal(_config(config), duration, verbose)


@app.command()
def demo(
    root: Annotated[
        Path, typer.Option(help="Where the demo keeps recordings and its SQLite.")
    ] = Path("./data"),
    duration: Annotated[float | None, typer.Option(help="Stop after this many seconds.")] = None,
    port: Annotated[int, typer.Option(help="Port of the web application (0: any free).")] = 8000,
    synthetic: Annotated[
        bool,
        typer.Option(
            "--synthetic", help="The two built-in synthetic cameras even where real footage is."
        ),
    ] = False,
) -> None:
    """Run the demo: real footage of a street and a custody area from ../shared/data (with
    people held, an interview and alerts), else two synthetic cameras; no network."""
    from vms.demo import announce, prepare_footage_of, seed_when_recording, shared_data

    shared = None if synthetic else shared_data()
    root.mkdir(parents=True, exist_ok=True)
    (root / DEMO_MODE_FILE).write_text("real" if shared else "synthetic")
    if shared is not None:
        err.print("[bold]vms demo[/]: preparing the demo footage (first run: up to a minute)…")
        prepare_footage_of(root, shared)
    config = demo_config(root, synthetic=shared is None)
    config = config.model_copy(update={"web": config.web.model_copy(update={"port": port})})
    err.print(announce(config, root, shared))
    err.print(demo_banner(config))
    after = seed_when_recording if shared is not None else None
    _run_until_signal(config, duration, False, after)


@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None) -> None:
    """Apply database migrations up to the newest."""
    cfg = _config(config)
    db = Database(cfg.database_url)
    rev = upgrade(db.engine)
    out.print(f"database at revision {rev}")


@rec_app.command("list")
def recordings_list(
    camera: Annotated[str | None, typer.Option(help="Camera id (default: all).")] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Start, ISO 8601 (UTC if no zone).")
    ] = None,
    to: Annotated[str | None, typer.Option(help="End, ISO 8601 (UTC if no zone).")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List the segments and gaps covering a time range."""
    start, end = _when(from_, "--from"), _when(to, "--to")
    with cli_database(config, read_only=True) as (cfg, db):
        if camera is not None:
            cfg.camera(camera)
        segs = segments_in_range(db, camera, start, end)
        streams = segment_streams(db, [s.id for s in segs])
        rows: list[SegmentRow | GapRow] = [SegmentRow.of(s, streams[s.id]) for s in segs]
        rows += [GapRow.of(g) for g in gaps_in_range(db, camera, start, end, kind=None)]
    rows.sort(key=lambda r: (r.camera, r.start))
    if as_json:
        emit_json(rows)
        return
    table = Table(
        "camera",
        "kind",
        "start (UTC)",
        "end (UTC)",
        "seconds",
        "path / reason",
        "streams",
        "sha256",
    )
    for r in rows:
        dur = f"{r.duration_s:.2f}" if r.duration_s is not None else "open"
        if isinstance(r, SegmentRow):
            kind, what, style = "segment", r.path, None
            summary, sha = stream_summary(streams[r.id]), (r.sha256 or "")[:16]
        else:
            audio = r.gap_kind == "audio"
            kind, style = ("audio gap", "yellow") if audio else ("gap", "red")
            what, summary, sha = r.reason, "", ""
        table.add_row(
            r.camera,
            kind,
            r.start.isoformat(),
            r.end.isoformat() if r.end else "-",
            dur,
            what,
            summary,
            sha,
            style=style,
        )
    out.print(table)


@app.command()
def verify(
    camera: Annotated[str | None, typer.Option(help="Camera id (default: all).")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Recompute every segment's SHA-256; exit 1 if any file is altered or missing."""
    with cli_database(config, read_only=True) as (cfg, db):
        if camera is not None:
            cfg.camera(camera)
        node = cfg.node_id if cfg.database_url.startswith("postgresql") else None
        results = verify_segments(db, storage_for(cfg), camera, node=node)
    bad = [r for r in results if r.status in ("mismatch", "missing")]
    counts = {
        s: sum(r.status == s for r in results) for s in ("ok", "mismatch", "missing", "unhashed")
    }
    if as_json:
        emit_json({"counts": counts, "problems": bad})
    else:
        for r in bad:
            out.print(
                f"[red]{r.status.upper()}[/] {r.camera_id} {r.path} "
                f"expected {r.expected} got {r.actual}"
            )
        out.print(
            f"{counts['ok']} ok, {counts['mismatch']} altered, {counts['missing']} missing, "
            f"{counts['unhashed']} still recording"
        )
    if bad:
        raise typer.Exit(1)


@app.command()
def nodes(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """The recorder nodes sharing this index: heartbeats, cameras held, load."""
    with cli_database(config, read_only=True) as (cfg, db):
        view = cluster_view(db, cfg.node.lease_s)
    if as_json:
        emit_json(view)
        return
    if not view.cluster:
        out.print("single node (SQLite index): no leases; this node records every camera")
        return
    table = Table("node", "state", "host", "heartbeat", "cameras", "max", "web")
    for n in view.nodes:
        style = None if n.state == "up" else "red"
        table.add_row(
            n.id,
            n.state,
            f"{n.host} (pid {n.pid})",
            f"{n.heartbeat_age_s:.1f} s ago",
            f"{len(n.cameras)}: {', '.join(n.cameras)}" if n.cameras else "0",
            "-" if n.max_cameras is None else str(n.max_cameras),
            n.web_url or "-",
            style=style,
        )
    out.print(table)
    if view.unassigned:
        out.print(f"[red]not recorded by any live node:[/] {', '.join(view.unassigned)}")


def main() -> None:
    try:
        app()
    except ConfigError as exc:
        # The message is plain text: Rich must not read "[a-z0-9]" in a pattern as markup.
        err.print(f"[red]configuration error[/]: {escape(str(exc))}", highlight=False)
        sys.exit(2)
    except VmsError as exc:
        err.print(f"[red]error[/]: {escape(str(exc))}", highlight=False)
        sys.exit(1)


if __name__ == "__main__":
    main()
