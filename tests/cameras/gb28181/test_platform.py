"""The platform against a real device simulator (a separate process) and a fuzzed corpus."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.cameras.conftest import H264Clip
from tests.cameras.gb28181.conftest import CHANNELS, NVR, PASSWORD, running_platform, simulator
from tests.cameras.gb28181.corpus import corpus
from tests.support.waiting import wait_for
from vms.cameras.gb28181.store import list_devices
from vms.cli import app
from vms.config import load_config
from vms.db.migrate import upgrade
from vms.db.session import Database


def test_a_device_registers_and_its_catalog_and_info_are_stored_and_listed(
    db_url: str, tmp_path: Path, h264_clip: H264Clip, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(db_url)
    upgrade(db.engine)
    try:
        with (
            running_platform(tmp_path, db) as platform,
            simulator(platform, h264_clip, channels=CHANNELS[:3]) as dev,
        ):
            registered = dev.wait_for("registered")
            assert registered["date"]  # GB devices set their clock from the 200's Date
            wait_for("the catalog", lambda: len(platform.channels_of(NVR)) == 3, 30)
            assert platform.device_ids() == {NVR: True}
            assert platform.store is not None
            wait_for(
                "device info and channels in the database",
                lambda: [(d.model, len(c)) for d, c in list_devices(db)] == [("NVR-20", 3)],
                30,
            )
            dev.command("unregister")
            dev.wait_for("unregistered")
            wait_for("offline after unregister", lambda: platform.device_ids() == {NVR: False}, 10)
            platform.store.flush()
        [(device, channels)] = list_devices(db)
    finally:
        db.dispose()
    assert (device.name, device.manufacturer, device.firmware) == ("测试 NVR", "vms-test", "V1.0")
    assert device.channel_count == 3
    assert not device.online
    assert device.offline_reason == "unregistered by the device"
    assert [c.channel_id for c in channels] == CHANNELS[:3]
    assert channels[0].name == "通道 1"
    assert channels[0].address == "测试路 1 号"

    # The CLI lists them, and adds a discovered channel as a camera.
    cfg_file = tmp_path / "vms.yaml"
    cfg_file.write_text(
        f"# site config\nstorage:\n  root: {tmp_path}\ndatabase:\n  url: {db_url}\n"
        "gb28181:\n  enabled: true\n  listen_host: 127.0.0.1\n  password: ${GB_PW}\n"
        "cameras: []\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("GB_PW", PASSWORD)
    runner = CliRunner()
    result = runner.invoke(app, ["gb28181", "devices", "--json", "-c", str(cfg_file)])
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert [d["device_id"] for d in listed] == [NVR]
    assert [c["camera"] for c in listed[0]["channels"]] == [None, None, None]
    args = ["gb28181", "add", NVR, CHANNELS[1], "--id", "gate-2", "--kind", "street"]
    result = runner.invoke(app, [*args, "--site", "东门", "-c", str(cfg_file)])
    assert result.exit_code == 0, result.output
    cfg = load_config(cfg_file)
    assert [(c.id, c.name, c.source) for c in cfg.cameras] == [
        ("gate-2", "通道 2", f"gb28181://{NVR}/{CHANNELS[1]}")
    ]
    assert cfg_file.read_text(encoding="utf-8").startswith("# site config")
    result = runner.invoke(app, [*args, "--site", "x", "-c", str(cfg_file)])
    assert result.exit_code != 0  # the channel is a camera already
    result = runner.invoke(app, ["gb28181", "devices", "--json", "-c", str(cfg_file)])
    assert json.loads(result.stdout)[0]["channels"][1]["camera"] == "gate-2"


def test_a_wrong_password_is_refused(tmp_path: Path, h264_clip: H264Clip) -> None:
    with (
        running_platform(tmp_path) as platform,
        simulator(platform, h264_clip, password="not-the-password") as dev,
    ):
        assert dev.wait_for("refused")["status"] == 403
        assert platform.stats.refused_registrations >= 1
        assert platform.device_ids() == {}
        dev.command("password", value=PASSWORD)  # the installer fixes the password
        dev.command("register")
        dev.wait_for("registered")
        assert platform.device_ids() == {NVR: True}


def test_a_fuzzed_corpus_of_malformed_sip_never_crashes_the_platform(
    tmp_path: Path, h264_clip: H264Clip
) -> None:
    messages = corpus(1200)
    datagrams = [m[:65000] for m in messages if m.strip(b"\r\n")]  # empty ones are pings
    with running_platform(tmp_path) as platform:
        port = platform.sip_port
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            for start in range(0, len(datagrams), 50):  # in batches: UDP may drop a flood
                batch = datagrams[start : start + 50]
                for data in batch:
                    udp.sendto(data, ("127.0.0.1", port))
                done = start + len(batch)
                wait_for(f"{done} datagrams", lambda n=done: platform.stats.received >= n, 30)
        tcp_sent = 0
        for data in messages[::4]:  # over TCP too: each on its own connection
            with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
                conn.sendall(data)
                tcp_sent += 1
        stats = platform.stats
        assert stats.errors == 0, "a malformed message raised inside the platform"
        assert stats.malformed >= len(messages) * 0.8
        assert stats.answered_4xx > 50  # what could be answered was answered
        assert stats.dropped > 50  # and what could not was dropped
        # ... and the platform still serves a real device.
        with simulator(platform, h264_clip) as dev:
            dev.wait_for("registered")
            assert platform.device_ids()[NVR]
        assert platform.stats.errors == 0
    assert tcp_sent == len(messages[::4])
