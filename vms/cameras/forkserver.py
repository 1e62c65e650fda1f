"""Imported by the worker processes' fork server after their entry point's module (nothing
else imports it): ``gc.freeze()`` and the C allocator's settings, which every worker it forks
inherits.

The server has imported everything recording needs once; the children share those pages
with it for as long as nobody writes to them. Frozen, the children's garbage collector never
walks (and so never writes to) these objects.

glibc's malloc raises its mmap threshold to the size of each large block it frees (up to
32 MB): after FFmpeg has decoded a camera's first pictures to probe its stream and freed
them, frame-sized blocks come from the camera thread's arena and stay resident once freed
(about 1.8 MB per camera, bench.recording). A fixed threshold (its default, 128 KiB) hands
every large block back to the system when it is freed.
"""

from __future__ import annotations

import ctypes
import gc

#: mallopt(3) parameter number of the threshold (glibc's malloc.h).
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 128 * 1024


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD) -> bool:
    """Keep malloc's mmap threshold at ``threshold``; False where the C library has no
    ``mallopt`` (not glibc) or refuses it."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    return bool(mallopt(M_MMAP_THRESHOLD, threshold))


fix_mmap_threshold()
gc.freeze()
