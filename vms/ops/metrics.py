"""Prometheus metrics, read at scrape time from the supervisor's health, the database, the
disk and the job registry (a custom Collector: nothing is kept twice).

Not exported yet: detector latency and per-camera queue depths (the workers' health
snapshots do not carry them; see docs/operations.md).
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from vms.cameras.health import CameraHealth
from vms.clock import Clock, SystemClock, utc
from vms.config import Config
from vms.db.models import Event, Gap
from vms.db.session import Database
from vms.ops.registry import JobRegistry

HealthProvider = Callable[[], dict[str, CameraHealth]]

_COUNTERS: list[tuple[str, str, str]] = [
    ("packets_in", "packets_in", "Packets read from the camera."),
    ("packets_written", "packets_written", "Packets written to segment files."),
    ("bytes_written", "bytes_written", "Bytes written to segment files."),
    ("packets_skipped", "packets_skipped", "Packets skipped (before the first keyframe)."),
    ("segments_closed", "segments_closed", "Segment files closed."),
    ("reconnects", "reconnects", "Reconnections after a failure or stall."),
    ("rtp_lost", "rtp_packets_lost", "GB/T 28181: RTP packets lost on the network."),
    ("ps_frames_dropped", "ps_frames_dropped", "GB/T 28181: frames skipped after a loss."),
    ("analysis_frames", "analysis_frames", "Frames decoded for analysis."),
    ("analysis_frames_dropped", "analysis_frames_dropped", "Analysis frames dropped (busy)."),
    ("detector_calls", "detector_calls", "Detector calls made by the camera's analysis."),
]


class VmsCollector(Collector):
    """One scrape: per camera health, gaps, disk, alerts by type, jobs."""

    def __init__(
        self,
        health: HealthProvider,
        db: Database,
        config: Config,
        jobs: JobRegistry,
        clock: Clock | None = None,
    ) -> None:
        self.health = health
        self.db = db
        self.config = config
        self.jobs = jobs
        self.clock = clock or SystemClock()

    def collect(self) -> Iterator[Metric]:
        yield from self._node()
        yield from self._cameras()
        yield from self._database()
        yield from self._disk()
        yield from self._jobs()

    def _node(self) -> Iterator[Metric]:
        """Which node this is and how many cameras it records (each node serves its own)."""
        node = GaugeMetricFamily(
            "vms_node_cameras", "Cameras this node records now.", labels=["node"]
        )
        node.add_metric([self.config.node_id], len(self.health()))
        yield node

    def _cameras(self) -> Iterator[Metric]:
        now = utc(self.clock.now())
        cams = sorted(self.health().items())
        connected = GaugeMetricFamily(
            "vms_camera_connected", "1 while the camera is connected.", labels=["camera"]
        )
        fps = GaugeMetricFamily("vms_camera_fps", "Packets per second in.", labels=["camera"])
        bitrate = GaugeMetricFamily(
            "vms_camera_bitrate_bps", "Bits per second in.", labels=["camera"]
        )
        age = GaugeMetricFamily(
            "vms_camera_last_packet_age_seconds",
            "Seconds since the last packet (absent before the first).",
            labels=["camera"],
        )
        counters = {
            attr: CounterMetricFamily(f"vms_camera_{name}", doc, labels=["camera"])
            for attr, name, doc in _COUNTERS
        }
        latency = GaugeMetricFamily(
            "vms_camera_detector_latency_seconds",
            "Smoothed time of one detector call (absent before the first).",
            labels=["camera"],
        )
        depth = GaugeMetricFamily(
            "vms_camera_queue_depth",
            "Items waiting: decoded frames for analysis, index writes for the database.",
            labels=["camera", "queue"],
        )
        for cam, h in cams:
            connected.add_metric([cam], 1.0 if h.connected else 0.0)
            if h.detector_latency_ms is not None:
                latency.add_metric([cam], h.detector_latency_ms / 1000.0)
            depth.add_metric([cam, "analysis_frames"], float(h.frame_queue_depth))
            depth.add_metric([cam, "index_writes"], float(h.index_queue_depth))
            fps.add_metric([cam], h.fps_in)
            bitrate.add_metric([cam], h.bitrate_bps)
            if h.last_packet_at is not None:
                age.add_metric([cam], max(0.0, (now - utc(h.last_packet_at)).total_seconds()))
            for attr, family in counters.items():
                family.add_metric([cam], float(getattr(h, attr)))
        yield connected
        yield fps
        yield bitrate
        yield age
        yield latency
        yield depth
        yield from counters.values()

    def _database(self) -> Iterator[Metric]:
        gaps = CounterMetricFamily(
            "vms_camera_gaps", "Recording gaps (outages) indexed.", labels=["camera"]
        )
        open_gaps = GaugeMetricFamily(
            "vms_camera_gap_open", "1 while the camera has an open gap.", labels=["camera"]
        )
        alerts = CounterMetricFamily(
            "vms_alerts", "Events (alerts) indexed, by type.", labels=["type"]
        )
        open_alerts = GaugeMetricFamily(
            "vms_alerts_open", "Events still open (no end), by type.", labels=["type"]
        )
        with self.db.session() as s:
            for cam, n, still in s.execute(
                select(Gap.camera_id, func.count(Gap.id), func.count(Gap.id) - func.count(Gap.end))
                .where(Gap.kind == "video")  # outages; audio gaps are not counted here
                .group_by(Gap.camera_id)
                .order_by(Gap.camera_id)
            ):
                gaps.add_metric([cam], float(n))
                open_gaps.add_metric([cam], 1.0 if still else 0.0)
            for etype, n, still in s.execute(
                select(
                    Event.type, func.count(Event.id), func.count(Event.id) - func.count(Event.end)
                )
                .group_by(Event.type)
                .order_by(Event.type)
            ):
                alerts.add_metric([etype], float(n))
                open_alerts.add_metric([etype], float(still))
        yield gaps
        yield open_gaps
        yield alerts
        yield open_alerts

    def _disk(self) -> Iterator[Metric]:
        try:
            usage = shutil.disk_usage(self.config.storage.root)
        except OSError:
            return
        for name, value in (("total", usage.total), ("used", usage.used), ("free", usage.free)):
            yield GaugeMetricFamily(
                f"vms_disk_{name}_bytes",
                f"Storage file system: {name} bytes.",
                value=float(value),
            )

    def _jobs(self) -> Iterator[Metric]:
        runs = CounterMetricFamily("vms_job_runs", "Runs of a scheduled job.", labels=["job"])
        failures = CounterMetricFamily(
            "vms_job_failures", "Failed runs of a scheduled job.", labels=["job"]
        )
        total = CounterMetricFamily(
            "vms_job_duration_seconds", "Time spent in a scheduled job.", labels=["job"]
        )
        last = GaugeMetricFamily(
            "vms_job_last_duration_seconds", "Duration of the job's last run.", labels=["job"]
        )
        for stats in self.jobs.snapshot():
            runs.add_metric([stats.name], float(stats.runs))
            failures.add_metric([stats.name], float(stats.failures))
            total.add_metric([stats.name], stats.total_duration_s)
            if stats.last_duration_s is not None:
                last.add_metric([stats.name], stats.last_duration_s)
        yield runs
        yield failures
        yield total
        yield last


def render_metrics(collector: VmsCollector) -> bytes:
    """The Prometheus text exposition of one scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    return generate_latest(registry)
