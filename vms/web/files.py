"""Serving stored files, wherever they live: FileResponse from the node's disk, and from the
bucket a streamed response that honours single HTTP ranges (what a video element asks for),
so playback and seeking work the same for both."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import FileResponse, Response, StreamingResponse

from vms.errors import NotFoundError
from vms.storage.base import LOCAL, Storage
from vms.vocab import Subsystem

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def stored_response(
    storage: Storage,
    location: str,
    key: str,
    request: Request,
    *,
    media_type: str,
    what: str,
    filename: str | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The file ``key`` at ``location`` as a response (404 naming ``what`` when it is gone)."""
    size = storage.size(location, key)
    if size is None:
        raise NotFoundError(f"the file of {what} ({key}) is missing", subsystem=Subsystem.WEB)
    if location == LOCAL:
        return FileResponse(
            storage.local_path(key), media_type=media_type, filename=filename, headers=headers
        )
    out = {"Accept-Ranges": "bytes", **(headers or {})}
    if filename:
        out["Content-Disposition"] = f"attachment; filename*=utf-8''{quote(filename)}"
    wanted = _range(request.headers.get("range"), size)
    if wanted is False:
        return Response(status_code=416, headers={"Content-Range": f"bytes */{size}", **out})
    start, end = wanted if isinstance(wanted, tuple) else (0, size)
    out["Content-Length"] = str(end - start)
    status = 200
    if isinstance(wanted, tuple):
        status = 206
        out["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    if request.method == "HEAD":
        return Response(status_code=status, headers=out, media_type=media_type)
    return StreamingResponse(
        storage.read(location, key, start, end),
        status_code=status,
        headers=out,
        media_type=media_type,
    )


def _range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """[start, end) of a single ``bytes=`` range; None for the whole file (no header, or one
    this does not serve: several ranges), False when it cannot be satisfied."""
    if not header:
        return None
    m = _RANGE.match(header.strip())
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":  # the last N bytes
        n = int(last)
        if n == 0:
            return False
        return max(0, size - n), size
    start = int(first)
    end = size if last == "" else min(size, int(last) + 1)
    if start >= size or end <= start:
        return False
    return start, end
