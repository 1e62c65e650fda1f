"""SDP of a GB/T 28181 live play: the platform's offer (``s=Play``) and the device's answer.

GB/T 28181 adds ``y=`` (the 10-digit SSRC: 0 = live, digits 4-8 of the domain, a sequence)
and carries PS on payload type 96. Over TCP (RFC 4571 framing) ``a=setup:passive`` means
vms listens and the device connects; ``a=setup:active`` means vms connects to the device.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from vms.cameras.gb28181.config import MediaTransport


class SdpError(ValueError):
    """An answer vms cannot receive media from."""


def ssrc_for(domain: str, sequence: int) -> str:
    """The live-view SSRC GB/T 28181 Annex prescribes: "0" + domain[3:8] + 4-digit sequence."""
    return f"0{domain[3:8]}{sequence % 10000:04d}"


def offer(
    platform_id: str, media_ip: str, port: int, ssrc: str, transport: MediaTransport
) -> bytes:
    tcp = transport != "udp"
    proto = "TCP/RTP/AVP" if tcp else "RTP/AVP"
    lines = [
        "v=0",
        f"o={platform_id} 0 0 IN IP4 {media_ip}",
        "s=Play",
        f"c=IN IP4 {media_ip}",
        "t=0 0",
        f"m=video {port} {proto} 96 98 97",
        "a=recvonly",
        "a=rtpmap:96 PS/90000",
        "a=rtpmap:98 H264/90000",
        "a=rtpmap:97 MPEG4/90000",
    ]
    if tcp:
        lines += [f"a=setup:{transport.removeprefix('tcp-')}", "a=connection:new"]
    lines.append(f"y={ssrc}")
    return ("\r\n".join(lines) + "\r\n").encode()


@dataclass(frozen=True)
class Answer:
    """Where the device sends from (or, for tcp-active, listens) and with which SSRC."""

    host: str
    port: int
    ssrc: int | None
    payload_types: tuple[int, ...]


def parse_answer(body: bytes) -> Answer:
    """Parse the 200 OK's SDP; raise SdpError."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = body.decode("gb18030", errors="replace")
    host: str | None = None
    media: tuple[int, tuple[int, ...]] | None = None
    ssrc: int | None = None
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = raw.strip()
        if len(line) < 2 or line[1] != "=":
            continue
        key, value = line[0], line[2:].strip()
        if key == "c":
            parts = value.split()
            if len(parts) == 3 and parts[0] == "IN":
                host = parts[2]
        elif key == "m" and media is None:
            parts = value.split()
            if len(parts) >= 4 and parts[0] == "video" and parts[1].isdigit():
                pts = tuple(int(p) for p in parts[3:] if p.isdigit() and int(p) < 128)
                media = (int(parts[1]), pts)
        elif key == "y" and value.isdigit() and len(value) <= 10 and int(value) < 2**32:
            ssrc = int(value)
    if host is None:
        raise SdpError("the answer has no c= connection address")
    try:
        ipaddress.ip_address(host)
    except ValueError as exc:
        raise SdpError(f"connection address {host[:60]!r} is not an IP address") from exc
    if media is None:
        raise SdpError("the answer has no m=video line")
    port, pts = media
    if not 0 < port < 65536:
        raise SdpError(f"media port {port} out of range")
    return Answer(host, port, ssrc, pts)
