"""Give the memory a worker process's cameras freed back to the system, every few seconds.

glibc gives each camera thread its own malloc arena and keeps what the thread frees there
for the next allocation: the frames FFmpeg decodes to describe a stream at connect, the read
buffers of the RTSP reader, the muxer's fragment buffers. Freed, they stay resident and count
in the process's memory until something asks for them back. ``malloc_trim(0)`` does (every
arena, the whole free pages inside it, not only its top), and costs well under a
millisecond at a worker's size, so the worker process calls it on a timer from its health
loop instead of paying for a low mmap threshold on every packet (docs/benchmarks.md, issue
18: a fixed 128 KiB threshold cost 30 µs per packet). Nothing in the standard library or a
well-kept package does this; on a libc without ``malloc_trim`` (musl) it does nothing.

Between two trims each arena grows again to its camera's high-water mark (the fragment
buffer of the muxer is allocated anew, growing, every second). ``limit_arenas`` caps the
number of arenas (glibc's ``M_ARENA_MAX``, default 8 per core) before the camera threads
start, so the cameras of a process share a few arenas and reuse each other's freed blocks:
0.6-1.5 MB less per camera at 10 cameras a process (docs/benchmarks.md, issue 18).
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def _libc(name: str, argtypes: list[Any]) -> Any | None:
    """The C library function ``name`` of this process (returning an int), None where its
    libc has none."""
    try:
        fn = getattr(ctypes.CDLL(None), name)  # the process's own symbols: its libc's among them
    except (OSError, AttributeError):
        return None
    fn.argtypes = argtypes
    fn.restype = ctypes.c_int
    return fn


def libc_trim() -> Callable[[], None] | None:
    """``malloc_trim(0)`` of this process's C library, None where it has none."""
    trim = _libc("malloc_trim", [ctypes.c_size_t])
    if trim is None:
        return None

    def call() -> None:
        trim(0)

    return call


#: glibc's ``mallopt`` parameter for the most arenas a process may have.
M_ARENA_MAX = -8


def limit_arenas(arenas: int) -> bool:
    """Let this process's C library make at most ``arenas`` malloc arenas (0: its default).

    Call it before the threads that allocate start: arenas already made stay. True when the
    limit is set; False with 0, or on a libc without ``mallopt``.
    """
    mallopt = _libc("mallopt", [ctypes.c_int, ctypes.c_int]) if arenas > 0 else None
    return mallopt is not None and bool(mallopt(M_ARENA_MAX, arenas))


@dataclass
class MemoryTrimmer:
    """Calls ``trim`` every ``interval_s`` (0: never), the first one interval after
    ``started`` (monotonic seconds), once the cameras have connected: ``tick(now)`` from a
    loop that runs more often than that."""

    interval_s: float
    trim: Callable[[], None] | None
    started: float
    trims: int = 0
    next_at: float = field(init=False)

    def __post_init__(self) -> None:
        self.next_at = self.started + self.interval_s

    def due(self, now: float) -> bool:
        return self.interval_s > 0 and self.trim is not None and now >= self.next_at

    def tick(self, now: float) -> None:
        """Trim if due; the next one ``interval_s`` after this (a late loop does not queue
        up trims)."""
        if self.due(now):
            assert self.trim is not None
            self.trim()
            self.trims += 1
            self.next_at = now + self.interval_s
