"""Operations: Prometheus /metrics and the scheduled jobs' runs and failures.

/metrics needs a login with the ``ops`` permission (admin, supervisor): Prometheus sends an
API token (``authorization: {credentials: <token>}`` in its scrape config).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST

from vms.cluster.status import ClusterView, cluster_view
from vms.ops.metrics import VmsCollector, render_metrics
from vms.ops.registry import JobStats
from vms.web.deps import StateDep, content
from vms.web.roles import Permission
from vms.web.scope import Scope, unscoped

router = APIRouter(tags=["ops"])
# Metrics and jobs describe every camera: not for a user limited to some cameras.
Operator = Annotated[Scope, Depends(unscoped(Permission.OPS, "operations data"))]


@router.get(
    "/metrics",
    response_class=Response,
    responses=content("Prometheus text exposition.", CONTENT_TYPE_LATEST),
)
def metrics(state: StateDep, user: Operator) -> Response:
    """Prometheus text exposition: cameras, gaps, disk, alerts by type, jobs."""
    collector = VmsCollector(state.health, state.db, state.config, state.jobs, state.clock)
    return Response(render_metrics(collector), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/ops/jobs")
def jobs(state: StateDep, user: Operator) -> list[JobStats]:
    """Each scheduled job's runs, failures, last duration and last error."""
    return state.jobs.snapshot()


@router.get("/api/nodes")
def nodes(state: StateDep, user: Operator) -> ClusterView:
    """The recorder nodes sharing the index: heartbeats, cameras held, leases."""
    return cluster_view(state.db, state.config.node.lease_s)
