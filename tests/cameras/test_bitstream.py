"""Is an access unit whole? Table of H.264 / H.265 access units, Annex-B and length-prefixed."""

from __future__ import annotations

import pytest

from vms.cameras.bitstream import is_annexb, nal_units, starts_picture

SC = b"\x00\x00\x00\x01"
SPS, PPS, SEI = b"\x67\x64\x00\x1f\xac", b"\x68\xee\x3c\x80", b"\x06\x05\x10\xaa"
IDR_FIRST = b"\x65\x88\x84\x00\x33"  # first_mb_in_slice = 0 (ue(v) "1")
IDR_LATER = b"\x65\x40\x84\x00\x33"  # first_mb_in_slice = 1 ("010")
P_FIRST = b"\x41\x9a\x02\x1c"
VPS, HSPS = b"\x40\x01\x0c\x01", b"\x42\x01\x01\x01"
HEVC_IDR_FIRST = b"\x26\x01\xaf\x08\x42"  # IDR_W_RADL, first_slice_segment_in_pic_flag = 1
HEVC_IDR_LATER = b"\x26\x01\x2f\x08\x42"  # the picture's second slice segment


def annexb(*units: bytes) -> bytes:
    return b"".join(SC + u for u in units)


def avcc(*units: bytes) -> bytes:
    return b"".join(len(u).to_bytes(4, "big") + u for u in units)


CASES = {
    "H.264 keyframe with parameter sets": ("h264", annexb(SPS, PPS, SEI, IDR_FIRST), True, True),
    "H.264 keyframe without its parameter sets (in the SDP)": (
        "h264", annexb(IDR_FIRST), True, True),
    "H.264 P-frame": ("h264", annexb(P_FIRST), True, True),
    "3-byte start codes and trailing zeros": (
        "h264", b"\x00\x00\x01" + SPS + b"\x00\x00\x01" + IDR_FIRST + b"\x00\x00", True, True),
    "the tail of a keyframe: its first slice is missing": (
        "h264", annexb(IDR_LATER), True, False),
    "bytes before the first start code: a torn NAL unit": (
        "h264", b"\x13\x37\x42" + annexb(IDR_FIRST), True, False),
    "parameter sets only, no picture": ("h264", annexb(SPS, PPS), True, False),
    "a forbidden bit set: not a NAL unit": ("h264", annexb(b"\xe5\x88"), True, False),
    "empty": ("h264", b"", True, False),
    "length-prefixed (MP4) keyframe": ("h264", avcc(SPS, PPS, IDR_FIRST), False, True),
    "length-prefixed, a length past the end": (
        "h264", avcc(IDR_FIRST)[:-2], False, False),
    "H.265 keyframe": ("hevc", annexb(VPS, HSPS, HEVC_IDR_FIRST), True, True),
    "H.265 second slice segment only": ("hevc", annexb(HEVC_IDR_LATER), True, False),
    "other codecs have no slices to lose": ("mjpeg", b"\xff\xd8garbage", True, True),
}  # fmt: skip


@pytest.mark.parametrize(("codec", "data", "annexb_", "whole"), CASES.values(), ids=CASES.keys())
def test_starts_picture(codec: str, data: bytes, annexb_: bool, whole: bool) -> None:
    assert starts_picture(codec, data, annexb_) is whole


def test_framing_follows_the_extradata() -> None:
    assert is_annexb(None)
    assert is_annexb(SC + SPS)  # RTSP: parameter sets from the SDP, with start codes
    assert not is_annexb(b"\x01\x64\x00\x1f\xff")  # avcC record
    assert nal_units(annexb(SPS, IDR_FIRST), True) == [SPS, IDR_FIRST]
    assert nal_units(avcc(SPS, IDR_FIRST), False) == [SPS, IDR_FIRST]
