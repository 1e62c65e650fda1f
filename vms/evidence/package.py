"""Reading an export package as it was handed over: its folder, or the zip the web app serves.

Verification reads members by name and hashes them as a stream; nothing is extracted, so a
zip can neither write outside a folder nor fill a disk. A zip whose names could not be
extracted safely (absolute, ``..``, backslashes, links) or that holds one name twice (readers
disagree on which copy they show) is reported as a problem of the package.
"""

from __future__ import annotations

import contextlib
import hashlib
import stat
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Protocol

from vms.errors import InvalidError
from vms.vocab import Subsystem

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
SUMS = "SHA256SUMS"
README = "README.txt"
_CHUNK = 4 << 20


@dataclass(frozen=True)
class Flaw:
    """Something wrong with the package's container itself (not with a listed file)."""

    path: str
    message: str


class Package(Protocol):
    """A package's files by their path inside it (``clips/000001-....mp4``)."""

    name: str
    flaws: list[Flaw]

    def files(self) -> list[str]: ...

    def read(self, rel: str, limit: int) -> bytes | None:
        """The file's bytes (None if absent); InvalidError if it is larger than ``limit``."""

    def sha256(self, rel: str) -> tuple[str, int] | None:
        """(SHA-256, size) of the file, read as a stream; None if absent."""


def _hash_stream(f: IO[bytes]) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    while chunk := f.read(_CHUNK):
        h.update(chunk)
        size += len(chunk)
    return h.hexdigest(), size


def _too_big(name: str, rel: str, limit: int) -> InvalidError:
    return InvalidError(
        f"{name}: {rel} is larger than {limit:,} bytes; not a vms package",
        subsystem=Subsystem.EVIDENCE,
    )


@dataclass
class FolderPackage:
    root: Path
    name: str = ""
    flaws: list[Flaw] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.name = self.name or str(self.root)

    def _path(self, rel: str) -> Path | None:
        path = self.root / rel
        with contextlib.suppress(ValueError, OSError):
            path.resolve().relative_to(self.root.resolve())
            return path if path.is_file() else None
        return None

    def files(self) -> list[str]:
        return sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*")
                      if p.is_file())  # fmt: skip

    def read(self, rel: str, limit: int) -> bytes | None:
        path = self._path(rel)
        if path is None:
            return None
        if path.stat().st_size > limit:
            raise _too_big(self.name, rel, limit)
        return path.read_bytes()

    def sha256(self, rel: str) -> tuple[str, int] | None:
        path = self._path(rel)
        if path is None:
            return None
        with path.open("rb") as f:
            return _hash_stream(f)


def _unsafe(name: str) -> bool:
    parts = PurePosixPath(name).parts
    return "\\" in name or name.startswith("/") or ".." in parts or ":" in name


class ZipPackage:
    """A zip holding the package folder (``<name>/manifest.json``) or its files at the top."""

    def __init__(self, path: Path) -> None:
        self.name = str(path)
        self.flaws: list[Flaw] = []
        self._zip = zipfile.ZipFile(path)
        members = [i for i in self._zip.infolist() if not i.is_dir()]
        tops = {i.filename.split("/", 1)[0] for i in members}
        prefix = ""
        if len(tops) == 1 and all("/" in i.filename for i in members):
            prefix = next(iter(tops)) + "/"
        self._members: dict[str, zipfile.ZipInfo] = {}
        for info in members:
            rel = info.filename.removeprefix(prefix)
            if _unsafe(info.filename) or stat.S_ISLNK(info.external_attr >> 16):
                self.flaws.append(Flaw(rel, f"{rel}: an unsafe entry (absolute, '..' or a link)"))
                continue
            if rel in self._members:
                self.flaws.append(Flaw(rel, f"{rel} is in the zip more than once"))
                continue
            self._members[rel] = info

    def close(self) -> None:
        self._zip.close()

    def files(self) -> list[str]:
        return sorted(self._members)

    def read(self, rel: str, limit: int) -> bytes | None:
        info = self._members.get(rel)
        if info is None:
            return None
        if info.file_size > limit:
            raise _too_big(self.name, rel, limit)
        with self._zip.open(info) as f:
            data = f.read(limit + 1)
        if len(data) > limit:
            raise _too_big(self.name, rel, limit)
        return data

    def sha256(self, rel: str) -> tuple[str, int] | None:
        info = self._members.get(rel)
        if info is None:
            return None
        try:
            with self._zip.open(info) as f:
                return _hash_stream(f)
        except (zipfile.BadZipFile, OSError, EOFError):
            return ("unreadable", -1)


@contextlib.contextmanager
def open_package(path: Path) -> Iterator[Package]:
    """The package at ``path``: a folder, or a zip of one. InvalidError if it is neither."""
    if path.is_dir():
        yield FolderPackage(path)
        return
    if path.is_file() and zipfile.is_zipfile(path):
        try:
            package = ZipPackage(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise InvalidError(f"{path}: not a readable zip: {exc}") from exc
        try:
            yield package
        finally:
            package.close()
        return
    raise InvalidError(
        f"{path} is neither an export package folder nor its zip", subsystem=Subsystem.EVIDENCE
    )
