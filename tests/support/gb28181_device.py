"""A GB/T 28181 device (camera or NVR) for tests, run as its own process.

    python -m tests.support.gb28181_device '<json settings>'

It registers with digest authentication, sends keepalives, answers Catalog and DeviceInfo,
and answers an INVITE by sending real footage as PS over RTP (UDP, or TCP with RFC 4571
framing, passive or active). Its SIP and digest code are its own, written from the RFCs,
so a bug in vms's parser cannot hide on both sides. Commands come as JSON lines on stdin
(``{"cmd": "keepalive", "on": false}``, ``loss``, ``register``, ``unregister``,
``password``, ``quit``); events go out as JSON lines on stdout.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import secrets
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import av

from tests.support.ps_mux import AUDIO_ID, STREAM_TYPE, VIDEO_ID, audio_frame, video_frame

RTP_PAYLOAD = 1400


def emit(**event: Any) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def header(msg: str, name: str) -> str | None:
    m = re.search(rf"(?im)^{re.escape(name)}[ \t]*:[ \t]*(.*?)\r?$", msg)
    return m.group(1).strip() if m else None


@dataclass
class Clip:
    access_units: list[tuple[bytes, bool]]
    fps: float
    codec: str


def load_clip(path: str, fps: float) -> Clip:
    with av.open(path) as c:
        codec = c.streams.video[0].codec_context.name
        aus = [(bytes(p), bool(p.is_keyframe)) for p in c.demux(video=0) if p.size]
    return Clip(aus, fps, codec)


def alaw_tone(seconds_per_frame: float) -> bytes:
    """G.711 A-law of a 440 Hz tone, one video frame long (encoded by FFmpeg)."""
    import numpy as np

    n = round(8000 * seconds_per_frame)
    enc = av.CodecContext.create("pcm_alaw", "w")
    enc.sample_rate, enc.layout, enc.format = 8000, "mono", "s16"  # type: ignore[attr-defined]
    samples = (np.sin(np.arange(n) * 2 * np.pi * 440 / 8000) * 8000).astype(np.int16)
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
    frame.sample_rate, frame.pts = 8000, 0
    return b"".join(bytes(p) for p in enc.encode(frame))  # type: ignore[attr-defined]


class MediaSender(threading.Thread):
    """Sends the clip in a loop as PS over RTP until stopped (the device's side of a play)."""

    def __init__(
        self,
        device: Device,
        channel: str,
        ssrc: int,
        sock: socket.socket,
        dest: tuple[str, int] | None,
        tcp: bool,
        listening: bool = False,
    ) -> None:
        super().__init__(daemon=True, name=f"media-{channel}")
        self.device, self.channel, self.ssrc = device, channel, ssrc
        self.sock, self.dest, self.tcp = sock, dest, tcp
        self.listening = listening  # tcp-active: vms connects to this listening socket
        self.stop = threading.Event()
        self.acked = threading.Event()
        self.seq = random.Random(ssrc).randrange(65536)
        self.sent = 0

    def _rtp(self, payload: bytes, ts: int, marker: bool) -> None:
        hdr = struct.pack(
            "!BBHII", 0x80, (0x80 if marker else 0) | 96, self.seq, ts & 0xFFFFFFFF, self.ssrc
        )
        seq = self.seq
        self.seq = (self.seq + 1) & 0xFFFF
        dev = self.device
        if not self.tcp and dev.rng.random() < dev.loss:
            dev.dropped.setdefault(self.channel, []).append(seq)
            return
        packet = hdr + payload
        if self.tcp:
            self.sock.sendall(struct.pack("!H", len(packet)) + packet)
        else:
            assert self.dest is not None
            self.sock.sendto(packet, self.dest)
        self.sent += 1

    def _send_frame(self, frame: bytes, ts: int) -> None:
        for i in range(0, len(frame), RTP_PAYLOAD):
            self._rtp(frame[i : i + RTP_PAYLOAD], ts, i + RTP_PAYLOAD >= len(frame))

    def run(self) -> None:
        clip = self.device.clip
        step = 90000 / clip.fps
        streams = [(STREAM_TYPE[clip.codec], VIDEO_ID)]
        audio = alaw_tone(1 / clip.fps) if self.device.audio else b""
        if audio:
            streams.append((STREAM_TYPE["pcm_alaw"], AUDIO_ID))
        try:
            if self.listening:
                listener = self.sock
                listener.settimeout(10)
                self.sock, _ = listener.accept()
                listener.close()
            if not self.acked.wait(10):
                return
        except OSError:
            return
        t0 = time.monotonic()
        n = 0
        try:
            while not self.stop.is_set():
                au, key = clip.access_units[n % len(clip.access_units)]
                pts = round(n * step) + 90000
                self._send_frame(video_frame(au, pts, key, streams), pts)
                if audio:
                    self._send_frame(audio_frame(audio, pts), pts + 1)
                n += 1
                delay = t0 + n / clip.fps - time.monotonic()
                if delay > 0:
                    self.stop.wait(delay)
        except OSError:
            pass  # the platform closed the TCP connection
        finally:
            self.sock.close()


class Device:
    def __init__(self, s: dict[str, Any]) -> None:
        self.id: str = s["device_id"]
        self.password: str = s["password"]
        self.domain: str = s.get("domain", self.id[:10])
        self.platform = (s["platform_host"], int(s["platform_port"]))
        self.platform_id: str = s.get("platform_id", "34020000002000000001")
        self.transport: str = s.get("sip_transport", "udp")
        self.channels: list[str] = s["channels"]
        self.keepalive_s: float = float(s.get("keepalive_s", 1.0))
        self.keepalive_on = True
        self.loss = float(s.get("loss", 0.0))
        self.rng = random.Random(int(s.get("seed", 7)))
        self.audio = bool(s.get("audio", False))
        self.clip = load_clip(s["clip"], float(s["fps"]))
        self.dropped: dict[str, list[int]] = {}
        self.host = "127.0.0.1"
        self.cseq = 0
        # Expires of each REGISTER sent, by CSeq number: a reply (401, 200) is handled on
        # another thread and must act on the request it answers, not on the latest one.
        self.register_expires: dict[int, int] = {}
        self.call_id = secrets.token_hex(8)
        self.tag = secrets.token_hex(4)
        self.plays: dict[str, MediaSender] = {}
        self.registered = threading.Event()
        self.retry_register = True  # until refused: then only on command
        self.lock = threading.Lock()
        if self.transport == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind((self.host, 0))
        else:
            self.sock = socket.create_connection(self.platform)
        self.port = self.sock.getsockname()[1]
        self.tcp_buf = b""

    # -- SIP plumbing ------------------------------------------------------------------------

    def send(self, text: str, body: bytes = b"") -> None:
        data = text.replace("\n", "\r\n").encode()
        data = data.replace(b"Content-Length: 0", f"Content-Length: {len(body)}".encode())
        data += body
        with self.lock:
            if self.transport == "udp":
                self.sock.sendto(data, self.platform)
            else:
                self.sock.sendall(data)

    def via(self) -> str:
        proto = self.transport.upper()
        return f"SIP/2.0/{proto} {self.host}:{self.port};rport;branch=z9hG4bK{secrets.token_hex(6)}"

    def next_cseq(self) -> int:
        with self.lock:
            self.cseq += 1
            return self.cseq

    def register(self, expires: int = 3600, auth: str | None = None) -> None:
        cseq = self.next_cseq()
        self.register_expires[cseq] = expires  # before sending: the reply may come at once
        uri = f"sip:{self.platform_id}@{self.domain}"
        lines = [
            f"REGISTER {uri} SIP/2.0",
            f"Via: {self.via()}",
            f"From: <sip:{self.id}@{self.domain}>;tag={self.tag}",
            f"To: <sip:{self.id}@{self.domain}>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {cseq} REGISTER",
            f"Contact: <sip:{self.id}@{self.host}:{self.port}>",
            "Max-Forwards: 70",
            "User-Agent: vms test device",
            f"Expires: {expires}",
        ]
        if auth:
            lines.append(f"Authorization: {auth}")
        self.send("\n".join([*lines, "Content-Length: 0", "", ""]))

    def answer_challenge(self, www: str, expires: int) -> None:
        params = dict(re.findall(r'(\w+)="?([^",]*)"?', www))
        realm, nonce = params["realm"], params["nonce"]
        uri = f"sip:{self.platform_id}@{self.domain}"
        ha1 = md5(f"{self.id}:{realm}:{self.password}")
        ha2 = md5(f"REGISTER:{uri}")
        if "qop" in params:
            cnonce, nc = secrets.token_hex(4), "00000001"
            resp = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
            auth = (
                f'Digest username="{self.id}", realm="{realm}", nonce="{nonce}", '
                f'uri="{uri}", response="{resp}", algorithm=MD5, qop=auth, nc={nc}, '
                f'cnonce="{cnonce}"'
            )
        else:
            resp = md5(f"{ha1}:{nonce}:{ha2}")
            auth = (
                f'Digest username="{self.id}", realm="{realm}", nonce="{nonce}", '
                f'uri="{uri}", response="{resp}", algorithm=MD5'
            )
        self.register(expires, auth)

    def message(self, xml: str) -> None:
        cseq = self.next_cseq()
        body = ('<?xml version="1.0" encoding="GB2312"?>\r\n' + xml).encode("gb18030")
        self.send(
            "\n".join(
                [
                    f"MESSAGE sip:{self.platform_id}@{self.domain} SIP/2.0",
                    f"Via: {self.via()}",
                    f"From: <sip:{self.id}@{self.domain}>;tag={secrets.token_hex(4)}",
                    f"To: <sip:{self.platform_id}@{self.domain}>",
                    f"Call-ID: {secrets.token_hex(8)}",
                    f"CSeq: {cseq} MESSAGE",
                    "Content-Type: Application/MANSCDP+xml",
                    "Max-Forwards: 70",
                    "Content-Length: 0",
                    "",
                    "",
                ]
            ),
            body,
        )

    def reply(
        self,
        req: str,
        status: str,
        extra: list[str] | None = None,
        body: bytes = b"",
        to_tag: str | None = None,
    ) -> None:
        to = header(req, "To") or ""
        if to_tag and "tag=" not in to:
            to += f";tag={to_tag}"
        lines = [f"SIP/2.0 {status}"]
        lines += [f"Via: {v}" for v in re.findall(r"(?im)^Via[ \t]*:[ \t]*(.*?)\r?$", req)]
        lines += [
            f"From: {header(req, 'From')}",
            f"To: {to}",
            f"Call-ID: {header(req, 'Call-ID')}",
            f"CSeq: {header(req, 'CSeq')}",
        ]
        lines += extra or []
        self.send("\n".join([*lines, "Content-Length: 0", "", ""]), body)

    # -- behaviour ---------------------------------------------------------------------------

    def on_message(self, msg: str, body: bytes) -> None:
        first = msg.split("\r\n", 1)[0]
        if first.startswith("SIP/2.0"):
            code = int(first.split()[1])
            number, _, method = (header(msg, "CSeq") or "").partition(" ")
            if method.strip() == "REGISTER":
                expires = self.register_expires.get(int(number) if number.isdigit() else -1)
                if expires is None:
                    return  # not an answer to a REGISTER of ours
                if code == 401:
                    self.answer_challenge(header(msg, "WWW-Authenticate") or "", expires)
                elif code == 200:
                    if expires == 0:
                        self.registered.clear()
                        emit(event="unregistered")
                    else:
                        self.registered.set()
                        emit(event="registered", date=header(msg, "Date"))
                else:
                    self.retry_register = False
                    emit(event="refused", status=code)
            return
        method = first.split()[0]
        if method == "MESSAGE":
            self.reply(msg, "200 OK")
            text = body.decode("gb18030")
            cmd = re.search(r"<CmdType>(\w+)</CmdType>", text)
            sn = re.search(r"<SN>(\d+)</SN>", text)
            if cmd and sn:
                self.on_query(cmd.group(1), sn.group(1))
        elif method == "INVITE":
            self.on_invite(msg, body)
        elif method == "ACK":
            call = header(msg, "Call-ID") or ""
            sender = self.plays.get(call)
            if sender is not None:
                sender.acked.set()
        elif method == "BYE":
            self.reply(msg, "200 OK")
            sender = self.plays.pop(header(msg, "Call-ID") or "", None)
            if sender is not None:
                sender.stop.set()
                emit(event="bye", channel=sender.channel, sent=sender.sent)

    def on_query(self, cmd: str, sn: str) -> None:
        if cmd == "Catalog":
            # two MESSAGEs, as NVRs split long catalogs
            halves = [
                self.channels[: len(self.channels) // 2 or 1],
                self.channels[len(self.channels) // 2 or 1 :],
            ]
            for part in [h for h in halves if h]:
                items = "".join(
                    f"<Item><DeviceID>{c}</DeviceID><Name>通道 {i + 1}</Name>"
                    f"<Manufacturer>vms-test</Manufacturer><Model>IPC</Model>"
                    f"<Owner>Owner</Owner><CivilCode>{self.domain[:6]}</CivilCode>"
                    f"<Address>测试路 1 号</Address><Parental>0</Parental>"
                    f"<ParentID>{self.id}</ParentID><Status>ON</Status></Item>"
                    for i, c in enumerate(self.channels)
                    if c in part
                )
                self.message(
                    f"<Response><CmdType>Catalog</CmdType><SN>{sn}</SN>"
                    f"<DeviceID>{self.id}</DeviceID><SumNum>{len(self.channels)}</SumNum>"
                    f'<DeviceList Num="{len(part)}">{items}</DeviceList></Response>'
                )
        elif cmd == "DeviceInfo":
            self.message(
                f"<Response><CmdType>DeviceInfo</CmdType><SN>{sn}</SN>"
                f"<DeviceID>{self.id}</DeviceID><DeviceName>测试 NVR</DeviceName>"
                f"<Result>OK</Result><Manufacturer>vms-test</Manufacturer><Model>NVR-20</Model>"
                f"<Firmware>V1.0</Firmware><Channel>{len(self.channels)}</Channel></Response>"
            )

    def on_invite(self, msg: str, body: bytes) -> None:
        channel = re.match(r"INVITE sip:(\d{20})@", msg)
        sdp = body.decode()
        ip = re.search(r"c=IN IP4 (\S+)", sdp)
        media = re.search(r"m=video (\d+) (\S+)", sdp)
        ssrc = re.search(r"y=(\d+)", sdp)
        setup = re.search(r"a=setup:(\w+)", sdp)
        if not (channel and ip and media and ssrc) or channel.group(1) not in self.channels:
            self.reply(msg, "404 Not Found", to_tag=secrets.token_hex(4))
            return
        self.reply(msg, "100 Trying")
        tcp = media.group(2).startswith("TCP")
        dest = (ip.group(1), int(media.group(1)))
        mode = "udp"
        if tcp and setup and setup.group(1) == "active":  # vms connects to us
            mode = "tcp-active"
            listener = socket.socket()
            listener.bind((self.host, 0))
            listener.listen(1)
            our_port = listener.getsockname()[1]
        elif tcp:
            mode = "tcp-passive"
            our_port = 0
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((self.host, 0))
            our_port = sock.getsockname()[1]
        proto = "TCP/RTP/AVP" if tcp else "RTP/AVP"
        answer = [
            "v=0",
            f"o={channel.group(1)} 0 0 IN IP4 {self.host}",
            "s=Play",
            f"c=IN IP4 {self.host}",
            "t=0 0",
            f"m=video {our_port or 9} {proto} 96",
            "a=sendonly",
            "a=rtpmap:96 PS/90000",
        ]
        if tcp:
            answer.append("a=setup:" + ("passive" if mode == "tcp-active" else "active"))
        answer.append(f"y={ssrc.group(1)}")
        sdp_out = ("\r\n".join(answer) + "\r\n").encode()
        call = header(msg, "Call-ID") or ""
        emit(event="invite", channel=channel.group(1), transport=mode)
        ch = channel.group(1)
        if mode == "tcp-active":
            sender = MediaSender(self, ch, int(ssrc.group(1)), listener, None, True, True)
        elif mode == "tcp-passive":
            conn = socket.create_connection(dest)
            sender = MediaSender(self, ch, int(ssrc.group(1)), conn, None, True)
        else:
            sender = MediaSender(self, ch, int(ssrc.group(1)), sock, dest, False)
        self.plays[call] = sender
        sender.start()
        self.reply(
            msg,
            "200 OK",
            [f"Contact: <sip:{ch}@{self.host}:{self.port}>", "Content-Type: APPLICATION/SDP"],
            sdp_out,
            to_tag=secrets.token_hex(4),
        )

    # -- threads -----------------------------------------------------------------------------

    def receive(self) -> None:
        while True:
            try:
                if self.transport == "udp":
                    data, _ = self.sock.recvfrom(65536)
                else:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        emit(event="sip_closed")
                        return
                    self.tcp_buf += chunk
                    data = b""
            except OSError:
                return
            for one in [data] if data else self._tcp_messages():
                head, _, body = one.partition(b"\r\n\r\n")
                try:
                    threading.Thread(
                        target=self.on_message, args=(head.decode() + "\r\n\r\n", body), daemon=True
                    ).start()
                except RuntimeError:
                    return

    def _tcp_messages(self) -> list[bytes]:
        out = []
        while b"\r\n\r\n" in self.tcp_buf:
            head, _, rest = self.tcp_buf.partition(b"\r\n\r\n")
            n = int(header(head.decode() + "\r\n", "Content-Length") or 0)
            if len(rest) < n:
                break
            out.append(head + b"\r\n\r\n" + rest[:n])
            self.tcp_buf = rest[n:]
        return out

    def keepalives(self) -> None:
        sn = 0
        last_register = time.monotonic()
        while True:
            time.sleep(self.keepalive_s)
            if self.retry_register and not self.registered.is_set():
                if time.monotonic() - last_register > 3:  # like a device: try again
                    last_register = time.monotonic()
                    self.register()
                continue
            if self.keepalive_on and self.registered.is_set():
                sn += 1
                self.message(
                    f"<Notify><CmdType>Keepalive</CmdType><SN>{sn}</SN>"
                    f"<DeviceID>{self.id}</DeviceID><Status>OK</Status></Notify>"
                )

    def commands(self) -> None:
        for line in sys.stdin:
            cmd = json.loads(line)
            name = cmd["cmd"]
            if name == "keepalive":
                self.keepalive_on = bool(cmd["on"])
            elif name == "loss":
                self.loss = float(cmd["rate"])
            elif name == "password":
                self.password = cmd["value"]
            elif name == "register":
                self.retry_register = True
                self.register()
            elif name == "unregister":
                self.retry_register = False  # unregistered on purpose: stay so
                self.register(expires=0)
            elif name == "dropped":
                emit(event="dropped", dropped=self.dropped)
            elif name == "quit":
                break
            emit(event="ok", cmd=name)


def main() -> None:
    device = Device(json.loads(sys.argv[1]))
    threading.Thread(target=device.receive, daemon=True).start()
    threading.Thread(target=device.keepalives, daemon=True).start()
    emit(event="started", port=device.port)
    device.register()
    device.commands()
    for sender in list(device.plays.values()):
        sender.stop.set()


if __name__ == "__main__":
    main()
