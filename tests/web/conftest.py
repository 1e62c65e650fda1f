"""Fixtures of the web tests: a configuration, users of every role, the app, real recordings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import shared_file
from tests.support.postgres import PostgresCluster
from tests.support.rtsp import RtspServer, prepare_h264
from vms.app import App
from vms.bootstrap import sync_cameras
from vms.cameras.health import CameraHealth, CameraState
from vms.cameras.index import RecordingIndex
from vms.cameras.worker import CameraWorker
from vms.config import Config
from vms.db.migrate import upgrade
from vms.db.session import Database
from vms.web.app import create_app
from vms.web.roles import Role
from vms.web.users import create_user, find_user, start_session

PASSWORD = "correct horse battery"
FOOTAGE = "footage/one-by-one-person-detection.mp4"
DETECTOR = "models/yolov8n_int8.onnx"


def synthetic_cameras(plaza: int, custody: bool = True) -> list[dict[str, Any]]:
    """More cameras for a full wall: ``plaza`` street cameras on one site, and (``custody``)
    the holding room's and the cell's; built-in sources with a burned-in clock (read back by
    ``vms.cameras.synthetic.read_timecode``)."""
    common = {"segment_seconds": 2, "analysis_fps": 0}
    cams: list[dict[str, Any]] = [
        {
            "id": f"plaza-{i:02d}",
            "name": f"Plaza {i:02d}",
            "kind": "street",
            "site": "Test plaza",
            "source": f"synthetic://plaza-{i:02d}?size=320x180&fps=10",
            **common,
        }
        for i in range(1, plaza + 1)
    ]
    if custody:
        for cam, room, kind in (
            ("hold-cam", "Holding room 1", "holding"),
            ("cell-cam", "Cell 1", "cell"),
        ):
            cams.append(
                {
                    "id": cam,
                    "name": room,
                    "kind": "custody",
                    "site": "Test custody area",
                    "room": room,
                    "room_type": kind,
                    "source": f"synthetic://{cam}?size=320x180&fps=10",
                    **common,
                }
            )
    return cams


def make_config(
    root: Path,
    source: str | None = None,
    custody_source: str | None = None,
    *,
    more: list[dict[str, Any]] | None = None,
    cameras_per_process: int = 1,
    analysed: tuple[str, ...] = (),
) -> Config:
    """A street camera and a custody interrogation-room camera (file or synthetic sources),
    and ``more``; the ``analysed`` ones with the shared detector at 1 fps (a crowd rule)."""
    config = Config.model_validate(
        {
            "storage": {"root": str(root)},
            "workers": {"cameras_per_process": cameras_per_process},
            "web": {"port": 0, "secure_cookies": False},
            # Rooms of the custody area without a camera of their own (the desk moves people
            # between them; the interrogation room is the custody camera's).
            "custody": {
                "sites": [
                    {
                        "name": "Test custody area",
                        "rooms": [
                            {"name": "Holding room 1", "type": "holding"},
                            {"name": "Inquiry room 1", "type": "inquiry"},
                            {"name": "Cell 1", "type": "cell"},
                        ],
                    }
                ]
            },
            "cameras": [
                {
                    "id": "street-1",
                    "name": "Street one",
                    "kind": "street",
                    "site": "Test street",
                    "source": source or "synthetic://street-1?size=320x180&fps=10",
                    "segment_seconds": 2,
                    "analysis_fps": 0,
                    "native_speed": False,
                },
                {
                    "id": "interview-1",
                    "name": "Interview room one",
                    "kind": "custody",
                    "site": "Test custody area",
                    "room": "Interrogation room 1",
                    "room_type": "interrogation",
                    "source": custody_source or "synthetic://interview-1?size=320x180&fps=10",
                    "segment_seconds": 2,
                    "analysis_fps": 0,
                    "native_speed": False,
                },
                *(more or []),
            ],
        }
    )
    if not analysed:
        return config
    raw = config.model_dump(mode="json")
    raw["detector"] = {"model": str(shared_file(DETECTOR))}
    for cam in raw["cameras"]:
        if cam["id"] in analysed:
            cam["analysis_fps"] = 1.0
            cam["analytics"] = {"rules": {"crowding": {"people": 3}}}
    return Config.model_validate(raw)


@dataclass
class Users:
    """One user per role, plus a supervisor limited to the street camera."""

    ids: dict[str, int]

    @staticmethod
    def names() -> list[str]:
        return [r.value for r in Role] + ["scoped"]


def add_users(db: Database) -> Users:
    ids = {}
    with db.session() as s:
        for role in Role:
            ids[role.value] = create_user(s, role.value, PASSWORD, role).id
        ids["scoped"] = create_user(
            s, "scoped", PASSWORD, Role.SUPERVISOR, camera_scope=["street-1"]
        ).id
    return Users(ids)


def installation(
    request: pytest.FixtureRequest, tmp: Path, name: str
) -> tuple[Config, Database, Users]:
    """A module's own installation on the backend ``request.param`` names: real footage as the
    cameras' source, a migrated database with the cameras registered, one user per role."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp / 'vms.db'}"
    else:
        cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
        url = cluster.create_database(f"t_{name}_{uuid.uuid4().hex[:12]}")
    clip = str(shared_file("footage/one-by-one-person-detection.mp4"))
    config = make_config(tmp / "store", source=clip, custody_source=clip)
    db = Database(url)
    upgrade(db.engine)
    config.recordings_dir.mkdir(parents=True)
    sync_cameras(db, config)
    return config, db, add_users(db)


def fake_health() -> dict[str, CameraHealth]:
    return {
        "street-1": CameraHealth(
            "street-1",
            state=CameraState.CONNECTED,
            connected=True,
            fps_in=10.0,
            bitrate_bps=512_000,
            packets_skipped=3,
            analysis_frames_dropped=4,
        ),
        "interview-1": CameraHealth(
            "interview-1", state=CameraState.RECONNECTING, last_error="connection refused"
        ),
    }


def record_file(db: Database, config: Config, camera_id: str) -> None:
    """Record a real clip through the real camera worker (as fast as it reads)."""
    index = RecordingIndex(db, config.storage.root)
    worker = CameraWorker(config.camera(camera_id), config.storage.root, index)
    worker.run()  # a file source that does not loop: returns at its end
    index.flush()
    index.close()


@pytest.fixture
def web_config(tmp_path: Path) -> Config:
    clip = shared_file(FOOTAGE)
    return make_config(tmp_path / "store", source=str(clip), custody_source=str(clip))


@pytest.fixture
def web_db(db: Database, web_config: Config) -> Database:
    """The migrated database (SQLite and PostgreSQL) with the cameras registered."""
    web_config.recordings_dir.mkdir(parents=True, exist_ok=True)
    sync_cameras(db, web_config)
    return db


@pytest.fixture
def users(web_db: Database) -> Users:
    return add_users(web_db)


@pytest.fixture
def app(web_config: Config, web_db: Database, users: Users) -> FastAPI:
    return create_app(web_config, web_db, fake_health)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, base_url="http://127.0.0.1") as c:
        yield c


def login(client: TestClient, username: str) -> TestClient:
    """Log ``client`` in (cookie) and send the same-site header on every call."""
    client.cookies.clear()
    res = client.post("/api/auth/login", json={"username": username, "password": PASSWORD})
    assert res.status_code == 200, res.text
    client.headers["X-Requested-With"] = "vms"
    return client


@dataclass
class Served:
    """``vms serve`` in this process: camera workers on a real RTSP camera, the web app."""

    app: App
    config: Config
    db: Database
    rtsp: RtspServer

    @property
    def url(self) -> str:
        assert self.app.web is not None
        return self.app.web.url

    def cookie(self, username: str) -> str:
        """A login session for ``username`` (what the login form would set)."""
        with self.db.session() as s:
            token, _ = start_session(s, find_user(s, username), 1)
        return token


def _serve(
    tmp_path_factory: pytest.TempPathFactory,
    more: list[dict[str, Any]] | None = None,
    cameras_per_process: int = 1,
    analysed: tuple[str, ...] = (),
) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("served")
    h264, fps = prepare_h264(shared_file(FOOTAGE), tmp / "h264", max_seconds=20)
    with RtspServer({"/street": (h264, fps), "/room": (h264, fps)}) as rtsp:
        config = make_config(
            tmp / "store",
            rtsp.url("/street"),
            rtsp.url("/room"),
            more=more,
            cameras_per_process=cameras_per_process,
            analysed=analysed,
        )
        app = App(config)
        app.start()
        try:
            db = Database(config.database_url)
            add_users(db)
            yield Served(app, config, db, rtsp)
            db.dispose()
        finally:
            app.stop()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Two RTSP cameras (real footage, looping): a street one and a custody interview room."""
    yield from _serve(tmp_path_factory)


@pytest.fixture(scope="module")
def served_wall(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A full wall: the two RTSP cameras and 14 built-in ones (12 on a plaza, a holding
    room's and a cell's), in two worker processes; street-1 analysed by the real detector."""
    yield from _serve(
        tmp_path_factory, synthetic_cameras(12), cameras_per_process=8, analysed=("street-1",)
    )
