"""Files served from the bucket honour HTTP ranges like files on disk (video seeking)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.testclient import TestClient

from vms.config import ObjectStoreConfig
from vms.storage.base import BUCKET, LOCAL, Storage
from vms.storage.local import LocalStore
from vms.storage.s3 import S3Store
from vms.web.files import stored_response


def test_bucket_and_disk_serve_the_same_bytes_and_ranges(
    object_store: ObjectStoreConfig, tmp_path: Path
) -> None:
    data = bytes(range(256)) * 1000
    (tmp_path / "rec").mkdir()
    (tmp_path / "rec" / "a.mp4").write_bytes(data)
    storage = Storage(LocalStore(tmp_path), S3Store(object_store))
    storage.move_to_bucket("rec/a.mp4", hashlib.sha256(data).hexdigest())
    app = FastAPI()

    @app.get("/{where}")
    def serve(where: str, request: Request) -> Response:
        return stored_response(
            storage, where, "rec/a.mp4", request, media_type="video/mp4", what="the file"
        )

    client = TestClient(app)
    for where in (LOCAL, BUCKET):
        whole = client.get(f"/{where}")
        assert whole.status_code == 200
        assert whole.content == data
        part = client.get(f"/{where}", headers={"Range": "bytes=1000-1999"})
        assert part.status_code == 206
        assert part.content == data[1000:2000]
        assert part.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
        tail = client.get(f"/{where}", headers={"Range": "bytes=-10"})
        assert tail.content == data[-10:]
        assert client.get(f"/{where}", headers={"Range": f"bytes={len(data)}-"}).status_code == 416
