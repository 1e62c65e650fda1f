"""Resumable chunked upload through the API: a 2 GB recorder file over real HTTP (uvicorn),
cut mid-chunk, resumed from the offset the server gives, stored byte for byte; and the
protocol's refusals (wrong offset, damaged bytes, hostile content)."""

# ruff: noqa: F811 (fixtures imported from other modules are this module's parameters)
from __future__ import annotations

import hashlib
import http.client
import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.bodyworn.conftest import Media, media  # noqa: F401 (the session fixture)
from tests.conftest import shared_file
from tests.support.clock import FakeClock
from tests.support.waiting import wait_for
from tests.web.conftest import add_users, fake_health, login, make_config
from vms.bodyworn import officers
from vms.bodyworn.files import get_file
from vms.bodyworn.models import IngestRecord
from vms.bodyworn.store import staging_dir
from vms.bodyworn.uploads import expire_uploads
from vms.bootstrap import sync_cameras
from vms.clock import SystemClock
from vms.config import Config
from vms.db.migrate import upgrade
from vms.db.session import Database
from vms.evidence.audit import Actor
from vms.web.app import create_app
from vms.web.server import WebServer
from vms.web.users import create_api_token, find_user

GIB2 = 2 << 30
BLOCK = 8 << 20


def _big_recording(small: Path, out: Path) -> str:
    """A real MP4 followed by a 64-bit 'free' box up to 2 GiB (sparse on disk); its SHA-256."""
    data = small.read_bytes()
    pad = GIB2 - len(data)
    with out.open("wb") as f:
        f.write(data)
        f.write((1).to_bytes(4, "big") + b"free" + pad.to_bytes(8, "big"))
        f.truncate(GIB2)
    h = hashlib.sha256()
    with out.open("rb") as f:
        while block := f.read(BLOCK):
            h.update(block)
    return h.hexdigest()


class Api:
    """A plain HTTP client of the running server, with a bearer token."""

    def __init__(self, port: int, token: str) -> None:
        self.port = port
        self.headers = {"Authorization": f"Bearer {token}"}

    def call(self, method: str, url: str, body: Any = None, **extra: Any) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        headers = dict(self.headers)
        if body is not None and not isinstance(body, bytes | Iterator):
            body = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        headers.update(extra)
        try:
            conn.request(method, url, body=body, headers=headers)
            res = conn.getresponse()
            return res.status, json.loads(res.read() or b"null")
        finally:
            conn.close()

    def cut(self, url: str, length: int, path: Path, start: int, send: int) -> None:
        """Start a PUT of ``length`` bytes, send only ``send`` of them, drop the connection."""
        sock = socket.create_connection(("127.0.0.1", self.port))
        head = [f"PUT {url} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {length}",
                "Content-Type: application/offset+octet-stream",
                *(f"{k}: {v}" for k, v in self.headers.items()), "", ""]  # fmt: skip
        sock.sendall("\r\n".join(head).encode())
        with path.open("rb") as f:
            f.seek(start)
            left = send
            while left:
                block = f.read(min(BLOCK, left))
                sock.sendall(block)
                left -= len(block)
        sock.close()  # the network goes: the server keeps what arrived


def _blocks(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as f:
        f.seek(start)
        left = length
        while left:
            block = f.read(min(BLOCK, left))
            yield block
            left -= len(block)


@pytest.mark.slow
def test_a_2_gb_upload_resumes_after_a_cut_and_is_stored_byte_for_byte(
    media: Media,
    tmp_path: Path,
) -> None:
    # SQLite only: the 2 GB are about bytes; the database side runs on both backends below.
    web_config = make_config(tmp_path / "store")
    web_config.recordings_dir.mkdir(parents=True)
    web_db = Database(f"sqlite:///{tmp_path / 'vms.db'}")
    upgrade(web_db.engine)
    sync_cameras(web_db, web_config)
    add_users(web_db)
    big = tmp_path / "DSJ-A1_20261130160000_0042.MP4"
    expected = _big_recording(media.mp4.path, big)
    clock = SystemClock()
    officers.add_officer(web_db, clock, Actor("sup", "roster"), "031245", "Li Wei", "Patrol 1",
                         username="officer")  # fmt: skip
    with web_db.session() as s:
        token, _ = create_api_token(s, find_user(s, "officer"), "upload test")
    server = WebServer(create_app(web_config, web_db, fake_health), "127.0.0.1", 0)
    server.start()
    stored: Path | None = None
    try:
        api = Api(server.port, token)
        code, up = api.call("POST", "/api/bodyworn/uploads", {
            "filename": big.name, "size": GIB2, "sha256": expected,
        })  # fmt: skip
        assert code == 201, up
        url, chunk = up["url"], 512 << 20
        # The first chunk breaks off after 300 MB.
        api.cut(f"{url}?offset=0", chunk, big, 0, 300 << 20)
        # The server notices the cut and records what it kept.
        wait_for("a first part stored", lambda: api.call("GET", url)[1]["offset"] > 0, 120, 0.05)
        code, up = api.call("GET", url)
        offset = up["offset"]
        assert 0 < offset <= 300 << 20
        wrong = api.call("PUT", f"{url}?offset=0", b"x")
        assert wrong[0] == 409
        assert f"send from offset {offset}" in wrong[1]["message"]
        while up["status"] == "open":
            length = min(chunk, GIB2 - offset)
            raw = {"Content-Length": str(length), "Content-Type": "application/offset+octet-stream"}
            code, up = api.call(
                "PUT", f"{url}?offset={offset}", _blocks(big, offset, length), **raw
            )
            if code == 409:  # still finishing the cut chunk: ask where it is
                code, up = api.call("GET", url)
            assert code == 200, up
            offset = up["offset"]
        assert (up["status"], up["offset"]) == ("stored", GIB2), up
        f = get_file(web_db, up["file_id"])
        assert (f.sha256, f.bytes, f.source, f.officer) == (expected, GIB2, "upload", "031245")
        assert f.device == "DSJ-A1"
        stored = web_config.storage.root / f"bodyworn/{expected[:2]}/{expected}.mp4"
        assert stored.stat().st_size == GIB2
    finally:
        server.stop()
        web_db.dispose()
        big.unlink(missing_ok=True)
        if stored is not None:
            stored.chmod(0o644)
            stored.unlink(missing_ok=True)


def test_upload_refusals(
    client: TestClient,
    web_db: Database,
    web_config: Config,
    media: Media,
) -> None:
    login(client, "supervisor")
    data = media.mp4.path.read_bytes()
    # The client announces a hash; damaged bytes arrive: rejected, kept, audited.
    up = client.post("/api/bodyworn/uploads", json={
        "filename": "DSJ-A1_20261130160000_0001.MP4", "size": len(data), "sha256": "0" * 64,
    }).json()  # fmt: skip
    done = client.put(f"{up['url']}?offset=0", content=data).json()
    assert done["status"] == "rejected"
    assert "damaged on the way" in done["message"]
    # A hostile file: rejected with the reason, the service goes on.
    hostile = shared_file("hostile/crashes-opencv-48x48.avi").read_bytes()
    up = client.post("/api/bodyworn/uploads", json={
        "filename": "crash.avi", "size": len(hostile), "device_serial": "DSJ-A1",
    }).json()  # fmt: skip
    half = len(hostile) // 2
    first = client.put(f"{up['url']}?offset=0", content=hostile[:half]).json()
    assert (first["status"], first["offset"]) == ("open", half)
    too_much = client.put(f"{up['url']}?offset={half}", content=hostile[half:] + b"extra")
    assert too_much.status_code == 400
    assert "past the upload's size" in too_much.json()["message"]
    done = client.put(f"{up['url']}?offset={half}", content=hostile[half:]).json()
    assert done["status"] == "rejected"
    assert "rawvideo" in done["message"]
    # Then a real one, in two chunks.
    up = client.post("/api/bodyworn/uploads", json={"filename": media.mp4.path.name,
                                                    "size": len(data)}).json()  # fmt: skip
    client.put(f"{up['url']}?offset=0", content=data[:1000])
    done = client.put(f"{up['url']}?offset=1000", content=data[1000:]).json()
    assert done["status"] == "stored", done
    with web_db.session() as s:
        results = [r.result for r in s.query(IngestRecord).order_by(IngestRecord.id)]
    assert results == ["rejected", "rejected", "stored"]
    # Only the uploader (or a supervisor) sees an upload; an unknown id is a 404, a bad one 422.
    login(client, "officer")
    assert client.get(up["url"]).status_code == 403
    assert client.get("/api/bodyworn/uploads/" + "f" * 32).status_code == 404
    assert client.get("/api/bodyworn/uploads/nonsense").status_code == 422
    assert web_config.bodyworn.upload_chunk_bytes == up["chunk_bytes"]
    # An upload left half-done for longer than upload_expire_h is given up, its bytes deleted.
    login(client, "supervisor")
    left = client.post("/api/bodyworn/uploads", json={"filename": "x.mp4", "size": 100}).json()
    client.put(f"{left['url']}?offset=0", content=b"\0" * 40)
    staging = staging_dir(web_config.storage.root)
    staged = staging / f"upload-{left['id']}.part"
    assert staged.stat().st_size == 40
    later = FakeClock(datetime.now(UTC) + timedelta(hours=73))
    assert expire_uploads(web_db, staging, later, timedelta(hours=72)) == [left["id"]]
    assert not staged.exists()
    assert client.get(left["url"]).json()["status"] == "expired"
    assert client.put(f"{left['url']}?offset=40", content=b"\0").status_code == 409
