"""/metrics: Prometheus text that parses, with a camera's counters moving between scrapes."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from tests.ops.conftest import T0, ops_config, prepared
from tests.support.clock import FakeClock
from tests.web.conftest import add_users
from vms.cameras.health import CameraHealth, CameraState
from vms.db.models import Event, Gap
from vms.db.session import Database
from vms.ops.metrics import VmsCollector, render_metrics
from vms.ops.registry import JobRegistry
from vms.web.app import create_app
from vms.web.users import create_api_token, get_user


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_parse_and_counters_move(db: Database, tmp_path: Path) -> None:
    config = prepared(db, ops_config(tmp_path))
    with db.session() as s:
        s.add(Gap(camera_id="street-1", start=T0, end=None, reason="stall"))
        s.add(Event(type="loitering", camera_id="street-1", start=T0, severity="warning"))
    health = {
        "street-1": CameraHealth(
            "street-1",
            state=CameraState.CONNECTED,
            connected=True,
            fps_in=10.0,
            bitrate_bps=512_000.0,
            packets_written=100,
            reconnects=1,
            analysis_frames_dropped=2,
            last_packet_at=T0 - timedelta(seconds=2),
            frame_queue_depth=1,
            index_queue_depth=3,
            detector_calls=40,
            detector_latency_ms=120.0,
        )
    }
    registry = JobRegistry()
    registry.track("camera-health", lambda: None, FakeClock(T0))()
    collector = VmsCollector(lambda: dict(health), db, config, registry, FakeClock(T0))
    cam = (("camera", "street-1"),)
    first = _samples(render_metrics(collector).decode())
    assert first[("vms_camera_packets_written_total", cam)] == 100
    assert first[("vms_camera_fps", cam)] == 10.0
    assert first[("vms_camera_bitrate_bps", cam)] == 512_000.0
    assert first[("vms_camera_last_packet_age_seconds", cam)] == 2.0
    assert first[("vms_camera_gaps_total", cam)] == 1
    assert first[("vms_camera_gap_open", cam)] == 1
    assert first[("vms_alerts_total", (("type", "loitering"),))] == 1
    assert first[("vms_job_runs_total", (("job", "camera-health"),))] == 1
    assert first[("vms_job_failures_total", (("job", "camera-health"),))] == 0
    assert first[("vms_disk_free_bytes", ())] > 0
    assert first[("vms_camera_detector_latency_seconds", cam)] == 0.12
    assert first[("vms_camera_detector_calls_total", cam)] == 40
    assert first[("vms_camera_queue_depth", (*cam, ("queue", "analysis_frames")))] == 1
    assert first[("vms_camera_queue_depth", (*cam, ("queue", "index_writes")))] == 3
    health["street-1"] = CameraHealth(
        "street-1",
        state=CameraState.CONNECTED,
        connected=True,
        packets_written=250,
        reconnects=2,
        analysis_frames_dropped=5,
        last_packet_at=T0,
    )
    second = _samples(render_metrics(collector).decode())
    assert second[("vms_camera_packets_written_total", cam)] == 250
    assert second[("vms_camera_reconnects_total", cam)] == 2
    assert second[("vms_camera_analysis_frames_dropped_total", cam)] == 5


def test_metrics_route_with_an_api_token(db: Database, tmp_path: Path) -> None:
    config = prepared(db, ops_config(tmp_path))
    users = add_users(db)
    with db.session() as s:
        token, _ = create_api_token(s, get_user(s, users.ids["admin"]), "prometheus")
    health = {"street-1": CameraHealth("street-1", packets_written=7)}
    app = create_app(config, db, lambda: health)
    with TestClient(app, base_url="http://127.0.0.1") as client:
        assert client.get("/metrics").status_code == 401
        res = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert res.status_code == 200
        assert res.headers["content-type"].startswith("text/plain")
        got = _samples(res.text)
        assert got[("vms_camera_packets_written_total", (("camera", "street-1"),))] == 7
        jobs = client.get("/api/ops/jobs", headers={"Authorization": f"Bearer {token}"})
        assert jobs.status_code == 200
