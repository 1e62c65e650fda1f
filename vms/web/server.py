"""Runs the web application with uvicorn in a thread of the ``vms serve`` process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import uvicorn
from fastapi import FastAPI

from vms.cameras.live import LiveChannel
from vms.cameras.overlay import OverlaySlot
from vms.config import Config
from vms.db.session import Database
from vms.detection.startup import analysed as analysed_cameras
from vms.errors import ConfigError
from vms.ops.registry import JobRegistry
from vms.web.app import create_app
from vms.web.deps import HealthProvider, WebState

if TYPE_CHECKING:
    from vms.web.live import PacketFeed

log = logging.getLogger(__name__)


class WebServer:
    """uvicorn in its own thread and event loop; signals stay with the main thread.

    ``start`` binds the port itself, so a port in use is a clear error before anything runs;
    ``stop`` ends alert feeds and live views first (they would hold a graceful shutdown open),
    then lets uvicorn finish the requests in flight.
    """

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        for chatty in ("aioice", "aiortc"):  # every ICE check at INFO: only problems, please
            logging.getLogger(chatty).setLevel(logging.WARNING)
        self.app = app
        self.host = host
        self.port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @classmethod
    def for_service(
        cls,
        config: Config,
        db: Database,
        health: HealthProvider,
        live_channel: Callable[[str], LiveChannel | None],
        jobs: JobRegistry | None = None,
    ) -> WebServer:
        """The web app of ``vms serve``: live video from the camera workers' own packets."""

        def feeds(camera_id: str) -> PacketFeed | None:
            from vms.web.live import ChannelFeed  # WebRTC loads with the first viewer

            channel = live_channel(camera_id)
            return ChannelFeed(channel) if channel is not None else None

        analysed = {c.id for c in analysed_cameras(config)}

        def overlays(camera_id: str) -> OverlaySlot | None:
            """The camera's analysis overlay; None where nothing analyses the camera."""
            channel = live_channel(camera_id) if camera_id in analysed else None
            return channel.overlay if channel is not None else None

        app = create_app(config, db, health, live_feeds=feeds, jobs=jobs, overlays=overlays)
        return cls(app, config.web.host, config.web.port)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise ConfigError(
                f"web: cannot listen on {self.host}:{self.port} ({exc.strerror}); "
                "set web.port (or --port for the demo) to a free port"
            ) from exc
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            log_config=None,
            access_log=False,
            timeout_graceful_shutdown=3,
            lifespan="on",
        )
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="web", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise ConfigError(f"web: the server on {self.url} did not start")
            time.sleep(0.02)
        log.info("web application at %s", self.url)

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        state: WebState = self.app.state.web
        if state.loop is not None and thread.is_alive():
            future = asyncio.run_coroutine_threadsafe(state.close_streams(), state.loop)
            with contextlib.suppress(Exception):
                future.result(timeout=5)
        server.should_exit = True
        thread.join(timeout=15)
        if thread.is_alive():
            log.error("web server did not stop within 15 s")
        self._server = self._thread = None
