"""One camera stream worker: connect, record segments, decode for analysis, reconnect.

    source --packets--> PacketTimeline (pure: where each packet goes)
                   \\--> SegmentWriter (remux video + audio, no decode) --> files + index rows
                   \\--> AnalysisDecoder (video copies, own thread)    --> LatestFrameBuffer
                   \\--> LiveTap (copies while somebody watches)

The record loop is I/O only: every decision about a packet (skip it before the first
keyframe, date it, cut a segment, route late audio to the previous segment, notice that the
sound stopped) comes from ``vms.cameras.timeline``. Recording never waits for analysis or for
the database. A failure (connect error, end of stream, no packet for ``stall_timeout_s``)
closes the segment, opens a gap row and a camera-offline event, and reconnects with
exponential backoff and jitter; the gap is closed when the first keyframe after the outage
starts a new segment. A full disk (ENOSPC) is not a camera failure: the segment is closed
with what really reached the disk (probed), a "storage full" gap and a ``storage_full`` event
begin at its last packet, and recording resumes at a keyframe once there is room again.

Per packet the loop takes no lock and makes no ``datetime``: counters are plain attributes
of this thread that ``health()`` reads, and rates are computed when health is sampled.
"""

from __future__ import annotations

import logging
import random
import shutil
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import av

from vms.cameras.backoff import backoff_delay
from vms.cameras.bitstream import is_annexb, starts_picture
from vms.cameras.decoder import AnalysisDecoder
from vms.cameras.frames import LatestFrameBuffer
from vms.cameras.health import CameraHealth, CameraState, RateMeter
from vms.cameras.index import Handle, RecordingIndex
from vms.cameras.live import LiveTap
from vms.cameras.opened import OpenedSource, redact
from vms.cameras.recorder import (
    CONTAINERS,
    SegmentWriter,
    container_for,
    is_full,
    probe_segment,
    segment_relpath,
)
from vms.cameras.sources import open_source
from vms.cameras.timeline import MAX_DTS_JUMP_S, PacketTimeline, Verdict
from vms.clock import Clock, SystemClock
from vms.config import CameraConfig
from vms.errors import CameraError, SourceEndedError, StorageError
from vms.vocab import EventType

__all__ = ["MAX_DTS_JUMP_S", "CameraWorker"]

if TYPE_CHECKING:
    from vms.cameras.gb28181.source import Gb28181Media

log = logging.getLogger(__name__)

#: With the disk full, look for room again at most this often (seconds) ...
STORAGE_RETRY_S = 2.0
#: ... and resume once this much is free, at least twice the last segment's size.
STORAGE_RESUME_BYTES = 16 << 20

_WRITE, _PREVIOUS = Verdict.WRITE, Verdict.PREVIOUS


def _dt(wall: float) -> datetime:
    return datetime.fromtimestamp(wall, UTC)


class _Open:
    """A segment being written: its file and its index row."""

    __slots__ = ("handle", "writer")

    def __init__(self, writer: SegmentWriter, handle: Handle) -> None:
        self.writer = writer
        self.handle = handle


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
        opener: Callable[..., OpenedSource] = open_source,
        gb28181: Gb28181Media | None = None,
        fence: Callable[[], bool] | None = None,
        outage_reason: str | None = None,
        connect_slots: threading.Semaphore | None = None,
    ) -> None:
        """``fence`` (cluster nodes): asked before each segment opens whether this node still
        holds the camera's lease. ``outage_reason``: why the time since the last recording
        is a gap, when another node recorded it last (``node failover (node X lost)``)."""
        self.camera = camera
        # Shared by the cameras of a process: at most so many connect at once (stagger).
        self._connect_slots = connect_slots
        self._opener = opener  # the seam to the camera: vms.cameras.sources.open_source
        self._fence = fence
        self.live = live
        self.gb28181 = gb28181
        self.root = root
        self.index = index
        self.clock = clock or SystemClock()
        self.frames = frames if frames is not None else LatestFrameBuffer(capacity=2)
        self._stop = threading.Event()
        self._health = CameraHealth(camera_id=camera.id)
        self._rates = RateMeter()
        self._rng = random.Random()
        self._lock = threading.Lock()  # guards _health and _rates, never taken per packet
        # Counters of the recording thread, read (not locked) by health().
        self._n_in = 0
        self._n_written = 0
        self._n_bytes = 0
        self._n_skipped = 0
        self._n_segments = 0
        self._last_mono: float | None = None
        self._seg: _Open | None = None
        self._prev: _Open | None = None  # the segment before a cut, taking late audio
        self._decoder: AnalysisDecoder | None = None
        self._timeline: PacketTimeline[av.Packet[Any]] | None = None
        # Transport counters (RTP loss): of past connections, and the current source.
        self._media_totals: dict[str, int] = {}
        self._source: OpenedSource | None = None
        self._last_end: datetime | None = last_recorded_end
        # The outage in progress (its gap row, event row); None while recording.
        self._outage: tuple[Handle, Handle | None] | None = None
        self._outage_reason: str | None = None
        self._audio_gap: Handle | None = None
        self._audio_gap_start = datetime.min.replace(tzinfo=UTC)
        self._storage_full = False
        self._storage_retry = 0.0
        self._last_segment_bytes = 0
        self._learned: dict[int, bytes] = {}  # audio configs seen on this connection
        self._anomalies = (0, 0, 0)
        existing = index.resume_open_gap(camera.id)
        index.end_open_audio_gaps(camera.id, last_recorded_end)
        self._expects_audio = index.camera_had_audio(camera.id)
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
        """A snapshot of the counters, with the rates since the last snapshots."""
        mono = self.clock.monotonic()
        with self._lock:
            h = self._health
            h.packets_in, h.packets_written = self._n_in, self._n_written
            h.bytes_written, h.packets_skipped = self._n_bytes, self._n_skipped
            h.segments_closed = self._n_segments
            h.fps_in, h.bitrate_bps = self._rates.mark(self._n_in, self._n_bytes, mono)
            if self._last_mono is not None:
                h.last_packet_at = self.clock.now() - _seconds(mono - self._last_mono)
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
            written_before = self._n_written
            try:
                self._set(state=CameraState.STARTING if failures == 0 else CameraState.RECONNECTING)
                source = self._connect()
                if source is None:
                    break  # stopped while waiting for a turn to connect
                with self._lock:
                    self._source = source
                self._record(source)
                self._end_connection(source)  # stopped
            except SourceEndedError as exc:
                if source is not None and source.is_file and self._n_in:
                    self._end_connection(source)
                    if not self.camera.loop:
                        log.info("%s: end of file, recording finished", self.camera.id)
                        break
                    failures = 0  # a looped file starts again; its timeline goes on
                    continue
                self._failed(exc, source)
            except (CameraError, StorageError) as exc:
                self._failed(exc, source)
            except Exception as exc:  # a bug must not stop this camera's recording for good
                log.exception("%s: unexpected error", self.camera.id)
                self._failed(exc, source)
            finally:
                if source is not None:
                    source.close()
                    self._retire(source)
            if self._stop.is_set():
                break
            failures = 1 if self._n_written > written_before else failures + 1
            # One failure after recording is a reconnect; repeated failures mean the source is bad.
            self._set(state=CameraState.RECONNECTING if failures == 1 else CameraState.FAILED)
            delay = backoff_delay(failures, self.camera.reconnect, self._rng)
            log.info("%s: reconnecting in %.1f s (attempt %d)", self.camera.id, delay, failures)
            if self._stop.wait(delay):
                break
            with self._lock:
                self._health.reconnects += 1
        self._shutdown()

    def _connect(self) -> OpenedSource | None:
        """Open the source once a connect slot is free (None if stopped while waiting).

        The wait for a slot is not part of the stall timeout: only the open itself is timed,
        so 100 cameras starting together connect a few at a time instead of all timing out.
        """
        slots = self._connect_slots
        if slots is not None:
            while not slots.acquire(timeout=0.5):
                if self._stop.is_set():
                    return None
        try:
            return self._opener(
                self.camera.source,
                stall_timeout_s=self.camera.stall_timeout_s,
                native_speed=self.camera.native_speed,
                gb28181=self.gb28181,
                rtsp_reader=self.camera.rtsp_reader,
            )
        finally:
            if slots is not None:
                slots.release()

    def _record(self, source: OpenedSource) -> None:
        info = source.info
        if self.live is not None:
            self.live.connected(info, info.extradata, source.tracks[1:])
        self._set(codec=info.codec, width=info.width, height=info.height)
        if len(source.tracks) > 1:
            self._expects_audio = True
        record = self.camera.record
        monotonic = self.clock.monotonic
        wall0 = self.clock.now().timestamp() - monotonic()
        last_end = self._last_end
        tl: PacketTimeline[av.Packet[Any]] = PacketTimeline(
            [t.time_base for t in source.tracks],
            fps=info.fps,
            segment_s=self.camera.segment_seconds if record else None,
            not_before=last_end.timestamp() if last_end is not None else None,
            audio_expected=record and self._expects_audio,
        )
        self._timeline = tl
        self._anomalies = (0, 0, 0)
        self._learned = {}
        codec, annexb = info.codec, is_annexb(info.extradata)
        feed = tl.feed
        place = self._place
        stop = self._stop
        connected = False
        for track, packet in source.tracked():
            if stop.is_set():
                return
            now = monotonic()
            self._n_in += 1
            self._last_mono = now
            if not connected:
                connected = True
                self._connected()
            key = packet.is_keyframe
            if key and not tl.anchored and track == 0:
                key = starts_picture(codec, bytes(packet), annexb)  # a whole access unit?
            verdict = feed(packet, track, packet.dts, key, packet.duration or 0, wall0 + now)
            if tl.released:
                for r in tl.released:
                    place(source, r.item, r.track, r.verdict, r.tick, r.cut, r.close_previous)
            place(source, packet, track, verdict, tl.tick, tl.cut, tl.close_previous)
            if tl.then:
                for r in tl.then:
                    place(source, r.item, r.track, r.verdict, r.tick, r.cut, r.close_previous)
            if tl.audio_lost is not None and record:
                self._audio_lost(tl.audio_lost)
            if self._storage_full and now >= self._storage_retry:
                self._storage_retry = now + STORAGE_RETRY_S
                if self._room_again():
                    tl.cut_at_next_keyframe()

    def _retire(self, source: OpenedSource) -> None:
        """Fold a closed connection's transport counters into the camera's totals."""
        with self._lock:
            for key, value in source.media_stats().items():
                self._media_totals[key] = self._media_totals.get(key, 0) + value
            self._source = None

    def _place(
        self,
        source: OpenedSource,
        packet: av.Packet[Any],
        track: int,
        verdict: Verdict,
        tick: int,
        cut: bool,
        close_previous: bool,
    ) -> None:
        """Do what the timeline decided for one packet."""
        if verdict is not _WRITE and verdict is not _PREVIOUS:
            if verdict is not Verdict.HOLD:
                self._n_skipped += 1
            return
        dts = packet.dts
        if dts != tick:  # dated or re-anchored by the timeline: the file gets the tick
            pts = packet.pts
            packet.pts = tick if pts is None or dts is None else tick + pts - dts
            packet.dts = tick
        if close_previous:
            self._close_previous()
        if track == 0:
            if cut:
                self._cut(source, tick)
            if self.live is not None:
                self.live.offer(packet)
            if self._decoder is not None:
                assert self._timeline is not None
                self._decoder.offer(packet, self._timeline.wall(0, tick))
        elif self.live is not None:
            self.live.offer_audio(packet, track)
        seg = self._seg if verdict is _WRITE else self._prev
        if seg is None:
            if self._storage_full:
                self._n_skipped += 1  # not recorded: the "storage full" gap covers it
            return
        size = packet.size
        try:
            seg.writer.write(packet, track, tick)
        except StorageError as exc:
            if not is_full(exc.__cause__):
                raise
            self._disk_full(exc)
            self._n_skipped += 1
            return
        self._n_written += 1
        self._n_bytes += size
        if track and self._audio_gap is not None:
            assert self._timeline is not None
            back = max(_dt(self._timeline.wall(track, tick)), self._audio_gap_start)
            self.index.outage_ended(self._audio_gap, None, back)
            self._audio_gap = None

    # -- segments ------------------------------------------------------------------------

    def _cut(self, source: OpenedSource, tick: int) -> None:
        """A keyframe starts a new segment (or, with record off, the stream is back)."""
        tl = self._timeline
        assert tl is not None
        start = _dt(tl.wall(0, tick))
        if self._decoder is None and self.camera.analysis_fps > 0:
            info = source.info
            self._decoder = AnalysisDecoder(
                self.camera.id,
                info.codec,
                info.extradata,
                info.time_base,
                self.camera.analysis_fps,
                self.frames,
            )
        if self.camera.record:
            if self._prev is not None:
                self._close(self._prev)
            self._prev, self._seg = self._seg, None
            if self._prev is not None and len(source.tracks) == 1:
                self._close(self._prev)  # no audio can come late
                self._prev = None
            if self._storage_full and not self._room_again():
                return
            try:
                self._seg = self._open(source, start, tick)
            except StorageError as exc:
                if not is_full(exc.__cause__):
                    raise
                self._disk_full(exc)
                return
            if self._storage_full:
                self._storage_full = False
                tl.reset_audio()
                log.warning("%s: storage has room again, recording resumes", self.camera.id)
                self._set(last_error=None)
        # Recording (or, with record off, the stream) is back: an outage ends here.
        self._end_outage(start)

    def _open(self, source: OpenedSource, start: datetime, tick: int) -> _Open:
        if self._prev is not None:
            self._learned.update(self._prev.writer.learned)
        for i, config in self._learned.items():  # an ADTS track's config, for the header
            if not source.tracks[i].extradata:
                source.tracks[i] = replace(source.tracks[i], extradata=config)
        if self._fence is not None and not self._fence():
            self._stop.set()  # another node records this camera now: stop, write nothing
            raise StorageError(f"{self.camera.id}: this node no longer holds the camera's lease")
        fmt = container_for(source.streams)
        rel = segment_relpath(self.camera.id, start, self.root, CONTAINERS[fmt], self.index.node)
        audio = list(zip(source.streams[1:], source.tracks[1:], strict=True))
        writer = SegmentWriter(self.root, rel, source.stream, source.info, start, tick, audio=audio)
        handle = self.index.segment_opened(self.camera.id, rel, start, source.info, source.tracks)
        return _Open(writer, handle)

    def _close(self, seg: _Open) -> None:
        """Finish a segment file and queue its index row (hashing happens off this thread)."""
        self._log_anomalies()
        writer = seg.writer
        self._learned.update(writer.learned)
        try:
            rel, end, packets = writer.close()
        except StorageError as exc:
            log.error("%s: %s", self.camera.id, exc)
            self._close_from_disk(seg)
            return
        self._last_end = end if self._last_end is None else max(self._last_end, end)
        self._last_segment_bytes = _size(writer.path)
        self.index.segment_closed(
            seg.handle, rel, writer.start, end, packets, track_packets=writer.track_packets
        )
        self._n_segments += 1

    def _log_anomalies(self) -> None:
        """Say what the camera's timestamps made the timeline do since the last segment."""
        tl = self._timeline
        if tl is None:
            return
        now = (tl.video_rejoins, tl.audio_rejoins, tl.audio_overlaps)
        if now != self._anomalies:
            v, a, o = (x - y for x, y in zip(now, self._anomalies, strict=True))
            log.warning(
                "%s: camera timestamps: %d video jump(s), %d audio re-anchor(s), "
                "%d overlapping audio packet(s) skipped",
                self.camera.id,
                v,
                a,
                o,
            )
            self._anomalies = now

    def _close_from_disk(self, seg: _Open) -> None:
        """The file could not be finished: index exactly what a read-back finds in it."""
        writer = seg.writer
        writer.abort()
        probe = probe_segment(writer.path)
        end = writer.start + _seconds(probe.seconds)
        if probe.playable:
            self._last_end = end if self._last_end is None else max(self._last_end, end)
        else:
            log.error("%s: %s holds no playable packet", self.camera.id, writer.relpath)
        self.index.segment_closed(
            seg.handle,
            writer.relpath,
            writer.start,
            end,
            probe.packets,
            track_packets=[s.packets for s in probe.streams],
            empty=not probe.playable,
        )
        self._n_segments += 1

    def _close_previous(self) -> None:
        if self._prev is not None:
            self._close(self._prev)
            self._prev = None

    def _close_all(self) -> None:
        self._close_previous()
        if self._seg is not None:
            seg, self._seg = self._seg, None
            self._close(seg)

    # -- storage full --------------------------------------------------------------------

    def _disk_full(self, exc: StorageError) -> None:
        """ENOSPC: close what is open from what is on disk; a "storage full" gap begins."""
        for seg in (self._prev, self._seg):
            if seg is not None:
                self._close_from_disk(seg)
        self._prev = self._seg = None
        self._storage_full = True
        self._storage_retry = self.clock.monotonic() + STORAGE_RETRY_S
        reason = f"storage full: {exc}"
        log.critical("%s: %s; recording stops until there is room", self.camera.id, reason)
        self._set(last_error=reason)
        self._end_audio_gap(self._last_end)
        if self._outage is None:
            start = self._last_end or self.clock.now()
            self._outage = self.index.outage_started(
                self.camera.id, start, reason, offline_event=False, event=EventType.STORAGE_FULL
            )

    def _room_again(self) -> bool:
        try:
            free = shutil.disk_usage(self.root).free
        except OSError:
            return False
        return free >= max(STORAGE_RESUME_BYTES, 2 * self._last_segment_bytes)

    # -- outages -------------------------------------------------------------------------

    def _audio_lost(self, wall: float) -> None:
        if self._audio_gap is None and not self._storage_full and self._seg is not None:
            start = _dt(wall)  # may lie in the segment before: the sound stopped there
            log.warning("%s: no sound from the camera since %s", self.camera.id, start)
            self._audio_gap_start = start
            self._audio_gap, _ = self.index.outage_started(
                self.camera.id,
                start,
                "audio lost: the camera sends no sound",
                offline_event=False,
                kind="audio",
            )

    def _end_audio_gap(self, end: datetime | None) -> None:
        if self._audio_gap is not None:
            gap, self._audio_gap = self._audio_gap, None
            tl = self._timeline
            at = tl.end_audio() if tl is not None else None
            when = _dt(at) if at is not None else (end or self.clock.now())
            when = min(when, end) if end is not None else when
            self.index.outage_ended(gap, None, max(when, self._audio_gap_start))

    def _end_connection(self, source: OpenedSource | None = None) -> None:
        """The connection ended (or the file did): close every segment and the audio gap."""
        if self._timeline is not None and source is not None:
            try:
                for r in self._timeline.drain():  # the audio that waited for the picture
                    self._place(source, r.item, r.track, r.verdict, r.tick, r.cut, r.close_previous)
            except (CameraError, StorageError) as exc:
                log.error("%s: %s", self.camera.id, exc)
        self._close_all()
        self._end_audio_gap(self._last_end)
        self._timeline = None

    def _failed(self, exc: BaseException, source: OpenedSource | None = None) -> None:
        self._end_connection(source)
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

    def _connected(self) -> None:
        with self._lock:
            h = self._health
            h.connected = True
            h.state = CameraState.CONNECTED
            h.last_error = None

    def _set(self, **values: Any) -> None:
        with self._lock:
            for k, v in values.items():
                setattr(self._health, k, v)

    def _shutdown(self) -> None:
        self._end_connection()
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


def _seconds(s: float) -> timedelta:
    return timedelta(seconds=s)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
