"""Start the GB/T 28181 device simulator (tests/support/gb28181_device.py) as a process.

Usage::

    with DeviceSimulator(device_id, password, platform_port, channels, clip, fps) as dev:
        dev.wait_for("registered")
        dev.command("keepalive", on=False)
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]


class DeviceSimulator:
    def __init__(
        self,
        device_id: str,
        password: str,
        platform_port: int,
        channels: list[str],
        clip: Path,
        fps: float,
        **settings: Any,
    ) -> None:
        self.device_id = device_id
        self.settings = {
            "device_id": device_id,
            "password": password,
            "platform_host": "127.0.0.1",
            "platform_port": platform_port,
            "channels": channels,
            "clip": str(clip),
            "fps": fps,
            **settings,
        }
        self.events: list[dict[str, Any]] = []  # everything the device reported, in order
        self._taken: set[int] = set()  # positions in ``events`` a wait_for has returned
        self._arrived = threading.Condition()
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> DeviceSimulator:
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.gb28181_device", json.dumps(self.settings)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, args=(self._proc.stdout,), daemon=True)
        self._reader.start()
        self.wait_for("started")
        return self

    def _read(self, stream: IO[str] | None) -> None:
        assert stream is not None
        for line in stream:
            event = json.loads(line)
            with self._arrived:
                self.events.append(event)
                self._arrived.notify_all()

    def wait_for(self, name: str, timeout: float = 30.0, **match: Any) -> dict[str, Any]:
        """The first event called ``name`` (with ``match``ing fields) not returned before.

        Events of other names stay for later calls: the device's threads report in whatever
        order they run (an ``unregistered`` may come before the ``ok`` of its command).
        Fails after ``timeout`` s.
        """
        deadline = time.monotonic() + timeout
        with self._arrived:
            while True:
                for i, event in enumerate(self.events):
                    if i in self._taken or event["event"] != name:
                        continue
                    if all(event.get(k) == v for k, v in match.items()):
                        self._taken.add(i)
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"device {self.device_id}: no {name!r} event in {timeout} s"
                    )
                self._arrived.wait(left)

    def command(self, cmd: str, **args: Any) -> dict[str, Any]:
        assert self._proc is not None
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self._proc.stdin.flush()
        if cmd == "dropped":
            return self.wait_for("dropped")
        return self.wait_for("ok", cmd=cmd)

    def stop(self) -> None:
        proc = self._proc
        if proc is None:
            return
        self._proc = None
        try:
            if proc.stdin is not None:
                proc.stdin.write('{"cmd": "quit"}\n')
                proc.stdin.close()
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait(timeout=10)
        self._reader.join(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()

    def __enter__(self) -> DeviceSimulator:
        return self.start()

    def __exit__(
        self,
        _t: type[BaseException] | None,
        _e: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.stop()
