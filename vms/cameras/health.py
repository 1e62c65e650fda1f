"""Per-camera health, readable from the running process (web app, metrics, CLI)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class CameraState(StrEnum):
    STARTING = "starting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass
class CameraHealth:
    """A snapshot of one camera worker's counters; worker processes send it (pickled, as
    is) to the supervisor every ``workers.health_interval_s``."""

    camera_id: str
    state: CameraState = CameraState.STARTING
    connected: bool = False
    fps_in: float = 0.0
    bitrate_bps: float = 0.0
    packets_in: int = 0
    packets_written: int = 0
    bytes_written: int = 0
    packets_skipped: int = 0
    segments_closed: int = 0
    analysis_frames: int = 0
    analysis_frames_dropped: int = 0
    reconnects: int = 0
    rtp_packets: int = 0  # GB/T 28181 sources: RTP packets received, lost, out of order,
    rtp_lost: int = 0  # and PS frames skipped to resynchronise at a keyframe after a loss
    rtp_reordered: int = 0
    ps_frames_dropped: int = 0
    frame_queue_depth: int = 0
    index_queue_depth: int = 0
    detector_calls: int = 0
    detector_latency_ms: float | None = None
    last_packet_at: datetime | None = None
    last_error: str | None = None
    codec: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass
class RateMeter:
    """Packets and bytes per second over a sliding window of about ``window_s`` seconds."""

    window_s: float = 5.0
    _marks: list[tuple[float, int, int]] = field(default_factory=list)

    def mark(self, packets: int, nbytes: int, now: float | None = None) -> tuple[float, float]:
        """Record the running totals; return (packets/s, bits/s) over the window."""
        now = time.monotonic() if now is None else now
        self._marks.append((now, packets, nbytes))
        while len(self._marks) > 2 and now - self._marks[0][0] > self.window_s:
            self._marks.pop(0)
        t0, p0, b0 = self._marks[0]
        dt = now - t0
        if dt <= 0:
            return 0.0, 0.0
        return (packets - p0) / dt, (nbytes - b0) * 8 / dt
