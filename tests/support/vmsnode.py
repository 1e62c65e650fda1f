"""``vms serve`` as a cluster node in a process group of its own (tests and bench/failover)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from vms.config import ObjectStoreConfig

PROJECT = Path(__file__).resolve().parents[2]


def node_config(
    name: str,
    home: Path,
    database_url: str,
    sources: list[str],
    cameras: list[str],
    store: ObjectStoreConfig | None,
    *,
    heartbeat_s: float,
    lease_s: float,
    max_cameras: int | None = None,
) -> dict[str, Any]:
    """A node's configuration: every node gets the same cameras; leases decide who records.
    The bucket's credentials come from the environment (set by ``ServeNode``)."""
    storage: dict[str, Any] = {"root": str(home / "data")}
    if store is not None:
        storage["object_store"] = {
            **store.model_dump(),
            "access_key": "${VMS_S3_ACCESS_KEY}",
            "secret_key": "${VMS_S3_SECRET_KEY}",
            "interval_s": 2,
        }
    return {
        "storage": storage,
        "database": {"url": database_url},
        "node": {
            "id": name,
            "heartbeat_s": heartbeat_s,
            "lease_s": lease_s,
            "max_cameras": max_cameras,
        },
        "workers": {"health_interval_s": 0.5},
        "web": {"enabled": False},
        "cameras": [
            {
                "id": cam,
                "kind": "street",
                "site": "test site",
                "source": src,
                "segment_seconds": 2,
                "analysis_fps": 0,
                "stall_timeout_s": 3,
            }
            for cam, src in zip(cameras, sources, strict=True)
        ],
    }


class ServeNode:
    def __init__(
        self,
        name: str,
        home: Path,
        config: dict[str, Any],
        env: dict[str, str] | None = None,
        *,
        web_port: int | None = None,
    ) -> None:
        if web_port is not None:
            config = {
                **config,
                "web": {"enabled": True, "port": web_port, "secure_cookies": False},
            }
        self.name = name
        self.root = home
        home.mkdir(parents=True, exist_ok=True)
        self.file = home / "vms.yaml"
        self.file.write_text(yaml.safe_dump(config))
        self.log = home / "serve.log"
        self.env = env or {}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        from tests.support.seaweed import ACCESS_KEY, SECRET_KEY

        env = {
            **os.environ,
            "PYTHONPATH": str(PROJECT),
            "VMS_S3_ACCESS_KEY": ACCESS_KEY,
            "VMS_S3_SECRET_KEY": SECRET_KEY,
            **self.env,
        }
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "vms.cli", "serve", "--config", str(self.file)],
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
            )

    def kill9(self) -> None:
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(40)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None
