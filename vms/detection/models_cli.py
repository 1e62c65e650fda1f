"""``vms models bench``: detector options side by side on this machine's own cameras."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from vms.cli_common import ConfigOpt, JsonOpt, err, open_for_cli, out
from vms.cli_common import load_cli_config as _config
from vms.cli_identity import LoginOpt

models_app = typer.Typer(help="Detector models: compare them on real frames.", no_args_is_help=True)

#: Statuses of segments whose file is whole on disk.
_READABLE = ("complete", "recovered")


def _recent_sources(
    cfg: Any, cameras: list[str] | None, frames: int, reason: str, login: str | None
) -> tuple[list[Any], list[str]]:
    """The newest recorded segment of each analysed camera, ``frames`` frames at its
    analysis rate; the reading is in the audit log under the caller's identity (the OS
    user, and the vms user of --login / $VMS_TOKEN). Returns sources and notes."""
    from sqlalchemy import select

    from vms.cli_identity import identify
    from vms.clock import SystemClock
    from vms.db.models import Segment
    from vms.detection.modelbench import Source
    from vms.detection.startup import analysed
    from vms.detection.video import read_frames
    from vms.errors import VmsError
    from vms.evidence.audit import append

    chosen = [c for c in analysed(cfg) if not cameras or c.id in cameras]
    if cameras:
        for cam_id in cameras:
            cfg.camera(cam_id)  # NotFoundError naming it when unknown
    sources: list[Source] = []
    notes: list[str] = []
    if not chosen:
        return sources, notes
    db = open_for_cli(cfg, read_only=True)  # reads footage; writes only the audit entry
    try:
        actor = identify(db, login).actor(reason)
        for cam in chosen:
            q = (
                select(Segment)
                .where(Segment.camera_id == cam.id, Segment.status.in_(_READABLE))
                .order_by(Segment.start.desc())
                .limit(1)
            )
            with db.session() as s:
                seg = s.scalars(q).first()
            if seg is None:
                notes.append(f"{cam.id}: no recording yet")
                continue
            path = Path(cfg.storage.root) / seg.path
            try:
                images = []
                for _t, image in read_frames(path, cam.analysis_fps or 5.0):
                    images.append(image)
                    if len(images) >= frames:
                        break
            except VmsError as exc:
                notes.append(f"{cam.id}: {seg.path}: {exc}")
                continue
            with db.session() as s:
                append(
                    s,
                    SystemClock(),
                    actor,
                    "view",
                    "segment",
                    seg.id,
                    details={"camera": cam.id, "path": seg.path, "frames": len(images)},
                )
            sources.append(Source(cam.id, images, cam.analytics.region))
    finally:
        db.dispose()
    return sources, notes


@models_app.command("bench")
def bench(
    models: Annotated[
        list[str],
        typer.Argument(
            help="Model files to compare, each MODEL or MODEL@BACKEND (onnxruntime, openvino, "
            "ultralytics), e.g. yolo11n.onnx@openvino."
        ),
    ],
    video: Annotated[
        list[Path] | None,
        typer.Option(help="Also measure on this video file (repeatable)."),
    ] = None,
    camera: Annotated[
        list[str] | None, typer.Option(help="Only these cameras (repeatable; default: all).")
    ] = None,
    frames: Annotated[int, typer.Option(min=1, max=1000, help="Frames per camera / video.")] = 20,
    fps: Annotated[float, typer.Option(min=0.1, help="Frames a second taken from a video.")] = 2.0,
    reason: Annotated[
        str, typer.Option(help="Why the recordings are read, for the audit log.")
    ] = "detector benchmark (vms models bench)",
    login: LoginOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """CPU ms per frame and persons found by each model on the configured cameras' newest
    recordings (and on --video files): whole frames and crops at model resolution."""
    from vms.detection.modelbench import Option, Source, measure
    from vms.detection.startup import HOW_TO_SUPPLY
    from vms.detection.video import read_frames
    from vms.errors import ModelError

    cfg = _config(config)
    options = [Option.parse(m) for m in models]
    for o in options:
        if not o.model.exists():
            raise ModelError(f"{o.model.resolve()} does not exist; {HOW_TO_SUPPLY}")
    sources, notes = _recent_sources(cfg, camera, frames, reason, login)
    for v in video or []:
        images = [img for _t, img in read_frames(v, fps)][:frames]
        sources.append(Source(v.name, images))
    for note in notes:
        err.print(note, markup=False, highlight=False)
    sources = [s for s in sources if s.frames]
    if not sources:
        raise typer.BadParameter(
            "no frames to measure on: no analysed camera has a recording yet; record a "
            "while (vms serve) or give --video FILE",
            param_hint="--video",
        )
    results = [measure(o, sources, cfg.detector) for o in options]
    if as_json:
        print(json.dumps([_row(r) for r in results], ensure_ascii=False))
        return
    table = Table(
        "model (runtime, input)", "device", "source", "frames", "ms/frame", "persons/frame",
        "crops: tiles", "crops: ms/frame", "crops: persons/frame",
    )  # fmt: skip
    for r in results:
        for m in r.sources:
            table.add_row(
                r.name,
                r.device,
                m.source,
                str(m.frames),
                f"{m.whole_ms:.1f}",
                f"{sum(m.whole_persons) / max(1, m.frames):.2f}",
                str(m.tiles),
                f"{m.crops_ms:.1f}",
                f"{sum(m.crops_persons) / max(1, m.frames):.2f}",
            )
    out.print(table)
    err.print(
        "ms/frame: median CPU time of one detector call on this machine (detector.threads "
        f"{cfg.detector.threads}); persons: detections of confidence >= 0.35. Crops tile the "
        "frame at the model's own resolution: what the pipeline's crops around motion see.",
        highlight=False,
    )


def _row(r: Any) -> dict[str, Any]:
    return {
        "model": str(r.option.model),
        "backend": r.runtime,
        "device": r.device,
        "input": list(r.input_hw),
        "pose": r.pose,
        "load_s": round(r.load_s, 2),
        "sources": [{k: v for k, v in asdict(m).items()} | {"frames": m.frames} for m in r.sources],
    }
