"""RTSP over TCP read by vms itself: the camera's RTP payloads, put back together as they came.

Why not libavformat's RTSP client, which every other source uses: it reads each interleaved
RTP packet with three ``recv`` calls (the ``$``, the channel and length, the packet), each
after a ``poll``. strace on ``ffmpeg -c copy`` recording a 1080p25 4 Mb/s camera counted 54
``recvfrom`` and 54 ``poll`` per video frame, and perf put that kernel work at about 60 % of
the recording's CPU (docs/benchmarks.md, issue 18). This reader takes what the socket holds in
one ``recv_into`` of up to ``READ_SIZE`` bytes and cuts the interleaved packets out of that
buffer: one or two system calls per frame instead of a hundred.

What it does, and no more (RFC 2326, RFC 3550, RFC 6184, RFC 7798, RFC 3640, RFC 3551):
OPTIONS, DESCRIBE, SETUP (``RTP/AVP/TCP;interleaved``), PLAY, a keep-alive at half the
session's timeout, TEARDOWN; Basic and Digest (MD5) authentication; H.264 and H.265 (single
NAL units, aggregation and fragmentation units), AAC (``mpeg4-generic``, AAC-hbr) and G.711.
Each access unit is handed out as libavformat's RTSP reader hands it out: every NAL unit with
a 4-byte start code, payload bytes untouched; AAC as raw frames, G.711 as the RTP payload.
Anything else (another codec, a reply this module does not expect) raises ``UnsupportedError``
before PLAY, and the caller opens the camera with libavformat instead.

On ``rtsp_reader="auto"`` (``vms.cameras.sources.open_source``) only cameras
without sound are read here. With sound, this reader's placement of the audio against the
video (from RTCP, below) was 40-64 ms early in tests/cameras/test_rtsp_recording.py's sync
check, whose limit is 40 ms, where libavformat's is within it; until that is found, cameras
with sound go to libavformat, and ``rtsp_reader="vms"`` reads them here.

Timestamps: each track's RTP clock, unwrapped, in ``1/clock_rate``. The video starts at 0;
an audio track is placed on the video's clock from the two tracks' RTCP sender reports once
both have sent one, and until then by when its first packet arrived (FFmpeg's reader does
the same job with RTCP; ``vms.cameras.timeline`` re-anchors any remaining skew).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import hashlib
import io
import os
import socket
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import av
import av.container
import av.stream

from vms.cameras.opened import OpenedSource, audio_info, redact, video_info
from vms.errors import SourceEndedError, SourceOpenError, SourceStalledError

#: One read takes at most this much of what the socket holds.
READ_SIZE = 1 << 16
#: A camera's first keyframe (and the frame after it, for the frame rate) within this many
#: video packets, or the connection is given to libavformat.
FIRST_KEY_WITHIN = 400
START = b"\x00\x00\x00\x01"
#: The reader wakes for about this much of the stream at once (seconds of its data rate,
#: at most LOWAT_MAX bytes): a frame's packets in one read, not one read per packet.
WAKE_S = 0.02
LOWAT_MAX = 65536
PACE_S = 2.0
USER_AGENT = "vms"


class UnsupportedError(Exception):
    """The camera needs something this reader does not do: open it with libavformat.

    ``held``: the connection, still open, when this was found before any SETUP (from the
    SDP) and the caller asked for it (``open_rtsp(hold=True)``). The caller closes it once
    libavformat has its own session: a shared stream the server prepared for this DESCRIBE
    then stays up for libavformat's. Closed first, GStreamer's RTSP server tore the stream
    down as libavformat asked for it and answered that DESCRIBE 5xx
    (tests/cameras/test_rtsp.py).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.held: RtspConnection | None = None

    def close_held(self) -> None:
        if self.held is not None:
            self.held.close()
            self.held = None


@dataclass(frozen=True)
class Media:
    """One ``m=`` section of the camera's SDP."""

    kind: str  # video or audio
    codec: str  # h264, hevc, aac, pcm_alaw, pcm_mulaw, or the rtpmap name
    payload_type: int
    clock_rate: int
    channels: int
    control: str
    fmtp: dict[str, str] = field(default_factory=dict)


_CODECS = {
    "H264": "h264",
    "H265": "hevc",
    "MPEG4-GENERIC": "aac",
    "PCMA": "pcm_alaw",
    "PCMU": "pcm_mulaw",
}
_STATIC = {0: ("PCMU", 8000, 1), 8: ("PCMA", 8000, 1)}


def parse_sdp(text: str) -> tuple[str, list[Media]]:
    """The session-level control URL (or "") and each video and audio section."""
    session_control = ""
    sections: list[dict[str, Any]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        key, value = line[0], line[2:]
        if key == "m":
            parts = value.split()
            kind = parts[0]
            pts = [int(p) for p in parts[3:] if p.isdigit()]
            sections.append({"kind": kind, "pt": pts[0] if pts else -1, "attrs": []})
        elif key == "a":
            if sections:
                sections[-1]["attrs"].append(value)
            elif value.startswith("control:"):
                session_control = value[8:].strip()
    medias = []
    for s in sections:
        if s["kind"] not in ("video", "audio"):
            continue
        pt = s["pt"]
        name, rate, channels = _STATIC.get(pt, ("", 0, 1))
        control, fmtp = "", {}
        for attr in s["attrs"]:
            if attr.startswith("rtpmap:"):
                num, _, enc = attr[7:].partition(" ")
                if num.strip() == str(pt):
                    bits = enc.strip().split("/")
                    name = bits[0]
                    rate = int(bits[1]) if len(bits) > 1 and bits[1].isdigit() else rate
                    if len(bits) > 2 and bits[2].isdigit():
                        channels = int(bits[2])
            elif attr.startswith("fmtp:"):
                num, _, params = attr[5:].partition(" ")
                if num.strip() == str(pt):
                    for p in params.split(";"):
                        k, eq, v = p.strip().partition("=")
                        if eq:
                            fmtp[k.strip().lower()] = v.strip()
            elif attr.startswith("control:"):
                control = attr[8:].strip()
        medias.append(
            Media(
                s["kind"],
                _CODECS.get(name.upper(), name.lower()),
                pt,
                rate,
                channels,
                control,
                fmtp,
            )
        )
    return session_control, medias


# -- depacketizers -----------------------------------------------------------------------


class VideoAssembler:
    """H.264 / H.265 RTP payloads -> access units (Annex B), one per RTP timestamp."""

    def __init__(self, codec: str) -> None:
        self.hevc = codec == "hevc"
        self.parts: list[bytes | memoryview] = []
        self.key = False
        self.ts: int | None = None

    def add(self, p: memoryview) -> None:
        """One RTP payload of the current access unit."""
        parts = self.parts
        if not p:
            return
        if self.hevc:
            if len(p) < 3:
                return
            t = (p[0] >> 1) & 0x3F
            if t < 48:
                parts += (START, p)
                if 16 <= t <= 23:
                    self.key = True
            elif t == 48:  # aggregation packet
                i = 2
                while i + 2 <= len(p):
                    n = (p[i] << 8) | p[i + 1]
                    nal = p[i + 2 : i + 2 + n]
                    parts += (START, nal)
                    if nal and 16 <= (nal[0] >> 1) & 0x3F <= 23:
                        self.key = True
                    i += 2 + n
            elif t == 49:  # fragmentation unit
                fu = p[2]
                ft = fu & 0x3F
                if fu & 0x80:
                    parts += (START, bytes(((p[0] & 0x81) | (ft << 1), p[1])))
                    if 16 <= ft <= 23:
                        self.key = True
                parts.append(p[3:])
            return
        t = p[0] & 0x1F
        if t < 24:
            parts += (START, p)
            if t == 5:
                self.key = True
        elif t == 24:  # STAP-A
            i = 1
            while i + 2 <= len(p):
                n = (p[i] << 8) | p[i + 1]
                nal = p[i + 2 : i + 2 + n]
                parts += (START, nal)
                if nal and nal[0] & 0x1F == 5:
                    self.key = True
                i += 2 + n
        elif t == 28 and len(p) > 1:  # FU-A
            fu = p[1]
            if fu & 0x80:
                parts += (START, bytes(((p[0] & 0xE0) | (fu & 0x1F),)))
                if fu & 0x1F == 5:
                    self.key = True
            parts.append(p[2:])

    def take(self) -> tuple[bytes, bool]:
        data = b"".join(self.parts)
        key = self.key
        self.parts.clear()
        self.key = False
        return data, key


def aac_units(p: memoryview, size_bits: int, index_bits: int) -> list[memoryview]:
    """The AAC frames of one ``mpeg4-generic`` payload (AU headers, then the frames)."""
    if len(p) < 2:
        return []
    header_bits = (p[0] << 8) | p[1]
    width = size_bits + index_bits
    count = header_bits // width if width else 0
    pos = 2 + (header_bits + 7) // 8
    units = []
    for i in range(count):
        bit = i * width
        byte = 2 + bit // 8
        chunk = int.from_bytes(p[byte : byte + 4].tobytes().ljust(4, b"\0"), "big")
        size = (chunk >> (32 - (bit % 8) - size_bits)) & ((1 << size_bits) - 1)
        units.append(p[pos : pos + size])
        pos += size
    return units


# -- the connection ------------------------------------------------------------------------


@dataclass
class _Track:
    media: Media
    index: int
    channel: int
    time_base: Fraction
    payload_type: int = -1
    offset: int | None = None  # added to the unwrapped RTP time
    last_ts: int | None = None
    unwrapped: int = 0
    next_seq: int = -1
    lost: int = 0
    sr: tuple[float, int] | None = None  # (NTP seconds, unwrapped RTP time) of the last SR
    assembler: VideoAssembler | None = None
    size_bits: int = 13
    index_bits: int = 3
    synced: bool = False  # placed on the video's clock by sender reports

    def unwrap(self, ts: int) -> int:
        if self.last_ts is None:
            self.unwrapped = ts
        else:
            step = (ts - self.last_ts) & 0xFFFFFFFF
            self.unwrapped += step - (1 << 32) if step & 0x80000000 else step
        self.last_ts = ts
        return self.unwrapped


class RtspConnection:
    """The RTSP session: the handshake, then ``read`` fills the buffer from the socket."""

    def __init__(self, url: str, *, stall_timeout_s: float) -> None:
        parts = urlsplit(url)
        self.url = url
        self.user = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else ""
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port:
            netloc += f":{parts.port}"
        self.base = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        self.timeout = stall_timeout_s
        self.cseq = 0
        self.session = ""
        self.session_timeout = 60.0
        self.auth: dict[str, str] | None = None
        self.methods: set[str] = set()
        self.buf = bytearray(READ_SIZE * 2)
        self.start = 0
        self.end = 0
        try:
            self.sock = socket.create_connection(
                (host, parts.port or 554), timeout=max(stall_timeout_s, 5.0)
            )
        except OSError as exc:
            raise SourceOpenError(f"{redact(url)}: cannot open: cannot connect: {exc}") from exc
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(stall_timeout_s)
        self.last_request = time.monotonic()
        self.received = 0
        self.paced = time.monotonic()

    # -- requests --------------------------------------------------------------------------

    def request(
        self, method: str, uri: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        for attempt in range(2):
            self.cseq += 1
            lines = [f"{method} {uri} RTSP/1.0", f"CSeq: {self.cseq}", f"User-Agent: {USER_AGENT}"]
            if self.session:
                lines.append(f"Session: {self.session}")
            auth = self._authorization(method, uri)
            if auth:
                lines.append(f"Authorization: {auth}")
            lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
            self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
            self.last_request = time.monotonic()
            status, reply, body = self._reply(self.cseq)
            if status == 401 and attempt == 0 and self.user is not None:
                challenge = reply.get("www-authenticate", "")
                self.auth = _challenge(challenge)
                if self.auth is not None:
                    continue
            return status, reply, body
        raise AssertionError("unreachable")

    def _authorization(self, method: str, uri: str) -> str:
        if self.auth is None or self.user is None:
            return ""
        if self.auth["scheme"] == "basic":
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            return f"Basic {token}"
        a = self.auth
        ha1 = _md5(f"{self.user}:{a['realm']}:{self.password}")
        ha2 = _md5(f"{method}:{uri}")
        fields = [
            f'username="{self.user}"',
            f'realm="{a["realm"]}"',
            f'nonce="{a["nonce"]}"',
            f'uri="{uri}"',
        ]
        if "auth" in a.get("qop", "").split(","):
            cnonce = os.urandom(8).hex()
            nc = f"{self.cseq:08x}"
            digest = _md5(f"{ha1}:{a['nonce']}:{nc}:{cnonce}:auth:{ha2}")
            fields += ["qop=auth", f"nc={nc}", f'cnonce="{cnonce}"']
        else:
            digest = _md5(f"{ha1}:{a['nonce']}:{ha2}")
        fields.append(f'response="{digest}"')
        if "opaque" in a:
            fields.append(f'opaque="{a["opaque"]}"')
        return "Digest " + ", ".join(fields)

    def _reply(self, cseq: int) -> tuple[int, dict[str, str], bytes]:
        """The reply to request ``cseq``, skipping interleaved data that comes before it."""
        while True:
            message = self.next_message()
            if message is None:
                continue  # interleaved data before the reply
            status, headers, body = message
            if headers.get("cseq", str(cseq)) == str(cseq):
                return status, headers, body

    def next_message(self) -> tuple[int, dict[str, str], bytes] | None:
        """The next RTSP message in the buffer, or None after skipping one data packet."""
        while True:
            if self.end - self.start >= 4 and self.buf[self.start] == 0x24:
                n = (self.buf[self.start + 2] << 8) | self.buf[self.start + 3]
                if self.end - self.start >= 4 + n:
                    self.start += 4 + n
                    return None
            else:
                head_end = self.buf.find(b"\r\n\r\n", self.start, self.end)
                if head_end >= 0:
                    head = bytes(self.buf[self.start : head_end]).decode("latin-1")
                    lines = head.split("\r\n")
                    headers: dict[str, str] = {}
                    for line in lines[1:]:
                        k, _, v = line.partition(":")
                        headers[k.strip().lower()] = v.strip()
                    length = int(headers.get("content-length", "0") or 0)
                    if self.end - (head_end + 4) >= length:
                        body = bytes(self.buf[head_end + 4 : head_end + 4 + length])
                        self.start = head_end + 4 + length
                        bits = lines[0].split(" ", 2)
                        if not bits[0].startswith("RTSP/") or len(bits) < 2:
                            return 0, headers, body  # a request from the server: ignored
                        try:
                            return int(bits[1]), headers, body
                        except ValueError as exc:
                            raise UnsupportedError(f"bad status line {lines[0]!r}") from exc
                elif self.end - self.start > 65536:
                    raise UnsupportedError("an RTSP message of more than 64 KiB")
            self.read()

    def read(self) -> None:
        """Append what the socket holds to the buffer (at least one byte)."""
        if self.end > READ_SIZE:
            # A new buffer, not a move within this one: an access unit being put together
            # still refers to the packets it has in the old one.
            n = self.end - self.start
            fresh = bytearray(READ_SIZE * 2)
            fresh[:n] = self.buf[self.start : self.end]
            self.buf, self.start, self.end = fresh, 0, n
        try:
            got = self.sock.recv_into(memoryview(self.buf)[self.end :], READ_SIZE)
        except TimeoutError as exc:
            raise SourceStalledError(f"{redact(self.url)}: no data within the timeout") from exc
        except OSError as exc:
            raise SourceEndedError(f"{redact(self.url)}: stream error: {exc}") from exc
        if not got:
            raise SourceEndedError(f"{redact(self.url)}: the camera closed the connection")
        self.end += got
        self.received += got

    def pace(self, now: float) -> None:
        """Wake for no less than ``WAKE_S`` of the stream's data (``SO_RCVLOWAT``): a camera
        sends a frame as a burst of small RTP packets, and waking for each one costs more
        than reading them. Measured over the last ``PACE_S``; the stall timeout still holds."""
        if now - self.paced < PACE_S:
            return
        rate = self.received / (now - self.paced)
        self.paced, self.received = now, 0
        lowat = max(1, min(int(rate * WAKE_S), LOWAT_MAX))
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, lowat)

    def keepalive(self) -> None:
        """Tell the camera the session is alive (its reply is skipped as it comes)."""
        method = "GET_PARAMETER" if "GET_PARAMETER" in self.methods else "OPTIONS"
        self.cseq += 1
        lines = [f"{method} {self.base} RTSP/1.0", f"CSeq: {self.cseq}"]
        lines.append(f"Session: {self.session}")
        auth = self._authorization(method, self.base)
        if auth:
            lines.append(f"Authorization: {auth}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.last_request = time.monotonic()

    def close(self) -> None:
        if self.session:
            with contextlib.suppress(OSError):
                self.sock.settimeout(1.0)
                self.cseq += 1
                lines = [f"TEARDOWN {self.base} RTSP/1.0", f"CSeq: {self.cseq}"]
                lines.append(f"Session: {self.session}")
                auth = self._authorization("TEARDOWN", self.base)
                if auth:
                    lines.append(f"Authorization: {auth}")
                self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        with contextlib.suppress(OSError):
            self.sock.close()


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _challenge(header: str) -> dict[str, str] | None:
    scheme, _, rest = header.partition(" ")
    if scheme.lower() == "basic":
        return {"scheme": "basic"}
    if scheme.lower() != "digest":
        return None
    values: dict[str, str] = {"scheme": "digest"}
    for item in _split_params(rest):
        k, _, v = item.partition("=")
        values[k.strip().lower()] = v.strip().strip('"')
    if values.get("algorithm", "MD5").upper() != "MD5" or "nonce" not in values:
        return None
    values.setdefault("realm", "")
    return values


def _split_params(text: str) -> list[str]:
    out, cur, quoted = [], "", False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            out.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur)
    return out


# -- the source ----------------------------------------------------------------------------


def _probe(data: bytes, fmt: str, options: dict[str, str] | None = None) -> Any:
    """An input container whose one stream describes ``data``: the recorder's template."""
    try:
        return av.open(io.BytesIO(data), "r", format=fmt, options=options or {})
    except (av.FFmpegError, OSError) as exc:
        raise UnsupportedError(f"cannot describe the {fmt} stream: {exc}") from exc


def _adts(asc: bytes, frame: bytes) -> bytes:
    """``frame`` behind an ADTS header that says what ``asc`` says."""
    profile = (asc[0] >> 3) - 1
    rate = ((asc[0] & 0x07) << 1) | (asc[1] >> 7)
    channels = (asc[1] >> 3) & 0x0F
    n = len(frame) + 7
    head = bytes(
        (
            0xFF,
            0xF1,
            (profile << 6) | (rate << 2) | (channels >> 2),
            ((channels & 3) << 6) | (n >> 11),
            (n >> 3) & 0xFF,
            ((n & 7) << 5) | 0x1F,
            0xFC,
        )
    )
    return head + frame


def _parameter_sets(media: Media) -> list[bytes]:
    """The SDP's parameter sets (sprop-*), each a NAL unit."""
    keys = ("sprop-vps", "sprop-sps", "sprop-pps") if media.codec == "hevc" else ()
    values = [media.fmtp[k] for k in keys if k in media.fmtp]
    if media.codec == "h264" and "sprop-parameter-sets" in media.fmtp:
        values = media.fmtp["sprop-parameter-sets"].split(",")
    out = []
    for v in values:
        for part in v.split(","):
            with contextlib.suppress(ValueError):
                if part:
                    out.append(base64.b64decode(part + "=" * (-len(part) % 4)))
    return out


def _split_annexb(data: bytes) -> list[bytes]:
    return [n for n in data.split(START) if n]


class RtspSource(OpenedSource):
    """A camera read by ``RtspConnection``: what ``OpenedSource`` is, without libavformat's
    reader. Packets carry the track's template as their stream (``tracked`` says the track).
    """

    def __init__(
        self, url: str, *, stall_timeout_s: float, sound: bool = True, hold: bool = False
    ) -> None:
        self.url = url
        self.sound = sound
        self.is_file = False
        self._native_speed = False
        self._closer = None
        self._probes: list[Any] = []
        self._early: list[tuple[int, av.Packet[Any]]] = []
        self.conn = RtspConnection(url, stall_timeout_s=stall_timeout_s)
        try:
            self._handshake()
            self._describe_tracks()
        except (SourceStalledError, SourceEndedError) as exc:
            self.close()
            raise SourceOpenError(f"{redact(url)}: cannot open: {exc}") from exc
        except UnsupportedError as exc:
            if hold and not self.conn.session:  # nothing set up: no data waits on it
                exc.held = self.conn
            else:
                self.close()
            raise
        except BaseException:
            self.close()
            raise

    # -- opening ---------------------------------------------------------------------------

    def _handshake(self) -> None:
        c = self.conn
        status, headers, _ = c.request("OPTIONS", c.base)
        if status == 200:
            c.methods = {m.strip().upper() for m in headers.get("public", "").split(",")}
        status, headers, body = c.request("DESCRIBE", c.base, {"Accept": "application/sdp"})
        if status == 401:
            raise SourceOpenError(f"{redact(self.url)}: cannot open: not authorised (401)")
        if status != 200:
            raise SourceOpenError(f"{redact(self.url)}: cannot open: DESCRIBE answered {status}")
        base = headers.get("content-base") or headers.get("content-location") or c.base
        if not base.endswith("/"):
            base += "/"
        session_control, medias = parse_sdp(body.decode("utf-8", "replace"))
        video = next((m for m in medias if m.kind == "video"), None)
        if video is None:
            raise SourceOpenError(f"{redact(self.url)}: no video stream")
        if video.codec not in ("h264", "hevc") or video.clock_rate != 90000:
            raise UnsupportedError(f"video codec {video.codec}")
        audio = [m for m in medias if m.kind == "audio"]
        if audio and not self.sound:
            raise UnsupportedError("a camera with sound")
        for m in audio:
            if m.codec not in ("aac", "pcm_alaw", "pcm_mulaw"):
                raise UnsupportedError(f"audio codec {m.codec}")
            if m.codec == "aac" and (
                m.fmtp.get("mode", "").lower() != "aac-hbr" or "config" not in m.fmtp
            ):
                raise UnsupportedError("AAC other than AAC-hbr with its config")
        self.tracks_sdp = [video, *audio]
        self._tracks: list[_Track] = []
        self._by_channel: dict[int, _Track] = {}
        self._rtcp: dict[int, _Track] = {}
        for i, m in enumerate(self.tracks_sdp):
            control = m.control or session_control
            uri = control if "://" in control else urljoin(base, control) if control else c.base
            if control == "*":
                uri = c.base
            ch = 2 * i
            status, headers, _ = c.request(
                "SETUP", uri, {"Transport": f"RTP/AVP/TCP;unicast;interleaved={ch}-{ch + 1}"}
            )
            if status != 200:
                raise UnsupportedError(f"SETUP answered {status}")
            transport = headers.get("transport", "")
            for item in transport.split(";"):
                if item.startswith("interleaved="):
                    with contextlib.suppress(ValueError):
                        ch = int(item[12:].split("-")[0])
            session = headers.get("session", "")
            if session:
                sid, _, params = session.partition(";")
                c.session = sid.strip()
                for p in params.split(";"):
                    k, _, v = p.strip().partition("=")
                    if k == "timeout" and v.isdigit():
                        c.session_timeout = max(float(v), 4.0)
            t = _Track(m, i, ch, Fraction(1, m.clock_rate), m.payload_type)
            if m.kind == "video":
                t.assembler = VideoAssembler(m.codec)
            elif m.codec == "aac":
                t.size_bits = int(m.fmtp.get("sizelength", "13"))
                t.index_bits = int(m.fmtp.get("indexlength", "3"))
            self._tracks.append(t)
            self._by_channel[ch] = t
            self._rtcp[ch + 1] = t
        status, _, _ = c.request("PLAY", c.base, {"Range": "npt=0.000-"})
        if status != 200:
            raise SourceOpenError(f"{redact(self.url)}: cannot open: PLAY answered {status}")

    def _describe_tracks(self) -> None:
        """Read up to the first keyframe and the frame after it: the templates come from them."""
        first: tuple[bytes, int] | None = None
        fps: float | None = None
        audio_first: dict[int, bytes] = {}
        count = 0
        self._reader = self._read()
        for track, packet in self._reader:
            if track == 0:
                count += 1
                if first is None:
                    if packet.is_keyframe:
                        first = (bytes(packet), packet.dts or 0)
                        self._early.append((track, packet))
                elif packet.dts is not None and packet.dts > first[1]:
                    fps = 90000 / (packet.dts - first[1])
                    self._early.append((track, packet))
                    break
                if count > FIRST_KEY_WITHIN:
                    raise UnsupportedError("no keyframe within the first packets")
            elif first is not None:
                audio_first.setdefault(track, bytes(packet))
                self._early.append((track, packet))
        assert first is not None
        video = self.tracks_sdp[0]
        sets = _parameter_sets(video)
        in_band = _split_annexb(first[0])
        ps_types = (32, 33, 34) if video.codec == "hevc" else (7, 8)

        def nal_type(n: bytes) -> int:
            return (n[0] >> 1) & 0x3F if video.codec == "hevc" else n[0] & 0x1F

        ps = [n for n in in_band if nal_type(n) in ps_types] or sets
        extradata = b"".join(START + n for n in ps) if ps else None
        data = (b"".join(START + n for n in sets) if sets else b"") + first[0]
        container = _probe(data, video.codec)
        self._probes.append(container)
        self.container = container
        self.stream = container.streams.video[0]
        if fps is not None:
            fps = float(Fraction(fps).limit_denominator(1001))
        self.info = dataclasses.replace(
            video_info(self.stream), fps=fps, time_base=Fraction(1, 90000), extradata=extradata
        )
        self.audio_streams = []
        infos = [self.info]
        for t in self._tracks[1:]:
            m = t.media
            if m.codec == "aac":
                asc = bytes.fromhex(m.fmtp["config"])
                sample = audio_first.get(t.index, b"\x21\x00\x49\x90\x02\x19\x00\x23\x80")
                probe = _probe(_adts(asc, sample), "aac")
                extradata_a: bytes | None = asc
            else:
                probe = _probe(
                    audio_first.get(t.index, b"\xd5" * 160),
                    "alaw" if m.codec == "pcm_alaw" else "mulaw",
                    {"sample_rate": str(m.clock_rate), "ch_layout": "mono"},
                )
                extradata_a = None
            self._probes.append(probe)
            stream = probe.streams.audio[0]
            self.audio_streams.append(stream)
            infos.append(
                dataclasses.replace(
                    audio_info(stream), time_base=Fraction(1, m.clock_rate), extradata=extradata_a
                )
            )
        self.streams = [self.stream, *self.audio_streams]
        self.tracks = infos
        self.track_of = list(range(len(self.streams)))
        for track, packet in self._early:
            packet.stream = self.streams[track]

    # -- reading ---------------------------------------------------------------------------

    def tracked(self) -> Iterator[tuple[int, av.Packet[Any]]]:
        early, self._early = self._early, []
        yield from early
        streams = self.streams
        for track, packet in self._reader:
            packet.stream = streams[track]
            yield track, packet

    def demux(self) -> Iterator[av.Packet[Any]]:
        for _track, packet in self.tracked():
            yield packet

    def _read(self) -> Iterator[tuple[int, av.Packet[Any]]]:
        """Every access unit of every track, as (track, packet), in the order they came."""
        c = self.conn
        by_channel = self._by_channel
        rtcp = self._rtcp
        video = self._tracks[0]
        assembler = video.assembler
        assert assembler is not None
        unpack = struct.unpack_from
        keepalive_s = c.session_timeout / 2
        video_arrival: float | None = None
        new_packet = av.Packet
        vtb = video.time_base
        parts = assembler.parts
        # A fragmentation unit's middle or end goes straight onto the access unit: its
        # type in the first byte (H.264 FU-A: 28 in 5 bits; H.265 FU: 49 in bits 1-6), and
        # its payload after ``fu_skip`` header bytes (the last of which has the start bit).
        if assembler.hevc:
            fu_type, fu_mask, fu_skip = 49 << 1, 0x7E, 3
        else:
            fu_type, fu_mask, fu_skip = 28, 0x1F, 2
        while True:
            start, end, buf = c.start, c.end, c.buf
            mv = memoryview(buf)
            out: list[tuple[int, av.Packet[Any]]] = []
            while end - start >= 4:
                if buf[start] != 0x24:
                    break
                n = (buf[start + 2] << 8) | buf[start + 3]
                p = start + 4
                nxt = p + n
                if nxt > end:
                    break
                t = by_channel.get(buf[start + 1])
                if t is None:
                    t = rtcp.get(buf[start + 1])
                    if t is not None:
                        self._sender_report(t, mv[p:nxt])
                    start = nxt
                    continue
                start = nxt
                if n < 12:
                    continue
                b0, b1, seq, ts = unpack(">BBHI", buf, p)
                if b1 & 0x7F != t.payload_type:
                    continue
                if b0 & 0x3F == 0:  # no padding, extension or contributing sources
                    off, stop = p + 12, nxt
                else:
                    off = p + 12 + 4 * (b0 & 0x0F)
                    if b0 & 0x10:  # header extension
                        if n < off - p + 4:
                            continue
                        off += 4 + 4 * ((buf[off + 2] << 8) | buf[off + 3])
                    stop = nxt - (buf[nxt - 1] if b0 & 0x20 else 0)
                    if stop <= off:
                        continue
                if seq != t.next_seq and t.next_seq >= 0:
                    t.lost += (seq - t.next_seq) & 0xFFFF
                t.next_seq = (seq + 1) & 0xFFFF
                if t is video:
                    if ts != assembler.ts:
                        if parts:
                            out.append(self._video_packet(new_packet, vtb))
                        assembler.ts = ts
                        t.unwrap(ts)
                    h = buf[off]
                    if fu_type == h & fu_mask and stop - off > fu_skip:  # a fragment
                        if buf[off + fu_skip - 1] & 0x80 or not parts:
                            assembler.add(mv[off:stop])
                        else:
                            parts.append(mv[off + fu_skip : stop])
                    else:
                        assembler.add(mv[off:stop])
                    if b1 & 0x80:
                        out.append(self._video_packet(new_packet, vtb))
                        if video_arrival is None:
                            video_arrival = time.monotonic()
                else:
                    if video_arrival is None:
                        continue  # before any video: nothing to place it against
                    self._audio_packets(t, ts, mv[off:stop], out, video_arrival)
            c.start = start
            yield from out
            now = time.monotonic()
            c.pace(now)
            if now - c.last_request > keepalive_s:
                try:
                    c.keepalive()
                except OSError as exc:
                    raise SourceEndedError(f"{redact(self.url)}: stream error: {exc}") from exc
            if c.end - c.start >= 4 and c.buf[c.start] != 0x24:
                c.next_message()  # a reply to the keep-alive, or the server's request
                continue
            c.read()

    def _video_packet(self, packet_type: Any, tb: Fraction) -> tuple[int, av.Packet[Any]]:
        video = self._tracks[0]
        a = video.assembler
        assert a is not None
        data, key = a.take()
        if video.offset is None:
            video.offset = -video.unwrapped
        dts = video.unwrapped + video.offset
        packet = packet_type(data)
        packet.time_base = tb
        packet.dts = packet.pts = dts
        packet.is_keyframe = key
        return 0, packet

    def _audio_packets(
        self,
        t: _Track,
        ts: int,
        payload: memoryview,
        out: list[tuple[int, av.Packet[Any]]],
        video_arrival: float,
    ) -> None:
        unwrapped = t.unwrap(ts)
        if t.offset is None:
            placed = self._place_by_reports(t)
            if placed is None:
                # by arrival: the video's first frame came at video_arrival, dts 0
                placed = round((time.monotonic() - video_arrival) * t.media.clock_rate)
            else:
                t.synced = True
            t.offset = placed - unwrapped
        if t.media.codec == "aac":
            frames = aac_units(payload, t.size_bits, t.index_bits)
            for i, frame in enumerate(frames):
                packet = av.Packet(frame.tobytes())
                packet.time_base = t.time_base
                packet.dts = packet.pts = unwrapped + t.offset + 1024 * i
                packet.duration = 1024
                out.append((t.index, packet))
        else:
            packet = av.Packet(payload.tobytes())
            packet.time_base = t.time_base
            packet.dts = packet.pts = unwrapped + t.offset
            packet.duration = len(payload) // max(t.media.channels, 1)
            out.append((t.index, packet))

    def _place_by_reports(self, t: _Track) -> int | None:
        """Where (in ``t``'s ticks) its current RTP time lies on the video's clock, from the
        two tracks' sender reports; None until both have sent one."""
        video = self._tracks[0]
        if t.sr is None or video.sr is None or video.offset is None:
            return None
        v_ntp, v_rtp = video.sr
        a_ntp, a_rtp = t.sr
        # NTP time of video dts 0, then of this audio packet
        v0 = v_ntp - (v_rtp + video.offset) / video.media.clock_rate
        a_now = a_ntp + (t.unwrapped - a_rtp) / t.media.clock_rate
        return round((a_now - v0) * t.media.clock_rate)

    def _sender_report(self, t: _Track, pkt: memoryview) -> None:
        if len(pkt) < 20 or pkt[1] != 200:
            return
        sec, frac, rtp = struct.unpack_from("!III", pkt, 8)
        if t.last_ts is None:
            return
        step = (rtp - t.last_ts) & 0xFFFFFFFF
        unwrapped = t.unwrapped + (step - (1 << 32) if step & 0x80000000 else step)
        t.sr = (sec + frac / 2**32, unwrapped)
        if t.index and t.offset is not None and not t.synced:
            placed = self._place_by_reports(t)
            if placed is not None:
                t.offset = placed - t.unwrapped
                t.synced = True

    def media_stats(self) -> dict[str, int]:
        return {"rtp_lost": sum(t.lost for t in getattr(self, "_tracks", []))}

    def close(self) -> None:
        self.conn.close()
        for probe in self._probes:
            with contextlib.suppress(av.FFmpegError, OSError):
                probe.close()
        self._probes = []


def open_rtsp(
    url: str, *, stall_timeout_s: float, sound: bool = True, hold: bool = False
) -> RtspSource:
    """Open ``url`` with vms's reader; raises ``UnsupportedError`` where libavformat must (and,
    with ``sound`` false, for a camera with an audio track), holding the connection for the
    caller to close with ``hold`` (see UnsupportedError)."""
    return RtspSource(url, stall_timeout_s=stall_timeout_s, sound=sound, hold=hold)
