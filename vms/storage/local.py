"""Files in a folder: the node's storage root."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from vms.errors import FileIntegrityError, StorageError
from vms.storage.base import CHUNK
from vms.vocab import Subsystem, sha256_file


class LocalStore:
    """An ObjectStore over a folder; keys are paths relative to it."""

    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        path = self.root / key
        if ".." in Path(key).parts or Path(key).is_absolute():
            raise StorageError(f"invalid storage key {key!r}", subsystem=Subsystem.STORAGE)
        return path

    def put(self, key: str, source: Path, sha256: str) -> None:
        dst = self.path(key)
        if dst.resolve() == source.resolve():
            return
        try:
            dst.parent.mkdir(parents=True, exist_ok=True)
            tmp = dst.with_name(dst.name + ".part")
            shutil.copyfile(source, tmp)
            digest, _size = sha256_file(tmp)
            if digest != sha256:
                tmp.unlink(missing_ok=True)
                raise FileIntegrityError(
                    f"copy of {source} hashes to {digest}, not {sha256}",
                    subsystem=Subsystem.STORAGE,
                )
            os.replace(tmp, dst)
        except OSError as exc:
            raise StorageError(f"cannot store {key}: {exc}", subsystem=Subsystem.STORAGE) from exc

    def size(self, key: str) -> int | None:
        try:
            st = self.path(key).stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StorageError(f"cannot read {key}: {exc}", subsystem=Subsystem.STORAGE) from exc
        return st.st_size if not os.path.isdir(self.path(key)) else None

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        path = self.path(key)
        try:
            f = path.open("rb")
        except (FileNotFoundError, IsADirectoryError) as exc:
            raise FileNotFoundError(key) from exc
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc}", subsystem=Subsystem.STORAGE) from exc
        return _chunks(f, start, end)

    def delete(self, key: str) -> None:
        try:
            self.path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot delete {key}: {exc}", subsystem=Subsystem.STORAGE) from exc

    def set_hold(self, key: str, held: bool) -> bool:
        return False  # the index's holds are what protects local files


def _chunks(f: object, start: int, end: int | None) -> Iterator[bytes]:
    import io

    assert isinstance(f, io.BufferedReader)
    with f:
        if start:
            f.seek(start)
        left = None if end is None else max(0, end - start)
        while left is None or left > 0:
            chunk = f.read(CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk
