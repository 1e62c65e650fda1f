"""Reading untrusted video files for analysis: PyAV, in a child process.

A hostile file can crash a native decoder (see ../shared/data/hostile: one aborts the whole
process inside OpenCV). Probing and decoding therefore run in a child process that sends
frames back through a pipe; if it dies, the caller gets a ``VideoError`` naming the signal,
never a crash. The pipe's own buffer is the back-pressure: the child waits while analysis
is busy, so memory stays bounded.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vms.errors import VideoError

if TYPE_CHECKING:  # numpy loads in the decoding child, not in every importer
    import numpy as np


@dataclass(frozen=True)
class VideoInfo:
    """What the file says about its first video stream."""

    width: int
    height: int
    fps: float | None
    duration_s: float | None
    codec: str
    creation_time: datetime | None


def _describe(code: int | None) -> str:
    if code is None:
        return "it did not exit"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def isolated(
    target: str, *args: Any, timeout: float = 60.0, what: str = "video"
) -> Iterator[tuple[str, Any]]:
    """Run ``target`` (``"module:function"``, called as ``function(conn, *args)``) in a fresh
    Python process and yield the messages it sends (``(kind, payload)``) until it sends
    ``("end", ...)``. ``("error", text)``, a crash, or no message for ``timeout`` seconds
    raise ``VideoError``.

    A plain subprocess rather than multiprocessing's spawn, which would import the caller's
    ``__main__`` (the whole CLI) into every child.
    """
    read_fd, write_fd = os.pipe()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    cmd = [sys.executable, "-m", __name__, target, str(write_fd), json.dumps(list(args))]
    try:
        proc = subprocess.Popen(cmd, pass_fds=(write_fd,), stdin=subprocess.DEVNULL, env=env)
    finally:
        os.close(write_fd)
    receiver = Connection(read_fd, writable=False)
    try:
        while True:
            if not receiver.poll(timeout):
                raise VideoError(f"{what}: no answer from the decoder for {timeout:.0f} s")
            try:
                kind, payload = receiver.recv()
            except (EOFError, OSError) as exc:
                code = _wait(proc)
                raise VideoError(
                    f"{what}: the decoder process crashed ({_describe(code)}); "
                    "the file is damaged or hostile"
                ) from exc
            if kind == "end":
                return
            if kind == "error":
                raise VideoError(f"{what}: {payload}")
            yield kind, payload
    finally:
        receiver.close()
        if proc.poll() is None:
            proc.kill()
        _wait(proc)


def _wait(proc: subprocess.Popen[bytes]) -> int | None:
    try:
        return proc.wait(5)
    except subprocess.TimeoutExpired:
        return None


def _probe_child(conn: Connection, path: str) -> None:
    import av

    try:
        with av.open(path) as container:
            if not container.streams.video:
                conn.send(("error", "no video stream in the file"))
                return
            conn.send(("info", _info(container)))
        conn.send(("end", None))
    except Exception as exc:  # any decoder failure is reported, not raised
        conn.send(("error", f"cannot read it: {exc}"))


def _info(container: Any) -> VideoInfo:
    stream = container.streams.video[0]
    rate = stream.average_rate or stream.guessed_rate
    duration = (
        float(container.duration) / 1_000_000
        if container.duration
        else (float(stream.duration * stream.time_base) if stream.duration else None)
    )
    created: datetime | None = None
    tag = container.metadata.get("creation_time") or stream.metadata.get("creation_time")
    if tag:
        try:
            created = datetime.fromisoformat(str(tag).replace("Z", "+00:00"))
            created = created if created.tzinfo else created.replace(tzinfo=UTC)
        except ValueError:
            created = None
    return VideoInfo(
        width=stream.codec_context.width,
        height=stream.codec_context.height,
        fps=float(rate) if rate else None,
        duration_s=duration,
        codec=stream.codec_context.name,
        creation_time=created,
    )


def probe(path: Path, timeout: float = 30.0) -> VideoInfo:
    """The first video stream's size, rate and duration, read in a child process."""
    if not path.is_file():
        raise VideoError(f"{path}: no such file")
    for kind, payload in isolated(
        f"{__name__}:_probe_child", str(path), timeout=timeout, what=str(path)
    ):
        if kind == "info":
            assert isinstance(payload, VideoInfo)
            return payload
    raise VideoError(f"{path}: the decoder sent no stream information")


def _decode_child(conn: Connection, path: str, fps: float | None) -> None:
    import av

    try:
        with av.open(path) as container:
            if not container.streams.video:
                conn.send(("error", "no video stream in the file"))
                return
            conn.send(("info", _info(container)))
            stream = container.streams.video[0]
            # One thread: frame threading costs more CPU in all than it saves in time.
            rate = float(stream.average_rate or stream.guessed_rate or 25)
            next_due: float | None = None
            last = -math.inf
            for i, frame in enumerate(container.decode(stream)):
                t = frame.time if frame.time is not None else i / rate
                # Some containers (AVI with B-frames) give out-of-order stamps: keep them rising.
                t = t if t > last else last + 1.0 / rate
                last = t
                if fps:
                    if next_due is not None and t < next_due - 1e-6:
                        continue
                    next_due = max(t, next_due or t) + 1.0 / fps
                conn.send(("frame", (t, frame.to_ndarray(format="bgr24"))))
        conn.send(("end", None))
    except Exception as exc:  # any decoder failure is reported, not raised
        conn.send(("error", f"decoding failed: {exc}"))


def read_frames(
    path: Path, fps: float | None = None, timeout: float = 60.0
) -> Iterator[tuple[float, np.ndarray]]:
    """``(seconds from the start of the file, BGR image)`` for each frame, at most ``fps``
    a second (None: every frame), decoded with PyAV in a child process."""
    messages = isolated(
        f"{__name__}:_decode_child", str(path), fps, timeout=timeout, what=str(path)
    )
    for kind, payload in messages:
        if kind == "frame":
            t, image = payload
            yield float(t), image


def _child_main(argv: list[str]) -> None:
    """``python -m vms.detection.video module:function FD ARGS_JSON`` (see ``isolated``)."""
    target, fd, args = argv[0], int(argv[1]), json.loads(argv[2])
    module, _, name = target.partition(":")
    function = getattr(importlib.import_module(module), name)
    conn = Connection(fd, readable=False)
    try:
        function(conn, *args)
    finally:
        conn.close()


if __name__ == "__main__":
    _child_main(sys.argv[1:])
