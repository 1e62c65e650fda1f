"""Pure parts of GB/T 28181: digest, registration and liveness decisions, RTP, PS, SDP, XML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.ps_mux import AUDIO_ID, VIDEO_ID, audio_frame, video_frame
from vms.cameras.gb28181 import manscdp, sdp
from vms.cameras.gb28181.digest import Credentials, make_nonce, nonce_age, response_for
from vms.cameras.gb28181.ps import PsAssembler, PsPipe, is_keyframe, video_codec
from vms.cameras.gb28181.registry import (
    RegisterVerdict,
    Registration,
    decide_register,
    granted_expires,
    offline_reason,
    retransmit_due,
)
from vms.cameras.gb28181.rtp import Lost, Reorderer, Rfc4571Framer, RtpPacket, parse_rtp
from vms.cameras.gb28181.sip import SipError

DEV = "34020000001320000001"
REALM = "3402000000"
T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
SECRET = b"s" * 32


def _creds(password: str, nonce: str, *, user: str = DEV, realm: str = REALM) -> Credentials:
    uri = "sip:34020000002000000001@3402000000"
    resp = response_for(
        user, realm, password, "REGISTER", uri, nonce, qop="auth", nc="1", cnonce="c"
    )
    return Credentials.parse(
        f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
        f'response="{resp}", algorithm=MD5, qop=auth, nc=1, cnonce="c"'
    )


@pytest.mark.parametrize(
    ("password", "given", "age", "user", "verdict"),
    [
        ("pw", None, 0.0, DEV, RegisterVerdict.CHALLENGE),
        ("pw", "pw", 10.0, DEV, RegisterVerdict.ACCEPT),
        ("pw", "wrong", 10.0, DEV, RegisterVerdict.FORBIDDEN),
        ("pw", "pw", None, DEV, RegisterVerdict.CHALLENGE),  # a nonce we never issued
        ("pw", "pw", 301.0, DEV, RegisterVerdict.STALE),
        ("pw", "pw", 10.0, "34020000001320000009", RegisterVerdict.FORBIDDEN),
        (None, "pw", 10.0, DEV, RegisterVerdict.FORBIDDEN),  # not a device we know
    ],
)
def test_register_decisions(
    password: str | None, given: str | None, age: float | None, user: str, verdict: RegisterVerdict
) -> None:
    creds = _creds(given, "n1", user=user) if given else None
    assert decide_register(DEV, creds, password, REALM, age, 300).verdict is verdict


def test_nonces_are_ours_and_age() -> None:
    nonce = make_nonce(SECRET, 1000.0)
    assert nonce_age(SECRET, nonce, 1030.0) == 30
    assert nonce_age(b"x" * 32, nonce, 1030.0) is None
    assert nonce_age(SECRET, nonce.replace(".", ".0"), 1030.0) is None
    with pytest.raises(SipError):
        Credentials.parse('Digest username="a", realm="b"')


def test_offline_after_the_configured_missed_keepalives_or_expiry() -> None:
    reg = Registration(DEV, "udp", "127.0.0.1", 5060, T0, T0 + timedelta(hours=1))
    assert offline_reason(reg, T0 + timedelta(seconds=179), 60, 3) is None
    assert "missed 3 keepalives" in (offline_reason(reg, T0 + timedelta(seconds=181), 60, 3) or "")
    heard = reg.heard(T0 + timedelta(seconds=170))
    assert offline_reason(heard, T0 + timedelta(seconds=300), 60, 3) is None
    assert offline_reason(heard, T0 + timedelta(hours=1), 60, 3) == "registration expired"
    assert granted_expires(None, 3600) == 3600
    assert granted_expires(5, 3600) == 60
    assert [retransmit_due(0, n, t) for n, t in [(1, 0.4), (1, 0.5), (2, 1.4), (2, 1.5)]] == [
        False,
        True,
        False,
        True,
    ]


def _pkt(seq: int, ts: int = 0, marker: bool = False, payload: bytes = b"x") -> RtpPacket:
    return RtpPacket(seq & 0xFFFF, ts, 1, marker, 96, payload)


def test_reorderer_puts_packets_back_in_order_across_the_wrap_and_counts_loss() -> None:
    r = Reorderer(window=4, max_wait_s=1.0)
    out = []
    for seq in [65534, 65535, 1, 0, 2, 4, 5, 6, 7, 8]:  # 3 never comes
        out += r.push(_pkt(seq), 0.0)
    seqs = [p.seq if isinstance(p, RtpPacket) else f"lost{p.count}" for p in out]
    assert seqs == [65534, 65535, 0, 1, 2, "lost1", 4, 5, 6, 7, 8]
    assert (r.received, r.lost, r.reordered) == (10, 1, 1)
    # a hole is also given up after max_wait_s
    r.push(_pkt(10), 0.0)
    assert r.flush(0.5) == []
    assert r.flush(1.5)[0] == Lost(1)
    assert r.push(_pkt(9), 2.0) == []  # too late: counted, not delivered
    assert r.duplicates == 1


def test_rfc4571_framing_and_rtp_parsing() -> None:
    raw = bytes([0x80, 0xE0, 0, 7, 0, 0, 0, 9, 0, 0, 0, 5]) + b"payload"
    framer = Rfc4571Framer()
    stream = len(raw).to_bytes(2, "big") + raw
    assert framer.feed(stream[:5]) == []
    assert framer.feed(stream[5:] + stream) == [raw, raw]
    pkt = parse_rtp(raw)
    assert pkt == RtpPacket(7, 9, 5, True, 96, b"payload")
    assert parse_rtp(b"\x40" + raw[1:]) is None  # RTP version 1
    assert parse_rtp(raw[:8]) is None


SPS, IDR, P = b"\x00\x00\x00\x01\x67\x42", b"\x00\x00\x00\x01\x65\x88", b"\x00\x00\x00\x01\x41\x9a"
STREAMS = [(0x1B, VIDEO_ID), (0x90, AUDIO_ID)]


def _rtp(frame: bytes, seq: int, ts: int) -> list[RtpPacket]:
    chunks = [frame[i : i + 100] for i in range(0, len(frame), 100)]
    return [_pkt(seq + i, ts, i == len(chunks) - 1, c) for i, c in enumerate(chunks)]


def test_ps_assembler_starts_at_a_keyframe_and_skips_to_the_next_after_a_loss() -> None:
    key = video_frame(SPS + IDR + b"\x11" * 300, 90000, True, STREAMS)
    p = video_frame(P + b"\x22" * 250, 99000, False, STREAMS)
    assert video_codec(key) == "h264"
    assert is_keyframe(key, "h264")
    assert not is_keyframe(p, "h264")
    asm = PsAssembler()
    out: list[bytes] = []
    for frame, ts in [(p, 1), (key, 2), (p, 3), (audio_frame(b"\xd5" * 160, 4), 4)]:
        for pkt in _rtp(frame, 0, ts):
            out += asm.push(pkt)
    assert out[0] == key  # the P frame before the first keyframe was dropped
    assert len(out) == 3
    out = asm.push(Lost(1))
    for frame, ts in [(p, 5), (p, 6), (key, 7)]:
        for pkt in _rtp(frame, 0, ts):
            out += asm.push(pkt)
    assert out == [key]
    assert (asm.frames_dropped, asm.resyncs) == (3, 1)


def test_ps_pipe_reads_what_was_written_and_ends_on_stall() -> None:
    pipe = PsPipe(timeout_s=0.05, max_bytes=10)
    pipe.write(b"abcdef", True)
    pipe.write(b"ghijkl", False)  # over the limit: dropped up to the next keyframe
    pipe.write(b"mn", False)
    assert pipe.read(4) + pipe.read(10) == b"abcdef"
    assert pipe.dropped == 2
    assert pipe.read(10) == b""
    assert pipe.stalled
    assert "no video" in (pipe.end_reason or "")


def test_sdp_offer_and_answer() -> None:
    offer = sdp.offer("34020000002000000001", "10.0.0.5", 30002, "0200000001", "tcp-passive")
    text = offer.decode()
    assert "s=Play" in text
    assert "m=video 30002 TCP/RTP/AVP 96 98 97" in text
    assert "a=setup:passive" in text
    assert "y=0200000001" in text
    assert sdp.ssrc_for("3402000000", 12) == "0200000012"
    answer = sdp.parse_answer(
        b"v=0\r\no=x 0 0 IN IP4 10.0.0.9\r\ns=Play\r\nc=IN IP4 10.0.0.9\r\nt=0 0\r\n"
        b"m=video 15060 RTP/AVP 96\r\na=sendonly\r\ny=0200000012\r\n"
    )
    assert answer == sdp.Answer("10.0.0.9", 15060, 200000012, (96,))
    with pytest.raises(sdp.SdpError):
        sdp.parse_answer(b"v=0\r\nc=IN IP4 example.com\r\nm=video 1 RTP/AVP 96\r\n")


def test_manscdp_catalog_in_gb2312_and_hostile_xml() -> None:
    body = (
        '<?xml version="1.0" encoding="GB2312"?><Response><CmdType>Catalog</CmdType><SN>7</SN>'
        f'<DeviceID>{DEV}</DeviceID><SumNum>2</SumNum><DeviceList Num="2">'
        "<Item><DeviceID>34020000001310000001</DeviceID><Name>大门</Name><Status>ON</Status></Item>"
        "<Item><DeviceID>bad</DeviceID></Item></DeviceList></Response>"
    ).encode("gb2312")
    cat = manscdp.catalog(manscdp.parse(body))
    assert (cat.sn, cat.sum_num) == (7, 2)
    assert [(i.channel_id, i.name, i.status) for i in cat.items] == [
        ("34020000001310000001", "大门", "ON")
    ]
    for bad in [
        b"<?xml version='1.0'?><!DOCTYPE r [<!ENTITY a 'b'>]><Notify>&a;</Notify>",
        b"<Notify><CmdType>Keepalive</CmdType><SN>1</SN><DeviceID>12</DeviceID></Notify>",
        b"<Other/>",
        b"<<<",
    ]:
        with pytest.raises(manscdp.ManscdpError):
            manscdp.parse(bad)
