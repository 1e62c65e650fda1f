"""GB/T 28181 in the service: the migration, the configuration, and vms serve end to end
(the platform in the supervisor process, the camera in a spawned worker process)."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

import vms.cameras.gb28181.models  # noqa: F401  (the tables under test)
from tests.cameras.conftest import H264Clip
from tests.cameras.gb28181.conftest import CHANNELS, NVR, PASSWORD, gb_settings
from tests.cameras.helpers import make_config, segments
from tests.support.gb28181 import DeviceSimulator
from tests.support.waiting import wait_for
from vms.app import App
from vms.cameras.gb28181.store import list_devices
from vms.cameras.sources import open_source
from vms.config import parse_config
from vms.db.migrate import alembic_config, upgrade
from vms.db.models import Base
from vms.db.session import Database
from vms.errors import ConfigError, SourceOpenError

TABLES = {"gb28181_devices", "gb28181_channels"}


def test_migration_matches_the_models_and_rolls_back(db_url: str) -> None:
    db = Database(db_url)
    try:
        upgrade(db.engine)
        assert set(inspect(db.engine).get_table_names()) >= TABLES
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        assert [d for d in diff if any(f"'{t}'" in repr(d) for t in TABLES)] == []
        cfg = alembic_config()
        with db.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0014_gb28181-1")
        assert not TABLES & set(inspect(db.engine).get_table_names())
    finally:
        db.dispose()


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ("  listen_host: 127.0.0.1\n  password: plain\n", "gb28181.password"),
        (
            "  devices:\n    '34020000001320000001': {password: x}\n",
            "gb28181.devices.34020000001320000001.password",
        ),
        ("  enabled: true\n", "gb28181"),
        ("  platform_id: '123'\n", "gb28181.platform_id"),
    ],
)
def test_a_bad_gb28181_section_names_its_yaml_path(section: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config("gb28181:\n" + section)
    assert [p for p in err.value.problems if p.split(" (line")[0] == problem], err.value.problems


def test_a_gb28181_camera_needs_the_platform_enabled() -> None:
    with pytest.raises(SourceOpenError, match="not enabled"):
        open_source(f"gb28181://{NVR}/{CHANNELS[0]}")


@pytest.mark.slow
def test_vms_serve_records_a_channel_through_a_worker_process(
    tmp_path: Path, h264_clip: H264Clip
) -> None:
    cam = {
        "id": "gate",
        "kind": "street",
        "site": "东门",
        "source": f"gb28181://{NVR}/{CHANNELS[0]}",
        "segment_seconds": 2,
        "analysis_fps": 0,
        "reconnect": {"initial_s": 0.5, "max_s": 1.0},
    }
    config = make_config(tmp_path, [cam], gb28181=gb_settings(), web={"enabled": False})
    app = App(config)
    app.start()
    try:
        assert app.gb28181 is not None
        port = app.gb28181.sip_port
        with DeviceSimulator(NVR, PASSWORD, port, CHANNELS[:1], h264_clip.path, h264_clip.fps):
            wait_for(
                "the worker process recording the channel",
                lambda: app.health()["gate"].segments_closed >= 2,
                90,
            )
    finally:
        app.stop()
    db = Database(config.database_url)
    try:
        rows = segments(db, "gate")
        [(device, channels)] = list_devices(db)
    finally:
        db.dispose()
    assert len(rows) >= 2
    assert rows[0].codec == "h264"
    assert device.id == NVR
    assert [c.channel_id for c in channels] == CHANNELS[:1]


def test_a_taken_sip_port_does_not_stop_the_service(tmp_path: Path) -> None:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        config = make_config(
            tmp_path, [], gb28181=gb_settings(sip_port=port), web={"enabled": False}
        )
        app = App(config)
        app.start()
        try:
            assert app.gb28181 is None  # logged; recording of the other cameras goes on
            assert app.supervisor is not None
        finally:
            app.stop()
