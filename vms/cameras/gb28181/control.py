"""The control path between camera workers and the platform: one local connection per play.

    worker process                                   supervisor process (vms serve)
    Gb28181Source --{"op": "play", ...}-->  control socket  --> Gb28181Platform: INVITE, ACK
                  <--{"ok": true, "ssrc": ...}--
                  <--{"event": "ended", "reason": ...}--   device BYE, offline, shutdown
    closing the connection (or the worker dying) --> BYE

The play lasts exactly as long as the connection: a worker killed with -9 cannot leave a
stream running on the device. The socket is in Linux's abstract namespace, named after the
storage root (so two instances on one machine do not meet), and the platform accepts only
peers running as its own user (SO_PEERCRED). JSON lines, one object each way per step.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vms.cameras.gb28181.config import MediaTransport
from vms.errors import SourceOpenError

MAX_LINE = 4096


def control_address(storage_root: Path) -> str:
    """The abstract socket name of the platform serving ``storage_root``."""
    digest = hashlib.sha256(str(Path(storage_root).resolve()).encode()).hexdigest()[:20]
    return f"\0vms-gb28181-{digest}"


@dataclass(frozen=True)
class PlayGrant:
    """What the platform negotiated with the device."""

    ssrc: int | None
    host: str  # the device's media address (tcp-active: where to connect)
    port: int
    call_id: str


class PlayClient:
    """The worker's end of one play: ``request`` once, then ``ended`` until closed."""

    def __init__(self, address: str, timeout_s: float) -> None:
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._sock.settimeout(timeout_s)
        try:
            self._sock.connect(address)
        except OSError as exc:
            self._sock.close()
            raise SourceOpenError(
                "the GB/T 28181 platform is not running (gb28181.enabled in vms serve)"
            ) from exc
        self._file = self._sock.makefile("rb")
        self._closed = threading.Event()
        self.end_reason: str | None = None

    def request(
        self, device_id: str, channel_id: str, transport: MediaTransport, port: int
    ) -> PlayGrant:
        msg = {
            "op": "play",
            "device": device_id,
            "channel": channel_id,
            "transport": transport,
            "port": port,
        }
        try:
            self._sock.sendall(json.dumps(msg).encode() + b"\n")
            reply = self._read()
        except (OSError, ValueError) as exc:
            raise SourceOpenError(f"GB/T 28181 platform: {exc}") from exc
        if reply is None:
            raise SourceOpenError("GB/T 28181 platform closed the control connection")
        if not reply.get("ok"):
            raise SourceOpenError(f"gb28181://{device_id}/{channel_id}: {reply.get('error')}")
        self._sock.settimeout(None)
        return PlayGrant(reply.get("ssrc"), reply["host"], int(reply["port"]), reply["call_id"])

    def wait_end(self) -> str:
        """Block until the platform ends the play (or the connection drops); return why."""
        try:
            reply = self._read()
        except (OSError, ValueError):
            reply = None
        if self._closed.is_set():
            return "stopped"
        reason = (reply or {}).get("reason") or "GB/T 28181 platform went away"
        self.end_reason = str(reason)
        return self.end_reason

    def _read(self) -> dict[str, Any] | None:
        line = self._file.readline(MAX_LINE)
        if not line:
            return None
        value = json.loads(line)
        if not isinstance(value, dict):
            raise ValueError("control reply is not an object")
        return value

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self._file.close()
        self._sock.close()
