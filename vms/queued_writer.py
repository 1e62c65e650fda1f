"""Writing a file from a thread of its own: the producer hands chunks over a bounded queue.

Used where a file is written while something else works on the same bytes (the muxer of a
clip, the hashing of an upload): ``hashlib`` and file writes release the GIL on large
buffers, so the two run side by side. The first write error is kept and handed back to the
producer at its next call, never lost in the thread.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable
from typing import BinaryIO


class QueuedWriter:
    """Drains chunks into ``f`` in a thread; ``before_write`` sees each chunk first."""

    def __init__(
        self,
        f: BinaryIO,
        *,
        name: str,
        maxsize: int,
        before_write: Callable[[bytes], object] | None = None,
    ) -> None:
        self._f = f
        self._before = before_write
        self._queue: queue.Queue[bytes | None] = queue.Queue(maxsize=maxsize)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name=name, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            chunk = self._queue.get()
            try:
                if chunk is None:
                    return
                if self.error is None:
                    if self._before is not None:
                        self._before(chunk)
                    self._f.write(chunk)
            except BaseException as exc:  # handed to the producer at its next call
                self.error = exc
            finally:
                self._queue.task_done()

    def put(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def join(self) -> BaseException | None:
        """Wait until every chunk handed over is written; the first error, if any."""
        self._queue.join()
        return self.error

    def stop(self) -> None:
        """End the thread (after the chunks already queued)."""
        self._queue.put(None)
        self._thread.join()

    def abandon(self) -> None:
        """Stop, whatever went wrong (a cleanup path)."""
        with contextlib.suppress(BaseException):
            self.stop()
