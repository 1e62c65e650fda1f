"""Live packets for viewers: the worker's own packets, copied across to the web process.

    worker process                                web process (vms serve / vms demo)
    CameraWorker --offer(packet)--> LiveTap ==mp.Queue==> LiveChannel.read() -> WebRTC

The worker already holds every packet of the camera; copying the ones a viewer needs to the
supervisor's process costs a memcpy and a pipe write per packet (a few MB/s), where a second
RTSP connection would cost the camera a session and the network the same stream twice.
Nothing is copied while nobody watches (``LiveChannel.watch(True)`` turns it on); a full queue
drops packets up to the next keyframe (counted), so the recorder never waits for a viewer.
"""

from __future__ import annotations

import multiprocessing.context
import queue
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av

from vms.cameras.overlay import OverlaySlot
from vms.cameras.sources import StreamInfo

#: About 8 s of 30 fps video: room for a web process that is busy for a moment.
QUEUE_PACKETS = 256


@dataclass(frozen=True)
class LiveHeader:
    """Sent before the first packet of a run: what the decoder at the far end needs."""

    codec: str
    extradata: bytes | None
    time_base: Fraction
    width: int | None
    height: int | None
    fps: float | None


@dataclass(frozen=True)
class LivePacket:
    """One packet of the camera's stream, payload untouched."""

    data: bytes
    pts: int | None
    dts: int | None
    keyframe: bool


LiveItem = LiveHeader | LivePacket


class LiveChannel:
    """Created by the supervisor per camera, handed to the camera's worker process."""

    def __init__(self, ctx: multiprocessing.context.SpawnContext) -> None:
        self.queue: Any = ctx.Queue(maxsize=QUEUE_PACKETS)
        # 0: nobody watches; otherwise the number of the current watch, so that a worker that
        # missed a short stop still starts the new one afresh (header, then a keyframe).
        self.wanted: Any = ctx.RawValue("i", 0)
        self._watches = 0
        #: The analysis's newest tracks of the camera (the live wall draws them).
        self.overlay = OverlaySlot(ctx)

    def watch(self, on: bool) -> None:
        """Start (or stop) the worker copying packets; stale ones are thrown away on start.

        One reader at a time: the web process waits for the last one to end first.
        """
        if on:
            self.drain()
            self._watches += 1
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
        return LiveTap(self.queue, self.wanted, self.overlay)

    def close(self) -> None:
        self.wanted.value = 0
        self.queue.cancel_join_thread()
        self.queue.close()


class LiveTap:
    """The worker's end: ``connected`` once per connection, ``offer`` for every packet."""

    def __init__(self, q: Any, wanted: Any, overlay: OverlaySlot | None = None) -> None:
        self._queue = q
        self._wanted = wanted
        self.overlay = overlay
        self._header: LiveHeader | None = None
        self._sending = False
        self._watch = 0
        self.dropped = 0

    def connected(self, info: StreamInfo, extradata: bytes | None) -> None:
        self._header = LiveHeader(
            info.codec, extradata, info.time_base, info.width, info.height, info.fps
        )
        self._sending = False  # a new connection starts again at a keyframe, header first

    def offer(self, packet: av.Packet[Any]) -> None:
        watch = self._wanted.value
        if watch != self._watch:  # a new watch (or none): start again with the header
            self._watch = watch
            self._sending = False
        if not watch:
            return
        if not self._sending:
            if not packet.is_keyframe or self._header is None:
                return
            if not self._put(self._header):
                return
            self._sending = True
        item = LivePacket(bytes(packet), packet.pts, packet.dts, bool(packet.is_keyframe))
        if not self._put(item):
            self._sending = False  # the viewer's side is behind: resume at a keyframe

    def _put(self, item: LiveItem) -> bool:
        try:
            self._queue.put_nowait(item)
            return True
        except queue.Full:
            self.dropped += 1
            return False
