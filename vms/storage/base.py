"""The seam: ``ObjectStore`` (one place files live) and ``Storage`` (a node's local disk plus,
when configured, its bucket), addressed by ``(location, key)``."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from vms.errors import StorageError
from vms.vocab import Subsystem

LOCAL = "local"
BUCKET = "bucket"
LOCATIONS = (LOCAL, BUCKET)
CHUNK = 1 << 20


class ObjectStore(Protocol):
    """Files by key. Keys are relative POSIX paths (``recordings/cam/2026-12-01/10-00-00.mp4``)."""

    name: str

    def put(self, key: str, source: Path, sha256: str) -> None:
        """Store a copy of the local file ``source`` under ``key`` and check that the stored
        bytes hash to ``sha256`` (raises FileIntegrityError otherwise, StorageError on I/O)."""
        ...

    def size(self, key: str) -> int | None:
        """Bytes of ``key``, or None when there is no such file."""
        ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes of ``key`` from ``start`` up to (not including) ``end``, in chunks.
        Raises FileNotFoundError when there is no such file."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key`` (every version of it); a missing key is not an error."""
        ...

    def set_hold(self, key: str, held: bool) -> bool:
        """Put or lift the store's own legal hold on ``key``; False where it has none."""
        ...


class Storage:
    """A node's files: ``local`` (its storage root) and ``bucket`` (None when not configured)."""

    def __init__(self, local: ObjectStore, bucket: ObjectStore | None = None) -> None:
        self.local = local
        self.bucket = bucket

    @property
    def root(self) -> Path:
        root: Path = self.local.root  # type: ignore[attr-defined]
        return root

    def store(self, location: str) -> ObjectStore:
        if location == LOCAL:
            return self.local
        if location == BUCKET:
            if self.bucket is None:
                raise StorageError(
                    "this file is in the object store, but storage.object_store is not "
                    "configured on this node",
                    subsystem=Subsystem.STORAGE,
                )
            return self.bucket
        raise StorageError(f"unknown file location {location!r}", subsystem=Subsystem.STORAGE)

    def local_path(self, key: str) -> Path:
        """Where ``key`` lives (or would live) on this node's disk."""
        return self.root / key

    def size(self, location: str, key: str) -> int | None:
        return self.store(location).size(key)

    def exists(self, location: str, key: str) -> bool:
        return self.size(location, key) is not None

    def read(
        self, location: str, key: str, start: int = 0, end: int | None = None
    ) -> Iterator[bytes]:
        return self.store(location).read(key, start, end)

    def read_bytes(self, location: str, key: str) -> bytes:
        """The whole file (FileNotFoundError when it is gone)."""
        return b"".join(self.read(location, key))

    def sha256(self, location: str, key: str) -> tuple[str, int] | None:
        """(hex SHA-256, bytes) of the file as stored now, or None when it is gone."""
        h = hashlib.sha256()
        size = 0
        try:
            for chunk in self.read(location, key):
                h.update(chunk)
                size += len(chunk)
        except FileNotFoundError:
            return None
        return h.hexdigest(), size

    def copy_to(self, location: str, key: str, dst: Path) -> tuple[str, int]:
        """Copy the file to a new local file ``dst``, hashing what was copied."""
        import os

        h = hashlib.sha256()
        size = 0
        with dst.open("xb") as out:
            for chunk in self.read(location, key):
                h.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        return h.hexdigest(), size

    def move_to_bucket(self, key: str, sha256: str, *, held: bool = False) -> None:
        """Copy a local file to the bucket, verified against ``sha256``; the caller records
        the new location in the index, then calls ``drop_local``."""
        store = self.store(BUCKET)
        store.put(key, self.local_path(key), sha256)
        if held:
            store.set_hold(key, True)

    def drop_local(self, key: str) -> None:
        self.local.delete(key)

    def delete(self, location: str, key: str) -> None:
        """Delete a file wherever it is; a bucket object's legal hold is lifted first (the
        index's hold check, done by the caller, is what decides)."""
        store = self.store(location)
        if location == BUCKET:
            store.set_hold(key, False)
        store.delete(key)
