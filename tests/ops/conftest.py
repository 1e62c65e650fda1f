"""Shared set-up of the operations tests: a config with two cameras, a clock moved by hand."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vms.bootstrap import sync_cameras
from vms.config import Config
from vms.db.models import Segment
from vms.db.session import Database

T0 = datetime(2026, 3, 10, 6, 0, 0, tzinfo=UTC)


def ops_config(root: Path, site: dict[str, str] | None = None, **ops: Any) -> Config:
    """Written for UTC days and English unless ``site`` says otherwise."""
    return Config.model_validate(
        {
            "site": site or {"timezone": "UTC", "language": "en"},
            "storage": {"root": str(root)},
            "web": {"port": 0, "secure_cookies": False},
            "ops": ops,
            "cameras": [
                {
                    "id": "street-1",
                    "name": "Street one",
                    "kind": "street",
                    "site": "Main street",
                    "source": "synthetic://street-1?size=320x180&fps=10",
                    "retention_days": 1,
                    "analysis_fps": 0,
                },
                {
                    "id": "interview-1",
                    "name": "Interview room one",
                    "kind": "custody",
                    "site": "Custody area",
                    "room": "Interrogation room 1",
                    "room_type": "interrogation",
                    "source": "synthetic://interview-1?size=320x180&fps=10",
                    "analysis_fps": 0,
                },
            ],
        }
    )


def prepared(db: Database, config: Config) -> Config:
    config.recordings_dir.mkdir(parents=True, exist_ok=True)
    sync_cameras(db, config)
    return config


def add_segment(db: Database, config: Config, camera_id: str, start: datetime, n: int) -> int:
    """A closed, hashed segment with a real file under the storage root; its id."""
    rel = f"recordings/{camera_id}/{start:%Y%m%dT%H%M%S}-{n}.mp4"
    path = config.storage.root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    body = f"segment {camera_id} {n}".encode() * 100
    path.write_bytes(body)
    with db.session() as s:
        seg = Segment(
            camera_id=camera_id,
            start=start,
            end=start + timedelta(seconds=60),
            duration_s=60.0,
            path=rel,
            bytes=len(body),
            sha256=hashlib.sha256(body).hexdigest(),
            codec="h264",
            status="complete",
        )
        s.add(seg)
        s.flush()
        return seg.id
