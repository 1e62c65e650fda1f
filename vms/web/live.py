"""Live view over WebRTC: the camera's H.264 passed through to every viewer, never re-encoded;
its sound too (vms.web.liveaudio: G.711 passed through, other codecs to Opus).

    PacketFeed (worker's packets, or one own reader) -> CameraTrack (one per camera)
        (+ its CameraAudioTrack) -> MediaRelay -> one proxy per viewer -> RTCPeerConnection
        (aiortc) -> browser

An H.265 camera is decoded once in the camera track and encoded to H.264 by aiortc for each
viewer (aiortc has no H.265 payloader; Chromium decodes H.265 only with a hardware decoder),
and the answer says so: "transcoded for viewing; the evidence is the original".

``LiveHub`` owns every peer connection (as aiortc's webcam example does): it closes a
connection that fails and all of them at shutdown, and stops a camera's upstream reader when
its last viewer leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol

import aioice.ice
import av
from aiortc import (
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from aiortc.sdp import SessionDescription

from vms.cameras.backoff import backoff_delay
from vms.cameras.live import LiveChannel, LiveHeader, LiveItem, LivePacket
from vms.cameras.sources import open_source
from vms.config import CameraConfig
from vms.errors import CameraError, InvalidError, LiveStreamError
from vms.vocab import Subsystem
from vms.web.liveaudio import AudioConverter, CameraAudioTrack

log = logging.getLogger(__name__)

RTP_TIME_BASE = Fraction(1, 90000)
_START_CODE = b"\x00\x00\x00\x01"
TRANSCODED = "transcoded for viewing; the evidence is the original"
FRAME_QUEUE = 30  # decoded pictures waiting for the viewers (H.265 cameras)
HEADER_WAIT_S = 10.0  # the first watch of a camera waits for its header (a keyframe)


# -- H.264 in the form WebRTC wants ----------------------------------------------------


def _nal_types(annexb: bytes) -> set[int]:
    """The NAL unit types in an Annex-B buffer."""
    types = set()
    i = annexb.find(b"\x00\x00\x01")
    while i >= 0 and i + 3 < len(annexb):
        types.add(annexb[i + 3] & 0x1F)
        i = annexb.find(b"\x00\x00\x01", i + 3)
    return types


class AnnexB:
    """Turns a camera's H.264 packets into Annex-B access units that start decoding alone.

    MP4-style sources (avcC extradata) have length-prefixed NAL units: they get start codes.
    Keyframes without SPS/PPS in band get them from the extradata, so a viewer who joins at
    any keyframe can decode. The slices themselves are copied as they are.

    >>> AnnexB(None).convert(b"\\x00\\x00\\x00\\x01\\x65..", keyframe=True)[:5]
    b'\\x00\\x00\\x00\\x01e'
    """

    def __init__(self, extradata: bytes | None) -> None:
        self.length_size = 0
        self.parameter_sets = b""
        data = extradata or b""
        if data[:1] == b"\x01" and len(data) >= 7:
            self.length_size = (data[4] & 0x03) + 1
            sets: list[bytes] = []
            pos = 5
            for count_mask in (0x1F, 0xFF):  # SPS count (low 5 bits), then PPS count
                count = data[pos] & count_mask
                pos += 1
                for _ in range(count):
                    size = int.from_bytes(data[pos : pos + 2], "big")
                    sets.append(data[pos + 2 : pos + 2 + size])
                    pos += 2 + size
            self.parameter_sets = b"".join(_START_CODE + s for s in sets)
        elif data:
            self.parameter_sets = data  # already Annex-B (RTSP sprop-parameter-sets)

    def convert(self, data: bytes, keyframe: bool) -> bytes:
        if self.length_size:
            out = bytearray()
            pos, n = 0, self.length_size
            while pos + n <= len(data):
                size = int.from_bytes(data[pos : pos + n], "big")
                out += _START_CODE + data[pos + n : pos + n + size]
                pos += n + size
            data = bytes(out)
        if keyframe and self.parameter_sets and 7 not in _nal_types(data[:4096]):
            data = self.parameter_sets + data
        return data


class Timeline:
    """Maps the source's timestamps onto one rising timeline for RTP.

    A reconnect or a looped file starts the source's clock again; the viewer's clock must go
    on, one frame after the last, or the browser would hold the new frames back.
    """

    MAX_JUMP_S = 5.0

    def __init__(self) -> None:
        self._offset: float | None = None
        self._last: float | None = None
        self.step = 1 / 30

    def restart(self, fps: float | None) -> None:
        self._offset = None
        if fps:
            self.step = 1 / fps

    def map(self, ts: int, tb: Fraction) -> int:
        t = float(ts * tb)
        if self._offset is None:
            self._offset = (self._last + self.step if self._last is not None else 0.0) - t
        out = t + self._offset
        if self._last is not None and not (0 <= out - self._last <= self.MAX_JUMP_S):
            self._offset = self._last + self.step - t
            out = self._last + self.step
        self._last = out
        return round(out / RTP_TIME_BASE)


# -- where a camera's packets come from ------------------------------------------------


class PacketFeed(Protocol):
    """Delivers a camera's stream (header first) to ``emit`` until ``stop`` is set."""

    def run(self, emit: Callable[[LiveItem], None], stop: threading.Event) -> None: ...


class ChannelFeed:
    """The packets the camera's worker process already reads (no second camera connection)."""

    def __init__(self, channel: LiveChannel) -> None:
        self.channel = channel

    def run(self, emit: Callable[[LiveItem], None], stop: threading.Event) -> None:
        self.channel.watch(True, audio=True)
        try:
            while not stop.is_set():
                item = self.channel.read(timeout=0.5)
                if item is not None:
                    emit(item)
        finally:
            self.channel.watch(False)


class DirectFeed:
    """One reader of the camera's own, in this process: for a web app without workers."""

    def __init__(self, camera: CameraConfig) -> None:
        self.camera = camera

    def run(self, emit: Callable[[LiveItem], None], stop: threading.Event) -> None:
        failures = 0
        while not stop.is_set():
            try:
                source = open_source(
                    self.camera.source,
                    stall_timeout_s=self.camera.stall_timeout_s,
                    native_speed=True,
                    rtsp_reader=self.camera.rtsp_reader,
                )
            except CameraError as exc:
                failures += 1
                log.warning("%s: live reader: %s", self.camera.id, exc)
                stop.wait(backoff_delay(failures, self.camera.reconnect))
                continue
            try:
                info = source.info
                emit(
                    LiveHeader(
                        info.codec,
                        source.stream.codec_context.extradata,
                        info.time_base,
                        info.width,
                        info.height,
                        info.fps,
                    )
                )
                failures = 0
                for p in source.packets():
                    if stop.is_set():
                        return
                    emit(LivePacket(bytes(p), p.pts, p.dts, bool(p.is_keyframe)))
            except CameraError as exc:
                log.info("%s: live reader: %s", self.camera.id, exc)
            finally:
                source.close()


# -- tracks ----------------------------------------------------------------------------


class CameraTrack(MediaStreamTrack):
    """The one upstream track of a camera: packets from a feed, read in a thread."""

    kind = "video"

    def __init__(
        self,
        camera_id: str,
        feed: PacketFeed,
        loop: asyncio.AbstractEventLoop,
        *,
        audio_mime: str | None = None,
    ) -> None:
        super().__init__()
        self.camera_id = camera_id
        self.packets = 0
        self.dropped = 0
        self.error: str | None = None
        self._event_loop = loop
        self._queue: asyncio.Queue[av.Packet[Any] | av.VideoFrame | None] = asyncio.Queue(
            maxsize=300
        )
        self._skip_to_key = False
        self._halt = threading.Event()
        self._convert: AnnexB | None = None
        self._decoder: Any = None  # H.265: decoded here, encoded to H.264 per viewer
        self._tb = RTP_TIME_BASE
        self._timeline = Timeline()
        self._header = threading.Event()
        #: The camera's sound for viewers: as it was the last time (``audio_mime``), or once
        #: its header says what it is (None: no sound).
        self.audio: CameraAudioTrack | None = CameraAudioTrack(audio_mime) if audio_mime else None
        self._audio: AudioConverter | None = None
        #: Why the picture is not the camera's own packets (None: it is).
        self.transcoded: str | None = None
        self._thread = threading.Thread(
            target=self._run, args=(feed,), name=f"live-{camera_id}", daemon=True
        )
        self._thread.start()

    @property
    def known(self) -> bool:
        """The camera's header arrived: what it sends is known."""
        return self._header.is_set()

    async def ready(self, timeout: float) -> bool:
        """Wait until the camera's header arrived (what it sends is known)."""
        return await asyncio.to_thread(self._header.wait, timeout)

    def wait_finished(self, timeout: float) -> bool:
        """Wait for the reader thread to end (it has let go of its feed)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self, feed: PacketFeed) -> None:
        try:
            feed.run(self._emit, self._halt)
        except Exception:  # a bug here must end this track, never the web process
            log.exception("%s: live feed failed", self.camera_id)
        finally:
            with contextlib.suppress(RuntimeError):  # the loop is already closed
                self._event_loop.call_soon_threadsafe(self._put, None)

    def _emit(self, item: LiveItem) -> None:
        if isinstance(item, LiveHeader):
            self._on_header(item)
            return
        if item.track:
            self._emit_audio(item)
            return
        if self._convert is None and self._decoder is None:
            return
        ts = item.pts if item.pts is not None else item.dts
        if ts is None:
            return
        if self._decoder is not None:
            self._emit_decoded(item, ts)
            return
        assert self._convert is not None
        packet = av.Packet(self._convert.convert(item.data, item.keyframe))
        packet.pts = packet.dts = self._timeline.map(ts, self._tb)
        packet.time_base = RTP_TIME_BASE
        packet.is_keyframe = item.keyframe
        with contextlib.suppress(RuntimeError):
            self._event_loop.call_soon_threadsafe(self._put, packet)

    def _on_header(self, item: LiveHeader) -> None:
        self._convert = self._decoder = None
        self.transcoded = None
        if item.codec == "h264":
            self.error = None
            self._convert = AnnexB(item.extradata)
        elif item.codec == "hevc":
            # No H.265 over WebRTC from aiortc (and Chromium decodes it only with a hardware
            # decoder): decoded once here, encoded to H.264 for each viewer.
            self.error = None
            self._decoder = av.CodecContext.create("hevc", "r")
            if item.extradata:
                self._decoder.extradata = item.extradata
            self._decoder.thread_type = "AUTO"
            self.transcoded = TRANSCODED
        else:
            self.error = f"camera sends {item.codec}; live view in a browser needs H.264 or H.265"
            log.warning("%s: %s", self.camera_id, self.error)
        self._tb = item.time_base
        self._timeline.restart(item.fps)
        self._audio = None
        for audio in item.audio[:1]:
            try:
                self._audio = AudioConverter(audio)
            except (ValueError, av.FFmpegError) as exc:
                log.info("%s: live sound: %s", self.camera_id, exc)
        if self._audio is not None and self.audio is None and not self._header.is_set():
            self.audio = CameraAudioTrack(self._audio.mime)
        self._header.set()

    def _emit_audio(self, item: LivePacket) -> None:
        if self._audio is None or self.audio is None or item.track != 1:
            return
        if self._audio.mime != self.audio.mime:  # the camera changed codec: not negotiated
            return
        audio = self.audio
        for out in self._audio.convert(item):
            with contextlib.suppress(RuntimeError):
                self._event_loop.call_soon_threadsafe(audio.put, out)

    def _emit_decoded(self, item: LivePacket, ts: int) -> None:
        packet = av.Packet(item.data)
        packet.pts = packet.dts = ts
        packet.time_base = self._tb
        try:
            frames = self._decoder.decode(packet)
        except av.FFmpegError as exc:  # a damaged packet: the decoder recovers at a keyframe
            log.debug("%s: live decode: %s", self.camera_id, exc)
            return
        for frame in frames:
            frame.pts = self._timeline.map(frame.pts if frame.pts is not None else ts, self._tb)
            frame.time_base = RTP_TIME_BASE
            with contextlib.suppress(RuntimeError):
                self._event_loop.call_soon_threadsafe(self._put, frame)

    def _put(self, packet: av.Packet[Any] | av.VideoFrame | None) -> None:
        if isinstance(packet, av.VideoFrame):
            if self._queue.qsize() >= FRAME_QUEUE:  # decoded pictures: drop, never pile up
                self.dropped += 1
                return
        elif packet is not None:
            if self._skip_to_key and not packet.is_keyframe:
                self.dropped += 1
                return
            self._skip_to_key = False
        try:
            self._queue.put_nowait(packet)
        except asyncio.QueueFull:
            self.dropped += 1
            self._skip_to_key = True

    async def recv(self) -> av.Packet[Any] | av.VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        packet = await self._queue.get()
        if packet is None:
            self.stop()
            raise MediaStreamError
        self.packets += 1
        return packet

    def stop(self) -> None:
        super().stop()
        self._halt.set()
        if self.audio is not None:
            self.audio.stop()


class FromKeyframe(MediaStreamTrack):
    """A viewer's track: the relayed packets from the first keyframe on (a joiner can decode)."""

    kind = "video"

    def __init__(self, source: MediaStreamTrack) -> None:
        super().__init__()
        self._source = source
        self._started = False

    async def recv(self) -> av.Packet[Any] | av.VideoFrame:
        while True:
            packet: av.Packet[Any] | av.VideoFrame = await self._source.recv()  # type: ignore[assignment]
            if self._started or isinstance(packet, av.VideoFrame) or packet.is_keyframe:
                self._started = True
                return packet

    def stop(self) -> None:
        super().stop()
        self._source.stop()


# -- the owner of every peer connection ------------------------------------------------


@dataclass(frozen=True)
class LiveAnswer:
    """The SDP answer, and what the viewer gets: ``audio`` the RTP codec of the camera's
    sound (PCMA / PCMU passed through, opus transcoded; None: no sound), ``transcoded`` why
    the picture is not the camera's own packets (None: it is)."""

    sdp: str
    audio: str | None = None
    transcoded: str | None = None


def _codecs(kind: str, *mimes: str) -> list[Any]:
    return [c for c in RTCRtpSender.getCapabilities(kind).codecs if c.mimeType in mimes]


def _allow_loopback_candidates() -> None:
    """aioice leaves 127.0.0.1 out of its host candidates; a browser on this machine (a
    server bound to loopback) may need it. Added once, for this process."""
    original = aioice.ice.get_host_addresses
    if getattr(original, "vms_loopback", False):
        return

    def with_loopback(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        addresses = original(use_ipv4, use_ipv6)
        if use_ipv4 and "127.0.0.1" not in addresses:
            addresses.append("127.0.0.1")
        return addresses

    with_loopback.vms_loopback = True  # type: ignore[attr-defined]
    aioice.ice.get_host_addresses = with_loopback


#: What aiortc raises on an offer it cannot read (it has no error type of its own).
_SDP_ERRORS = (
    ValueError,
    KeyError,
    IndexError,
    AttributeError,
    TypeError,
    UnicodeError,
    AssertionError,
)


def check_offer(sdp: str) -> None:
    """InvalidError (naming ``body sdp``) unless ``sdp`` is an SDP offer with video."""
    try:
        parsed = SessionDescription.parse(sdp)
    except _SDP_ERRORS as exc:
        raise InvalidError(
            f"body sdp: not a valid SDP offer ({type(exc).__name__}: {exc})"[:300],
            subsystem=Subsystem.WEB,
        ) from exc
    if not any(m.kind == "video" for m in parsed.media):
        raise InvalidError(
            "body sdp: the offer has no video section (m=video) to send the camera in",
            subsystem=Subsystem.WEB,
        )


class LiveHub:
    """Answers WebRTC offers for cameras; one upstream reader per watched camera."""

    def __init__(self, feeds: Callable[[str], PacketFeed | None], *, web_host: str) -> None:
        self._feeds = feeds
        self._relay = MediaRelay()
        self._sources: dict[str, CameraTrack] = {}
        self._retired: dict[str, CameraTrack] = {}
        self._starting: dict[str, asyncio.Lock] = {}
        self._pcs: dict[RTCPeerConnection, str] = {}
        #: What each camera sent the last time it was watched: (its sound's RTP codec, why its
        #: picture is transcoded), None each when not. A later watch is answered at once.
        self._known: dict[str, tuple[str | None, str | None]] = {}
        with contextlib.suppress(ValueError):
            if ipaddress.ip_address(web_host).is_loopback:
                _allow_loopback_candidates()

    def viewers(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for camera_id in self._pcs.values():
            counts[camera_id] = counts.get(camera_id, 0) + 1
        return counts

    def source(self, camera_id: str) -> CameraTrack | None:
        return self._sources.get(camera_id)

    async def _upstream(self, camera_id: str) -> CameraTrack:
        async with self._starting.setdefault(camera_id, asyncio.Lock()):
            return await self._start_upstream(camera_id)

    async def _start_upstream(self, camera_id: str) -> CameraTrack:
        track = self._sources.get(camera_id)
        if track is not None and track.readyState == "live":
            return track
        old = self._retired.pop(camera_id, None)
        if old is not None:  # one reader of a feed at a time: let the last one let go
            await asyncio.to_thread(old.wait_finished, 5.0)
        feed = self._feeds(camera_id)
        if feed is None:
            raise LiveStreamError(f"camera {camera_id!r} has no live stream")
        track = CameraTrack(
            camera_id,
            feed,
            asyncio.get_running_loop(),
            audio_mime=self._known.get(camera_id, (None, None))[0],
        )
        self._sources[camera_id] = track
        return track

    async def answer(self, camera_id: str, offer_sdp: str) -> LiveAnswer:
        """Accept a browser's offer to watch ``camera_id``: the answer, with the camera's
        sound when the offer asks for audio and the camera sends it.

        A malformed offer is the caller's error (InvalidError naming ``body sdp``), found
        before the camera is opened; a camera that cannot be watched now is LiveStreamError.
        """
        check_offer(offer_sdp)
        upstream = await self._upstream(camera_id)
        if camera_id not in self._known:  # what the camera sends is not known yet
            await upstream.ready(HEADER_WAIT_S)  # a camera that is down: answered as H.264
        if upstream.error:
            raise LiveStreamError(f"camera {camera_id!r}: {upstream.error}")
        if upstream.known:
            mime = upstream.audio.mime if upstream.audio else None
            self._known[camera_id] = (mime, upstream.transcoded)
        transcoded = upstream.transcoded if upstream.known else self._known[camera_id][1]
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self._pcs[pc] = camera_id
        viewer = FromKeyframe(self._relay.subscribe(upstream))
        wants_audio = "\nm=audio " in "\n" + offer_sdp.replace("\r\n", "\n")
        sound = upstream.audio if wants_audio else None
        listener = self._relay.subscribe(sound) if sound is not None else None

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self._close(pc)

        try:
            pc.addTrack(viewer)  # before setRemoteDescription, or aiortc answers with VP8
            if listener is not None:
                pc.addTrack(listener)
            for transceiver in pc.getTransceivers():
                if transceiver.sender.track is viewer:
                    transceiver.setCodecPreferences(_codecs("video", "video/H264", "video/rtx"))
                elif sound is not None and transceiver.sender.track is listener:
                    transceiver.setCodecPreferences(_codecs("audio", sound.mime))
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            await pc.setLocalDescription(await pc.createAnswer())
        except _SDP_ERRORS as exc:
            await self._close(pc)
            raise InvalidError(
                f"body sdp: cannot answer this WebRTC offer: {exc}", subsystem=Subsystem.WEB
            ) from exc
        return LiveAnswer(
            pc.localDescription.sdp,
            audio=sound.mime.removeprefix("audio/") if sound is not None else None,
            transcoded=transcoded,
        )

    async def _close(self, pc: RTCPeerConnection) -> None:
        camera_id = self._pcs.pop(pc, None)
        for sender in pc.getSenders():
            if sender.track is not None:
                sender.track.stop()
        await pc.close()
        if camera_id is not None and camera_id not in self._pcs.values():
            track = self._sources.pop(camera_id, None)
            if track is not None:
                track.stop()  # the last viewer left: stop reading (the worker stops copying)
                self._retired[camera_id] = track

    async def close(self) -> None:
        await asyncio.gather(*(self._close(pc) for pc in list(self._pcs)))
        for track in self._sources.values():
            track.stop()
        self._sources.clear()
