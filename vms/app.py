"""Composition root of the supervisor process (``vms serve``, ``vms demo``): builds every part
of a running vms and tears it down in reverse. Each worker process is composed by
``vms.worker_process``; the supervisor starts them with its entry point."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler

from vms.bootstrap import prepare, sync_cameras
from vms.cameras.gb28181.platform import Gb28181Platform
from vms.cameras.health import CameraHealth
from vms.cameras.opened import redact
from vms.cameras.recovery import recover_node
from vms.cameras.supervisor import Supervisor
from vms.clock import SystemClock
from vms.cluster.locks import JobLocks
from vms.cluster.node import NodeAgent
from vms.cluster.notify import is_postgres
from vms.config import Config
from vms.db.partitions import maintain
from vms.db.session import Database
from vms.detection.startup import analysed, announce_detection
from vms.errors import CameraError, ConfigError
from vms.ops.jobs import register_jobs
from vms.ops.registry import JobRegistry
from vms.worker_process import run_worker_process

if TYPE_CHECKING:
    from vms.web.server import WebServer

#: ``prepare`` and ``sync_cameras`` live in vms.bootstrap; named here too for code written
#: when they were App's (other branches' tests import them from here).
__all__ = ["App", "prepare", "sync_cameras"]

log = logging.getLogger(__name__)
#: What a worker imports once its analysed cameras run (see Supervisor ``preload``).
ANALYSIS_PRELOAD = ("vms.detection.live", "vms.custody.presence")
#: A cluster node's workers: the PostgreSQL driver, so that a camera taken over records from
#: its next keyframe within seconds (a worker's first query would import it: ~0.5 s measured
#: on a loaded machine between a takeover and the first packet). Not on SQLite.
POSTGRES_PRELOAD = ("psycopg", "sqlalchemy.dialects.postgresql.psycopg")


class App:
    """A running vms: ``start()`` in order, ``stop()`` in reverse."""

    def __init__(self, config: Config, *, log_level: int = logging.INFO) -> None:
        self.config = config
        self.log_level = log_level
        self.clock = SystemClock()
        self.db: Database | None = None
        self.supervisor: Supervisor | None = None
        self.web: WebServer | None = None
        self.scheduler: BackgroundScheduler | None = None
        self.jobs: JobRegistry | None = None
        self.gb28181: Gb28181Platform | None = None
        #: On PostgreSQL this process is a node of a cluster (docs/scale-out.md).
        self.cluster = is_postgres(config.database_url)
        self.agent: NodeAgent | None = None
        self.locks: JobLocks | None = None

    def start(self) -> None:
        self.db = prepare(self.config)
        # PostgreSQL: today's partitions exist before the first write (the job keeps them).
        maintain(self.db.engine, self.clock.now(), self.config.database.partitions_ahead_days)
        log.info("database ready: %s", redact(self.config.database_url))
        announce_detection(self.config)  # a configured model that is missing stops us here
        if self.config.gb28181.enabled:  # before the workers, which ask it for their streams
            self._start_gb28181(self.db)
        self.supervisor = Supervisor(
            self.config,
            run_worker_process,
            log_level=self.log_level,
            dynamic=self.cluster,
            # The analytics entry in the fork server only when cameras are analysed: a
            # taken-over camera is analysed from its first seconds (~2.5 s of imports saved),
            # and a recording-only installation's workers never load the analysis stack.
            # The PostgreSQL driver only where the database is PostgreSQL.
            preload=(
                *(POSTGRES_PRELOAD if self.cluster else ()),
                *(ANALYSIS_PRELOAD if analysed(self.config) else ()),
            ),
        )
        self.supervisor.start()
        if self.cluster:
            # A node: its own segments left by a crash first, then leases decide what it
            # records; once-only jobs run where their advisory lock is.
            recover_node(self.db, self.config.storage.root, self.config.node_id)
            self.locks = JobLocks(self.config.database_url, self.config.node_id)
            web = self.config.web
            self.agent = NodeAgent(
                self.db,
                self.config,
                self.supervisor,
                web_url=f"http://{web.host}:{web.port}" if web.enabled else None,
            )
            self.agent.start()
        # APScheduler logs every run at INFO: every few seconds, for nothing.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        self.scheduler = BackgroundScheduler(timezone="UTC")
        jobs = register_jobs(
            self.scheduler, self.db, self.config, self.clock, self.health, locks=self.locks
        )
        self.jobs = jobs.registry
        self.scheduler.start()
        log.info(
            "recording %d camera(s) into %s", len(self.config.cameras), self.config.storage.root
        )
        if self.config.web.enabled:
            self._start_web(self.db)

    def _start_gb28181(self, db: Database) -> None:
        platform = Gb28181Platform.for_service(self.config, db)
        try:
            platform.start()
            self.gb28181 = platform
        except CameraError as exc:  # the other cameras record on; GB cameras report why not
            log.error("%s; GB/T 28181 cameras cannot connect until it is fixed", exc)
            platform.stop()

    def _start_web(self, db: Database) -> None:
        from vms.web.server import WebServer  # FastAPI and aiortc load only when served

        channel = self.supervisor.live_channel if self.supervisor else (lambda _cam: None)
        self.web = WebServer.for_service(self.config, db, self.health, channel, self.jobs)
        try:
            self.web.start()
        except ConfigError as exc:  # recording matters more than the pages: keep recording
            self.web = None
            log.error("%s; recording goes on without the web application", exc)

    def health(self) -> dict[str, CameraHealth]:
        return self.supervisor.health() if self.supervisor else {}

    def stop(self) -> None:
        # The recorders first: their stop budget is for closing segments, and it must not be
        # spent waiting for a web server or jobs backed up under load (bench.recording, 100
        # streams). The platform stays up until its channels' workers are gone. A node's
        # agent stops first (no camera is assigned meanwhile) and gives its leases back once
        # the workers closed their segments, so the others take them over at once.
        if self.agent is not None:
            self.agent.stop()
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
        if self.agent is not None:
            self.agent.leave()
            self.agent = None
        if self.web is not None:
            self.web.stop()
            self.web = None
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        if self.locks is not None:
            self.locks.release_all()
            self.locks = None
        if self.gb28181 is not None:
            self.gb28181.stop()
            self.gb28181 = None
        if self.db is not None:
            self.db.dispose()
            self.db = None
