"""``vms gb28181 devices`` (registered devices and their channels) and ``vms gb28181 add``."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from vms.cameras.gb28181.store import list_devices
from vms.cli_common import ConfigOpt, JsonOpt, load_cli_config, open_for_cli, out
from vms.config import Config, parse_config
from vms.errors import ConfigError, NotFoundError
from vms.vocab import CameraKind, RoomType, Subsystem

gb_app = typer.Typer(help="GB/T 28181 devices registered with this platform.", no_args_is_help=True)


def _cameras_by_channel(config: Config) -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for cam in config.cameras:
        m = re.match(r"^gb28181://(\d{20})/(\d{20})", cam.source)
        if m:
            found[(m.group(1), m.group(2))] = cam.id
    return found


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


@gb_app.command("devices")
def devices(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """List registered devices, their channels, and the camera recording each channel."""
    cfg = load_cli_config(config)
    db = open_for_cli(cfg, read_only=True)
    try:
        rows = list_devices(db)
    finally:
        db.dispose()
    cams = _cameras_by_channel(cfg)
    data: list[dict[str, Any]] = [
        {
            "device_id": d.id,
            "name": d.name,
            "manufacturer": d.manufacturer,
            "model": d.model,
            "firmware": d.firmware,
            "online": d.online,
            "offline_reason": d.offline_reason,
            "transport": d.transport,
            "address": f"{d.host}:{d.port}",
            "registered_at": _iso(d.registered_at),
            "expires_at": _iso(d.expires_at),
            "last_keepalive_at": _iso(d.last_keepalive_at),
            "channels": [
                {
                    "channel_id": c.channel_id,
                    "name": c.name,
                    "status": c.status,
                    "address": c.address,
                    "camera": cams.get((d.id, c.channel_id)),
                }
                for c in chans
            ],
        }
        for d, chans in rows
    ]
    if as_json:
        print(json.dumps(data, ensure_ascii=False))
        return
    table = Table("device / channel", "name", "status", "address", "camera")
    for dev in data:
        state = "online" if dev["online"] else f"offline ({dev['offline_reason']})"
        table.add_row(
            dev["device_id"],
            dev["name"],
            state,
            dev["address"],
            "",
            style=None if dev["online"] else "red",
        )
        for ch in dev["channels"]:
            table.add_row(
                "  " + ch["channel_id"],
                ch["name"],
                ch["status"],
                ch["address"],
                ch["camera"] or "-",
            )
    out.print(table)
    if not data:
        out.print("no device has registered yet (gb28181.enabled, and point devices at vms)")


@gb_app.command("add")
def add(
    device_id: Annotated[str, typer.Argument(help="20-digit device id.")],
    channel_id: Annotated[str, typer.Argument(help="20-digit channel id from its catalog.")],
    camera_id: Annotated[str, typer.Option("--id", help="New camera id (e.g. street-12).")],
    kind: Annotated[CameraKind, typer.Option(help="street or custody.")],
    site: Annotated[str, typer.Option(help="Police station, custody area or street location.")],
    room: Annotated[str | None, typer.Option(help="Custody cameras: the room's name.")] = None,
    room_type: Annotated[
        RoomType | None, typer.Option(help="Custody cameras: the custody space type.")
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Name shown to users (default: the channel's).")
    ] = None,
    transport: Annotated[
        str | None, typer.Option(help="udp, tcp-passive or tcp-active (default: gb28181's).")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Add a discovered channel as a camera to the configuration file (restart vms serve)."""
    path = config or (Path(os.environ["VMS_CONFIG"]) if os.environ.get("VMS_CONFIG") else None)
    if path is None:
        raise ConfigError("vms gb28181 add writes to a configuration file: give --config FILE")
    cfg = load_cli_config(path)
    db = open_for_cli(cfg, read_only=True)
    try:
        rows = {d.id: chans for d, chans in list_devices(db)}
    finally:
        db.dispose()
    if device_id not in rows:
        raise NotFoundError(f"no device {device_id} has registered", subsystem=Subsystem.RECORDING)
    channel = next((c for c in rows[device_id] if c.channel_id == channel_id), None)
    if channel is None:
        known = ", ".join(c.channel_id for c in rows[device_id]) or "none"
        raise NotFoundError(
            f"device {device_id} lists no channel {channel_id} (known: {known})",
            subsystem=Subsystem.RECORDING,
        )
    taken = _cameras_by_channel(cfg).get((device_id, channel_id))
    if taken:
        raise ConfigError(f"channel {channel_id} is already camera {taken!r}")
    source = f"gb28181://{device_id}/{channel_id}" + (
        f"?transport={transport}" if transport else ""
    )
    entry: dict[str, Any] = {
        "id": camera_id,
        "name": name or channel.name or camera_id,
        "kind": kind.value,
        "site": site,
        "source": source,
    }
    if room is not None:
        entry["room"] = room
    if room_type is not None:
        entry["room_type"] = room_type.value
    text = path.read_text(encoding="utf-8")
    new_text = insert_camera(text, entry)
    parse_config(new_text, str(path))  # the whole file must still be valid before it is written
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(new_text, encoding="utf-8")
    tmp.replace(path)
    out.print(f"camera {camera_id} added to {path} ({source}); restart vms serve to record it")


def insert_camera(text: str, entry: dict[str, Any]) -> str:
    """``text`` with ``entry`` appended to its top-level ``cameras:`` list, comments kept."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(r"^cameras\s*:", line)), None)
    dumped = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False).splitlines()
    if start is None:
        return text.rstrip("\n") + "\n\ncameras:\n" + "\n".join("  " + d for d in dumped) + "\n"
    if re.match(r"^cameras\s*:\s*\[\s*\]\s*(#.*)?$", lines[start]):
        lines[start] = "cameras:"
    end = start + 1
    indent = "  "
    while end < len(lines):
        line = lines[end]
        if line.strip() and not line.startswith((" ", "\t", "#", "-")):
            break
        m = re.match(r"^(\s*)- ", line)
        if m and end > start:
            indent = m.group(1)
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    block = [indent + d for d in dumped]
    return "\n".join(lines[:end] + block + lines[end:]) + "\n"
