"""vms's own RTSP reader (vms.cameras.rtsp): libavformat's packets, bit for bit, from fewer reads.

Pure parts (SDP, depacketizers) are table-tested; the reader itself against the real
GStreamer RTSP server beside libavformat's reader on the same mounts, and against a scripted
server for what GStreamer does not do (Digest authentication, a codec the reader refuses, a
camera that goes quiet).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import socket
import threading
from collections.abc import Iterator

import pytest

from tests.cameras.conftest import AudioClip, VideoClip
from tests.support.rtsp import AudioTrack, Mount, RtspServer
from vms.cameras.opened import OpenedSource
from vms.cameras.rtsp import (
    START,
    RtspSource,
    UnsupportedError,
    VideoAssembler,
    aac_units,
    open_rtsp,
    parse_sdp,
)
from vms.cameras.sources import open_source
from vms.errors import SourceOpenError
from vms.vocab import RtspReader

SPS = bytes.fromhex("6764001facd9405005bb016a02020280000003008000001e478c18cb")
PPS = bytes.fromhex("68ebecb22c")
CAMERA_SDP = (
    "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=Media Presentation\r\nt=0 0\r\n"
    "a=control:*\r\n"
    "m=video 0 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 H264/90000\r\n"
    f"a=fmtp:96 profile-level-id=64001f;packetization-mode=1;sprop-parameter-sets="
    f"{base64.b64encode(SPS).decode()},{base64.b64encode(PPS).decode()}\r\n"
    "a=control:trackID=1\r\n"
    "m=audio 0 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\na=control:trackID=2\r\n"
    "m=application 0 RTP/AVP 107\r\na=rtpmap:107 vnd.onvif.metadata/90000\r\n"
)


def test_sdp_gives_each_tracks_codec_clock_control_and_parameters() -> None:
    control, medias = parse_sdp(CAMERA_SDP)
    assert control == "*"
    assert [(m.kind, m.codec, m.payload_type, m.clock_rate, m.control) for m in medias] == [
        ("video", "h264", 96, 90000, "trackID=1"),
        ("audio", "pcm_alaw", 8, 8000, "trackID=2"),
    ]
    assert medias[0].fmtp["packetization-mode"] == "1"
    aac = parse_sdp(
        "m=audio 0 RTP/AVP 97\r\na=rtpmap:97 mpeg4-generic/16000/1\r\n"
        "a=fmtp:97 streamtype=5;mode=AAC-hbr;config=1408;sizelength=13;indexlength=3\r\n"
    )[1][0]
    assert (aac.codec, aac.clock_rate, aac.channels, aac.fmtp["config"]) == (
        "aac",
        16000,
        1,
        "1408",
    )


def _fu_a(nal: bytes, size: int) -> list[bytes]:
    head, body = nal[0], nal[1:]
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    out = []
    for i, chunk in enumerate(chunks):
        fu = (head & 0x1F) | (0x80 if i == 0 else 0) | (0x40 if i == len(chunks) - 1 else 0)
        out.append(bytes(((head & 0xE0) | 28, fu)) + chunk)
    return out


def _fu_h265(nal: bytes, size: int) -> list[bytes]:
    t, body = (nal[0] >> 1) & 0x3F, nal[2:]
    chunks = [body[i : i + size] for i in range(0, len(body), size)]
    out = []
    for i, chunk in enumerate(chunks):
        fu = t | (0x80 if i == 0 else 0) | (0x40 if i == len(chunks) - 1 else 0)
        out.append(bytes(((nal[0] & 0x81) | (49 << 1), nal[1], fu)) + chunk)
    return out


def _feed(assembler: VideoAssembler, payloads: list[bytes]) -> tuple[bytes, bool]:
    for p in payloads:
        assembler.add(memoryview(p))
    return assembler.take()


def test_h264_aggregates_and_fragments_come_back_as_the_access_unit() -> None:
    idr = bytes((0x65,)) + bytes(range(256)) * 12
    stap = bytes((24,)) + len(SPS).to_bytes(2, "big") + SPS + len(PPS).to_bytes(2, "big") + PPS
    data, key = _feed(VideoAssembler("h264"), [stap, *_fu_a(idr, 1000)])
    assert data == START + SPS + START + PPS + START + idr
    assert key
    p_slice = bytes((0x41, 0x9A, 0x02, 0x03))
    assert _feed(VideoAssembler("h264"), [p_slice]) == (START + p_slice, False)


def test_h265_aggregates_and_fragments_come_back_as_the_access_unit() -> None:
    vps, sps, pps = b"\x40\x01\x0c\x01", b"\x42\x01\x01\x01\x60", b"\x44\x01\xc1\x72"
    idr = b"\x26\x01" + bytes(range(256)) * 9  # IDR_W_RADL (19)
    ap = b"\x60\x01" + b"".join(len(n).to_bytes(2, "big") + n for n in (vps, sps, pps))
    data, key = _feed(VideoAssembler("hevc"), [ap, *_fu_h265(idr, 700)])
    assert data == START + vps + START + sps + START + pps + START + idr
    assert key
    trail = b"\x02\x01\xd0\x10"  # TRAIL_R (1)
    assert _feed(VideoAssembler("hevc"), [trail]) == (START + trail, False)


def test_aac_payload_gives_each_frame_its_au_header_announces() -> None:
    frames = [b"\x21" * 300, b"\x11" * 7]
    headers = b"".join(((len(f) << 3) | i).to_bytes(2, "big") for i, f in enumerate(frames))
    payload = (16 * len(frames)).to_bytes(2, "big") + headers + b"".join(frames)
    assert [bytes(u) for u in aac_units(memoryview(payload), 13, 3)] == frames


# -- against the real server, beside libavformat's reader ---------------------------------


def _take(source: OpenedSource, video: int, audio: int) -> tuple[list[bytes], list[bytes]]:
    vs: list[bytes] = []
    aus: list[bytes] = []
    for track, packet in source.tracked():
        if track == 0 and len(vs) < video:
            vs.append(bytes(packet))
        elif track == 1 and len(aus) < audio and vs:
            aus.append(bytes(packet))
        if len(vs) >= video and len(aus) >= audio:
            return vs, aus
    raise AssertionError("unreachable")


NON_VCL = {
    "h264": lambda u: u[0] & 0x1F in (6, 7, 8, 9),
    "hevc": lambda u: (u[0] >> 1) & 0x3F >= 32,
}


def _pictures(codec: str, units: list[list[bytes]]) -> list[bytes]:
    """Each access unit's picture: its slice NAL units (the server adds delimiters)."""
    return [b"".join(START + u for u in au if not NON_VCL[codec](u)) for au in units]


def _units(packet: bytes) -> list[bytes]:
    return [u for u in packet.split(START) if u]


def _continues(got: list[bytes], clip: list[bytes]) -> bool:
    """Is ``got`` a run of consecutive items of the looping ``clip``?"""
    if not got or got[0] not in clip:
        return False
    i = clip.index(got[0])
    return all(g == clip[(i + k) % len(clip)] for k, g in enumerate(got))


@pytest.mark.parametrize(("video", "sound"), [("h264", "aac"), ("h265", "pcma")])
def test_the_reader_hands_out_the_cameras_packets_as_libavformat_does(
    av_clips: dict[str, VideoClip | AudioClip], video: str, sound: str
) -> None:
    v, a = av_clips[video], av_clips[sound]
    assert isinstance(v, VideoClip)
    assert isinstance(a, AudioClip)
    with RtspServer({"/cam": Mount(v.path, v.fps, AudioTrack(sound, a.path))}) as server:
        ours = open_source(server.url("/cam"), stall_timeout_s=10, rtsp_reader=RtspReader.VMS)
        try:
            assert isinstance(ours, RtspSource)
            theirs = open_source(
                server.url("/cam"), stall_timeout_s=10, rtsp_reader=RtspReader.FFMPEG
            )
            try:
                assert not isinstance(theirs, RtspSource)
                assert ours.info == theirs.info
                assert [t.codec for t in ours.tracks] == [t.codec for t in theirs.tracks]
                assert [t.sample_rate for t in ours.tracks] == [
                    t.sample_rate for t in theirs.tracks
                ]
                got = _take(ours, 3 * v.gop, 40)
                ref = _take(theirs, 3 * v.gop, 40)
            finally:
                theirs.close()
        finally:
            ours.close()
    clip = _pictures(v.codec, v.access_units)
    for packets in (got[0], ref[0]):
        # every access unit as the camera sent it, in order
        assert _continues(_pictures(v.codec, [_units(p) for p in packets]), clip)
    both = set(got[0]) & set(ref[0])  # the same pictures, byte for byte with all they carry
    assert len(both) >= v.gop, len(both)
    assert _continues(got[1], a.frames)
    assert _continues(ref[1], a.frames)


def test_a_camera_without_sound_is_read_by_vms_on_auto(
    av_clips: dict[str, VideoClip | AudioClip],
) -> None:
    v = av_clips["h265"]
    assert isinstance(v, VideoClip)
    with RtspServer({"/cam": (v.path, v.fps)}) as server:
        source = open_source(server.url("/cam"), stall_timeout_s=10, rtsp_reader=RtspReader.AUTO)
        try:
            assert isinstance(source, RtspSource)
            assert (source.info.codec, source.info.fps) == ("hevc", v.fps)
            got, _ = _take(source, 2 * v.gop, 0)
        finally:
            source.close()
    pictures = _pictures(v.codec, [_units(p) for p in got])
    assert _continues(pictures, _pictures(v.codec, v.access_units))


def test_a_camera_with_sound_is_opened_by_libavformat_on_auto_at_the_first_try(
    av_clips: dict[str, VideoClip | AudioClip],
) -> None:
    # vms's reader finds the sound in the SDP and hands the camera to libavformat. Its
    # DESCRIBE had GStreamer prepare the shared stream; had it hung up before libavformat's
    # own DESCRIBE, the server tore the stream down just then and answered that one 5xx.
    v, a = av_clips["h264"], av_clips["pcma"]
    assert isinstance(v, VideoClip)
    assert isinstance(a, AudioClip)
    with RtspServer({"/cam": Mount(v.path, v.fps, AudioTrack("pcma", a.path))}) as server:
        for _ in range(3):  # nobody else watching: each time the server builds the stream anew
            source = open_source(server.url("/cam"), stall_timeout_s=10)
            try:
                assert not isinstance(source, RtspSource)
                assert [t.codec for t in source.tracks] == ["h264", "pcm_alaw"]
                got, sound = _take(source, v.gop, 10)
            finally:
                source.close()
            assert _continues(
                _pictures(v.codec, [_units(p) for p in got]), _pictures(v.codec, v.access_units)
            )
            assert _continues(sound, a.frames)


def test_sound_and_picture_are_on_one_clock(av_clips: dict[str, VideoClip | AudioClip]) -> None:
    v, a = av_clips["h264"], av_clips["aac"]
    assert isinstance(v, VideoClip)
    assert isinstance(a, AudioClip)
    with RtspServer({"/cam": Mount(v.path, v.fps, AudioTrack("aac", a.path))}) as server:
        source = open_source(server.url("/cam"), stall_timeout_s=10, rtsp_reader=RtspReader.VMS)
        try:
            last_video = None
            skews = []
            for track, packet in source.tracked():
                assert packet.dts is not None
                t = float(packet.dts * packet.time_base)
                if track == 0:
                    last_video = t
                elif last_video is not None:
                    skews.append(t - last_video)
                if len(skews) >= 60:
                    break
        finally:
            source.close()
    # audio packets come among the video's of their time: within a few frames of it
    assert max(abs(s) for s in skews) < 0.5, (min(skews), max(skews))


# -- against a scripted server --------------------------------------------------------------


@contextlib.contextmanager
def scripted_camera(sdp: str, *, password: str | None = None) -> Iterator[tuple[str, list[str]]]:
    """A one-connection RTSP server: Digest authentication if ``password``, the given SDP,
    SETUP and PLAY answered, then silence. Yields its URL and the requests it saw."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    seen: list[str] = []
    nonce, realm = "5c1a3e", "IP Camera"

    def authorised(method: str, head: str) -> bool:
        if password is None:
            return True
        line = next((x for x in head.split("\r\n") if x.startswith("Authorization: ")), "")
        if not line.startswith("Authorization: Digest "):
            return False
        fields = dict(
            item.strip().split("=", 1) for item in line[len("Authorization: Digest ") :].split(",")
        )
        f = {k: v.strip('"') for k, v in fields.items()}
        ha1 = hashlib.md5(f"admin:{realm}:{password}".encode()).hexdigest()
        ha2 = hashlib.md5(f"{method}:{f['uri']}".encode()).hexdigest()
        want = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
        return f.get("username") == "admin" and f.get("response") == want

    def serve() -> None:
        with contextlib.suppress(OSError):
            answer()

    def answer() -> None:
        conn, _ = listener.accept()
        with conn:
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                head, data = data.split(b"\r\n\r\n", 1)
                text = head.decode()
                seen.append(text)
                method = text.split(" ", 1)[0]
                cseq = next(x for x in text.split("\r\n") if x.startswith("CSeq:"))[5:].strip()
                extra, body = "", ""
                if method != "OPTIONS" and not authorised(method, text):
                    status = "401 Unauthorized"
                    extra = f'WWW-Authenticate: Digest realm="{realm}", nonce="{nonce}"\r\n'
                elif method == "DESCRIBE":
                    status, body = "200 OK", sdp
                    extra = "Content-Type: application/sdp\r\n"
                elif method == "SETUP":
                    status = "200 OK"
                    extra = (
                        "Session: 12345678;timeout=60\r\nTransport: RTP/AVP/TCP;interleaved=0-1\r\n"
                    )
                else:
                    status = "200 OK"
                    if method == "OPTIONS":
                        extra = "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n"
                reply = f"RTSP/1.0 {status}\r\nCSeq: {cseq}\r\n{extra}"
                reply += f"Content-Length: {len(body.encode())}\r\n\r\n{body}"
                conn.sendall(reply.encode())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        user = "admin:" + password + "@" if password is not None else ""
        yield f"rtsp://{user}127.0.0.1:{port}/stream1", seen
    finally:
        listener.close()
        thread.join(timeout=10)


def test_digest_authentication_is_answered_and_a_codec_it_does_not_read_is_refused() -> None:
    sdp = "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 MP4V-ES/90000\r\na=control:track1\r\n"
    with scripted_camera(sdp, password="p@ss") as (url, seen), pytest.raises(UnsupportedError):
        open_rtsp(url, stall_timeout_s=5)
    methods = [s.split(" ", 1)[0] for s in seen]
    assert methods == ["OPTIONS", "DESCRIBE", "DESCRIBE"]  # asked again, with the answer
    assert "Authorization: Digest" in seen[2]


def test_a_wrong_password_is_a_clear_open_error() -> None:
    sdp = "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
    with scripted_camera(sdp, password="right") as (url, _seen):
        bad = url.replace("right", "wrong")
        with pytest.raises(SourceOpenError, match="not authorised"):
            open_rtsp(bad, stall_timeout_s=5)


def test_a_camera_that_goes_quiet_after_play_fails_to_open_saying_so() -> None:
    sdp = "v=0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=control:track1\r\n"
    with scripted_camera(sdp) as (url, seen), pytest.raises(SourceOpenError, match="timeout"):
        open_rtsp(url, stall_timeout_s=1)
    assert [s.split(" ", 1)[0] for s in seen][-2:] == ["PLAY", "TEARDOWN"]
