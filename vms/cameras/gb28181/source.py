"""``gb28181://DEVICE_ID/CHANNEL_ID``: a channel's live PS stream as an ordinary camera source.

    worker: bind an RTP port from gb28181.rtp_ports --> ask the platform to INVITE the channel
    RTP (UDP, or TCP RFC 4571 passive/active) --> Reorderer --> PsAssembler --> PsPipe
    --> PyAV's MPEG-PS demuxer --> the same av.Packet objects an RTSP camera gives

The recorder, the analysis decoder and the live relay take the packets unchanged. Lost RTP
packets, reordered ones and the frames skipped to resynchronise are counted (``media_stats``)
and reach the camera's health. The play ends (and the worker's outage path runs) when the
device sends BYE or goes offline, when no video comes for ``stall_timeout_s``, or on close.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import av

from vms.cameras.gb28181.config import Gb28181Config, MediaTransport
from vms.cameras.gb28181.control import PlayClient, PlayGrant, control_address
from vms.cameras.gb28181.ps import PsAssembler, PsPipe, is_keyframe
from vms.cameras.gb28181.rtp import (
    FramingError,
    Lost,
    Reorderer,
    Rfc4571Framer,
    RtpPacket,
    parse_rtp,
)
from vms.cameras.opened import OpenedSource
from vms.errors import SourceEndedError, SourceOpenError, SourceStalledError

log = logging.getLogger(__name__)

_TRANSPORTS: dict[str, MediaTransport] = {
    "udp": "udp",
    "tcp": "tcp-passive",
    "tcp-passive": "tcp-passive",
    "tcp-active": "tcp-active",
}
DEMUX_OPTIONS = {"probesize": "500000", "analyzeduration": "1000000"}


def parse_url(url: str, default: MediaTransport) -> tuple[str, str, MediaTransport]:
    """``gb28181://DEVICE/CHANNEL[?transport=udp|tcp-passive|tcp-active]``."""
    parts = urlsplit(url)
    device, channel = parts.netloc, parts.path.strip("/")
    if parts.scheme != "gb28181" or not (device.isdigit() and len(device) == 20):
        raise SourceOpenError(f"{url!r}: want gb28181://DEVICE_ID/CHANNEL_ID (20 digits each)")
    if not (channel.isdigit() and len(channel) == 20):
        raise SourceOpenError(f"{url!r}: the channel id must have 20 digits")
    q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    transport = q.get("transport", default)
    if transport not in _TRANSPORTS:
        raise SourceOpenError(f"{url!r}: transport must be udp, tcp-passive or tcp-active")
    return device, channel, _TRANSPORTS[transport]


def _bind(kind: int, host: str, start: int, end: int) -> socket.socket:
    """A socket bound to a free port of the pool (the OS arbitrates between processes)."""
    ports = list(range(start, end + 1))
    offset = random.randrange(len(ports))
    for port in ports[offset:] + ports[:offset]:
        sock = socket.socket(socket.AF_INET, kind)
        try:
            if kind == socket.SOCK_DGRAM:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
            sock.bind((host, port))
            return sock
        except OSError:
            sock.close()
    raise SourceOpenError(f"no free RTP port in gb28181.rtp_ports {start}-{end}")


@dataclass(frozen=True)
class Gb28181Media:
    """What a worker process needs to play channels: the section and the platform's address."""

    config: Gb28181Config
    control_address: str

    @classmethod
    def of(cls, config: Gb28181Config, storage_root: Path) -> Gb28181Media:
        return cls(config, control_address(storage_root))

    def open(self, url: str, *, stall_timeout_s: float) -> OpenedSource:
        """Play ``url`` (``vms.cameras.sources.ChannelOpener``)."""
        if not self.config.enabled:
            raise SourceOpenError(f"{url}: GB/T 28181 is not enabled (gb28181.enabled: true)")
        return open_gb28181(url, self, stall_timeout_s=stall_timeout_s)


class Gb28181Session:
    """One play: the RTP socket, the control connection and the receiving thread."""

    def __init__(self, url: str, media: Gb28181Media, *, stall_timeout_s: float) -> None:
        self.url = url
        config = media.config
        device, channel, transport = parse_url(url, config.media_transport)
        self.transport = transport
        bind_host = config.listen_host or "0.0.0.0"  # noqa: S104 -- where the device sends
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        self._sock = _bind(kind, bind_host, config.rtp_ports.start, config.rtp_ports.end)
        self._conn: socket.socket | None = None
        self._stop = threading.Event()
        self.reorder = Reorderer()
        self.assembler = PsAssembler()
        self.pipe = PsPipe(stall_timeout_s)
        self.foreign = 0
        self._client: PlayClient | None = None
        try:
            if transport == "tcp-passive":
                self._sock.listen(1)
            port = self._sock.getsockname()[1]
            self._client = PlayClient(media.control_address, timeout_s=config.invite_timeout_s + 5)
            grant = self._client.request(device, channel, transport, port)
            self.grant = grant
            self._connect(grant, config.invite_timeout_s)
        except BaseException:
            self.close()
            raise
        self._threads = [
            threading.Thread(target=self._receive, name=f"rtp-{channel}", daemon=True),
            threading.Thread(target=self._watch, name=f"gb-ctl-{channel}", daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _connect(self, grant: PlayGrant, timeout_s: float) -> None:
        if self.transport == "tcp-active":
            self._sock.settimeout(timeout_s)
            try:
                self._sock.connect((grant.host, grant.port))
            except OSError as exc:
                raise SourceOpenError(
                    f"{self.url}: cannot connect to the device's media port "
                    f"{grant.host}:{grant.port}: {exc}"
                ) from exc
            self._conn = self._sock
        elif self.transport == "tcp-passive":
            self._sock.settimeout(timeout_s)
            try:
                self._conn, _addr = self._sock.accept()
            except OSError as exc:
                raise SourceOpenError(f"{self.url}: the device did not connect for media") from exc

    # -- threads ----------------------------------------------------------------------------

    def _watch(self) -> None:
        assert self._client is not None
        reason = self._client.wait_end()
        if not self._stop.is_set():
            self.pipe.end(reason)

    def _receive(self) -> None:
        try:
            if self._conn is None:
                self._receive_udp()
            else:
                self._receive_tcp(self._conn)
        except Exception as exc:  # a bug must end this play, never the worker
            log.exception("%s: RTP receiver failed", self.url)
            self.pipe.end(f"RTP receiver failed: {exc}")

    def _receive_udp(self) -> None:
        sock = self._sock
        sock.settimeout(0.05)
        source: tuple[str, int] | None = None
        while not self._stop.is_set():
            try:
                data, addr = sock.recvfrom(65536)
            except TimeoutError:
                self._feed(self.reorder.flush(time.monotonic()))
                continue
            except OSError:
                return
            if source is not None and addr != source:
                self.foreign += 1
                continue
            pkt = self._accept(data)
            if pkt is not None:
                source = source or addr
                self._feed(self.reorder.push(pkt, time.monotonic()))

    def _receive_tcp(self, conn: socket.socket) -> None:
        conn.settimeout(0.05)
        framer = Rfc4571Framer()
        while not self._stop.is_set():
            try:
                data = conn.recv(262144)
            except TimeoutError:
                self._feed(self.reorder.flush(time.monotonic()))
                continue
            except OSError:
                data = b""
            if not data:
                self.pipe.end("the device closed the TCP media connection")
                return
            try:
                packets = framer.feed(data)
            except FramingError as exc:
                self.pipe.end(f"broken RTP over TCP: {exc}")
                return
            now = time.monotonic()
            for raw in packets:
                pkt = self._accept(raw)
                if pkt is not None:
                    self._feed(self.reorder.push(pkt, now))

    def _accept(self, data: bytes) -> RtpPacket | None:
        pkt = parse_rtp(data)
        if pkt is None:
            self.foreign += 1
            return None
        want = self.grant.ssrc
        if want is not None and pkt.ssrc != want:
            self.foreign += 1
            if self.foreign < 50 or self.reorder.received:
                return None
            log.warning("%s: device sends SSRC %d, not %d; following it", self.url, pkt.ssrc, want)
            self.grant = PlayGrant(pkt.ssrc, self.grant.host, self.grant.port, self.grant.call_id)
        return pkt

    def _feed(self, items: list[RtpPacket | Lost]) -> None:
        for item in items:
            for frame in self.assembler.push(item):
                self.pipe.write(frame, is_keyframe(frame, self.assembler.codec))

    # -- the worker's side ------------------------------------------------------------------

    def stats(self) -> dict[str, int]:
        return {
            "rtp_packets": self.reorder.received,
            "rtp_lost": self.reorder.lost,
            "rtp_reordered": self.reorder.reordered,
            "ps_frames_dropped": self.assembler.frames_dropped + self.pipe.dropped,
        }

    def close(self) -> None:
        self._stop.set()
        self.pipe.end("stopped")
        if self._client is not None:
            self._client.close()  # the platform sends BYE
        for s in (self._conn, self._sock):
            if s is not None:
                with contextlib.suppress(OSError):
                    s.close()
        for t in getattr(self, "_threads", []):
            if t is not threading.current_thread():
                t.join(timeout=2)


class Gb28181Source(OpenedSource):
    """An OpenedSource whose errors say why the play ended (stall, BYE, device offline)."""

    session: Gb28181Session

    def demux(self) -> Iterator[av.Packet[Any]]:
        try:
            yield from super().demux()
        except (SourceEndedError, SourceStalledError) as exc:
            pipe = self.session.pipe
            reason = pipe.end_reason or str(exc)
            if pipe.stalled:
                raise SourceStalledError(f"{self.url}: {reason}") from exc
            raise SourceEndedError(f"{self.url}: {reason}") from exc

    def media_stats(self) -> dict[str, int]:
        return self.session.stats()


def open_gb28181(url: str, media: Gb28181Media, *, stall_timeout_s: float) -> Gb28181Source:
    """Start a play of the channel and open its PS stream with PyAV."""
    session = Gb28181Session(url, media, stall_timeout_s=stall_timeout_s)
    try:
        container = av.open(session.pipe, "r", format="mpeg", options=DEMUX_OPTIONS)
    except (av.FFmpegError, OSError) as exc:
        session.close()
        reason = session.pipe.end_reason or str(exc)
        raise SourceOpenError(f"{url}: cannot read the PS stream: {reason}") from exc
    except BaseException:
        session.close()
        raise
    source = Gb28181Source(container, url, is_file=False, native_speed=False, closer=session)
    source.session = session
    return source
