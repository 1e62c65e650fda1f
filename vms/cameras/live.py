"""Live packets for viewers: the worker's own packets, copied across to the web process.

    worker process                                web process (vms serve / vms demo)
    CameraWorker --offer(packet)--> LiveTap ==mp.Queue==> LiveChannel.read() -> WebRTC

The worker already holds every packet of the camera; copying the ones a viewer needs to the
supervisor's process costs a memcpy and a pipe write per packet (a few MB/s), where a second
RTSP connection would cost the camera a session and the network the same stream twice.
Nothing is copied while nobody watches (``LiveChannel.watch(True)`` turns it on); a full queue
drops packets up to the next keyframe (counted), so the recorder never waits for a viewer.
Audio packets (``LivePacket.track`` > 0, described by ``LiveHeader.audio``) are copied only
for a watch that asks for them (``watch(True, audio=True)``), so a video-only viewer costs
what it did before.
"""

from __future__ import annotations

import multiprocessing.context
import queue
from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import av

from vms.cameras.opened import StreamInfo
from vms.cameras.overlay import OverlaySlot

#: About 8 s of 30 fps video: room for a web process that is busy for a moment.
QUEUE_PACKETS = 256


@dataclass(frozen=True)
class LiveAudio:
    """One audio stream of the camera: what a decoder (or a pass-through) needs."""

    codec: str
    extradata: bytes | None
    time_base: Fraction
    sample_rate: int | None
    channels: int | None


@dataclass(frozen=True)
class LiveHeader:
    """Sent before the first packet of a run: what the decoder at the far end needs.

    ``audio[k - 1]`` describes the packets of track ``k``; empty for a video-only watch.
    """

    codec: str
    extradata: bytes | None
    time_base: Fraction
    width: int | None
    height: int | None
    fps: float | None
    audio: tuple[LiveAudio, ...] = ()


@dataclass(frozen=True)
class LivePacket:
    """One packet of the camera's stream, payload untouched; track 0 is the video."""

    data: bytes
    pts: int | None
    dts: int | None
    keyframe: bool
    track: int = 0


LiveItem = LiveHeader | LivePacket


class LiveChannel:
    """Created by the supervisor per camera, handed to the camera's worker process."""

    def __init__(self, ctx: multiprocessing.context.BaseContext) -> None:
        self.queue: Any = ctx.Queue(maxsize=QUEUE_PACKETS)
        # 0: nobody watches; otherwise the number of the current watch, so that a worker that
        # missed a short stop still starts the new one afresh (header, then a keyframe).
        self.wanted: Any = ctx.RawValue("i", 0)
        self.audio: Any = ctx.RawValue("b", 0)  # the current watch wants the audio too
        self._watches = 0
        #: The analysis's newest tracks of the camera (the live wall draws them).
        self.overlay = OverlaySlot(ctx)

    def watch(self, on: bool, *, audio: bool = False) -> None:
        """Start (or stop) the worker copying packets; stale ones are thrown away on start.

        One reader at a time: the web process waits for the last one to end first.
        """
        if on:
            self.drain()
            self._watches += 1
            self.audio.value = int(audio)
            self.wanted.value = self._watches
        else:
            self.wanted.value = 0

    def drain(self) -> None:
        while True:
            try:
                self.queue.get_nowait()
            except queue.Empty:
                return

    def read(self, timeout: float) -> LiveItem | None:
        """The next header or packet, or None when none came within ``timeout`` seconds."""
        try:
            item: LiveItem = self.queue.get(timeout=timeout)
        except queue.Empty:
            return None
        return item

    def tap(self) -> LiveTap:
        return LiveTap(self.queue, self.wanted, self.audio, self.overlay)

    def close(self) -> None:
        self.wanted.value = 0
        self.queue.cancel_join_thread()
        self.queue.close()


class LiveTap:
    """The worker's end: ``connected`` once per connection, ``offer`` for every packet."""

    def __init__(
        self, q: Any, wanted: Any, audio: Any = None, overlay: OverlaySlot | None = None
    ) -> None:
        self._queue = q
        self._wanted = wanted
        self._audio_wanted = audio
        self.overlay = overlay
        self._header: LiveHeader | None = None
        self._audio: tuple[LiveAudio, ...] = ()
        self._sending = False
        self._with_audio = False
        self._watch = 0
        self.dropped = 0

    def connected(
        self, info: StreamInfo, extradata: bytes | None, audio: Sequence[StreamInfo] = ()
    ) -> None:
        self._header = LiveHeader(
            info.codec, extradata, info.time_base, info.width, info.height, info.fps
        )
        self._audio = tuple(
            LiveAudio(a.codec, a.extradata, a.time_base, a.sample_rate, a.channels) for a in audio
        )
        self._sending = False  # a new connection starts again at a keyframe, header first

    def offer(self, packet: av.Packet[Any]) -> None:
        """A video packet (every one, in order)."""
        watch = self._wanted.value
        if watch != self._watch:  # a new watch (or none): start again with the header
            self._watch = watch
            self._sending = False
        if not watch:
            return
        if not self._sending:
            if not packet.is_keyframe or self._header is None:
                return
            self._with_audio = bool(self._audio_wanted is not None and self._audio_wanted.value)
            header = self._header
            if self._with_audio:
                header = replace(header, audio=self._audio)
            if not self._put(header):
                return
            self._sending = True
        item = LivePacket(bytes(packet), packet.pts, packet.dts, bool(packet.is_keyframe))
        if not self._put(item):
            self._sending = False  # the viewer's side is behind: resume at a keyframe

    def offer_audio(self, packet: av.Packet[Any], track: int) -> None:
        """An audio packet of ``track`` (1 ...): sent only after the video's header."""
        if not self._sending or not self._with_audio or self._wanted.value != self._watch:
            return
        item = LivePacket(bytes(packet), packet.pts, packet.dts, True, track)
        self._put(item)  # a lost audio packet is a short silence, no resync needed

    def _put(self, item: LiveItem) -> bool:
        try:
            self._queue.put_nowait(item)
            return True
        except queue.Full:
            self.dropped += 1
            return False
