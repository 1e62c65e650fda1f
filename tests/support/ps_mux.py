"""MPEG-PS packs as GB/T 28181 devices write them, for the device simulator.

Each frame is one pack: pack header, on keyframes the system header and the PSM (with the
GB stream types: 0x1B H.264, 0x24 H.265, 0x90 G.711 A-law, 0x0F AAC), then the PES packets.
FFmpeg's own ``mpeg`` muxer cannot stand in for a device: it writes no PSM and refuses G.711
and AAC ("Invalid argument"), which is what these cameras send. Independent of vms's code.
"""

from __future__ import annotations

import struct

VIDEO_ID, AUDIO_ID = 0xE0, 0xC0
STREAM_TYPE = {"h264": 0x1B, "hevc": 0x24, "pcm_alaw": 0x90, "aac": 0x0F}


def _crc32_mpeg(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _timestamp(prefix: int, t: int) -> bytes:
    t &= (1 << 33) - 1
    return bytes(
        [
            (prefix << 4) | (((t >> 30) & 7) << 1) | 1,
            (t >> 22) & 0xFF,
            (((t >> 15) & 0x7F) << 1) | 1,
            (t >> 7) & 0xFF,
            ((t & 0x7F) << 1) | 1,
        ]
    )


def pack_header(scr: int, mux_rate: int = 6106) -> bytes:
    b = scr & ((1 << 33) - 1)
    return bytes(
        [
            0,
            0,
            1,
            0xBA,
            0x44 | (((b >> 30) & 7) << 3) | ((b >> 28) & 3),
            (b >> 20) & 0xFF,
            (((b >> 15) & 0x1F) << 3) | 0x04 | ((b >> 13) & 3),
            (b >> 5) & 0xFF,
            ((b & 0x1F) << 3) | 0x04,
            0x01,
            (mux_rate >> 14) & 0xFF,
            (mux_rate >> 6) & 0xFF,
            ((mux_rate & 0x3F) << 2) | 3,
            0xF8,
        ]
    )


def system_header(stream_ids: list[int]) -> bytes:
    rate = 6106
    body = bytearray(
        [
            0x80 | ((rate >> 15) & 0x7F),
            (rate >> 7) & 0xFF,
            ((rate & 0x7F) << 1) | 1,
            0x04,
            0xE1,
            0xFF,
        ]
    )
    for sid in stream_ids:
        body += bytes([sid, 0xE0, 0x80]) if sid >= 0xE0 else bytes([sid, 0xC0, 0x20])
    return b"\x00\x00\x01\xbb" + struct.pack(">H", len(body)) + bytes(body)


def psm(streams: list[tuple[int, int]]) -> bytes:
    """A program stream map listing (stream_type, stream_id) pairs."""
    es = b"".join(bytes([st, sid]) + b"\x00\x00" for st, sid in streams)
    body = bytes([0xE0, 0xFF]) + b"\x00\x00" + struct.pack(">H", len(es)) + es
    data = b"\x00\x00\x01\xbc" + struct.pack(">H", len(body) + 4) + body
    return data + struct.pack(">I", _crc32_mpeg(data))


def pes(stream_id: int, payload: bytes, pts: int) -> bytes:
    """PES packets carrying ``payload`` (split at 65 KB), the first with the PTS."""
    out = bytearray()
    limit = 65535 - 13
    pos = 0
    first = True
    while first or pos < len(payload):
        chunk = payload[pos : pos + limit]
        pos += len(chunk)
        header = bytes([0x80, 0x80, 5]) + _timestamp(2, pts) if first else bytes([0x80, 0x00, 0])
        out += b"\x00\x00\x01" + bytes([stream_id]) + struct.pack(">H", len(header) + len(chunk))
        out += header + chunk
        first = False
    return bytes(out)


def video_frame(au: bytes, pts: int, keyframe: bool, streams: list[tuple[int, int]]) -> bytes:
    """One pack holding a video access unit (with system header and PSM on keyframes)."""
    out = pack_header(pts)
    if keyframe:
        out += system_header([sid for _t, sid in streams]) + psm(streams)
    return out + pes(VIDEO_ID, au, pts)


def audio_frame(data: bytes, pts: int) -> bytes:
    return pack_header(pts) + pes(AUDIO_ID, data, pts)
