"""MPEG-PS from RTP: whole frames in, a clean byte stream out for FFmpeg's MPEG-PS demuxer.

A GB/T 28181 device puts each frame's PS (pack header, on keyframes the system header and
PSM, then the PES packets) into RTP packets sharing one timestamp, the last with the marker
bit. ``PsAssembler`` collects them and hands on only whole frames: a frame with a lost packet
is dropped, and so is everything up to the next keyframe, because FFmpeg's demuxer reads a PES
by its length and would swallow the next pack into a torn one. ``PsPipe`` is the file FFmpeg
reads (blocking, with the stall timeout); it never makes the RTP thread wait.
"""

from __future__ import annotations

import threading
from collections import deque

from vms.cameras.gb28181.rtp import Lost, RtpPacket

MAX_FRAME = 8 * 1024 * 1024
#: PSM stream types (ISO 13818-1 and GB/T 28181 Annex): what the device says it sends.
STREAM_TYPES = {
    0x1B: "h264",
    0x24: "hevc",
    0x10: "mpeg4",
    0x80: "svac",
    0x90: "g711a",
    0x91: "g711u",
    0x0F: "aac",
}
_H264_KEY = {5, 7, 8}
_HEVC_KEY = {16, 17, 18, 19, 20, 21, 32, 33, 34}


def _nal_types(es: bytes) -> list[tuple[int, int]]:
    """(H.264 type, H.265 type) of each NAL unit starting in ``es``."""
    out = []
    i = es.find(b"\x00\x00\x01")
    while 0 <= i < len(es) - 3:
        b = es[i + 3]
        out.append((b & 0x1F, (b >> 1) & 0x3F))
        i = es.find(b"\x00\x00\x01", i + 3)
    return out


def video_codec(frame: bytes) -> str | None:
    """The video codec the frame's PSM declares, if it carries one."""
    i = frame.find(b"\x00\x00\x01\xbc")
    if i < 0 or len(frame) < i + 12:
        return None
    info_len = int.from_bytes(frame[i + 8 : i + 10], "big")
    j = i + 10 + info_len
    if len(frame) < j + 2:
        return None
    end = min(len(frame), j + 2 + int.from_bytes(frame[j : j + 2], "big"))
    j += 2
    while j + 4 <= end:
        stream_type, es_id = frame[j], frame[j + 1]
        if 0xE0 <= es_id <= 0xEF and stream_type in STREAM_TYPES:
            return STREAM_TYPES[stream_type]
        j += 4 + int.from_bytes(frame[j + 2 : j + 4], "big")
    return None


def _first_video_es(frame: bytes) -> bytes:
    i = frame.find(b"\x00\x00\x01\xe0")
    if i < 0 or i + 9 > len(frame):
        return b""
    start = i + 9 + frame[i + 8]
    return frame[start : start + 1024]


def guess_codec(es: bytes) -> str | None:
    """H.264 or H.265 from a keyframe's first NAL units (a VPS is ``40 01``, an SPS type 7)."""
    i = es.find(b"\x00\x00\x01")
    while 0 <= i < len(es) - 4:
        if es[i + 3 : i + 5] == b"\x40\x01":
            return "hevc"
        if es[i + 3] & 0x9F == 0x07:  # forbidden bit 0, type 7
            return "h264"
        i = es.find(b"\x00\x00\x01", i + 3)
    return None


def is_keyframe(frame: bytes, codec: str | None) -> bool:
    """Whether the frame's first video PES starts with parameter sets or an IRAP picture."""
    es = _first_video_es(frame)
    codec = codec or guess_codec(es)
    for h264, hevc in _nal_types(es):
        if codec == "h264" and h264 in _H264_KEY:
            return True
        if codec == "hevc" and hevc in _HEVC_KEY:
            return True
    return False


class PsAssembler:
    """RTP payloads in order (and losses) -> whole PS frames; skips to a keyframe after loss."""

    def __init__(self) -> None:
        self.frames = 0
        self.frames_dropped = 0
        self.resyncs = 0
        self.codec: str | None = None
        self._parts: list[bytes] = []
        self._size = 0
        self._ts: int | None = None
        self._damaged = False
        self._synced = False  # the stream starts at a keyframe

    def push(self, item: RtpPacket | Lost) -> list[bytes]:
        out: list[bytes] = []
        if isinstance(item, Lost):
            self._damaged = True
            if self._synced:
                self._synced = False
                self.resyncs += 1
            return out
        if self._ts is not None and item.timestamp != self._ts and self._parts:
            out += self._finish()  # a new timestamp: the previous frame had no marker bit
        self._ts = item.timestamp
        self._parts.append(item.payload)
        self._size += len(item.payload)
        if self._size > MAX_FRAME:
            self._parts, self._size, self._damaged = [], 0, True
        if item.marker:
            out += self._finish()
        return out

    def _finish(self) -> list[bytes]:
        frame = b"".join(self._parts)
        damaged = self._damaged
        self._parts, self._size, self._damaged, self._ts = [], 0, False, None
        if not frame:
            return []
        if damaged:
            self.frames_dropped += 1
            return []
        if not self._synced:
            if not frame.startswith(b"\x00\x00\x01\xba"):
                self.frames_dropped += 1
                return []
            self.codec = video_codec(frame) or self.codec or guess_codec(_first_video_es(frame))
            if not is_keyframe(frame, self.codec):
                self.frames_dropped += 1
                return []
            self._synced = True
        self.frames += 1
        return [frame]


class PsPipe:
    """The byte stream FFmpeg reads: ``write`` never blocks; ``read`` waits up to the timeout.

    When the reader falls more than ``max_bytes`` behind, frames are dropped up to the next
    keyframe (counted), so the receiving thread keeps up with the network.
    """

    def __init__(self, timeout_s: float, max_bytes: int = 16 * 1024 * 1024) -> None:
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.dropped = 0
        self.end_reason: str | None = None
        self.stalled = False
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._cond = threading.Condition()
        self._skip = False
        self._closed = False

    def write(self, frame: bytes, keyframe: bool) -> None:
        with self._cond:
            if self._closed:
                return
            if self._skip and not keyframe:
                self.dropped += 1
                return
            if self._size + len(frame) > self.max_bytes:
                self._skip = True
                self.dropped += 1
                return
            self._skip = False
            self._chunks.append(frame)
            self._size += len(frame)
            self._cond.notify()

    def end(self, reason: str) -> None:
        """No more data: the reader gets end-of-file once it has read what is queued."""
        with self._cond:
            if self.end_reason is None:
                self.end_reason = reason
            self._closed = True
            self._cond.notify_all()

    def read(self, n: int = -1) -> bytes:
        with self._cond:
            waiting = not self._chunks and not self._closed
            if waiting and not self._cond.wait_for(
                lambda: self._chunks or self._closed, self.timeout_s
            ):
                self.stalled = True
                self._closed = True
                if self.end_reason is None:
                    self.end_reason = f"no video from the device for {self.timeout_s:g} s"
                return b""
            if not self._chunks:
                return b""
            chunk = self._chunks.popleft()
            if 0 <= n < len(chunk):
                self._chunks.appendleft(chunk[n:])
                chunk = chunk[:n]
            self._size -= len(chunk)
            return chunk
