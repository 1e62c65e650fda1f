"""``vms demo``: a custody area and a street that show the product within two minutes.

With ``../shared/data`` beside the checkout, real footage loops as four cameras: a street
(people standing in a crowd zone: crowding and loitering), a holding room (one person: alone),
an interrogation room (people seated) and a cell (a person falls and lies still: person down),
analysed with the shared detector model; the ledger is seeded with people held and an
interview in progress, so alerts, search results with snapshots, legal clocks and an interview
report appear at once. Without it: the two synthetic cameras, and the banner says so.

The footage is converted once into ``<root>/demo-footage/`` (H.264, no B-frames, a keyframe
a second; GIFs and the fall clip need it): it is the demo cameras' *input*, not evidence; what
vms records from it is recorded like any camera's stream.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import av

from vms.clock import Clock, SystemClock
from vms.config import Config, synthetic_demo_config
from vms.db.session import Database
from vms.vocab import SHARED_DATA, RoomType

if TYPE_CHECKING:  # numpy loads when the demo footage is made, not with every command
    import numpy as np


class RunningApp(Protocol):
    """What seeding needs of the running service (``vms.app.App``, which only the CLI, the
    next composition root up, imports)."""

    config: Config
    db: Database | None


log = logging.getLogger(__name__)

DEMO_MODEL = "models/yolov8n_int8.onnx"
SITE = "演示办案区"  # the demo custody area
STREET_SITE = "演示街面"
WIDTH = 640


@dataclass(frozen=True)
class Scene:
    """One demo camera: which footage, how it is cut, what is watched."""

    id: str
    name: str
    footage: str  # relative to ../shared/data
    fps: int
    room: str | None = None
    room_type: RoomType | None = None
    analytics: dict[str, Any] = field(default_factory=dict)
    analysis_fps: float = 2.0
    #: A horizontal slice of the picture, (left, right) in 0-1 (the fall clip is depth | RGB).
    crop: tuple[float, float] = (0.0, 1.0)
    #: Frame indices to play, in order (default: all); lets the fall clip end lying still.
    frames: Callable[[int], list[int]] | None = None
    #: False: the file is an H.264 camera stream already; loop it as it is.
    convert: bool = True

    @property
    def kind(self) -> str:
        return "custody" if self.room_type else "street"

    @classmethod
    def in_room(
        cls,
        id: str,
        room: str,
        room_type: RoomType,
        footage: str,
        *,
        fps: int,
        rules: dict[str, Any],
        **how: Any,
    ) -> Scene:
        """A custody room's camera, named as its room, watching the room with ``rules``."""
        return cls(id, room, footage, fps, room, room_type, {"rules": rules}, **how)


def _back_and_forth(n: int) -> list[int]:
    """A short clip played forwards and backwards for ten minutes at 5 fps: few loop seams
    (each one reconnects the demo camera, which may leave a moment unrecorded)."""
    cycle = list(range(n)) + list(range(n - 2, 0, -1))
    return (cycle * (3000 // len(cycle) + 1))[:3000]


def _fall_then_lie(n: int) -> list[int]:
    """The person walks in and falls, then lies still for 110 s, so the cell raises one
    person-down alert every two minutes (the clip's own 1.6 s of lying are too short for
    one; frame 121 is one the detector finds the person lying in)."""
    lying = min(121, n - 1)
    return list(range(lying + 1)) + [lying] * (110 * 30)


SCENES: tuple[Scene, ...] = (
    Scene(
        "street-1",
        "地铁口广场",
        "footage/overhead-crowd.avi",
        fps=25,
        analytics={
            "zones": [
                {
                    "name": "plaza-west",
                    "polygon": [[0.08, 0.36], [0.34, 0.36], [0.34, 0.7], [0.08, 0.7]],
                    "rules": {
                        "crowding": {"people": 3, "seconds": 10},
                        "loitering": {"seconds": 20},
                    },
                }
            ]
        },
    ),
    Scene.in_room(
        "holding-1",
        "候问室 1",
        RoomType.HOLDING,
        "footage/one-by-one-person-detection.mp4",
        fps=10,
        rules={"stillness": {"seconds": 30}},
        analysis_fps=1.0,
        convert=False,
    ),
    Scene.in_room(
        "interrogation-1",
        "讯问室 1",
        RoomType.INTERROGATION,
        "footage/classroom.gif",
        fps=5,
        rules={"occupancy": {"max": 6}},
        analysis_fps=1.0,
        frames=_back_and_forth,
    ),
    Scene.in_room(
        "cell-1",
        "看押室 1",
        RoomType.CELL,
        "footage/urfd-fall-01-cam0.mp4",
        fps=30,
        rules={"person_down": {"seconds": 3}},
        crop=(0.5, 1.0),
        frames=_fall_then_lie,
    ),
)


#: The "six rooms and one hall" of the demo custody area (ids: Chinese names make no slug).
ROOMS: list[dict[str, str]] = [
    {"id": "duty-1", "name": "值班室", "type": "duty"},
    {"id": "holding-1", "name": "候问室 1", "type": "holding"},
    {"id": "interrogation-1", "name": "讯问室 1", "type": "interrogation"},
    {"id": "inquiry-1", "name": "询问室 1", "type": "inquiry"},
    {"id": "mediation-1", "name": "调解室", "type": "mediation"},
    {"id": "cell-1", "name": "看押室 1", "type": "cell"},
    {"id": "hall-1", "name": "服务大厅", "type": "service_hall"},
]


def shared_data(path: Path = SHARED_DATA) -> Path | None:
    """The shared footage and model, if they are there."""
    folder = path.resolve()
    needed = [DEMO_MODEL, *(s.footage for s in SCENES)]
    return folder if all((folder / n).exists() for n in needed) else None


def _frames(path: Path) -> Iterator[np.ndarray]:
    with av.open(str(path)) as src:
        for frame in src.decode(video=0):
            yield frame.to_ndarray(format="bgr24")


def prepare_footage(scene: Scene, shared: Path, out_dir: Path) -> Path:
    """The scene's footage as a looping H.264 file (made once, then reused)."""
    if not scene.convert:
        return shared / scene.footage
    out = out_dir / f"{scene.id}.mp4"
    if out.is_file() and out.stat().st_size > 0:
        return out
    import numpy as np

    out_dir.mkdir(parents=True, exist_ok=True)
    frames = list(_frames(shared / scene.footage))
    order = scene.frames(len(frames)) if scene.frames else list(range(len(frames)))
    h, w = frames[0].shape[:2]
    left, right = int(w * scene.crop[0]), int(w * scene.crop[1])
    width = min(WIDTH, right - left) // 2 * 2
    height = int(h * width / (right - left)) // 2 * 2
    tmp = out.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as dst:
        stream = dst.add_stream("libx264", rate=scene.fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, scene.fps)
        # No B-frames and a keyframe each second: a camera's stream, cheap to loop and cut.
        stream.options = {"bf": "0", "g": str(scene.fps), "preset": "veryfast", "crf": "26"}
        for i, index in enumerate(order):
            image = frames[index][:, left:right]
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
            frame = frame.reformat(width=width, height=height, format="yuv420p")
            frame.pts = i
            dst.mux(stream.encode(frame))
        dst.mux(stream.encode(None))
    tmp.replace(out)
    return out


def _camera(scene: Scene, source: Path) -> dict[str, Any]:
    cam: dict[str, Any] = {
        "id": scene.id,
        "name": scene.name,
        "kind": scene.kind,
        "site": SITE if scene.room_type else STREET_SITE,
        "source": str(source),
        "loop": True,
        "segment_seconds": 60,
        "analysis_fps": scene.analysis_fps,
        "analytics": scene.analytics,
    }
    if scene.room_type:
        cam |= {"room": scene.room, "room_type": scene.room_type.value}
    return cam


def footage_path(scene: Scene, shared: Path, root: Path) -> Path:
    """Where a scene's camera reads its footage (made by ``prepare_footage``)."""
    return root / "demo-footage" / f"{scene.id}.mp4" if scene.convert else shared / scene.footage


def prepare_footage_of(root: Path, shared: Path) -> None:
    """Convert every scene's footage that needs it (once; a few seconds to half a minute)."""
    for scene in SCENES:
        prepare_footage(scene, shared, root / "demo-footage")


def real_config(root: Path, shared: Path) -> Config:
    """The demo over real footage (its files made by ``prepare``)."""
    cameras = [_camera(s, footage_path(s, shared, root)) for s in SCENES]
    return Config.model_validate(
        {
            "storage": {"root": str(root)},
            "detector": {"model": str(shared / DEMO_MODEL)},
            "web": {"secure_cookies": False},  # plain http on 127.0.0.1
            # One worker process for the four cameras: one detector model loaded, not four.
            "workers": {"cameras_per_process": len(cameras)},
            "cameras": cameras,
            # Shorter waits than a real custody area's, so the demo shows them in minutes.
            "custody": {
                "sites": [{"name": SITE, "rooms": ROOMS}],
                "person_alone": {"for_s": 20},
                "two_officer": {"for_s": 30},
            },
        }
    )


@dataclass(frozen=True)
class Seeded:
    held: list[int]
    interview: int | None


def seed_ledger(db: Database, config: Config, clock: Clock | None = None) -> Seeded | None:
    """People held and an interview in progress, on an empty ledger only (a restarted demo
    keeps what it had). Entry times are back-dated so the legal clocks are near their limits."""
    from sqlalchemy import func, select

    from vms.custody.config import RiskLevel
    from vms.custody.models import Person
    from vms.custody.rules import Officer
    from vms.custody.service import CustodyService

    clock = clock or SystemClock()
    svc = CustodyService(db, config, clock)
    rooms = {r.type: r.id for r in svc.layout.rooms.values() if r.site == SITE}
    if not {RoomType.HOLDING, RoomType.INTERROGATION, RoomType.CELL} <= set(rooms):
        return None
    with db.session() as s:
        if s.scalar(select(func.count(Person.id))):
            return None
    now = clock.now()
    desk = "demo-desk"
    waiting = svc.enter(
        name="张伟",
        reason="涉嫌盗窃（演示）",
        basis="summons",
        room=rooms[RoomType.HOLDING],
        by=desk,
        case_number="2026-0142",
        id_number="110101199001011234",
        at=now - timedelta(hours=11, minutes=2),  # 12 h summons: the 60-minute warning now
    )
    cell = svc.enter(
        name="李强",
        reason="醉酒滋事（演示）",
        basis="admin_questioning",
        room=rooms[RoomType.CELL],
        by=desk,
        risk=RiskLevel.ELEVATED,
        at=now - timedelta(minutes=40),  # observed every 30 min: the round is overdue
    )
    questioned = svc.enter(
        name="王芳",
        reason="涉嫌诈骗（演示）",
        basis="summons",
        room=rooms[RoomType.HOLDING],
        by=desk,
        case_number="2026-0151",
        at=now - timedelta(hours=1, minutes=30),
    )
    # Observation rounds were kept, except in the cell: its round is overdue (an alert).
    for person, ago in ((waiting, 35), (questioned, 20)):
        svc.record_check(person.id, by="值班民警", note="巡视正常", at=now - timedelta(minutes=ago))
    interview = svc.start_interview(
        questioned.id,
        room=rooms[RoomType.INTERROGATION],
        officers=[Officer("刘洋", "031245"), Officer("陈静", "031877")],
        by="demo-desk",
    )
    return Seeded([waiting.id, cell.id, questioned.id], interview.id)


def announce(config: Config, root: Path, shared: Path | None) -> str:
    """What the demo runs and what a newcomer will see."""
    where = f"{root.resolve()} (SQLite {config.database_url})"
    if shared is None:
        return (
            f"[bold]vms demo[/]: ../shared/data is not here, so two built-in synthetic cameras "
            f"(a street and an interrogation room, moving test pictures: no people, so no "
            f"analytics alerts), recording into {where}. Ctrl-C stops.\n"
            "Then try: vms recordings list --camera street-1   and   vms verify"
        )
    names = ", ".join(f"{c.display_name} ({c.id})" for c in config.cameras)
    return (
        f"[bold]vms demo[/]: real footage from {shared} looped as {len(config.cameras)} cameras: "
        f"{names}; detector {config.detector.model}. Recording into {where}. Ctrl-C stops.\n"
        "Within two minutes: the live wall (supervisor) raises custody alerts (legal clock, "
        "observation round, person alone, person down in the cell) and analytics alerts "
        "(crowding and loitering on the plaza); search (investigator) finds them with "
        "snapshots; the custody page counts down the legal clocks of the people held; the "
        "audit page (auditor) has the interview in progress and its report."
    )


def seed_when_recording(app: RunningApp, stop: threading.Event, timeout_s: float = 120.0) -> None:
    """Seed the ledger once every demo camera records (people held before their rooms are
    on video would raise "room without video" alerts about the minutes before the demo)."""
    from sqlalchemy import func, select

    from vms.db.models import Segment

    db, wanted = app.db, {c.id for c in app.config.cameras}
    deadline = time.monotonic() + timeout_s
    while db is not None and not stop.is_set() and time.monotonic() < deadline:
        with db.session() as s:
            seen = set(s.scalars(select(Segment.camera_id).distinct()))
            count = s.scalar(select(func.count(Segment.id)))
        if wanted <= seen and count:
            break
        stop.wait(1.0)
    if db is not None and not stop.is_set():
        seeded = seed_ledger(db, app.config)
        if seeded is not None:
            log.info(
                "demo: %d people held and interview %s seeded", len(seeded.held), seeded.interview
            )


DEMO_MODE_FILE = "demo-mode"  # written by `vms demo` in its root: "real" or "synthetic"


def demo_config(root: Path = Path("./data"), *, synthetic: bool | None = None) -> Config:
    """The built-in demo's configuration (also what commands use without ``--config``).

    Real footage from ../shared/data when it is there , else two synthetic cameras.
    ``synthetic`` None: as the demo in ``root`` last ran, else real when possible.
    """
    if synthetic is None:
        mode = root / DEMO_MODE_FILE
        synthetic = mode.is_file() and mode.read_text().strip() == "synthetic"
    shared = None if synthetic else shared_data()
    return real_config(root, shared) if shared is not None else synthetic_demo_config(root)
