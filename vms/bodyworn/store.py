"""Writing body-worn files onto the node's disk: staging, a one-pass copy and hash, placing.

Ingest copies a file into the staging folder (``<storage root>/bodyworn/.staging``), hashing
every byte as it is read (``copy_hashed``), then ``place``s the complete staged file under its
key. Keys are content addresses (``bodyworn/<sha[:2]>/<sha256><ext>``), relative to the storage
root like camera segments' paths. From then on a body-worn file is read like any recorded
file, through the vms.storage seam: its ``segments`` row says where it lives (``local`` as
ingested; ``bucket`` once the tiering job moved it), and playback, downloads, copies, clips,
verification and retention read or delete it from either place.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from pathlib import Path
from typing import BinaryIO

from vms.errors import InvalidError, StorageError
from vms.queued_writer import QueuedWriter
from vms.vocab import Subsystem

CHUNK = 8 << 20
_QUEUE = 4
_EXT = re.compile(r"^\.[a-z0-9]{1,5}$")


def key_for(sha256: str, name: str) -> str:
    ext = Path(name).suffix.lower()
    return f"bodyworn/{sha256[:2]}/{sha256}{ext if _EXT.match(ext) else '.bin'}"


def staging_dir(root: Path) -> Path:
    """The folder of files being received under storage root ``root`` (made if missing; on
    the same file system as the files ``place`` puts in place)."""
    folder = root / "bodyworn" / ".staging"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot create {folder}: {exc.strerror}", subsystem=Subsystem.BODYWORN
        ) from exc
    return folder


def place(root: Path, staged: Path, key: str) -> None:
    """Move a complete, fsynced staged file under ``key`` (read-only from then on)."""
    final = root / key
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, final)
        with contextlib.suppress(OSError):
            final.chmod(0o444)
        _fsync_dir(final.parent)
    except OSError as exc:
        raise StorageError(
            f"cannot store {key}: {exc.strerror}", subsystem=Subsystem.BODYWORN
        ) from exc


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class HashingWriter:
    """Writes chunks to a new file in a thread while the caller hashes them: one pass.

    ``hashlib`` and file writes both release the GIL on large buffers, so reading plus
    hashing (the caller's thread) and writing (this one) run side by side.
    """

    def __init__(self, path: Path, *, append: bool = False) -> None:
        self.path = path
        self._f: BinaryIO = path.open("ab" if append else "xb")
        self.size = self._f.tell()
        self._hash = hashlib.sha256()
        self._writer = QueuedWriter(self._f, name="bw-write", maxsize=_QUEUE)

    def update_hash_only(self, chunk: bytes) -> None:
        """Hash bytes already in the file (resuming an upload after a restart)."""
        self._hash.update(chunk)

    def write(self, chunk: bytes) -> None:
        if self._writer.error is not None:
            self._raise()
        self._writer.put(chunk)
        self._hash.update(chunk)
        self.size += len(chunk)

    def _raise(self) -> None:
        err = self._writer.error
        raise StorageError(
            f"cannot write {self.path.name}: {err}", subsystem=Subsystem.BODYWORN
        ) from err

    def flush(self, *, sync: bool = False) -> None:
        """Everything handed over is in the file (and on disk, with ``sync``)."""
        if self._writer.join() is not None:
            self._raise()
        self._f.flush()
        if sync:
            os.fsync(self._f.fileno())

    def close(self, *, sync: bool = True) -> None:
        try:
            self.flush(sync=sync)
        finally:
            self._writer.stop()
            self._f.close()

    def abort(self) -> None:
        self._writer.abandon()
        with contextlib.suppress(BaseException):
            self._f.close()

    @property
    def hasher(self) -> hashlib._Hash:
        return self._hash

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


def copy_hashed(src: BinaryIO, dst: Path, *, limit: int) -> tuple[str, int]:
    """Copy ``src`` into the new file ``dst``, hashing as it reads; (SHA-256, bytes).

    More than ``limit`` bytes is an InvalidError (and ``dst`` is removed).
    """
    writer = HashingWriter(dst)
    try:
        while chunk := src.read(CHUNK):
            if writer.size + len(chunk) > limit:
                raise InvalidError(
                    f"the file is larger than bodyworn.max_file_bytes ({limit} bytes)",
                    subsystem=Subsystem.BODYWORN,
                )
            writer.write(chunk)
        writer.close(sync=True)
    except BaseException:
        writer.abort()
        dst.unlink(missing_ok=True)
        raise
    return writer.hexdigest(), writer.size
