"""Decoding for analysis, beside recording: frames at the analysis rate, never blocking it."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import av
import av.video.codeccontext

from vms.cameras.frames import Frame, LatestFrameBuffer

log = logging.getLogger(__name__)

_Item = tuple[bytes, int | None, int, bool, float] | None


class AnalysisDecoder:
    """Decodes copies of the recorded packets in its own thread.

    ``offer`` never blocks: if the decoder falls behind, packets are dropped up to the next
    keyframe (the decoder cannot skip inside a GOP) and every frame lost is counted.
    """

    def __init__(
        self,
        camera_id: str,
        codec: str,
        extradata: bytes | None,
        time_base: Fraction,
        fps: float,
        out: LatestFrameBuffer,
        backlog: int = 64,
    ) -> None:
        self.camera_id = camera_id
        self.out = out
        self.fps = fps
        self.dropped = 0
        self.decoded = 0
        self._tb = time_base
        self._tb_num, self._tb_den = time_base.numerator, time_base.denominator
        self._queue: queue.Queue[_Item] = queue.Queue(maxsize=backlog)
        self._skip_to_key = False
        self._next_due: float | None = None
        ctx = av.CodecContext.create(codec, "r")
        assert isinstance(ctx, av.video.codeccontext.VideoCodecContext)
        self._ctx: av.video.codeccontext.VideoCodecContext = ctx
        if extradata:
            self._ctx.extradata = extradata
        self._ctx.thread_type = "AUTO"
        self._thread = threading.Thread(target=self._run, name=f"decode-{camera_id}", daemon=True)
        self._thread.start()

    def offer(self, packet: av.Packet[Any], when: float) -> None:
        """Queue a copy of ``packet`` (called before it is muxed); ``when``: its wall time."""
        if self._skip_to_key and not packet.is_keyframe:
            self.dropped += 1
            return
        item = (bytes(packet), packet.pts, packet.dts or 0, packet.is_keyframe, when)
        try:
            self._queue.put_nowait(item)
            self._skip_to_key = False
        except queue.Full:
            self._skip_to_key = True
            self.dropped += 1

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            data, pts, dts, _key, when = item
            pkt = av.Packet(data)
            pkt.pts, pkt.dts, pkt.time_base = pts, dts, self._tb
            try:
                frames = self._ctx.decode(pkt)
            except av.FFmpegError as exc:
                log.warning("%s: decode error: %s", self.camera_id, exc)
                continue
            for frame in frames:
                self.decoded += 1
                t = when
                if frame.pts is not None:
                    t += (frame.pts - dts) * self._tb_num / self._tb_den
                if self._next_due is not None and t < self._next_due:
                    continue
                self._next_due = max(t, self._next_due or t) + 1.0 / self.fps
                image = frame.to_ndarray(format="bgr24")
                self.out.put(
                    Frame(self.camera_id, datetime.fromtimestamp(t, UTC), self.decoded, image)
                )

    def close(self) -> None:
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=5)
        self._thread.join(timeout=5)
