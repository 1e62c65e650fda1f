"""One camera stream worker: connect, record segments, decode for analysis, reconnect.

    source --packets--> SegmentWriter (remux, no decode)   --> segment files + index rows
                   \\--> AnalysisDecoder (copies, own thread) --> LatestFrameBuffer

Recording never waits for analysis or for the database. A failure (connect error, end of
stream, no packet for ``stall_timeout_s``) closes the segment, opens a gap row and a
camera-offline event, and reconnects with exponential backoff and jitter; the gap is closed
when the first keyframe after the outage starts a new segment.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vms.cameras.backoff import backoff_delay
from vms.cameras.decoder import AnalysisDecoder
from vms.cameras.frames import LatestFrameBuffer
from vms.cameras.health import CameraHealth, CameraState, RateMeter
from vms.cameras.index import Handle, RecordingIndex
from vms.cameras.live import LiveTap
from vms.cameras.recorder import SegmentWriter, segment_relpath
from vms.cameras.sources import OpenedSource, open_source, redact
from vms.clock import Clock, SystemClock
from vms.config import CameraConfig
from vms.errors import CameraError, SourceEndedError, StorageError

if TYPE_CHECKING:
    from vms.cameras.gb28181.source import Gb28181Media

log = logging.getLogger(__name__)

#: A jump in timestamps larger than this (or backwards) starts a new segment.
MAX_DTS_JUMP_S = 10.0


class CameraWorker:
    """Records one camera until ``stop()``; health is readable at any time via ``health()``."""

    def __init__(
        self,
        camera: CameraConfig,
        root: Path,
        index: RecordingIndex,
        *,
        clock: Clock | None = None,
        frames: LatestFrameBuffer | None = None,
        last_recorded_end: datetime | None = None,
        live: LiveTap | None = None,
        gb28181: Gb28181Media | None = None,
        fence: Callable[[], bool] | None = None,
        outage_reason: str | None = None,
    ) -> None:
        """``fence`` (cluster nodes): asked before each segment opens whether this node still
        holds the camera's lease. ``outage_reason``: why the time since the last recording
        is a gap, when another node recorded it last (``node failover (node X lost)``)."""
        self.camera = camera
        self._fence = fence
        self.live = live
        self.gb28181 = gb28181
        self.root = root
        self.index = index
        self.clock = clock or SystemClock()
        self.frames = frames or LatestFrameBuffer(capacity=2)
        self._stop = threading.Event()
        self._health = CameraHealth(camera_id=camera.id)
        self._rates = RateMeter()
        self._rng = random.Random()
        self._lock = threading.Lock()
        self._writer: SegmentWriter | None = None
        self._segment: Handle | None = None
        self._decoder: AnalysisDecoder | None = None
        # Transport counters (RTP loss): of past connections, and the current source.
        self._media_totals: dict[str, int] = {}
        self._source: OpenedSource | None = None
        # Timeline: wall time of the packet with dts == _anchor_dts.
        self._anchor_wall: datetime | None = None
        self._anchor_dts = 0
        self._last_dts: int | None = None
        self._last_end: datetime | None = last_recorded_end
        # The outage in progress (its gap row, event row); None while recording.
        self._outage: tuple[Handle, Handle | None] | None = None
        self._outage_reason: str | None = None
        existing = index.resume_open_gap(camera.id)
        if existing is not None:
            self._outage = (existing, None)
        elif last_recorded_end is not None:
            self._outage_reason = (
                outage_reason or "recorder not running (service stopped or crashed)"
            )

    # -- control -------------------------------------------------------------------------

    def stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def health(self) -> CameraHealth:
        with self._lock:
            h = self._health
            if self._decoder is not None:
                h.analysis_frames = self.frames.delivered
                h.analysis_frames_dropped = self._decoder.dropped + self.frames.dropped
            h.frame_queue_depth = len(self.frames)
            h.index_queue_depth = self.index.pending()
            snapshot = CameraHealth(**vars(h))
            current = self._source.media_stats() if self._source is not None else {}
        for key in set(self._media_totals) | set(current):
            total = self._media_totals.get(key, 0) + current.get(key, 0)
            setattr(snapshot, key, total)
        return snapshot

    # -- main loop -----------------------------------------------------------------------

    def run(self) -> None:
        """Record until stopped; never raises for camera or storage trouble."""
        failures = 0
        while not self._stop.is_set():
            source: OpenedSource | None = None
            written_before = self._health.packets_written
            try:
                self._set(state=CameraState.STARTING if failures == 0 else CameraState.RECONNECTING)
                source = open_source(
                    self.camera.source,
                    stall_timeout_s=self.camera.stall_timeout_s,
                    native_speed=self.camera.native_speed,
                    gb28181=self.gb28181,
                )
                with self._lock:
                    self._source = source
                self._record(source)
            except SourceEndedError as exc:
                if source is not None and source.is_file and self._health.packets_in:
                    self._close_segment()
                    if not self.camera.loop:
                        log.info("%s: end of file, recording finished", self.camera.id)
                        break
                    # A looped file starts again; its timeline goes on without a gap.
                    self._new_timeline()
                    failures = 0
                    continue
                self._failed(exc)
            except (CameraError, StorageError) as exc:
                self._failed(exc)
            except Exception as exc:  # a bug must not stop this camera's recording for good
                log.exception("%s: unexpected error", self.camera.id)
                self._failed(exc)
            finally:
                if source is not None:
                    source.close()
                    self._retire(source)
            if self._stop.is_set():
                break
            failures = 1 if self._health.packets_written > written_before else failures + 1
            # One failure after recording is a reconnect; repeated failures mean the source is bad.
            self._set(state=CameraState.RECONNECTING if failures == 1 else CameraState.FAILED)
            delay = backoff_delay(failures, self.camera.reconnect, self._rng)
            log.info("%s: reconnecting in %.1f s (attempt %d)", self.camera.id, delay, failures)
            if self._stop.wait(delay):
                break
            with self._lock:
                self._health.reconnects += 1
        self._shutdown()

    def _record(self, source: OpenedSource) -> None:
        info = source.info
        if self.live is not None:
            self.live.connected(info, source.stream.codec_context.extradata)
        with self._lock:
            self._health.codec, self._health.width, self._health.height = (
                info.codec,
                info.width,
                info.height,
            )
        tb = info.time_base
        # k * num / den is the correctly rounded float of the rational k * tb, so it equals
        # float(k * tb) exactly, without building a Fraction for every packet.
        tb_num, tb_den = tb.numerator, tb.denominator
        waiting_for_key = True
        resume_at: datetime | None = None
        for packet in source.packets():
            if self._stop.is_set():
                return
            dts = packet.dts
            assert dts is not None
            now = self.clock.now()
            with self._lock:
                h = self._health
                h.packets_in += 1
                h.last_packet_at = now
                if not h.connected:
                    h.connected = True
                    h.state = CameraState.CONNECTED
                    h.last_error = None
            if self._last_dts is not None and not waiting_for_key:
                jump = (dts - self._last_dts) * tb_num / tb_den
                if jump <= 0 or jump > MAX_DTS_JUMP_S:
                    log.warning("%s: timestamp jump of %.3f s", self.camera.id, jump)
                    self._close_segment()
                    self._new_timeline()
                    waiting_for_key = True
            if waiting_for_key:
                if not packet.is_keyframe:
                    with self._lock:
                        self._health.packets_skipped += 1
                    continue
                waiting_for_key = False
                if self._anchor_wall is None:
                    # Never before the end of what is already recorded: no overlap.
                    self._anchor_wall = max(now, self._last_end or now)
                    self._anchor_dts = dts
                resume_at = self._time_of(dts, tb)
                if self._decoder is None and self.camera.analysis_fps > 0:
                    self._decoder = AnalysisDecoder(
                        self.camera.id,
                        info.codec,
                        source.stream.codec_context.extradata,
                        tb,
                        self.camera.analysis_fps,
                        self.frames,
                    )
            when = self._time_of(dts, tb)
            if self.camera.record:
                w = self._writer
                if (
                    w is not None
                    and packet.is_keyframe
                    and (when - w.start).total_seconds() >= self.camera.segment_seconds - 1e-6
                ):
                    self._close_segment()
                    w = None
                if w is None:
                    self._open_segment(source, when, dts)
            if self.live is not None:
                self.live.offer(packet)  # before the writer rebases the timestamps
            if self._decoder is not None:
                self._decoder.offer(packet, when)
            if self.camera.record and self._writer is not None:
                size = packet.size
                self._writer.write(packet)
                with self._lock:
                    self._health.packets_written += 1
                    self._health.bytes_written += size
            if resume_at is not None:
                # Recording (or, with record off, the stream) is back: the outage ends here.
                self._end_outage(resume_at)
                resume_at = None
            self._last_dts = dts
            self._update_rates()

    # -- pieces --------------------------------------------------------------------------

    def _retire(self, source: OpenedSource) -> None:
        """Fold a closed connection's transport counters into the camera's totals."""
        with self._lock:
            for key, value in source.media_stats().items():
                self._media_totals[key] = self._media_totals.get(key, 0) + value
            self._source = None

    def _time_of(self, dts: int, tb: Any) -> datetime:
        assert self._anchor_wall is not None
        # Equal to float((dts - anchor) * tb), computed without Fraction arithmetic.
        seconds = (dts - self._anchor_dts) * tb.numerator / tb.denominator
        return self._anchor_wall + timedelta(seconds=seconds)

    def _new_timeline(self) -> None:
        """The next keyframe anchors packet timestamps to the wall clock again."""
        self._anchor_wall = None
        self._last_dts = None

    def _open_segment(self, source: OpenedSource, start: datetime, dts: int) -> SegmentWriter:
        if self._fence is not None and not self._fence():
            self._stop.set()  # another node records this camera now: stop, write nothing
            raise StorageError(f"{self.camera.id}: this node no longer holds the camera's lease")
        rel = segment_relpath(self.camera.id, start, self.root, self.index.node)
        writer = SegmentWriter(self.root, rel, source.stream, source.info, start, dts)
        self._writer = writer
        self._segment = self.index.segment_opened(self.camera.id, rel, start, source.info)
        return writer

    def _close_segment(self) -> None:
        writer, handle = self._writer, self._segment
        self._writer = self._segment = None
        if writer is None or handle is None:
            return
        try:
            rel, end, packets = writer.close()
        except StorageError as exc:
            log.error("%s: %s", self.camera.id, exc)
            rel, end, packets = writer.relpath, writer.end_time(), writer.packets
        self._last_end = end
        self.index.segment_closed(handle, rel, writer.start, end, packets)
        with self._lock:
            self._health.segments_closed += 1

    def _failed(self, exc: BaseException) -> None:
        self._close_segment()
        reason = str(exc) or type(exc).__name__
        log.warning("%s: %s", self.camera.id, reason)
        with self._lock:
            self._health.connected = False
            self._health.last_error = reason
            self._health.state = CameraState.RECONNECTING
        if self._outage is None and not self._stop.is_set():
            start = self._last_end or self.clock.now()
            self._outage = self.index.outage_started(
                self.camera.id, start, f"camera offline: {reason}", offline_event=True
            )
        self._new_timeline()

    def _end_outage(self, end: datetime) -> None:
        if self._outage is None and self._outage_reason is not None and self._last_end:
            self._outage = self.index.outage_started(
                self.camera.id, self._last_end, self._outage_reason, offline_event=False
            )
        self._outage_reason = None
        if self._outage is not None:
            gap, event = self._outage
            self.index.outage_ended(gap, event, end)
            self._outage = None

    def _update_rates(self) -> None:
        with self._lock:
            h = self._health
            h.fps_in, h.bitrate_bps = self._rates.mark(h.packets_in, h.bytes_written)

    def _set(self, **values: Any) -> None:
        with self._lock:
            for k, v in values.items():
                setattr(self._health, k, v)

    def _shutdown(self) -> None:
        self._close_segment()
        if self._decoder is not None:
            self._decoder.close()
        if self._outage is None and self._last_end is not None:
            # Recording stops here: the time until the next start is a gap, not silence.
            self._outage = self.index.outage_started(
                self.camera.id,
                self._last_end,
                "recorder stopped (service shut down)",
                offline_event=False,
            )
        self._set(state=CameraState.STOPPED, connected=False)
        log.info("%s: stopped (%s)", self.camera.id, redact(self.camera.source))
