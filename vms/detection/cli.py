"""Analytics commands: ``vms analyze`` (a file through the pipeline) and ``vms events search``."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from vms.errors import ModelError
from vms.events import EventView, search_events

events_app = typer.Typer(help="Analytics events: search.", no_args_is_help=True)

from vms.cli_common import ConfigOpt, JsonOpt, cli_database, emit_json, err, out  # noqa: E402
from vms.cli_common import load_cli_config as _config  # noqa: E402
from vms.cli_common import parse_when as _when  # noqa: E402


def analyze(
    video: Annotated[Path, typer.Argument(help="Video file (any format FFmpeg reads).")],
    camera: Annotated[str, typer.Option(help="Camera id whose analytics to apply.")],
    config: ConfigOpt = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON line per event (times in s from start).")
    ] = False,
    fps: Annotated[
        float | None, typer.Option(help="Analysis rate (default: the camera's analysis_fps).")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option(
            help="Wall time of the file's first frame, ISO 8601, for schedules (default: the "
            "file's creation_time tag, else its modification time)."
        ),
    ] = None,
    snapshots: Annotated[
        Path | None, typer.Option(help="Write each event's JPEG snapshot under this folder.")
    ] = None,
) -> None:
    """Run a camera's analytics pipeline over a video file, as fast as it decodes."""
    from vms.detection.detector import YoloDetector
    from vms.detection.offline import analyze_file
    from vms.detection.video import probe

    cfg = _config(config)
    cam = cfg.camera(camera)
    info = probe(video)  # a hostile file fails here, in a child process, before the model loads
    origin = _when(start, "--start") or info.creation_time
    if origin is None:
        origin = datetime.fromtimestamp(video.stat().st_mtime, UTC)
    a = cam.analytics
    needs = not (a.rules.empty and all(z.rules.empty for z in a.zones))
    detector = None
    if needs:
        if cfg.detector.model is None:
            raise ModelError(
                f"camera {cam.id} has rules that need detections but detector.model is not "
                "set; set it to a YOLO model file (.pt, .onnx or OpenVINO folder), e.g. "
                "../shared/data/models/yolo11n_int8qdq-fixed_320.onnx"
            )
        detector = YoloDetector(cfg.detector)
    result = analyze_file(
        video, cam, detector=detector, origin=origin, fps=fps, snapshot_dir=snapshots
    )
    rows = [e.seconds_from(origin) for e in result.events]
    if as_json:
        for row in rows:
            print(json.dumps(row))
    else:
        table = Table("type", "zone", "start s", "end s", "tracks", "count", "confidence")
        for r in rows:
            end = "-" if r["end"] is None else f"{r['end']:.1f}"
            tracks = ",".join(str(t) for t in r["track_ids"])
            table.add_row(
                r["type"],
                r["zone"] or "-",
                f"{r['start']:.1f}",
                end,
                tracks,
                str(r["count"]),
                f"{r['confidence']:.2f}",
            )
        out.print(table)
    err.print(
        f"{video}: {result.frames} frames analysed over {result.duration_s:.1f} s, "
        f"{result.detector_calls} detector calls, {len(rows)} event(s)",
        highlight=False,
    )


@events_app.command("search")
def events_search(
    camera: Annotated[str | None, typer.Option(help="Camera id.")] = None,
    type: Annotated[
        str | None, typer.Option("--type", help="Event type (loitering, intrusion, ...).")
    ] = None,
    zone: Annotated[str | None, typer.Option(help="Zone name.")] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Started at or after, ISO 8601 (UTC if no zone).")
    ] = None,
    to: Annotated[
        str | None, typer.Option(help="Started before, ISO 8601 (UTC if no zone).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many events.")] = 1000,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Events that started in a time range, oldest first, by camera, type and zone."""
    start, end = _when(from_, "--from"), _when(to, "--to")
    with cli_database(config, read_only=True) as (cfg, db):
        if camera is not None:
            cfg.camera(camera)
        found = search_events(
            db, camera=camera, type=type, zone=zone, start=start, end=end, limit=limit
        )
    rows = [EventView.model_validate(e) for e in found]
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "camera", "type", "zone", "start (UTC)", "end (UTC)", "tracks", "count")
    for r in rows:
        table.add_row(
            str(r.id),
            r.camera,
            r.type,
            r.zone or "-",
            r.start.isoformat(),
            r.end.isoformat() if r.end else "open",
            ",".join(str(t) for t in r.track_ids),
            "" if r.peak_count is None else str(r.peak_count),
        )
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add ``analyze``, ``events`` and ``models`` to the ``vms`` command line."""
    from vms.detection.models_cli import models_app

    app.command("analyze")(analyze)
    app.add_typer(events_app, name="events")
    app.add_typer(models_app, name="models")
