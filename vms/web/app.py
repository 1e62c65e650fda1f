"""The FastAPI application factory: one router per resource, one error handler, one state."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import Depends, FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from vms.bodyworn.ingest import Ingestor
from vms.bodyworn.uploads import UploadReceiver
from vms.cameras.overlay import OverlaySlot
from vms.clock import Clock, SystemClock
from vms.config import Config
from vms.custody.layout import build_layout
from vms.custody.service import CustodyService
from vms.db.session import Database
from vms.ops.registry import JobRegistry
from vms.web import docs, errors, i18n
from vms.web.alerts import AlertBroadcaster
from vms.web.courtcopies import CourtCopyJobs
from vms.web.deps import HealthProvider, WebState
from vms.web.headers import SecurityHeaders
from vms.web.limits import check_params
from vms.web.livehub import LazyLiveHub
from vms.web.routes import (
    alerts,
    audit,
    auth,
    bodyworn,
    bodyworn_admin,
    briefings,
    cameras,
    case_play,
    cases,
    courtcopies,
    custody,
    custody_desk,
    live,
    ops,
    pages,
    recordings,
    search,
    uploads,
    users,
)
from vms.web.schemas import HealthOut
from vms.web.security import GrantSigner, prepare_login_timing
from vms.web.throttle import LoginThrottler
from vms.web.viewing import ViewingCopies

if TYPE_CHECKING:
    from vms.web.live import PacketFeed

HERE = Path(__file__).parent
FeedProvider = Callable[[str], "PacketFeed | None"]


def create_app(
    config: Config,
    db: Database,
    health_provider: HealthProvider,
    *,
    live_feeds: FeedProvider | None = None,
    clock: Clock | None = None,
    overlays: Callable[[str], OverlaySlot | None] | None = None,
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
    layout = build_layout(config)

    def own_reader(camera_id: str) -> PacketFeed | None:
        from vms.web.live import DirectFeed  # WebRTC loads with the first viewer

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
        live=LazyLiveHub(live_feeds or own_reader, web_host=config.web.host),
        alerts=AlertBroadcaster(
            db,
            config.storage.root,
            escalation=config.custody.escalation,
            room_names={r.id: r.name for r in layout.rooms.values()},
            clock=clock,
        ),
        custody=CustodyService(db, config, clock),
        jobs=jobs or JobRegistry(),
        throttle=LoginThrottler(db, config.web.login_throttle, clock),
        uploads=UploadReceiver(Ingestor(db, config, clock)),
        court_copies=CourtCopyJobs(db, config, clock, layout),
        viewing=ViewingCopies(
            config.storage.root / "cache" / "viewing", config.web.viewing_cache_mb << 20
        ),
        cameras=cams,
    )
    if overlays is not None:
        state.overlays = overlays

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        state.loop = asyncio.get_running_loop()
        state.alerts.start()
        await run_in_threadpool(prepare_login_timing)
        yield
        await state.close_streams()

    app = FastAPI(
        title="vms",
        summary="Video surveillance and custody-area monitoring",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,  # vms.web.docs serves them with local assets (no CDN)
        redoc_url=None,
        # Every integer and time parameter of every route within what the database and the
        # calendar hold: a 422 naming it, never a 500 (vms.web.limits).
        dependencies=[Depends(check_params)],
    )
    docs.install(app)
    app.state.web = state
    errors.install(app)
    routers = (
        auth, users, cameras, live, alerts, custody, custody_desk, search, recordings, cases,
        case_play, audit, courtcopies, briefings, ops, bodyworn, bodyworn_admin, uploads, pages,
    )  # fmt: skip
    for module in routers:
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @app.get("/api/health", tags=["health"])
    def health() -> HealthOut:
        """Liveness for a load balancer or a monitor: no login, no data."""
        return HealthOut()

    # HSTS only where the login cookie is Secure: the site is served over HTTPS.
    app.add_middleware(SecurityHeaders, hsts=config.web.secure_cookies)
    return app
