"""The worker processes' fork server: what its children inherit (run in fresh interpreters,
since importing it freezes the garbage collector of the importing process)."""

from __future__ import annotations

import subprocess
import sys

#: A frame-sized block allocated, written and freed twice, as FFmpeg does when it probes a
#: camera's stream; prints how much of it stays resident (KiB). ``ctypes`` gives C's malloc.
CYCLE = """
import ctypes, sys, threading
if sys.argv[1] == "tuned":
    import vms.cameras.forkserver
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * 4
def camera():  # in a thread of its own, as each camera of a worker
    size = 1920 * 1080 * 3 // 2
    for _ in range(2):
        block = libc.malloc(size)
        ctypes.memset(block, 1, size)
        libc.free(block)
before = rss()
thread = threading.Thread(target=camera)
thread.start()
thread.join()
print(rss() - before)
"""


def _resident_after_free(mode: str) -> int:
    out = subprocess.run(
        [sys.executable, "-c", CYCLE, mode], capture_output=True, text=True, check=True
    )
    return int(out.stdout.strip())


def test_workers_hand_freed_frame_sized_blocks_back_to_the_system() -> None:
    frame_kib = 1920 * 1080 * 3 // 2 // 1024
    # glibc's default: after the first free the block comes from the heap and stays there.
    assert _resident_after_free("default") > frame_kib // 2
    assert _resident_after_free("tuned") < frame_kib // 4
