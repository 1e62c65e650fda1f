"""vms.cameras.memory: a worker process gives freed memory back on a timer."""

from __future__ import annotations

import ctypes
import subprocess
import sys
from pathlib import Path

import pytest

from vms.cameras.memory import MemoryTrimmer, libc_trim
from vms.config import WorkersConfig

ROOT = Path(__file__).resolve().parents[2]


def test_trims_once_an_interval_after_the_start_then_every_interval_from_the_last() -> None:
    calls: list[float] = []
    now = [0.0]
    t = MemoryTrimmer(30.0, lambda: calls.append(now[0]), started=100.0)
    for now[0] in (100.0, 110.0, 129.9):
        t.tick(now[0])
    assert calls == []
    for now[0] in (130.0, 131.0, 159.9):
        t.tick(now[0])
    assert calls == [130.0]
    # a loop that was late by minutes trims once, not once per missed interval
    for now[0] in (400.0, 401.0, 429.9, 430.0):
        t.tick(now[0])
    assert calls == [130.0, 400.0, 430.0]
    assert t.trims == 3


def test_zero_interval_or_no_malloc_trim_never_trims() -> None:
    calls: list[int] = []
    never = MemoryTrimmer(0.0, lambda: calls.append(1), started=0.0)
    absent = MemoryTrimmer(30.0, None, started=0.0)
    for now in (0.0, 30.0, 1e6):
        never.tick(now)
        absent.tick(now)
    assert calls == []
    assert never.trims == 0
    assert absent.trims == 0


def test_libc_trim_gives_freed_memory_back_on_this_glibc() -> None:
    trim = libc_trim()
    assert trim is not None  # Debian's glibc has malloc_trim
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(64 * 1024) for _ in range(200)]  # below the mmap threshold
    guard = libc.malloc(64 * 1024)  # above them: free() alone cannot give them back
    for b in blocks:
        ctypes.memset(b, 1, 64 * 1024)
    for b in blocks:
        libc.free(b)
    held = _rss_kb()
    trim()
    after = _rss_kb()
    libc.free(guard)
    assert held - after > 8 * 1024, (held, after)  # most of the 12.5 MB freed


def test_workers_trim_every_30_s_by_default() -> None:
    assert WorkersConfig().trim_memory_s == 30.0


#: Run in a fresh interpreter: four threads malloc at once, then the arenas are counted.
_ARENAS = """
import ctypes, sys, threading
from tests.support.arenas import malloc_arenas
from vms.cameras.memory import limit_arenas
print(limit_arenas(int(sys.argv[1])))
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
held, all_in = [], threading.Barrier(4)
def allocate():
    all_in.wait()  # all four alive at once: each would get an arena of its own
    held.append(libc.malloc(4096))
    all_in.wait()
threads = [threading.Thread(target=allocate) for _ in range(4)]
for t in threads: t.start()
for t in threads: t.join()
print(malloc_arenas())
"""


@pytest.mark.parametrize(("limit", "most"), [(1, 1), (2, 2)])
def test_limit_arenas_caps_the_arenas_that_threads_get(limit: int, most: int) -> None:
    limited = _arenas(limit)
    assert limited[0] == "True"
    assert 1 <= int(limited[1]) <= most
    default = _arenas(0)
    assert default[0] == "False"  # 0 leaves glibc's default: a thread's own arena
    assert int(default[1]) >= 5, default  # the main arena and one per thread


def test_workers_share_two_arenas_by_default() -> None:
    assert WorkersConfig().malloc_arenas == 2


def _arenas(limit: int) -> list[str]:
    run = subprocess.run(
        [sys.executable, "-c", _ARENAS, str(limit)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,  # where tests.support is
    )
    return run.stdout.split()


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")
