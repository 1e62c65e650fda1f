"""RTP (RFC 3550) as GB/T 28181 devices send it: parsing, reordering, loss counting, RFC 4571.

    parse_rtp(datagram) -> RtpPacket | None
    Reorderer.push(packet, now) -> packets in sequence order, with Lost(n) where some never came
    Rfc4571Framer.feed(tcp_bytes) -> RTP packets (each prefixed by its 16-bit length)

Written here rather than taken from a library: aiortc's RTP stack is bound to its WebRTC
transports and codecs, and FFmpeg's RTP demuxer has neither PS over TCP (RFC 4571) nor a
way to count what was lost.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

#: A jump larger than this (either way) is a restart of the sender, not a loss.
MAX_JUMP = 3000


@dataclass(frozen=True)
class RtpPacket:
    seq: int
    timestamp: int
    ssrc: int
    marker: bool
    payload_type: int
    payload: bytes


@dataclass(frozen=True)
class Lost:
    """``count`` packets before the next one never arrived (0: the sender restarted)."""

    count: int


def parse_rtp(data: bytes) -> RtpPacket | None:
    """An RTP packet, or None if ``data`` is not one (wrong version, truncated header)."""
    if len(data) < 12 or data[0] >> 6 != 2:
        return None
    b0, b1, seq, ts, ssrc = struct.unpack_from("!BBHII", data)
    offset = 12 + 4 * (b0 & 0x0F)
    if b0 & 0x10:  # header extension
        if len(data) < offset + 4:
            return None
        offset += 4 + 4 * struct.unpack_from("!H", data, offset + 2)[0]
    end = len(data)
    if b0 & 0x20:  # padding: the last byte says how much
        if end == 0 or data[-1] == 0:
            return None
        end -= data[-1]
    if offset > end:
        return None
    return RtpPacket(seq, ts, ssrc, bool(b1 & 0x80), b1 & 0x7F, bytes(data[offset:end]))


class Reorderer:
    """Releases packets in sequence order; a missing one is lost once ``window`` packets
    after it arrived, or it is ``max_wait_s`` late. Counts everything it sees."""

    def __init__(self, window: int = 64, max_wait_s: float = 0.3) -> None:
        self.window = window
        self.max_wait_s = max_wait_s
        self.received = 0
        self.lost = 0
        self.reordered = 0
        self.duplicates = 0
        self.restarts = 0
        self._next: int | None = None  # extended sequence number expected next
        self._highest = -1
        self._held: dict[int, tuple[RtpPacket, float]] = {}

    def _extend(self, seq: int) -> int:
        assert self._next is not None
        base = self._next
        ext = (base & ~0xFFFF) | seq
        if ext - base > 0x8000:
            ext -= 0x10000
        elif base - ext > 0x8000:
            ext += 0x10000
        return ext

    def push(self, pkt: RtpPacket, now: float) -> list[RtpPacket | Lost]:
        self.received += 1
        out: list[RtpPacket | Lost] = []
        if self._next is None:
            self._next = pkt.seq
        ext = self._extend(pkt.seq)
        if abs(ext - self._next) > MAX_JUMP:
            self.restarts += 1
            out += self._drain_all()
            out.append(Lost(0))
            self._next = ext
            self._highest = ext - 1
        if ext < self._next or ext in self._held:
            self.duplicates += 1  # or too late: its place was already given up
            return out
        if ext < self._highest:
            self.reordered += 1  # it fills a hole behind a later packet
        self._highest = max(self._highest, ext)
        self._held[ext] = (pkt, now)
        out += self._release(now)
        return out

    def flush(self, now: float) -> list[RtpPacket | Lost]:
        """Release what has waited too long (call when the socket is quiet)."""
        return self._release(now)

    def _release(self, now: float) -> list[RtpPacket | Lost]:
        out: list[RtpPacket | Lost] = []
        if self._next is None:
            return out
        while self._held:
            if self._next in self._held:
                pkt, _t = self._held.pop(self._next)
                out.append(pkt)
                self._next += 1
                continue
            first = min(self._held)
            oldest = min(t for _p, t in self._held.values())
            if (
                first - self._next < self.window
                and len(self._held) < self.window
                and (now - oldest < self.max_wait_s)
            ):
                break
            missing = first - self._next
            self.lost += missing
            out.append(Lost(missing))
            self._next = first
        return out

    def _drain_all(self) -> list[RtpPacket | Lost]:
        out: list[RtpPacket | Lost] = []
        for ext in sorted(self._held):
            assert self._next is not None
            if ext != self._next:
                self.lost += ext - self._next
                out.append(Lost(ext - self._next))
            out.append(self._held[ext][0])
            self._next = ext + 1
        self._held.clear()
        return out


class FramingError(ValueError):
    """The TCP stream is not RFC 4571 RTP (a length that cannot be an RTP packet)."""


class Rfc4571Framer:
    """Cuts a TCP byte stream into RTP packets, each preceded by a 16-bit length."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        out: list[bytes] = []
        pos = 0
        buf = self._buf
        while len(buf) - pos >= 2:
            size = (buf[pos] << 8) | buf[pos + 1]
            if size < 12:
                raise FramingError(f"RTP length {size} is too short")
            if len(buf) - pos - 2 < size:
                break
            out.append(bytes(buf[pos + 2 : pos + 2 + size]))
            pos += 2 + size
        del buf[:pos]
        return out
