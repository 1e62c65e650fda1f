"""The GB/T 28181 platform: SIP over UDP and TCP, devices, catalogs, and live plays.

One per ``vms serve``, in the supervisor process, on an asyncio loop in its own thread:

    device --REGISTER--> 401 challenge --REGISTER + digest--> 200 (Date)   then Catalog and
    DeviceInfo queries (MESSAGE); keepalive MESSAGEs; REGISTER Expires: 0 = unregister
    worker --control socket--> INVITE (SDP s=Play) --200--> ACK ... BYE when the worker stops

Every received message is parsed strictly (vms.cameras.gb28181.sip): a malformed request
is answered 4xx when it can be, anything else is dropped and counted; no message can stop
the loop. Decisions (who may register, who is offline) are vms.cameras.gb28181.registry's
pure functions; the loop only applies them. State goes to the database through DeviceStore.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import struct
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from vms.cameras.gb28181 import manscdp, sdp
from vms.cameras.gb28181.config import Gb28181Config
from vms.cameras.gb28181.control import MAX_LINE, control_address
from vms.cameras.gb28181.digest import Credentials, challenge, make_nonce, nonce_age
from vms.cameras.gb28181.manscdp import CatalogItem, ManscdpError
from vms.cameras.gb28181.registry import (
    RegisterVerdict,
    Registration,
    decide_register,
    granted_expires,
    offline_reason,
    retransmit_due,
)
from vms.cameras.gb28181.sip import (
    Address,
    Request,
    Response,
    SipError,
    SipUri,
    StreamFramer,
    parse,
    response_to,
)
from vms.cameras.gb28181.store import DeviceRecord, DeviceStore
from vms.clock import Clock, SystemClock
from vms.db.session import Database
from vms.errors import CameraError

if TYPE_CHECKING:
    from vms.config import Config

log = logging.getLogger(__name__)

TICK_S = 0.1
ANSWERED_TTL_S = 32.0
USER_AGENT = "vms GB/T 28181 platform"


@dataclass
class PlatformStats:
    """Counters of what the platform received; ``errors`` counts bugs (must stay 0)."""

    received: int = 0
    malformed: int = 0
    answered_4xx: int = 0
    dropped: int = 0
    refused_registrations: int = 0
    errors: int = 0


@dataclass
class _Peer:
    transport: str  # "udp" | "tcp"
    host: str
    port: int
    writer: asyncio.StreamWriter | None = None


@dataclass
class _Device:
    reg: Registration
    online: bool = True
    offline_reason: str | None = None
    name: str = ""
    manufacturer: str = ""
    model: str = ""
    firmware: str = ""
    channel_count: int | None = None
    channels: dict[str, CatalogItem] = field(default_factory=dict)
    catalog_sn: int | None = None
    catalog_seen: set[str] = field(default_factory=set)
    writer: asyncio.StreamWriter | None = None


@dataclass
class _ClientTx:
    branch: str
    method: str
    data: bytes
    peer: _Peer
    future: asyncio.Future[Response]
    sent_at: float
    deadline: float
    attempts: int = 1
    provisional: bool = False


@dataclass
class _Play:
    device_id: str
    channel_id: str
    call_id: str
    from_tag: str
    to_address: str  # the To header with the device's tag
    target: SipUri
    cseq: int
    ended: asyncio.Future[str]


class Gb28181Platform:
    """Listens for devices; serves plays to camera workers through ``control_address``."""

    def __init__(
        self,
        config: Gb28181Config,
        control_address: str,
        *,
        store: DeviceStore | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.config = config
        self.control_address = control_address
        self.store = store
        self.clock = clock or SystemClock()
        self.stats = PlatformStats()
        self.sip_port = config.sip_port
        self.host = config.media_address or "127.0.0.1"
        self._secret = secrets.token_bytes(32)
        self._devices: dict[str, _Device] = {}
        self._txs: dict[str, _ClientTx] = {}
        self._answered: dict[tuple[str, str, str], tuple[bytes, float]] = {}
        self._plays: dict[str, _Play] = {}
        self._grants: dict[str, tuple[int | None, str, int]] = {}
        self._sn = 0
        self._ssrc_seq = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._servers: list[asyncio.Server] = []
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._start_error: BaseException | None = None
        self._stopping: asyncio.Event | None = None

    @classmethod
    def for_service(cls, config: Config, db: Database) -> Gb28181Platform:
        """The platform of ``vms serve``: state in ``db``, reachable by the worker processes."""
        return cls(config.gb28181, control_address(config.storage.root), store=DeviceStore(db))

    # -- lifecycle (called from other threads) ---------------------------------------------

    def start(self) -> None:
        """Bind the listeners and serve in a thread; raise CameraError if a port is taken."""
        if self.store is not None:
            self._restore(self.store.load())
        self._thread = threading.Thread(target=self._run, name="gb28181-platform", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._start_error is not None:
            raise CameraError(f"GB/T 28181 platform cannot start: {self._start_error}")
        log.info(
            "GB/T 28181 platform %s listening on %s:%d (%s)",
            self.config.platform_id,
            self.config.listen_host,
            self.sip_port,
            "+".join(self.config.transports),
        )

    def stop(self) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self.store is not None:
            self.store.flush()

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the platform's loop and return its result (tests, CLI)."""
        assert self._loop is not None
        fut = asyncio.run_coroutine_threadsafe(_as_coro(fn, *args), self._loop)
        return fut.result(timeout=30)

    def device_ids(self) -> dict[str, bool]:
        """Known devices and whether each is online (a copy, safe from any thread)."""
        result: dict[str, bool] = self.call(lambda: {k: d.online for k, d in self._devices.items()})
        return result

    def channels_of(self, device_id: str) -> list[str]:
        result: list[str] = self.call(lambda: sorted(self._devices[device_id].channels))
        return result

    # -- the loop ---------------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:
            self._start_error = exc
            self._ready.set()
        finally:
            loop.close()

    async def _main(self) -> None:
        loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        cfg = self.config
        if "udp" in cfg.transports:
            self._udp, _ = await loop.create_datagram_endpoint(
                lambda: _UdpProtocol(self), local_addr=(cfg.listen_host, cfg.sip_port)
            )
            self.sip_port = self._udp.get_extra_info("sockname")[1]
        if "tcp" in cfg.transports:
            server = await asyncio.start_server(
                self._tcp_client, cfg.listen_host, self.sip_port, reuse_address=True
            )
            self.sip_port = server.sockets[0].getsockname()[1]
            self._servers.append(server)
        self._servers.append(
            await asyncio.start_unix_server(self._control_client, path=self.control_address)
        )
        self._ready.set()
        ticker = asyncio.create_task(self._ticker())
        await self._stopping.wait()
        ticker.cancel()
        for play in list(self._plays.values()):
            self._end_play(play, "the GB/T 28181 platform stopped", bye=True)
        await asyncio.sleep(0.2)  # let the BYEs leave
        for server in self._servers:
            server.close()
        if self._udp is not None:
            self._udp.close()

    async def _ticker(self) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            try:
                self._tick()
            except Exception:  # a bug in one tick must not stop the next
                self.stats.errors += 1
                log.exception("gb28181: tick failed")

    def _tick(self) -> None:
        now_m = self.clock.monotonic()
        now = self.clock.now()
        for tx in list(self._txs.values()):
            if now_m >= tx.deadline:
                self._txs.pop(tx.branch, None)
                if not tx.future.done():
                    tx.future.set_exception(TimeoutError(f"no answer to {tx.method}"))
            elif (
                tx.peer.transport == "udp"
                and not tx.provisional
                and retransmit_due(tx.sent_at, tx.attempts, now_m)
            ):
                tx.attempts += 1
                self._send(tx.data, tx.peer)
        for key, (_data, expires) in list(self._answered.items()):
            if now_m >= expires:
                del self._answered[key]
        cfg = self.config
        for dev in self._devices.values():
            if not dev.online:
                continue
            reason = offline_reason(dev.reg, now, cfg.keepalive_interval_s, cfg.keepalive_misses)
            if reason is not None:
                self._set_offline(dev, reason)

    # -- receiving ----------------------------------------------------------------------------

    def received(self, data: bytes, peer: _Peer) -> None:
        """One whole message from ``peer``: answered, acted on, or dropped. Never raises."""
        self.stats.received += 1
        try:
            msg = parse(data, stream=peer.transport == "tcp")
        except SipError as exc:
            self.stats.malformed += 1
            if exc.request is not None and exc.status is not None:
                self._answer(exc.request, peer, exc.status, _phrase(exc.status, exc.reason))
            else:
                self.stats.dropped += 1
                log.debug("gb28181: dropped from %s:%d: %s", peer.host, peer.port, exc.reason)
            return
        try:
            if isinstance(msg, Request):
                self._on_request(msg, peer)
            else:
                self._on_response(msg)
        except SipError as exc:
            self.stats.malformed += 1
            if isinstance(msg, Request) and msg.method != "ACK":
                self._answer(msg, peer, exc.status or 400, _phrase(exc.status or 400, exc.reason))
        except Exception:
            self.stats.errors += 1
            log.exception("gb28181: error handling a message from %s:%d", peer.host, peer.port)
            if isinstance(msg, Request) and msg.method != "ACK":
                with contextlib.suppress(Exception):
                    self._answer(msg, peer, 500, "Server Internal Error")

    def _on_request(self, req: Request, peer: _Peer) -> None:
        branch = req.vias[0].branch or ""
        key = (branch, req.call_id, req.method)
        if branch and key in self._answered:  # a retransmission: the same answer again
            self._send(self._answered[key][0], peer)
            return
        if req.method == "REGISTER":
            self._on_register(req, peer)
        elif req.method == "MESSAGE":
            self._on_message(req, peer)
        elif req.method == "BYE":
            self._on_bye(req, peer)
        elif req.method == "ACK":
            return
        elif req.method == "OPTIONS":
            resp = response_to(req, 200, "OK", to_tag=secrets.token_hex(4))
            resp.add("Allow", "REGISTER, MESSAGE, INVITE, ACK, BYE, OPTIONS")
            self._reply(req, resp, peer)
        elif req.method in ("NOTIFY", "INFO", "SUBSCRIBE", "CANCEL"):
            self._answer(req, peer, 200 if req.method != "SUBSCRIBE" else 489, "OK")
        else:
            self._answer(req, peer, 405, "Method Not Allowed")

    def _on_register(self, req: Request, peer: _Peer) -> None:
        cfg = self.config
        device_id = req.from_.uri.user or ""
        if not (len(device_id) == 20 and device_id.isdigit()):
            self._answer(req, peer, 400, "Bad Request (device id must have 20 digits)")
            return
        auth = req.get("Authorization")
        creds = Credentials.parse(auth) if auth else None
        now = self.clock.now()
        age = nonce_age(self._secret, creds.nonce, now.timestamp()) if creds else None
        decision = decide_register(
            device_id, creds, cfg.password_of(device_id), cfg.digest_realm, age, cfg.nonce_ttl_s
        )
        if decision.verdict in (RegisterVerdict.CHALLENGE, RegisterVerdict.STALE):
            resp = response_to(req, 401, "Unauthorized", to_tag=secrets.token_hex(4))
            nonce = make_nonce(self._secret, now.timestamp())
            stale = decision.verdict is RegisterVerdict.STALE
            resp.add("WWW-Authenticate", challenge(cfg.digest_realm, nonce, stale=stale))
            self._reply(req, resp, peer)
            return
        if decision.verdict is RegisterVerdict.FORBIDDEN:
            self.stats.refused_registrations += 1
            log.warning(
                "gb28181: registration refused from %s:%d: %s",
                peer.host,
                peer.port,
                decision.reason,
            )
            self._answer(req, peer, 403, "Forbidden")
            return
        contact = req.get("Contact")
        asked = req.expires
        if asked is None and contact:
            with contextlib.suppress(SipError):
                value = Address.parse(contact).params.get("expires")
                asked = int(value) if value and value.isdigit() else None
        resp = response_to(req, 200, "OK", to_tag=secrets.token_hex(4))
        if asked == 0:
            self._reply(req, resp, peer)
            dev = self._devices.get(device_id)
            if dev is not None:
                self._set_offline(dev, "unregistered by the device")
            log.info("gb28181: device %s unregistered", device_id)
            return
        expires = granted_expires(asked, cfg.register_expires_s)
        if contact:
            resp.add("Contact", contact)
        resp.add("Expires", str(expires))
        local = now.astimezone()
        resp.add("Date", local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}")
        self._reply(req, resp, peer)
        reg = Registration(
            device_id,
            "tcp" if peer.transport == "tcp" else "udp",
            peer.host,
            peer.port,
            now,
            now + timedelta(seconds=expires),
        )
        dev = self._devices.get(device_id)
        fresh = dev is None or not dev.online
        if dev is None:
            dev = self._devices[device_id] = _Device(reg)
        dev.reg, dev.online, dev.offline_reason, dev.writer = reg, True, None, peer.writer
        self._save(dev)
        if fresh:
            log.info("gb28181: device %s registered from %s:%d", device_id, peer.host, peer.port)
            self._query(dev, "DeviceInfo")
            self._query(dev, "Catalog")

    def _on_message(self, req: Request, peer: _Peer) -> None:
        if req.content_type != "application/manscdp+xml":
            self._answer(req, peer, 415, "Unsupported Media Type")
            return
        try:
            body = manscdp.parse(req.body)
        except ManscdpError as exc:
            self._answer(req, peer, 400, _phrase(400, str(exc)))
            return
        sender = req.from_.uri.user or ""
        dev = self._devices.get(sender)
        if dev is None or not self._same_device(dev, peer):
            self._answer(req, peer, 403, "Forbidden (not registered)")
            return
        if body.root == "Notify" and body.cmd == "Keepalive":
            if not dev.online and dev.offline_reason == "unregistered by the device":
                self._answer(req, peer, 403, "Forbidden (not registered)")
                return
            self._answer(req, peer, 200, "OK")
            dev.reg = dev.reg.heard(self.clock.now())
            if not dev.online:
                dev.online, dev.offline_reason = True, None
                log.info("gb28181: device %s is back (keepalive)", sender)
            self._save(dev)
            return
        self._answer(req, peer, 200, "OK")
        if body.root != "Response":
            return
        if body.cmd == "Catalog":
            self._on_catalog(dev, manscdp.catalog(body))
        elif body.cmd == "DeviceInfo":
            info = manscdp.device_info(body)
            dev.name = info.name or dev.name
            dev.manufacturer, dev.model, dev.firmware = info.manufacturer, info.model, info.firmware
            dev.channel_count = info.channels
            self._save(dev)

    def _on_catalog(self, dev: _Device, cat: manscdp.Catalog) -> None:
        if dev.catalog_sn != cat.sn:
            dev.catalog_sn, dev.catalog_seen = cat.sn, set()
        for item in cat.items:
            dev.channels[item.channel_id] = item
            dev.catalog_seen.add(item.channel_id)
        complete = len(dev.catalog_seen) >= cat.sum_num
        if complete:
            for gone in set(dev.channels) - dev.catalog_seen:
                del dev.channels[gone]
        if self.store is not None:
            self.store.put_channels(dev.reg.device_id, cat.items, complete=False)
            if complete:
                self.store.put_channels(
                    dev.reg.device_id, list(dev.channels.values()), complete=True
                )

    def _on_bye(self, req: Request, peer: _Peer) -> None:
        play = self._plays.get(req.call_id)
        if play is None:
            self._answer(req, peer, 481, "Call/Transaction Does Not Exist")
            return
        self._answer(req, peer, 200, "OK")
        self._end_play(play, "the device ended the stream (BYE)", bye=False)

    def _on_response(self, resp: Response) -> None:
        branch = resp.vias[0].branch or ""
        tx = self._txs.get(branch)
        if tx is None:
            if resp.status < 300 and resp.cseq[1] == "INVITE":
                self._reack(resp)  # a 200 retransmitted because our ACK was lost
            return
        if resp.status < 200:
            tx.provisional = True
            return
        del self._txs[branch]
        if tx.method == "INVITE" and resp.status >= 300:
            self._send(self._ack_for_failure(tx, resp), tx.peer)
        if not tx.future.done():
            tx.future.set_result(resp)

    # -- sending -------------------------------------------------------------------------------

    def _send(self, data: bytes, peer: _Peer) -> None:
        try:
            if peer.transport == "tcp":
                if peer.writer is not None and not peer.writer.is_closing():
                    peer.writer.write(data)
            elif self._udp is not None:
                self._udp.sendto(data, (peer.host, peer.port))
        except (OSError, RuntimeError) as exc:
            log.debug("gb28181: cannot send to %s:%d: %s", peer.host, peer.port, exc)

    def _reply(self, req: Request, resp: Response, peer: _Peer) -> None:
        resp.add("User-Agent", USER_AGENT)
        data = resp.encode()
        if 400 <= resp.status < 500:
            self.stats.answered_4xx += 1
        branch = req.vias[0].branch or ""
        if branch:
            expires = self.clock.monotonic() + ANSWERED_TTL_S
            self._answered[(branch, req.call_id, req.method)] = (data, expires)
        self._send(data, peer)

    def _answer(self, req: Request, peer: _Peer, status: int, reason: str) -> None:
        self._reply(req, response_to(req, status, reason, to_tag=secrets.token_hex(4)), peer)

    def _device_peer(self, dev: _Device) -> _Peer:
        reg = dev.reg
        return _Peer(reg.transport, reg.host, reg.port, dev.writer)

    def _new_request(
        self, method: str, dev: _Device, user: str, *, call_id: str | None = None
    ) -> tuple[Request, str]:
        cfg = self.config
        reg = dev.reg
        branch = "z9hG4bK" + secrets.token_hex(8)
        req = Request(method=method, uri=SipUri(reg.host, user, reg.port))
        proto = "TCP" if reg.transport == "tcp" else "UDP"
        req.add("Via", f"SIP/2.0/{proto} {self.host}:{self.sip_port};rport;branch={branch}")
        req.add("From", f"<sip:{cfg.platform_id}@{cfg.sip_domain}>;tag={secrets.token_hex(5)}")
        req.add("To", f"<sip:{user}@{cfg.sip_domain}>")
        req.add("Call-ID", call_id or f"{secrets.token_hex(10)}@{self.host}")
        req.add("CSeq", f"1 {method}")
        req.add("Max-Forwards", "70")
        req.add("User-Agent", USER_AGENT)
        return req, branch

    def _transact(self, req: Request, branch: str, peer: _Peer, timeout_s: float) -> Any:
        assert self._loop is not None
        future: asyncio.Future[Response] = self._loop.create_future()
        data = req.encode()
        now = self.clock.monotonic()
        self._txs[branch] = _ClientTx(branch, req.method, data, peer, future, now, now + timeout_s)
        self._send(data, peer)
        return future

    def _query(self, dev: _Device, cmd: str) -> None:
        self._sn += 1
        req, branch = self._new_request("MESSAGE", dev, dev.reg.device_id)
        req.add("Content-Type", manscdp.CONTENT_TYPE)
        req.body = manscdp.query(cmd, self._sn, dev.reg.device_id)
        fut = self._transact(req, branch, self._device_peer(dev), 32.0)
        fut.add_done_callback(lambda f: f.exception())  # a query left unanswered is not an error

    # -- plays ------------------------------------------------------------------------------

    async def play(self, device_id: str, channel_id: str, transport: str, port: int) -> _Play:
        """INVITE ``channel_id`` of ``device_id`` to send media to our ``port``; ACK the 200."""
        cfg = self.config
        dev = self._devices.get(device_id)
        if dev is None:
            raise PlayError(f"device {device_id} has not registered")
        if not dev.online:
            raise PlayError(f"device {device_id} is offline: {dev.offline_reason}")
        if dev.channels and channel_id not in dev.channels and channel_id != device_id:
            raise PlayError(f"device {device_id} lists no channel {channel_id}")
        self._ssrc_seq += 1
        ssrc = sdp.ssrc_for(cfg.sip_domain, self._ssrc_seq)
        req, branch = self._new_request("INVITE", dev, channel_id)
        req.uri = SipUri(dev.reg.host, channel_id, dev.reg.port)
        req.add("Contact", f"<sip:{cfg.platform_id}@{self.host}:{self.sip_port}>")
        req.add("Subject", f"{channel_id}:{ssrc},{cfg.platform_id}:0")
        req.add("Content-Type", "APPLICATION/SDP")
        req.body = sdp.offer(cfg.platform_id, self.host, port, ssrc, transport)  # type: ignore[arg-type]
        peer = self._device_peer(dev)
        try:
            resp = await self._transact(req, branch, peer, cfg.invite_timeout_s)
        except TimeoutError as exc:
            raise PlayError(f"device {device_id} did not answer the INVITE") from exc
        if resp.status >= 300:
            raise PlayError(f"device {device_id} refused the INVITE: {resp.status} {resp.reason}")
        try:
            answer = sdp.parse_answer(resp.body)
        except sdp.SdpError as exc:
            self._send(self._ack(req, resp), peer)
            raise PlayError(f"device {device_id}: unusable SDP answer: {exc}") from exc
        self._send(self._ack(req, resp), peer)
        target = req.uri
        contact = resp.get("Contact")
        if contact:
            with contextlib.suppress(SipError):
                target = Address.parse(contact).uri
        assert self._loop is not None
        play = _Play(
            device_id,
            channel_id,
            req.call_id,
            req.from_.tag or "",
            resp.need("To"),
            target,
            1,
            self._loop.create_future(),
        )
        play.ended.add_done_callback(lambda f: f.exception() if not f.cancelled() else None)
        self._plays[play.call_id] = play
        self._grants[play.call_id] = (answer.ssrc, answer.host, answer.port)
        return play

    def _ack(self, invite: Request, resp: Response) -> bytes:
        ack = Request(method="ACK", uri=invite.uri)
        proto = "TCP" if invite.vias[0].transport == "TCP" else "UDP"
        branch = "z9hG4bK" + secrets.token_hex(8)
        ack.add("Via", f"SIP/2.0/{proto} {self.host}:{self.sip_port};rport;branch={branch}")
        ack.add("From", invite.need("From"))
        ack.add("To", resp.need("To"))
        ack.add("Call-ID", invite.call_id)
        ack.add("CSeq", f"{invite.cseq[0]} ACK")
        ack.add("Max-Forwards", "70")
        return ack.encode()

    def _ack_for_failure(self, tx: _ClientTx, resp: Response) -> bytes:
        invite = parse(tx.data)
        assert isinstance(invite, Request)
        ack = Request(method="ACK", uri=invite.uri)
        ack.add("Via", invite.need("Via"))  # same branch: part of the INVITE transaction
        ack.add("From", invite.need("From"))
        ack.add("To", resp.need("To"))
        ack.add("Call-ID", invite.call_id)
        ack.add("CSeq", f"{invite.cseq[0]} ACK")
        ack.add("Max-Forwards", "70")
        return ack.encode()

    def _reack(self, resp: Response) -> None:
        play = self._plays.get(resp.call_id)
        if play is None:
            return
        dev = self._devices.get(play.device_id)
        if dev is None:
            return
        ack = Request(method="ACK", uri=play.target)
        proto = "TCP" if dev.reg.transport == "tcp" else "UDP"
        ack.add(
            "Via",
            f"SIP/2.0/{proto} {self.host}:{self.sip_port};branch=z9hG4bK{secrets.token_hex(8)}",
        )
        ack.add("From", resp.need("From"))
        ack.add("To", resp.need("To"))
        ack.add("Call-ID", resp.call_id)
        ack.add("CSeq", f"{resp.cseq[0]} ACK")
        self._send(ack.encode(), self._device_peer(dev))

    def _end_play(self, play: _Play, reason: str, *, bye: bool) -> None:
        if self._plays.pop(play.call_id, None) is None:
            return
        self._grants.pop(play.call_id, None)
        if not play.ended.done():
            play.ended.set_result(reason)
        dev = self._devices.get(play.device_id)
        if bye and dev is not None:
            play.cseq += 1
            req = Request(method="BYE", uri=play.target)
            proto = "TCP" if dev.reg.transport == "tcp" else "UDP"
            branch = "z9hG4bK" + secrets.token_hex(8)
            req.add("Via", f"SIP/2.0/{proto} {self.host}:{self.sip_port};rport;branch={branch}")
            cfg = self.config
            req.add("From", f"<sip:{cfg.platform_id}@{cfg.sip_domain}>;tag={play.from_tag}")
            req.add("To", play.to_address)
            req.add("Call-ID", play.call_id)
            req.add("CSeq", f"{play.cseq} BYE")
            req.add("Max-Forwards", "70")
            fut = self._transact(req, branch, self._device_peer(dev), 8.0)
            fut.add_done_callback(lambda f: f.exception())
        log.info("gb28181: play %s/%s ended: %s", play.device_id, play.channel_id, reason)

    # -- device state -------------------------------------------------------------------------

    def _same_device(self, dev: _Device, peer: _Peer) -> bool:
        """A MESSAGE claiming to be ``dev`` must come from where it registered (no spoofing)."""
        return peer.host == dev.reg.host

    def _set_offline(self, dev: _Device, reason: str) -> None:
        dev.online, dev.offline_reason = False, reason
        log.warning("gb28181: device %s offline: %s", dev.reg.device_id, reason)
        for play in [p for p in self._plays.values() if p.device_id == dev.reg.device_id]:
            self._end_play(play, reason, bye=True)
        self._save(dev)

    def _save(self, dev: _Device) -> None:
        if self.store is None:
            return
        r = dev.reg
        self.store.put_device(
            DeviceRecord(
                r.device_id,
                r.transport,
                r.host,
                r.port,
                dev.online,
                dev.offline_reason,
                r.registered_at,
                r.expires_at,
                r.last_keepalive_at,
                dev.name,
                dev.manufacturer,
                dev.model,
                dev.firmware,
                dev.channel_count,
            )
        )

    def _restore(self, records: list[DeviceRecord]) -> None:
        """After a restart: devices whose registration has not expired stay reachable."""
        now = self.clock.now()
        for rec in records:
            if rec.registered_at is None or rec.expires_at is None or rec.transport != "udp":
                continue  # a TCP device must connect again; its old connection is gone
            reg = Registration(
                rec.device_id,
                "udp",
                rec.host,
                rec.port,
                rec.registered_at,
                rec.expires_at,
                rec.last_keepalive_at,
            )
            cfg = self.config
            reason = offline_reason(reg, now, cfg.keepalive_interval_s, cfg.keepalive_misses)
            self._devices[rec.device_id] = _Device(
                reg,
                online=rec.online and reason is None,
                offline_reason=None
                if rec.online and reason is None
                else (reason or rec.offline_reason),
                name=rec.name,
                manufacturer=rec.manufacturer,
                model=rec.model,
                firmware=rec.firmware,
                channel_count=rec.channel_count,
            )

    # -- transports ---------------------------------------------------------------------------

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port = writer.get_extra_info("peername")[:2]
        peer = _Peer("tcp", host, port, writer)
        framer = StreamFramer()
        try:
            while data := await reader.read(65536):
                try:
                    messages = framer.feed(data)
                except SipError as exc:
                    self.stats.malformed += 1
                    self.stats.dropped += 1
                    log.debug("gb28181: closing TCP %s:%d: %s", host, port, exc.reason)
                    return
                for message in messages:
                    self.received(message, peer)
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    async def _control_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        sock = writer.get_extra_info("socket")
        try:
            creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
            _pid, uid, _gid = struct.unpack("3i", creds)
        except OSError:
            uid = -1
        if uid != os.getuid():
            writer.close()
            return
        play: _Play | None = None
        try:
            line = await reader.readline()
            if len(line) > MAX_LINE:
                return
            try:
                msg = json.loads(line)
                device, channel = str(msg["device"]), str(msg["channel"])
                transport, port = str(msg["transport"]), int(msg["port"])
                if msg.get("op") != "play" or transport not in ("udp", "tcp-passive", "tcp-active"):
                    raise ValueError("bad request")
            except (ValueError, KeyError, TypeError):
                writer.write(b'{"ok": false, "error": "bad control request"}\n')
                return
            try:
                play = await self.play(device, channel, transport, port)
            except PlayError as exc:
                writer.write(json.dumps({"ok": False, "error": str(exc)}).encode() + b"\n")
                return
            ssrc, host, mport = self._grants[play.call_id]
            reply = {"ok": True, "ssrc": ssrc, "host": host, "port": mport, "call_id": play.call_id}
            writer.write(json.dumps(reply).encode() + b"\n")
            closed: asyncio.Future[Any] = asyncio.ensure_future(reader.read())
            ended: asyncio.Future[Any] = play.ended
            done, _ = await asyncio.wait({closed, ended}, return_when=asyncio.FIRST_COMPLETED)
            if ended in done:
                closed.cancel()
                event = {"event": "ended", "reason": ended.result()}
                writer.write(json.dumps(event).encode() + b"\n")
            else:
                self._end_play(play, "the camera worker stopped", bye=True)
        except (ConnectionError, OSError):
            if play is not None:
                self._end_play(play, "the camera worker went away", bye=True)
        finally:
            with contextlib.suppress(ConnectionError, OSError):
                await writer.drain()
            writer.close()


class PlayError(Exception):
    """A play that cannot start (device unknown, offline, or refusing)."""


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, platform: Gb28181Platform) -> None:
        self.platform = platform

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if data.strip(b"\r\n") == b"":
            return  # a keep-alive ping
        self.platform.received(data, _Peer("udp", str(addr[0]), int(addr[1])))

    def error_received(self, exc: Exception) -> None:
        log.debug("gb28181: UDP error: %s", exc)


def _phrase(status: int, detail: str) -> str:
    base = {
        400: "Bad Request",
        403: "Forbidden",
        405: "Method Not Allowed",
        413: "Request Entity Too Large",
        415: "Unsupported Media Type",
        481: "Call/Transaction Does Not Exist",
    }.get(status, "Error")
    clean = "".join(ch for ch in detail if ch.isprintable() and ch not in "\r\n")[:80]
    return f"{base} ({clean})" if clean else base


async def _as_coro(fn: Any, *args: Any) -> Any:
    result = fn(*args)
    if asyncio.iscoroutine(result):
        return await result
    return result
