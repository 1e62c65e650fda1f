"""The FastAPI application factory: one router per resource, one error handler, one state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vms.bodyworn.ingest import Ingestor
from vms.bodyworn.uploads import UploadReceiver
from vms.clock import Clock, SystemClock
from vms.config import Config
from vms.custody.layout import build_layout
from vms.custody.service import CustodyService
from vms.db.session import Database
from vms.ops.registry import JobRegistry
from vms.web import errors, i18n
from vms.web.alerts import AlertBroadcaster
from vms.web.deps import HealthProvider, WebState
from vms.web.live import DirectFeed, LiveHub, PacketFeed
from vms.web.routes import (
    alerts,
    audit,
    auth,
    bodyworn,
    bodyworn_admin,
    briefings,
    cameras,
    cases,
    custody,
    live,
    ops,
    pages,
    recordings,
    search,
    uploads,
    users,
)
from vms.web.schemas import HealthOut
from vms.web.security import GrantSigner

HERE = Path(__file__).parent
FeedProvider = Callable[[str], PacketFeed | None]

_SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
]
# Pages load only this app's own scripts and styles; /docs (Swagger UI) is left alone.
_CSP = (
    b"default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    b"style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'"
)


class SecurityHeaders:
    """Adds the headers every answer should carry (pure ASGI: leaves streams streaming)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = str(scope.get("path", "")).startswith(("/docs", "/redoc"))

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + _SECURITY_HEADERS
                if not docs:
                    headers.append((b"content-security-policy", _CSP))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(
    config: Config,
    db: Database,
    health_provider: HealthProvider,
    *,
    live_feeds: FeedProvider | None = None,
    clock: Clock | None = None,
    grants: GrantSigner | None = None,
    jobs: JobRegistry | None = None,
) -> FastAPI:
    """The web application over a migrated database.

    ``health_provider`` gives each camera's latest health (``App.health``). ``live_feeds``
    gives a camera's packets for live view (the workers' channels under ``vms serve``);
    without it, the web process opens one reader per watched camera itself. ``jobs``: the
    scheduled jobs' registry of the process (``/metrics``, ``/api/ops/jobs``); none: no jobs.
    """
    cams = {c.id: c for c in config.cameras}
    clock = clock or SystemClock()

    def own_reader(camera_id: str) -> PacketFeed | None:
        cam = cams.get(camera_id)
        return DirectFeed(cam) if cam is not None else None

    clock = clock or SystemClock()
    state = WebState(
        config=config,
        db=db,
        health=health_provider,
        templates=i18n.install(Jinja2Templates(directory=HERE / "templates")),
        grants=grants or GrantSigner(),
        clock=clock,
        live=LiveHub(live_feeds or own_reader, web_host=config.web.host),
        alerts=AlertBroadcaster(
            db,
            config.storage.root,
            escalation=config.custody.escalation,
            room_names={r.id: r.name for r in build_layout(config).rooms.values()},
            clock=clock,
        ),
        custody=CustodyService(db, config, clock),
        jobs=jobs or JobRegistry(),
        uploads=UploadReceiver(Ingestor(db, config, clock)),
        cameras=cams,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state.loop = asyncio.get_running_loop()
        state.alerts.start()
        yield
        await state.close_streams()

    app = FastAPI(
        title="vms",
        summary="Video surveillance and custody-area monitoring",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.web = state
    errors.install(app)
    routers = (
        auth, users, cameras, live, alerts, custody, search, recordings, cases, audit,
        briefings, ops, bodyworn, bodyworn_admin, uploads, pages,
    )  # fmt: skip
    for module in routers:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/api/health", tags=["health"])
    def health() -> HealthOut:
        """Liveness for a load balancer or a monitor: no login, no data."""
        return HealthOut()

    app.add_middleware(SecurityHeaders)
    return app
