"""Is a video access unit whole? One look at its first bytes, for the start of a recording.

A connection can begin in the middle of an access unit: the RTSP reader joined after the
first RTP packets of a picture, or assembled the first one from a partial frame. Such an
access unit cannot start a recording (the picture is incomplete, and every picture up to the
next keyframe refers to it). ``starts_picture`` reads only NAL unit headers and the first bit
of the first slice header, no decoding, and is asked only while waiting for a keyframe.

No library exposes this check on a packet without decoding it, hence these few lines.
"""

from __future__ import annotations

H264_VCL = range(1, 6)  # coded slices (5: IDR)
H265_VCL = range(0, 32)


def is_annexb(extradata: bytes | None) -> bool:
    """Packets carry start codes unless the extradata is an avcC / hvcC record (version 1)."""
    return not (extradata and extradata[0] == 1)


def nal_units(data: bytes, annexb: bool) -> list[bytes] | None:
    """The NAL units of an access unit, or None if its framing is broken (a torn unit)."""
    units: list[bytes] = []
    if annexb:
        i = data.find(b"\x00\x00\x01")
        if i < 0 or data[:i].strip(b"\x00"):
            return None  # bytes before the first start code: the tail of a unit
        while i >= 0:
            begin = i + 3
            i = data.find(b"\x00\x00\x01", begin)
            unit = data[begin : i if i >= 0 else len(data)].rstrip(b"\x00")
            if unit:
                units.append(unit)
        return units
    i = 0
    while i + 4 <= len(data):
        size = int.from_bytes(data[i : i + 4], "big")
        if size == 0 or i + 4 + size > len(data):
            return None
        units.append(data[i + 4 : i + 4 + size])
        i += 4 + size
    return units if i == len(data) else None


def starts_picture(codec: str, data: bytes, annexb: bool) -> bool:
    """True if the access unit holds the beginning of a picture (its first slice).

    Codecs other than H.264 and H.265 are taken as whole (they have no slices to lose).
    """
    if codec not in ("h264", "hevc"):
        return True
    units = nal_units(data, annexb)
    if not units:
        return False
    for unit in units:
        if unit[0] & 0x80:
            return False  # forbidden_zero_bit set: not a NAL unit header
        if codec == "h264":
            if unit[0] & 0x1F in H264_VCL:
                # first_mb_in_slice is ue(v): 0, the first macroblock, is the single bit 1.
                return len(unit) > 1 and bool(unit[1] & 0x80)
        elif (unit[0] >> 1) & 0x3F in H265_VCL:
            # first_slice_segment_in_pic_flag, right after the two-byte header.
            return len(unit) > 2 and bool(unit[2] & 0x80)
    return False  # parameter sets or SEI only: no picture at all
