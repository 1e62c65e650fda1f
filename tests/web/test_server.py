"""The web server inside ``vms serve``: its port, its shutdown, and recording without it."""

from __future__ import annotations

import logging
import socket
import threading
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import add_users, fake_health, make_config
from vms.app import App
from vms.bootstrap import sync_cameras
from vms.db.migrate import upgrade
from vms.db.session import Database
from vms.errors import ConfigError
from vms.web.app import create_app
from vms.web.server import WebServer
from vms.web.users import find_user, start_session


def _taken_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'vms.db'}")
    upgrade(db.engine)
    with _taken_port() as sock:
        port = sock.getsockname()[1]
        server = WebServer(create_app(config, db, fake_health), "127.0.0.1", port)
        with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            server.start()
    db.dispose()


def test_stop_ends_open_alert_feeds(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'vms.db'}")
    upgrade(db.engine)
    config.recordings_dir.mkdir(parents=True)
    sync_cameras(db, config)
    add_users(db)
    with db.session() as s:
        token, _ = start_session(s, find_user(s, "supervisor"), 1)
    server = WebServer(create_app(config, db, fake_health), "127.0.0.1", 0)
    server.start()
    lines: list[str] = []
    opened = threading.Event()

    def listen() -> None:
        with (
            httpx.Client(base_url=server.url, cookies={"vms_session": token}) as client,
            client.stream("GET", "/api/alerts/stream", timeout=30) as res,
        ):
            opened.set()
            lines.extend(res.iter_lines())

    reader = threading.Thread(target=listen)
    reader.start()
    assert opened.wait(10)
    server.stop()
    reader.join(10)  # the feed ended with the server, not by a client timeout
    assert not reader.is_alive()
    assert lines[0] == "retry: 2000"
    db.dispose()


def test_recording_goes_on_when_the_web_port_is_taken(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with _taken_port() as sock:
        config = make_config(tmp_path / "store")
        web = config.web.model_copy(update={"port": sock.getsockname()[1]})
        config = config.model_copy(update={"web": web})
        app = App(config)
        with caplog.at_level(logging.ERROR, logger="vms.app"):
            app.start()
        try:
            assert app.web is None
            assert app.supervisor is not None
            assert "recording goes on without the web application" in caplog.text
        finally:
            app.stop()
